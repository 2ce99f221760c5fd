"""``queen.admin`` read calls, end to end on both personalities (or QUEEN_URL): what an
operator sees of a small world with data in it."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from integration.client_helpers import until
from queen import Admin, Queen, QueenServerFeatureError
from queen.admin import AdminFeatureError

from .conftest import World


async def test_admin_is_one_cached_instance(queen: Queen) -> None:
    assert isinstance(queen.admin, Admin)
    assert queen.admin is queen.admin


async def test_overview_counts_the_whole_server(queen: Queen, world: World) -> None:
    ov = await queen.admin.get_overview()
    assert {"time", "offset"} <= set(ov["lag"])
    assert {"total", "pending", "processing", "completed", "deadLetter"} <= set(ov["messages"])
    if world.real and world.v15:
        return  # 0.15.1 computes these from periodic statistics of everyone's data
    assert ov["queues"] >= 3 and ov["partitions"] >= 5
    assert ov["messages"]["total"] >= 9
    assert ov["messages"]["deadLetter"] >= 1


async def test_namespaces_and_tasks(queen: Queen, world: World) -> None:
    ns = {r["namespace"]: r for r in (await queen.admin.get_namespaces())["namespaces"]}
    assert ns[world.ns]["queues"] == 2
    assert ns[world.ns]["messages"]["total"] == 8
    tasks = {r["task"]: r for r in (await queen.admin.get_tasks())["tasks"]}
    assert tasks[world.billing]["queues"] == 1 and tasks[world.billing]["messages"]["total"] == 6
    assert tasks[world.audit]["messages"]["total"] == 2


async def test_list_queues_normalises_unset_namespace_to_none(queen: Queen, world: World) -> None:
    rows = {q["name"]: q for q in (await queen.admin.list_queues(limit=10, search="x"))["queues"]}
    assert rows[world.orders]["namespace"] == world.ns
    assert rows[world.orders]["task"] == world.billing
    assert rows[world.orders]["messages"]["total"] == 6
    assert rows[world.dead]["namespace"] is None and rows[world.dead]["task"] is None


async def test_get_queue_has_partitions_and_totals(queen: Queen, world: World) -> None:
    info = await queen.admin.get_queue(world.orders)
    assert info is not None
    parts = {p["name"]: p for p in info["partitions"]}
    assert {"p1", "p2", "p3"} <= set(parts)
    assert parts["p2"]["stats"]["total"] == 2
    assert info["totals"]["total"] == 6
    assert await queen.admin.get_queue(world.orders + "-missing") is None


async def test_queue_depth_is_emulated(queen: Queen, world: World) -> None:
    depth = await queen.admin.get_queue_depth(world.orders)
    assert depth is not None
    assert depth["partitions"]["p2"] == 2 and depth["partitions"]["p3"] == 1
    # what is "done" in p1 differs: 0.15.1 counts the group's 2 acked messages
    # (the dashboard's precedence), 0.7.5 only queue-mode consumption
    assert depth["partitions"]["p1"] == (1 if world.v15 else 3)
    assert depth["depth"] == sum(depth["partitions"].values())
    lag = await queen.admin.get_queue_depth(world.orders, group=world.group)
    assert lag is not None
    assert lag["partitions"]["p1"] == 1  # read 2 of 3
    assert lag["partitions"]["p2"] == 2 and lag["partitions"]["p3"] == 1  # never read
    assert await queen.admin.get_queue_depth(world.orders + "-missing") is None


async def test_partitions_are_emulated(queen: Queen, world: World) -> None:
    rows = (await queen.admin.get_partitions(queue=world.orders))["partitions"]
    assert {"p1", "p2", "p3"} <= {p["name"] for p in rows}
    assert all(p["queue"] == world.orders for p in rows)
    page = (await queen.admin.get_partitions(queue=world.orders, limit=1, offset=1))["partitions"]
    assert page == rows[1:2]


async def test_list_messages_filters(queen: Queen, world: World) -> None:
    a = queen.admin
    all_ = (await a.list_messages(queue=world.orders))["messages"]
    assert len(all_) == 6 and "payload" not in all_[0]
    p1 = (await a.list_messages(queue=world.orders, partition="p1"))["messages"]
    assert len(p1) == 3
    pending = (await a.list_messages(queue=world.orders, status="pending"))["messages"]
    assert {m["partition"] for m in pending} >= {"p2", "p3"}
    done = await a.list_messages(queue=world.events, status="completed")
    assert len(done["messages"]) == 1 and done["mode"]["type"] in ("queue", "hybrid", "bus")
    dead = (await a.list_messages(queue=world.dead, status="dead_letter"))["messages"]
    assert len(dead) == 1
    by_ns = (await a.list_messages(namespace=world.ns, task=world.audit))["messages"]
    assert {m["queue"] for m in by_ns} == {world.events}
    page = (await a.list_messages(queue=world.orders, limit=2, offset=1))["messages"]
    assert [m["id"] for m in page] == [m["id"] for m in all_[1:3]]


async def test_get_and_delete_a_message(queen: Queen, world: World) -> None:
    a = queen.admin
    m = await a.get_message(world.first["partitionId"], world.first["transactionId"])
    assert m is not None and m["payload"] == {"order": 1}
    assert m["queue"] == world.orders and m["partition"] == "p1"
    assert await a.get_message(world.first["partitionId"], "no-such-tx") is None
    pid, tid = world.pending["partitionId"], world.pending["transactionId"]
    first = await a.delete_message(pid, tid)
    assert first["success"] is True
    assert await a.get_message(pid, tid) is None
    again = await a.delete_message(pid, tid)  # 0.7.5 would say "deleted" again
    assert again["success"] is False and again["message"] == "Message not found"


async def test_traces(queen: Queen, world: World) -> None:
    a = queen.admin
    page = await a.get_traces_by_name(world.trace)
    assert page["total"] == 2 and page["count"] == 2
    assert {t["event_type"] for t in page["traces"]} == {"processing", "info"}
    one = await a.get_traces_by_name(world.trace, limit=1)  # 0.15 ignores limit: cut here
    assert one["count"] == 1 and one["total"] == 2 and one["limit"] == 1
    rest = await a.get_traces_by_name(world.trace, limit=5, offset=1)  # 0.15: null there
    assert rest["count"] == 1 and rest["offset"] == 1
    assert (await a.get_traces_by_name(world.trace + "-none"))["traces"] == []
    names = {r["trace_name"]: r for r in (await a.get_trace_names(limit=100000))["trace_names"]}
    assert names[world.trace]["trace_count"] == 2
    assert names[world.other_trace]["trace_count"] == 1
    of = await a.get_traces_for_message(world.first["partitionId"], world.first["transactionId"])
    assert of["count"] == 2 and len(of["traces"]) == 2


async def test_status_views(queen: Queen, world: World) -> None:
    a = queen.admin
    st = await a.get_status(queue=world.orders)
    assert {"messages", "queues", "leases", "deadLetterQueue", "throughput"} <= set(st)
    stats = await a.get_queue_stats(namespace=world.ns)
    assert {q["name"] for q in stats["queues"]} == {world.orders, world.events}
    assert stats["pagination"]["limit"] == 100
    detail = await a.get_queue_detail(world.orders)
    assert detail is not None
    assert detail["queue"]["name"] == world.orders
    assert detail["queue"]["config"]["leaseTime"] == 30
    assert {"p1", "p2", "p3"} <= {p["name"] for p in detail["partitions"]}
    assert await a.get_queue_detail(world.orders + "-missing") is None
    an = await a.get_analytics(queue=world.orders, interval="minute")
    assert isinstance(an, dict) and an
    sm = await a.get_system_metrics()
    assert {"replicas", "bucketMinutes"} <= set(sm)


async def test_worker_metrics_are_015_only(queen: Queen, world: World) -> None:
    if world.v15:
        wm = await queen.admin.get_worker_metrics()
        assert {"summary", "queues", "timeSeries"} <= set(wm)
    else:
        with pytest.raises(QueenServerFeatureError, match="worker metrics"):
            await queen.admin.get_worker_metrics()


async def test_consumer_group_views(queen: Queen, world: World) -> None:
    a = queen.admin
    rows = [r for r in await a.list_consumer_groups() if r["name"] == world.group]
    assert [r["queueName"] for r in rows] == [world.orders]
    assert world.orders in rows[0]["topics"]
    if world.v15:  # each generation reports one of the two figures
        assert rows[0]["totalLag"] is None and rows[0]["partitionsWithLag"] == 1
    else:
        assert rows[0]["totalLag"] == 1 and rows[0]["partitionsWithLag"] is None
    detail = await a.get_consumer_group(world.group)
    assert detail is not None
    p1 = [p for p in detail[world.orders]["partitions"] if p["partition"] == "p1"]
    assert p1[0]["totalConsumed"] == 2 and p1[0]["offsetLag"] == 1
    assert await a.get_consumer_group(world.group + "-none") is None
    ours: List[Dict[str, Any]] = []

    async def lagging() -> bool:  # lag is counted in whole seconds: wait for the first
        rows = await a.get_lagging_consumers(min_lag_seconds=1)
        ours[:] = [dict(r) for r in rows if r["consumer_group"] == world.group]
        return bool(ours)

    await until(lagging, "the group's unread message to be a second old")
    assert [(r["queue_name"], r["partition_name"], r["offset_lag"]) for r in ours] == [
        (world.orders, "p1", 1)]
    assert all(r["consumer_group"] != world.group
               for r in await a.get_lagging_consumers(min_lag_seconds=3600))


async def test_refresh(queen: Queen, world: World) -> None:
    out = await queen.admin.refresh_consumer_stats()
    if world.v15:
        assert out["refreshed"] is True and "queue" in out and "partition" in out
    else:
        assert out == {"refreshed": False}


async def test_health_and_metrics(queen: Queen, generation: str) -> None:
    h = await queen.admin.health()
    assert h["status"] == "healthy" and h["database"] == "connected"
    assert ("libqueen" in h["server"]) == (generation == "0.15")
    m = await queen.admin.metrics()
    assert {"uptime", "requests", "messages", "database", "memory", "cpu"} <= set(m)
    if generation == "0.15":
        text = await queen.admin.metrics_text()
        assert "# TYPE" in text
    else:
        with pytest.raises(QueenServerFeatureError, match="Prometheus"):
            await queen.admin.metrics_text()


async def test_routes_no_server_has_raise_before_sending(queen: Queen) -> None:
    pid = "11111111-2222-4333-8444-555555555555"
    for call in (queen.admin.clear_queue("q"), queen.admin.retry_message(pid, "t"),
                 queen.admin.move_message_to_dlq(pid, "t")):
        with pytest.raises(AdminFeatureError) as info:
            await call
        assert isinstance(info.value, NotImplementedError)
        assert isinstance(info.value, QueenServerFeatureError)
