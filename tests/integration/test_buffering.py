"""Client-side buffering: thresholds, manual flush, stats, flush on close, ordering,
bounded in-flight flushes, and failed flushes that are reported, never dropped."""

from __future__ import annotations

from typing import Any

import pytest
from client_helpers import pop_all, until, unused_url

from queen import BufferFlushError, Queen, QueenValidationError


async def test_count_threshold_flushes(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("buf-count")
    for i in range(5):
        await queen.queue(q).buffer({"message_count": 5, "time_millis": 60000}).push([{"data": i}])
    # the fifth message filled the buffer: it is sent without any flush call

    async def sent() -> bool:
        return queen.get_buffer_stats()["totalBufferedMessages"] == 0

    await until(sent, "count-triggered flush")
    assert [m["data"] for m in await pop_all(queen, q)] == [0, 1, 2, 3, 4]


async def test_time_threshold_flushes(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("buf-time")
    await queen.queue(q).buffer({"message_count": 1000, "time_millis": 30}).push([{"data": "x"}])
    stats = queen.get_buffer_stats()
    assert stats["activeBuffers"] == 1 and stats["totalBufferedMessages"] == 1
    got: list = []

    async def arrived() -> bool:
        got.extend(await pop_all(queen, q))
        return bool(got)

    await until(arrived, "time-triggered flush")
    assert [m["data"] for m in got] == ["x"]


async def test_manual_flush_and_stats(queen: Queen, make_queue: Any) -> None:
    q1, q2 = await make_queue("buf-a"), await make_queue("buf-b")
    opts = {"message_count": 500, "time_millis": 60000}
    await queen.queue(q1).buffer(opts).push([{"data": i} for i in range(3)])
    await queen.queue(q2).partition("p").buffer(opts).push([{"data": 9}])
    stats = queen.get_buffer_stats()
    assert stats["activeBuffers"] == 2 and stats["totalBufferedMessages"] == 4
    assert stats["oldestBufferAge"] >= 0 and stats["failedFlushes"] == 0
    await queen.queue(q1).flush_buffer()
    assert queen.get_buffer_stats()["totalBufferedMessages"] == 1
    assert len(await pop_all(queen, q1)) == 3
    await queen.flush_all_buffers()
    assert queen.get_buffer_stats()["totalBufferedMessages"] == 0
    assert [m["data"] for m in await pop_all(queen, q2)] == [9]


async def test_buffers_flush_on_close(queen_url: str, queen: Queen, make_queue: Any) -> None:
    q = await make_queue("buf-close")
    async with Queen(queen_url) as producer:
        for i in range(7):
            await producer.queue(q).buffer({"message_count": 100, "time_millis": 60000}).push(
                [{"data": i}])
    assert [m["data"] for m in await pop_all(queen, q)] == list(range(7))


async def test_order_kept_per_partition_with_many_flushes(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("buf-order")
    for i in range(300):
        await queen.queue(q).partition(f"p{i % 3}").buffer(
            {"message_count": 10, "time_millis": 5}).push([{"data": i}])
    await queen.flush_all_buffers()
    for p in range(3):
        got = [m["data"] for m in await pop_all(queen, q, partition=f"p{p}")]
        assert got == list(range(p, 300, 3))


async def test_in_flight_flushes_are_bounded(proxied: Queen, recorder: Any, queen: Queen,
                                             make_queue: Any) -> None:
    q = await make_queue("buf-bound")
    recorder.delay = 0.05  # slow server: flushes pile up unless the client bounds them
    for i in range(400):
        await proxied.queue(q).partition(f"p{i % 20}").buffer(
            {"message_count": 5, "time_millis": 10000}).push([{"data": i}])
    await proxied.flush_all_buffers()
    pushes = recorder.to("/api/v1/push")
    assert len(pushes) >= 80
    assert recorder.max_in_flight <= 4
    assert sum(len(r.json()["items"]) for r in pushes) == 400


async def test_bad_input_fails_at_push_time(queen: Queen) -> None:
    with pytest.raises(QueenValidationError):
        queen.queue("b").buffer({"message_count": 10, "time_millis": 100}).push([object()])
    with pytest.raises(QueenValidationError):
        queen.queue("b").buffer({"message_count": 0})
    with pytest.raises(QueenValidationError):
        queen.queue("b").buffer({"messageCount": 10, "bogus": 1})
    assert queen.get_buffer_stats()["totalBufferedMessages"] == 0


async def test_unreachable_server_flush_is_reported() -> None:
    q = Queen({"url": unused_url(), "retry_attempts": 0, "server_version": "0.7"})
    await q.queue("lost").buffer({"message_count": 100, "time_millis": 60000}).push(
        [{"data": 1, "transactionId": "keep-me"}])
    with pytest.raises(BufferFlushError) as info:
        await q.flush_all_buffers()
    assert info.value.failures[0].transaction_ids == ["keep-me"]
    assert q.get_buffer_stats()["failedFlushes"] == 1
    await q.close()  # already reported: closing does not raise again


async def test_close_raises_for_undelivered(recorder: Any, make_queue: Any) -> None:
    q = await make_queue("buf-fail")
    recorder.fail_paths["/api/v1/push"] = 400  # every push is refused
    client = Queen({"url": recorder.url, "retry_attempts": 0})
    await client.queue(q).buffer({"message_count": 100, "time_millis": 60000}).push(
        [{"data": i} for i in range(3)])
    with pytest.raises(BufferFlushError) as info:
        await client.close()
    assert len(info.value.failures[0].transaction_ids) == 3
    assert "injected failure" in str(info.value)
    assert len(recorder.to("/api/v1/push")) == 1  # a refusal (4xx) is not re-sent


async def test_server_errors_are_resent_a_bounded_number_of_times(
    recorder: Any, make_queue: Any
) -> None:
    q = await make_queue("buf-5xx")
    recorder.fail_paths["/api/v1/push"] = 503
    client = Queen({"url": recorder.url, "retry_attempts": 0, "retry_delay_millis": 0})
    await client.queue(q).buffer({"message_count": 100, "time_millis": 60000}).push([{"data": 1}])
    with pytest.raises(BufferFlushError):
        await client.flush_all_buffers()
    assert len(recorder.to("/api/v1/push")) == 3  # first attempt + 2 re-sends
    del recorder.fail_paths["/api/v1/push"]
    await client.close()


async def test_failed_items_are_reported(queen: Queen, unique_name: Any, generation: str) -> None:
    if generation != "0.7":
        pytest.skip("only 0.7 rejects pushes to unknown queues")
    q = unique_name("buf-missing")
    await queen.queue(q).buffer({"message_count": 2, "time_millis": 60000}).push(
        [{"data": 1}, {"data": 2}])
    with pytest.raises(BufferFlushError) as info:
        await queen.flush_all_buffers()
    assert "does not exist" in str(info.value)


async def test_buffered_push_after_close_raises(queen_url: str) -> None:
    from queen import QueenConnectionError

    q = Queen(queen_url)
    await q.close()
    with pytest.raises(QueenConnectionError):
        await q.queue("x").buffer({"message_count": 10, "time_millis": 10}).push([{"data": 1}])


async def test_repeated_transaction_id_in_one_flush(proxied: Queen, recorder: Any,
                                                    make_queue: Any) -> None:
    q = await make_queue("buf-repeat")
    opts = {"message_count": 100, "time_millis": 60000}
    await proxied.queue(q).buffer(opts).push([{"transactionId": "once", "data": 1}])
    await proxied.queue(q).buffer(opts).push([{"transactionId": "once", "data": 2}])
    await proxied.flush_all_buffers()
    [sent] = recorder.to("/api/v1/push")
    assert [i["transactionId"] for i in sent.json()["items"]] == ["once"]
    assert proxied.get_buffer_stats()["failedFlushes"] == 0
    assert [m["data"] for m in await pop_all(proxied, q)] == [1]
