"""The client-side CPU of one batch pop + ack, without HTTP: what ``Queen._pop`` and
``Queen.ack`` do with the replies (``wire.parse_pop`` with the client's trace hook,
``wire.ack_items``, ``wire.ack_batch``, ``wire.parse_ack``), on recorded-shape 0.15.1 and
0.7.5 replies of 100 messages.

    python benchmarks/bench_popack_path.py            # this tree, the active core
    QUEEN_NO_EXTENSIONS=1 python benchmarks/bench_popack_path.py
    PYTHONPATH=/path/to/other/src python benchmarks/bench_popack_path.py   # another tree

Works with older trees too (before the 0.15 shapes moved onto the kernels: the client's
``_trace_factory`` hook), so one script gives the before/after figures.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Dict, List, Tuple

import orjson

import queen
import queen._core
from queen import Queen, wire

BATCH = 100
QUEUE_MODE = "__QUEUE_MODE__"


class Reply:
    def __init__(self, body: bytes, path: str) -> None:
        self.status, self.body, self.method, self.url = 200, body, "GET", path


def message(i: int, gen: str) -> Dict[str, Any]:
    m: Dict[str, Any] = {
        "consumerGroup": QUEUE_MODE, "createdAt": "2026-11-28T08:00:00.000000Z",
        "data": {"orderId": i, "amount": 99.5, "customer": f"c-{i % 37}"},
        "id": f"019a7c1e-0000-7000-8000-{i:012x}",
        "leaseId": "019a7c1e-1111-7000-8000-000000000001", "partition": "Default",
        "partitionId": "019a7c1e-2222-7000-8000-000000000002", "producerSub": None,
        "traceId": None, "transactionId": f"019a7c1e-3333-7000-8000-{i:012x}",
    }
    if gen == wire.GEN_07:  # 0.7.5 sends full messages and no envelope
        m.update(queue="orders", retryCount=0, priority=0)
    return m


def replies(gen: str) -> Tuple[bytes, bytes]:
    msgs = [message(i, gen) for i in range(BATCH)]
    if gen == wire.GEN_015:
        pop = {"consumerGroup": QUEUE_MODE, "leaseId": msgs[0]["leaseId"], "messages": msgs,
               "partition": "Default", "partitionId": msgs[0]["partitionId"],
               "partitionsClaimed": 1, "queue": "orders", "success": True}
        ack: Any = [{"dlq": False, "error": None, "index": i, "leaseReleased": i == BATCH - 1,
                     "partitionName": "Default", "queueName": "orders", "success": True,
                     "transactionId": m["transactionId"]} for i, m in enumerate(msgs)]
    else:
        pop = {"messages": msgs}
        ack = {"processed": BATCH, "results": [
            {"transactionId": m["transactionId"], "status": "completed", "success": True,
             "message": "completed"} for m in msgs]}
    return orjson.dumps(pop), orjson.dumps(ack)


def path(gen: str) -> Callable[[], Any]:
    client = Queen("http://127.0.0.1:9")  # never connects: only its hooks are used
    hook = getattr(client, "_trace_factory", None) or client._trace  # before / after
    pop_body, ack_body = replies(gen)

    def one_batch() -> Any:
        messages = wire.parse_pop(Reply(pop_body, "/api/v1/pop/queue/orders"), gen, hook)
        items, groups = wire.ack_items(messages, True, None, gen)
        wire.ack_batch(items, groups[0])  # builds the request body
        return wire.parse_ack(Reply(ack_body, "/api/v1/ack/batch"), items, batch=True)

    return one_batch


def best_of(fn: Callable[[], Any], seconds: float = 1.0) -> float:
    fn()
    best, runs, deadline = float("inf"), 0, time.perf_counter() + seconds
    while runs < 20 or time.perf_counter() < deadline:
        t0 = time.process_time()
        for _ in range(10):
            fn()
        best = min(best, (time.process_time() - t0) / 10)
        runs += 1
    return best


def main() -> int:
    print(f"queen from {queen.__file__}, core {queen._core.IMPL}")
    results: List[str] = []
    for gen in (wire.GEN_015, wire.GEN_07):
        t = best_of(path(gen))
        results.append(f"{gen}: {t / BATCH * 1e6:.2f} us/message")
    print("pop 100 + ack, client CPU per message: " + "; ".join(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
