"""queen._core kernels: compiled vs pure twin, side by side.

    pytest benchmarks/bench_core.py --benchmark-enable -p no:cacheprovider
    python benchmarks/bench_core.py            # quick table with the speed-ups

Batches of 500 messages (the targets: compiled at least 3x faster than pure), and
window_aggregate over 100,000 messages. ``parse_pop_500`` parses a 0.15 reply and attaches
each message's trace callable (what the client does on every pop); ``parse_pop`` is bound
by ``orjson.loads``, so ``main()`` also prints the kernel's share beside it.
"""

from __future__ import annotations

import sys
import time
from types import SimpleNamespace
from typing import Any, Callable, Dict, List

import orjson
import pytest

import queen._core

BATCH = 500
WINDOW = 100_000
SPEC: Dict[str, Any] = {
    "count": True,
    "sum": ["data.amount"],
    "avg": ["data.duration"],
    "min": ["data.price"],
    "max": ["data.price"],
}


def push_messages(n: int = BATCH) -> List[Dict[str, Any]]:
    return [
        {"data": {"orderId": i, "amount": 99.5, "customer": f"c-{i % 37}", "tags": ["a", "b"]}}
        for i in range(n)
    ]


def pop_reply(n: int = BATCH) -> bytes:
    """A 0.15.x pop answer with ``n`` messages (0.7.x carries the same fields per message)."""
    msgs = [
        {
            "consumerGroup": "__QUEUE_MODE__",
            "createdAt": "2026-11-28T08:00:00.000000Z",
            "data": {"orderId": i, "amount": 99.5, "customer": f"c-{i % 37}"},
            "id": f"019a7c1e-0000-7000-8000-{i:012x}",
            "leaseId": "019a7c1e-1111-7000-8000-000000000001",
            "partition": "Default",
            "partitionId": "019a7c1e-2222-7000-8000-000000000002",
            "producerSub": None,
            "traceId": None,
            "transactionId": f"019a7c1e-3333-7000-8000-{i:012x}",
        }
        for i in range(n)
    ]
    return orjson.dumps(
        {
            "consumerGroup": "__QUEUE_MODE__",
            "leaseId": "019a7c1e-1111-7000-8000-000000000001",
            "messages": msgs,
            "partition": "Default",
            "partitionId": "019a7c1e-2222-7000-8000-000000000002",
            "partitionsClaimed": 1,
            "queue": "orders",
            "success": True,
        }
    )


def window_messages(n: int = WINDOW) -> List[Dict[str, Any]]:
    # the same window as bench_window.py (missing paths and non-numeric values included)
    from bench_window import make_messages

    return make_messages(n)


RING_NODES = ["http://queen-a:6632", "http://queen-b:6632", "http://queen-c:6632"]
RING_KEYS = [f"orders-{i}:Default:group-{i % 11}" for i in range(BATCH)]
FRAGMENT = b'{"queue":"q","partition":"Default","payload":{"i":1},"transactionId":"t"}'


def kernels(core: SimpleNamespace) -> Dict[str, Callable[[], Any]]:
    """One zero-argument callable per measured kernel, bound to ``core``'s twin."""
    messages = push_messages()
    reply = pop_reply()
    ring = core.HashRing(RING_NODES, 128)
    window = window_messages()
    frags = [[FRAGMENT]] * BATCH
    txids = [["t"]] * BATCH
    uuid7 = core.uuid7
    lookup = ring.lookup
    PushBuffer = core.PushBuffer
    popped = orjson.loads(reply)["messages"]
    ack_items = core.ack_items(popped, "completed", None)[0]
    push_reply = orjson.dumps([
        {"message_id": f"019a7c1e-4444-7000-8000-{i:012x}", "status": "queued",
         "transaction_id": f"019a7c1e-3333-7000-8000-{i:012x}"} for i in range(BATCH)])
    ack_replies = [{"transactionId": it["transactionId"], "success": True,
                    "message": "completed"} for it in ack_items]
    ack_replies_015 = [{"dlq": False, "error": None, "index": i, "leaseReleased": False,
                        "partitionName": "Default", "queueName": "orders", "success": True,
                        "transactionId": it["transactionId"]} for i, it in enumerate(ack_items)]
    ack_body_015 = orjson.dumps(ack_replies_015)  # a 0.15.1 batch ack reply

    async def trace(ids: Dict[str, Any], event: Any) -> None:  # the client's Queen._trace
        return None

    def uuid7_500() -> None:
        for _ in range(BATCH):
            uuid7()

    def ring_500() -> None:
        for key in RING_KEYS:
            lookup(key)

    def buffer_500() -> None:
        buf = PushBuffer(BATCH, 1000)
        append = buf.append
        for f, t in zip(frags, txids):
            append(f, t)
        buf.take()

    return {
        "encode_push_500": lambda: core.encode_push("orders", "Default", messages),
        "parse_pop_500": lambda: core.parse_pop(reply, "__QUEUE_MODE__", trace),
        "ring_lookup_500": ring_500,
        "uuid7_500": uuid7_500,
        "buffer_append_500": buffer_500,
        "push_all_stored_500": lambda: core.push_all_stored(push_reply, BATCH),
        "ack_items_500": lambda: core.ack_items(popped, "completed", None),
        "ack_results_500": lambda: core.ack_results(ack_replies, ack_items),
        "ack_results_015_500": lambda: core.ack_results_015(ack_replies_015, ack_items),
        "ack_reply_015_500": lambda: core.ack_reply_015(ack_body_015, ack_items),
        "window_aggregate_100k": lambda: core.window_aggregate(window, SPEC),
    }


def twin(name: str) -> SimpleNamespace:
    if name == "pure":
        return queen._core.load(pure=True)
    try:
        return queen._core.load(pure=False)
    except ImportError as e:
        pytest.skip(f"compiled core not built: {e}")
        raise


_CACHE: Dict[str, Dict[str, Callable[[], Any]]] = {}


def bound(name: str) -> Dict[str, Callable[[], Any]]:
    if name not in _CACHE:
        _CACHE[name] = kernels(twin(name))
    return _CACHE[name]


KERNELS = [
    "encode_push_500",
    "parse_pop_500",
    "ring_lookup_500",
    "uuid7_500",
    "buffer_append_500",
    "push_all_stored_500",
    "ack_items_500",
    "ack_results_500",
    "ack_results_015_500",
    "ack_reply_015_500",
    "window_aggregate_100k",
]


@pytest.mark.parametrize("impl", ["compiled", "pure"])
@pytest.mark.parametrize("kernel", KERNELS)
def test_kernel(benchmark: Any, kernel: str, impl: str) -> None:
    fn = bound(impl)[kernel]
    benchmark.group = kernel
    benchmark.extra_info["impl"] = impl
    if kernel == "window_aggregate_100k":
        benchmark.pedantic(fn, rounds=5, iterations=1, warmup_rounds=1)
    else:
        benchmark(fn)


def best_of(fn: Callable[[], Any], seconds: float = 0.5) -> float:
    """Best time of one call over repeated runs (min is the least noisy on a busy box)."""
    fn()
    best = float("inf")
    deadline = time.perf_counter() + seconds
    runs = 0
    while runs < 5 or time.perf_counter() < deadline:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        runs += 1
    return best


def main() -> int:
    try:
        compiled = kernels(queen._core.load(pure=False))
    except ImportError as e:
        print(f"compiled core not built: {e}")
        return 1
    pure = kernels(queen._core.load(pure=True))
    print(f"{'kernel':<24}{'compiled':>12}{'pure':>12}{'speed-up':>10}")
    worst = float("inf")
    for name in KERNELS:
        c, p = best_of(compiled[name]), best_of(pure[name])
        worst = min(worst, p / c)
        print(f"{name:<24}{c * 1e6:>10.1f}us{p * 1e6:>10.1f}us{p / c:>9.1f}x")
    print(f"lowest speed-up: {worst:.1f}x")
    # parse_pop's own work: what is left after orjson.loads, the same call in both twins
    body = pop_reply()
    loads = best_of(lambda: orjson.loads(body))
    c, p = best_of(compiled["parse_pop_500"]) - loads, best_of(pure["parse_pop_500"]) - loads
    print(f"{'parse_pop_500 - loads':<24}{c * 1e6:>10.1f}us{p * 1e6:>10.1f}us{p / c:>9.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
