"""Failover on the embedded cluster (three fronts over one broker): a stopped server
is skipped at once, never stalls the healthy ones, is probed in the background and
gets its traffic back; nothing is lost or stored twice. Assertions are on outcomes
and request counts, never on timings."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from fault_helpers import stored, until
from fault_proxy import FaultProxy

from queen import Queen
from queen.testing.cluster import Cluster

PARTITIONS = [f"p{i}" for i in range(8)]


class CountingRetry:
    """Stands in for the transport's Retry: counts the backoffs it is asked for."""

    def __init__(self, retries: int) -> None:
        self.retries = retries
        self.backoffs = 0

    def allows(self, failures: int) -> bool:
        return failures <= self.retries

    def delay(self, failures: int) -> float:
        self.backoffs += 1
        return 0.01


def client(urls: List[str], compat: str, **extra: Any) -> Queen:
    cfg: Dict[str, Any] = {"urls": urls, "server_version": compat, "retry_attempts": 3,
                           "health_retry_after_millis": 60000, **extra}
    return Queen(cfg)


async def numbers(queen: Queen, name: str) -> List[int]:
    return [d["n"] for d in await stored(queen, name, PARTITIONS)]


@pytest.mark.parametrize("strategy", ["affinity", "round-robin", "session"])
async def test_buffered_producer_rides_through_a_stop(
    cluster: Cluster, strategy: str, unique_name: Any
) -> None:
    name = unique_name("ride")
    total = 2400
    async with client(cluster.urls, cluster.compat, load_balancing_strategy=strategy) as q:
        retry = CountingRetry(3)
        q._host._transport.retry = retry  # type: ignore[assignment]
        await q.queue(name).create()
        opts = {"message_count": 50, "time_millis": 20}
        stopped: Optional[int] = None
        at_stop: List[int] = []
        for n in range(total):
            await q.queue(name).partition(PARTITIONS[n % 8]).buffer(opts).push([{"data": {"n": n}}])
            if n == total // 3:
                await q.flush_all_buffers()
                counts = cluster.requests()
                stopped = counts.index(max(counts))  # the busiest front
                await cluster.stop(stopped)
                at_stop = cluster.requests()
        await q.flush_all_buffers()
        assert stopped is not None
        assert retry.backoffs == 0  # healthy servers were left: nothing ever waited
        # after the stop the other two took all of it
        after = cluster.requests()
        assert after[stopped] == at_stop[stopped]
        assert sum(after) > sum(at_stop)
    async with client([u for i, u in enumerate(cluster.urls) if i != stopped], cluster.compat) as check:
        got = await numbers(check, name)
    assert len(got) == total and sorted(got) == list(range(total))  # 0 lost, 0 duplicated


async def test_a_dead_server_is_tried_by_few_requests(cluster: Cluster, unique_name: Any) -> None:
    """Requests that reach a dead front: only those already on their way to it."""
    name = unique_name("dead")
    dead = FaultProxy(cluster.urls[0])
    await dead.start()
    dead.reset_on_connect = True  # accepts and resets: every attempt is counted
    urls = [dead.url, cluster.urls[1], cluster.urls[2]]
    async with client(urls, cluster.compat, load_balancing_strategy="round-robin") as q:
        await q.queue(name).create()
        for n in range(300):
            await q.queue(name).partition(PARTITIONS[n % 8]).push([{"data": {"n": n}}])
        assert dead.connections == 1  # one failure, then skipped (no probe within 60 s)
    await dead.aclose()
    async with client(cluster.urls[1:], cluster.compat) as check:
        assert sorted(await numbers(check, name)) == list(range(300))


async def test_all_down_backs_off_then_recovers(cluster: Cluster, unique_name: Any) -> None:
    name = unique_name("alldown")
    async with client(cluster.urls, cluster.compat, retry_attempts=50,
                      retry_delay_millis=20) as q:
        await q.queue(name).create()
        await cluster.stop()
        retry = CountingRetry(50)
        q._host._transport.retry = retry  # type: ignore[assignment]
        push = asyncio.ensure_future(q.queue(name).partition("p0").push([{"data": {"n": 1}}]))
        await until(lambda: retry.backoffs >= 2, "the client to back off")
        await cluster.start(2)
        results = await push
        assert results[0]["status"] == "queued"
    async with client([cluster.urls[2]], cluster.compat) as check:
        assert await numbers(check, name) == [1]


async def test_affinity_keys_move_to_the_successor_and_come_back(
    cluster: Cluster, unique_name: Any
) -> None:
    name = unique_name("aff")
    async with client(cluster.urls, cluster.compat, health_retry_after_millis=50) as q:
        await q.queue(name).create()
        bal = q._host._transport.balancer
        owner = {p: bal.pick(f"{name}:{p}:") for p in PARTITIONS}
        victim = cluster.urls.index(max(set(owner.values()), key=list(owner.values()).count))
        moved = [p for p in PARTITIONS if owner[p] == cluster.urls[victim]]
        await cluster.stop(victim)
        for p in moved:
            await q.queue(name).partition(p).push([{"data": {"n": 1}}])
        for p in moved:  # the ring successor, not just any server
            assert bal.pick(f"{name}:{p}:") == bal._ring_order(f"{name}:{p}:")[1]
        await cluster.start(victim)
        await until(lambda: bal.is_healthy(cluster.urls[victim]), "the probe to see it back")
        before = cluster.nodes[victim].requests
        for p in moved:
            await q.queue(name).partition(p).push([{"data": {"n": 2}}])
        assert cluster.nodes[victim].requests == before + len(moved)  # all came back
