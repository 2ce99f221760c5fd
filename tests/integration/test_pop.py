"""Pop: batch, wait/long-poll, partitions, groups, subscription modes, server autoAck."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from client_helpers import pop_all, pop_in_flight

from queen import Queen, QueenValidationError


async def test_empty_pop_is_empty_list(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("pop-empty")
    assert await queen.queue(q).pop() == []
    assert await queen.queue(q).partition("nope").pop() == []
    assert await queen.queue(q).group("g").batch(5).pop() == []


async def test_batch_and_lease_lock(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("pop-batch")
    await queen.queue(q).push([{"data": i} for i in range(5)])
    first = await queen.queue(q).batch(3).pop()
    assert [m["data"] for m in first] == [0, 1, 2]
    assert len({m["leaseId"] for m in first}) == 1 and first[0]["leaseId"]
    assert await queen.queue(q).batch(3).pop() == []  # partition leased
    for m in first:
        assert m["queue"] == q and m["partition"] == "Default" and m["consumerGroup"] is None
        assert m["retryCount"] == 0 and m["priority"] == 0 and callable(m["trace"])
    await queen.ack(first, True)
    assert [m["data"] for m in await queen.queue(q).batch(10).pop()] == [3, 4]


async def test_long_poll_wakes_on_push(queen: Queen, make_queue: Any, proxied: Queen,
                                      recorder: Any) -> None:
    q = await make_queue("pop-wait")
    waiting = asyncio.ensure_future(proxied.queue(q).wait(True).timeout_millis(10000).pop())
    await pop_in_flight(recorder)
    assert not waiting.done()
    await queen.queue(q).push([{"data": "wake"}])
    msgs = await asyncio.wait_for(waiting, 15)
    assert [m["data"] for m in msgs] == ["wake"]


async def test_long_poll_timeout_is_empty(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("pop-timeout")
    assert await queen.queue(q).wait(True).timeout_millis(300).pop() == []


async def test_groups_fan_out(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("pop-groups")
    await queen.queue(q).push([{"data": i} for i in range(3)])
    a = await queen.queue(q).group("ga").batch(10).pop()
    b = await queen.queue(q).group("gb").batch(10).pop()
    assert [m["data"] for m in a] == [m["data"] for m in b] == [0, 1, 2]
    assert {m["consumerGroup"] for m in a} == {"ga"}
    await queen.ack(a, True)
    await queen.ack(b, True)
    assert await queen.queue(q).group("ga").pop() == []
    assert len(await pop_all(queen, q)) == 3  # queue mode is independent


async def test_subscription_mode_new_skips_history(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("pop-new")
    await queen.queue(q).push([{"data": "old"}])
    assert await queen.queue(q).group("fresh").subscription_mode("new").batch(10).pop() == []
    await asyncio.sleep(0.01)
    await queen.queue(q).push([{"data": "new"}])
    got = await queen.queue(q).group("fresh").subscription_mode("new").batch(10).pop()
    assert [m["data"] for m in got] == ["new"]


async def test_subscription_from_now(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("pop-from")
    await queen.queue(q).push([{"data": "old"}])
    assert await queen.queue(q).group("from-now").subscription_from("now").pop() == []
    await asyncio.sleep(0.01)
    await queen.queue(q).push([{"data": "later"}])
    got = await queen.queue(q).group("from-now").subscription_from("now").batch(5).pop()
    assert [m["data"] for m in got] == ["later"]


async def test_server_auto_ack_is_never_redelivered(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("pop-auto", leaseTime=1)
    await queen.queue(q).push([{"data": 1}])
    got = await queen.queue(q).auto_ack(True).pop()
    assert [m["data"] for m in got] == [1] and got[0]["leaseId"] is None
    assert await queen.queue(q).pop() == []


async def test_auto_ack_long_poll(queen: Queen, make_queue: Any) -> None:
    # 0.7 ignores autoAck on long polls: the client acks for it, so both behave alike.
    q = await make_queue("pop-auto-wait")
    await queen.queue(q).push([{"data": 1}])
    got = await queen.queue(q).auto_ack(True).wait(True).timeout_millis(1000).pop()
    assert [m["data"] for m in got] == [1] and got[0]["leaseId"] is None
    assert await queen.queue(q).pop() == []


@pytest.mark.parametrize("setter,value", [
    ("batch", 0), ("batch", -5), ("batch", "10"), ("wait", "yes"), ("timeout_millis", 0),
    ("timeout_millis", 120_000),
    ("subscription_mode", ""), ("subscription_mode", 3), ("subscription_from", ""), ("auto_ack", 1),
])
def test_bad_pop_options(queen: Queen, setter: str, value: Any) -> None:
    with pytest.raises(QueenValidationError):
        getattr(queen.queue("x"), setter)(value)


async def test_pop_needs_a_target(queen: Queen) -> None:
    with pytest.raises(QueenValidationError):
        await queen.queue().pop()
