"""BufferManager with a fake sender: order, bounds, backpressure, failure reporting."""

from __future__ import annotations

import asyncio
import random
from typing import Any, Dict, List, Tuple

import pytest

from queen import _core, buffer
from queen.buffer import BufferFlushError, BufferManager, buffer_options
from queen.errors import QueenConnectionError, QueenHTTPError, QueenValidationError
from queen.types import PushResult


class FakeSender:
    def __init__(self, delay: float = 0.0, fail: Any = None) -> None:
        self.delay = delay
        self.fail = fail
        self.calls: List[Tuple[str, str, List[str]]] = []
        self.active: Dict[Tuple[str, str], int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.max_per_key = 0

    async def __call__(self, queue: str, partition: str, body: bytes, txids: List[str]
                       ) -> Dict[int, str]:
        key = (queue, partition)
        self.calls.append((queue, partition, list(txids)))
        self.active[key] = self.active.get(key, 0) + 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.max_per_key = max(self.max_per_key, self.active[key])
        try:
            await asyncio.sleep(self.delay * random.random())
            if callable(self.fail):
                return self.fail(txids)  # type: ignore[no-any-return]
            if self.fail is not None:
                raise self.fail
            return {}
        finally:
            self.active[key] -= 1
            self.in_flight -= 1


async def add(mgr: BufferManager, queue: str, partition: str, n: int, start: int = 0,
              count: int = 10, millis: int = 60000) -> List[str]:
    ids = [f"{queue}-{partition}-{i}" for i in range(start, start + n)]
    frags, txids = _core.encode_push_items(queue, partition, [{"data": i, "transactionId": t}
                                                              for i, t in enumerate(ids)])
    await mgr.add(queue, partition, frags, txids, count, millis)
    return ids


async def test_order_per_partition_and_bounds() -> None:
    send = FakeSender(delay=0.003)
    mgr = BufferManager(send, max_in_flight=3)
    expected: Dict[Tuple[str, str], List[str]] = {}
    for i in range(600):
        key = ("q", f"p{i % 6}")
        expected.setdefault(key, []).extend(await add(mgr, key[0], key[1], 1, start=i, count=7))
    await mgr.flush()
    sent: Dict[Tuple[str, str], List[str]] = {}
    for q, p, ids in send.calls:
        sent.setdefault((q, p), []).extend(ids)
    assert sent == expected
    assert send.max_per_key == 1  # never two flushes of one partition at once
    assert 1 < send.max_in_flight <= 3
    stats = mgr.stats()
    assert stats["totalBufferedMessages"] == 0 and stats["sentMessages"] == 600
    assert stats["flushesInFlight"] == 0 and stats["failedFlushes"] == 0


async def test_backpressure_holds_fast_producers() -> None:
    send = FakeSender(delay=0.004)
    mgr = BufferManager(send, max_in_flight=1)
    peak = 0
    for i in range(150):
        await add(mgr, "q", f"p{i % 40}", 1, start=i, count=1)
        peak = max(peak, mgr.stats()["queuedBatches"])
    assert peak <= buffer.MAX_QUEUED_BATCHES + 1
    await mgr.flush()
    assert sum(len(c[2]) for c in send.calls) == 150


async def test_time_threshold_without_flush_call() -> None:
    send = FakeSender()
    mgr = BufferManager(send)
    await add(mgr, "q", "p", 2, count=100, millis=20)
    assert send.calls == [] and mgr.stats()["activeBuffers"] == 1
    for _ in range(500):
        if send.calls and mgr.stats()["totalBufferedMessages"] == 0:
            break
        await asyncio.sleep(0.01)
    assert [len(c[2]) for c in send.calls] == [2]


async def test_flush_of_one_queue_only() -> None:
    send = FakeSender()
    mgr = BufferManager(send)
    await add(mgr, "a", "p", 1)
    await add(mgr, "b", "p", 1)
    await mgr.flush("a")
    assert [c[0] for c in send.calls] == ["a"]
    assert mgr.stats()["totalBufferedMessages"] == 1
    await mgr.flush()
    assert sorted(c[0] for c in send.calls) == ["a", "b"]


async def test_lost_connection_is_retried_then_reported() -> None:
    send = FakeSender(fail=QueenConnectionError("down"))
    mgr = BufferManager(send)
    ids = await add(mgr, "q", "p", 3)
    with pytest.raises(BufferFlushError) as info:
        await mgr.flush()
    assert len(send.calls) == buffer.RETRIES + 1
    [failure] = info.value.failures
    assert failure.transaction_ids == ids and "down" in failure.error
    assert "3 buffered message(s)" in str(info.value)
    await mgr.flush()  # reported once; nothing left to report
    assert mgr.stats()["failedFlushes"] == 1


async def test_refused_push_is_not_resent() -> None:
    send = FakeSender(fail=QueenHTTPError("bad request", status=400))
    mgr = BufferManager(send)
    await add(mgr, "q", "p", 1)
    with pytest.raises(BufferFlushError):
        await mgr.flush()
    assert len(send.calls) == 1


async def test_failed_items_are_reported_others_delivered() -> None:
    def half(txids: List[str]) -> Dict[int, str]:
        return {i: "nope" for i in range(1, len(txids), 2)}

    mgr = BufferManager(FakeSender(fail=half))
    ids = await add(mgr, "q", "p", 4)
    with pytest.raises(BufferFlushError) as info:
        await mgr.flush()
    assert info.value.failures[0].transaction_ids == [ids[1], ids[3]]
    assert mgr.stats()["sentMessages"] == 2


@pytest.mark.parametrize("options", [
    {"message_count": 0}, {"time_millis": "1"}, {"other": 1}, {"message_count": True},
])
def test_bad_buffer_options(options: Dict[str, Any]) -> None:
    with pytest.raises(QueenValidationError):
        buffer_options(options)


def test_buffer_options_defaults_and_camel_case() -> None:
    assert buffer_options({}) == (100, 1000)
    assert buffer_options({"messageCount": 5, "timeMillis": 7}) == (5, 7)


def test_unique_items_and_expand() -> None:
    frags, ids, where = buffer.unique_items([b"a", b"b", b"c", b"d"], ["x", "y", "x", "x"])
    assert (frags, ids, where) == ([b"a", b"b"], ["x", "y"], [0, 1, -1, -1])
    results: List[PushResult] = [
        {"transactionId": "x", "status": "queued", "messageId": "m1"},
        {"transactionId": "y", "status": "failed", "messageId": None, "error": "e"},
    ]
    out = buffer.expand_results(results, ["x", "y", "x", "x"], where)
    assert [r["status"] for r in out] == ["queued", "failed", "duplicate", "duplicate"]
    assert out[2]["messageId"] == "m1"
    assert buffer.unique_items([b"a"], ["x"]) == ([b"a"], ["x"], None)
    assert buffer.expand_results(results, ["x", "y"], None) is results


async def test_unexpected_sender_error_is_reported_and_does_not_block() -> None:
    send = FakeSender(fail=RuntimeError("surprise"))
    mgr = BufferManager(send)
    await add(mgr, "q", "p", 1)
    with pytest.raises(BufferFlushError) as info:
        await mgr.flush()
    assert "surprise" in str(info.value)
    send.fail = None
    await add(mgr, "q", "p", 1, start=5)
    await mgr.flush()
    assert mgr.stats()["queuedBatches"] == 0 and mgr.stats()["sentMessages"] == 1


async def test_sealed_batch_starts_sending_before_the_producer_goes_on() -> None:
    send = FakeSender()
    mgr = BufferManager(send)
    await add(mgr, "q", "p", 2, count=3)
    assert send.calls == []  # not full: nothing sealed, nothing sent
    await add(mgr, "q", "p", 1, start=2, count=3)
    assert [len(c[2]) for c in send.calls] == [3]  # the sender ran during that add
    await mgr.flush()


async def test_repeat_of_a_failed_item_fails_with_it() -> None:
    mgr = BufferManager(FakeSender(fail=lambda txids: {0: "full"}))
    frags, txids = _core.encode_push_items("q", "p", [
        {"data": 1, "transactionId": "a"}, {"data": 2, "transactionId": "b"},
        {"data": 3, "transactionId": "a"}])
    await mgr.add("q", "p", frags, txids, 10, 60000)
    with pytest.raises(BufferFlushError) as info:
        await mgr.flush()
    [failure] = info.value.failures
    assert failure.transaction_ids == ["a", "a"] and failure.error == "full"
    assert mgr.stats()["sentMessages"] == 1


def test_buffer_options_fast_path_still_checks_types() -> None:
    assert buffer_options({"message_count": 5, "time_millis": 7}) == (5, 7)
    for bad in ({"message_count": True, "time_millis": 7}, {"message_count": 5, "time_millis": 0},
                {"message_count": 5, "other": 7}):
        with pytest.raises(QueenValidationError):
            buffer_options(bad)


async def test_producer_lets_replies_in_while_a_push_is_out() -> None:
    reply = asyncio.Event()
    sizes: List[int] = []

    async def send(queue: str, partition: str, body: bytes, txids: List[str]) -> Dict[int, str]:
        sizes.append(len(txids))
        await reply.wait()
        return {}

    mgr = BufferManager(send)
    turns: List[int] = []
    asyncio.get_running_loop().call_soon(turns.append, 1)
    for i in range(buffer.YIELD_EVERY):  # nothing out: the producer keeps the loop
        await add(mgr, "q", "idle", 1, start=i, count=10**6)
    assert turns == [] and sizes == []
    await add(mgr, "q", "p", 1, count=1)  # sealed and sent: its reply is awaited now
    assert sizes == [1]
    asyncio.get_running_loop().call_soon(turns.append, 2)
    for i in range(buffer.YIELD_EVERY):
        await add(mgr, "q", "busy", 1, start=i, count=10**6)
    assert turns == [1, 2]  # the loop got a turn (a reply could have been read)
    reply.set()
    await mgr.flush()
    assert mgr.stats()["sentMessages"] == 1 + 2 * buffer.YIELD_EVERY
