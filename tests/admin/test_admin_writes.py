"""``queen.admin`` calls that change things: seek, per-queue group delete, message
delete, maintenance switches; both personalities (or QUEEN_URL)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest

from integration.client_helpers import until
from queen import Queen, QueenHTTPError, QueenServerFeatureError, QueenValidationError

from .conftest import World

SHARED = ("maintenance switches are server-wide: on a shared real server they would "
          "break everyone else's pushes and pops (set QUEEN_ADMIN_MAINTENANCE=1 to run)")


def _may_switch_maintenance(world: World) -> None:
    if world.real and os.environ.get("QUEEN_ADMIN_MAINTENANCE") != "1":
        pytest.skip(SHARED)


async def test_seek_to_end_skips_what_the_group_has_read(queen: Queen, world: World) -> None:
    a = queen.admin
    if not world.v15:
        with pytest.raises(QueenServerFeatureError, match="seek"):
            await a.seek_consumer_group(world.group, world.orders, {"toEnd": True})
        return
    out = await a.seek_consumer_group(world.group, world.orders, {"toEnd": True})
    assert out["success"] is True and out["seekToEnd"] is True
    assert out["partitionsUpdated"] == 1  # only p1 has a cursor of this group
    orders = queen.queue(world.orders).group(world.group).batch(10)
    assert await orders.partition("p1").pop() == []
    p2 = await orders.partition("p2").pop()  # never read: still delivered in full
    assert [m["data"]["order"] for m in p2] == [4, 5]
    await queen.ack(p2, True)


async def test_seek_to_a_time_replays(queen: Queen, world: World) -> None:
    if not world.v15:
        pytest.skip("0.7 has no seek (asserted in the test above)")
    a = queen.admin
    before = datetime.now(timezone.utc) - timedelta(minutes=5)
    out = await a.seek_consumer_group(world.group, world.orders, {"timestamp": before})
    assert out["success"] is True and out["seekToEnd"] is False
    assert out["targetTimestamp"]
    got = await queen.queue(world.orders).partition("p1").group(world.group).batch(10).pop()
    assert [m["data"]["order"] for m in got] == [1, 2, 3]
    await queen.ack(got, True)
    with pytest.raises(QueenHTTPError, match="timestamp"):
        await a.seek_consumer_group(world.group, world.orders, {"timestamp": "not-a-time"})


async def test_seek_one_partition(queen: Queen, world: World) -> None:
    if not world.v15:
        pytest.skip("0.7 has no seek")
    a = queen.admin
    p2 = queen.queue(world.orders).partition("p2").group(world.group)
    out = await a.seek_consumer_group(world.group, world.orders, {"partition": "p2"})
    assert out["success"] is True and out["updated"] is False  # no cursor there yet
    assert out["partitionsUpdated"] == 0
    await queen.ack(await p2.pop(), True)  # the group reads 1 of 2
    out = await a.seek_consumer_group(world.group, world.orders, {"partition": "p2"})
    assert out["success"] is True and out["updated"] is True
    assert out["partitionsUpdated"] == 1 and out["partitionName"] == "p2"
    assert await p2.pop() == []
    with pytest.raises(QueenHTTPError, match="Partition not found"):
        await a.seek_consumer_group(world.group, world.orders, {"partition": "nope"})


@pytest.mark.parametrize("options", [None, {}, {"toEnd": False}, {"toEnd": "yes"},
                                     {"bogus": 1}, {"toEnd": True, "timestamp": "yesterday"},
                                     {"partition": "p1", "timestamp": "yesterday"},
                                     {"timestamp": ""}, {"partition": "a/b"}])
async def test_seek_refuses_bad_options(queen: Queen, options: object) -> None:
    with pytest.raises(QueenValidationError):
        await queen.admin.seek_consumer_group("g", "q", options)  # type: ignore[arg-type]


async def test_delete_group_for_one_queue(queen: Queen, world: World) -> None:
    a = queen.admin
    if not world.v15:
        with pytest.raises(QueenServerFeatureError, match="delete_consumer_group"):
            await a.delete_consumer_group_for_queue(world.group, world.orders)
        return
    out = await a.delete_consumer_group_for_queue(world.group, world.orders)
    assert out["success"] is True and out["queueName"] == world.orders
    assert out["deletedPartitions"] >= 1 and out["metadataDeleted"] is True
    assert await a.get_consumer_group(world.group) is None
    never = await a.delete_consumer_group_for_queue(world.group + "-none", world.orders, False)
    assert never["success"] is True and never["deletedPartitions"] == 0


async def test_maintenance_status_reads(queen: Queen, generation: str) -> None:
    st = await queen.admin.get_maintenance_mode()
    assert isinstance(st["maintenanceMode"], bool) and isinstance(st["bufferedMessages"], int)
    if generation == "0.15":
        pop = await queen.admin.get_pop_maintenance_mode()
        assert isinstance(pop["popMaintenanceMode"], bool)
    else:
        with pytest.raises(QueenServerFeatureError, match="pop maintenance"):
            await queen.admin.get_pop_maintenance_mode()
        with pytest.raises(QueenServerFeatureError, match="pop maintenance"):
            await queen.admin.set_pop_maintenance_mode(True)


async def test_push_maintenance_buffers_then_delivers(queen: Queen, world: World) -> None:
    _may_switch_maintenance(world)
    a = queen.admin
    on = await a.set_maintenance_mode(True)
    try:
        assert on["maintenanceMode"] is True
        res = await queen.queue(world.events).push([{"data": {"event": "during"}}])
        assert [r["status"] for r in res] == ["buffered"]
        st = await a.get_maintenance_mode()
        assert st["maintenanceMode"] is True and st["bufferedMessages"] >= 1
    finally:
        off = await a.set_maintenance_mode(False)
    assert off["maintenanceMode"] is False
    seen = []

    async def delivered() -> bool:
        got = await queen.queue(world.events).batch(10).pop()
        await queen.ack(got, True) if got else None
        seen.extend(m["data"] for m in got)
        return {"event": "during"} in seen

    await until(delivered, "the buffered push to be stored after maintenance")


async def test_pop_maintenance_pauses_pops(queen: Queen, world: World) -> None:
    if not world.v15:
        pytest.skip("pop maintenance is 0.15 only (asserted in test_maintenance_status_reads)")
    _may_switch_maintenance(world)
    a = queen.admin
    on = await a.set_pop_maintenance_mode(True)
    try:
        assert on["popMaintenanceMode"] is True
        assert (await a.get_pop_maintenance_mode())["popMaintenanceMode"] is True
        assert await queen.queue(world.events).batch(10).pop() == []
        res = await queen.queue(world.events).push([{"data": {"event": "paused"}}])
        assert res[0]["status"] == "queued"  # pushes are unaffected
    finally:
        off = await a.set_pop_maintenance_mode(False)
    assert off["popMaintenanceMode"] is False
    got = await queen.queue(world.events).batch(10).pop()
    assert {"event": "paused"} in [m["data"] for m in got]
    await queen.ack(got, True)


async def test_maintenance_takes_a_bool(queen: Queen) -> None:
    for bad in (None, "yes", 1):
        with pytest.raises(QueenValidationError):
            await queen.admin.set_maintenance_mode(bad)  # type: ignore[arg-type]
