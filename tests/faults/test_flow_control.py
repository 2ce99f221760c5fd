"""Producer flow control (limits on held messages/bytes, block or raise), delivery
reports for buffered pushes, flush_all_buffers(timeout=) and close(timeout=)."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest
from fault_helpers import stored, until
from fault_proxy import Fault, FaultProxy

from queen import BufferFlushError, BufferFullError, Queen, QueenTimeoutError

SLOW = {"message_count": 1000, "time_millis": 60000}  # only a flush or the limits send


async def test_raise_when_full(queen_url: str, unique_name: Any) -> None:
    name = unique_name("full")
    async with Queen({"url": queen_url, "buffer_max_messages": 10,
                      "buffer_when_full": "raise"}) as q:
        await q.queue(name).create()
        for i in range(10):
            await q.queue(name).buffer(SLOW).push([{"data": i}])
        with pytest.raises(BufferFullError):
            await q.queue(name).buffer(SLOW).push([{"data": 10}])
        assert q.get_buffer_stats()["heldMessages"] == 10
        await q.flush_all_buffers()
        await q.queue(name).buffer(SLOW).push([{"data": 10}])
        await q.flush_all_buffers()
        assert sorted(await stored(q, name)) == list(range(11))
        await q.queue(name).delete()


@pytest.mark.parametrize("limit", [{"buffer_max_messages": 25}, {"buffer_max_bytes": 2000}])
async def test_block_when_full(queen_url: str, unique_name: Any, limit: Dict[str, int]) -> None:
    name = unique_name("block")
    async with Queen({"url": queen_url, **limit}) as q:
        await q.queue(name).create()
        most = 0
        for i in range(200):  # never more held than the limit: producers wait for room
            await q.queue(name).buffer(SLOW).push([{"data": i}])
            most = max(most, q.get_buffer_stats()["heldMessages"])
        await q.flush_all_buffers()
        assert sorted(await stored(q, name)) == list(range(200))
        if "buffer_max_messages" in limit:
            assert most <= 25
        assert q.get_buffer_stats()["heldBytes"] == 0
        await q.queue(name).delete()


async def test_delivery_reports(proxy: FaultProxy, unique_name: Any) -> None:
    name = unique_name("report")
    called: List[List[Any]] = []
    async with Queen({"url": proxy.url, "retry_attempts": 0}) as q:
        await q.queue(name).create()
        ok = q.queue(name).buffer(SLOW).push([{"data": 1}, {"data": 2}]).on_delivery(called.append)
        await ok
        assert ok.delivery is not None and not ok.delivery.done  # buffered, not yet sent
        await q.flush_all_buffers()
        results = await ok.delivery
        assert [r["status"] for r in results] == ["queued", "queued"]
        assert called == [results]
        # a batch the servers never take: reported failed, per message
        proxy.plan(Fault("reset", forward=False), match="/api/v1/push", times=1000)
        bad = q.queue(name).buffer(SLOW).push([{"data": 3}]).on_delivery()
        await bad
        with pytest.raises(BufferFlushError):
            await q.flush_all_buffers()
        assert bad.delivery is not None
        (result,) = await bad.delivery
        assert result["status"] == "failed" and result["error"]
        proxy.clear()
        # an unbuffered push reports too
        direct = q.queue(name).push([{"data": 4}]).on_delivery()
        await direct
        assert [r["status"] for r in await direct.delivery] == ["queued"]  # type: ignore[misc]
        assert sorted(await stored(q, name)) == [1, 2, 4]
        await q.queue(name).delete()


async def test_flush_timeout_keeps_messages_and_close_timeout_reports_them(
    proxy: FaultProxy, unique_name: Any
) -> None:
    name = unique_name("close")
    async with Queen(proxy.url) as setup:
        await setup.queue(name).create()
    q = Queen({"url": proxy.url, "retry_attempts": 0})
    proxy.plan(Fault("blackhole", forward=True), match="/api/v1/push")
    await q.queue(name).buffer(SLOW).push([{"data": "held"}])
    with pytest.raises(QueenTimeoutError):
        await q.flush_all_buffers(timeout=0.2)
    await until(lambda: len(proxy.to("/api/v1/push")) == 1, "the push to reach the proxy")
    await q.queue(name).buffer(SLOW).push([{"data": "never sent"}])
    with pytest.raises(BufferFlushError) as info:
        await q.close(timeout=0.2)
    errors = {f.error for f in info.value.failures}
    assert any("outcome unknown" in e for e in errors)  # the blackholed batch
    assert any("not sent" in e for e in errors)
    assert sum(len(f.transaction_ids) for f in info.value.failures) == 2
    async with Queen(proxy.url) as check:  # the blackholed one did reach the server
        assert await stored(check, name) == ["held"]
        await check.queue(name).delete()
    await asyncio.sleep(0)
