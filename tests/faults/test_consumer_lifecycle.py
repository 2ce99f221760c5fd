"""Consumers that end cleanly and ride through restarts: close() and drain() make
consume() return after running handlers finished and acked; drain gives back what
was fetched but not started; a consumer group with several URLs finishes its
messages when one server stops; consumers resume once a server is back."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, Dict, List

from fault_helpers import until
from fault_proxy import FaultProxy

from queen import Queen
from queen.testing.cluster import Cluster


async def test_close_lets_consume_return_after_the_running_handler_acked(
    proxy: FaultProxy, unique_name: Any
) -> None:
    name = unique_name("close")
    q = Queen(proxy.url)
    await q.queue(name).create()
    await q.queue(name).push([{"data": {"n": i}} for i in range(3)])
    started, release = asyncio.Event(), asyncio.Event()
    handled: List[int] = []

    async def handler(message: Dict[str, Any]) -> None:
        started.set()
        await release.wait()
        handled.append(message["data"]["n"])

    consume = asyncio.ensure_future(q.queue(name).batch(1).consume(handler))
    await started.wait()
    closing = asyncio.ensure_future(q.close())
    await asyncio.sleep(0)  # close() has begun: it waits for the running handler
    assert not closing.done()
    release.set()
    await closing
    assert await consume is None  # returned, not raised
    assert handled == [0]
    acks = proxy.to("/api/v1/ack")  # the running handler's message was acked, before the close
    assert len(acks) == 1 and all(a.forwarded for a in acks)


async def test_drain_gives_back_unstarted_messages(queen_url: str, unique_name: Any) -> None:
    name = unique_name("drain")
    async with Queen(queen_url) as q:
        gen = await q._generation()
        await q.queue(name).config({"leaseTime": 60}).create()
        await q.queue(name).push([{"data": {"n": i}} for i in range(10)])
        started, release = asyncio.Event(), asyncio.Event()
        handled: List[int] = []

        async def handler(message: Dict[str, Any]) -> None:
            handled.append(message["data"]["n"])
            started.set()
            await release.wait()

        consume = asyncio.ensure_future(q.queue(name).batch(10).each().consume(handler))
        await started.wait()
        draining = asyncio.ensure_future(q.drain(timeout=20))
        await asyncio.sleep(0)
        release.set()
        report = await draining
        await consume
        assert handled == [0] and report.unfinished == 0 and report.complete
        again = await q.queue(name).batch(20).wait(False).pop()
        if gen == "0.15":  # given back at once, in order, the finished one acked
            assert report.released == 9
            assert [m["data"]["n"] for m in again] == list(range(1, 10))
        else:  # 0.7 has no free release: they wait for their lease
            assert report.released == 0 and again == []


async def test_drain_deadline_cancels_a_stuck_handler(queen_url: str, unique_name: Any) -> None:
    name = unique_name("stuck")
    async with Queen(queen_url) as q:
        await q.queue(name).create()
        await q.queue(name).push([{"data": 1}])
        started = asyncio.Event()

        async def handler(message: Dict[str, Any]) -> None:
            started.set()
            await asyncio.Event().wait()  # never ends

        consume = asyncio.ensure_future(q.queue(name).consume(handler))
        await started.wait()
        report = await q.drain(timeout=0.2)
        assert report.unfinished == 1 and not report.complete
        assert await consume is None


async def test_group_with_several_urls_finishes_when_one_server_stops(
    cluster: Cluster, unique_name: Any
) -> None:
    name = unique_name("group")
    total = 600
    async with Queen({"urls": cluster.urls, "server_version": cluster.compat}) as q:
        await q.queue(name).config({"leaseTime": 1, "retryLimit": 100}).create()
        for start in range(0, total, 100):
            await q.queue(name).push([{"data": {"n": n}} for n in range(start, start + 100)])
        seen: Counter[int] = Counter()
        third, done = asyncio.Event(), asyncio.Event()

        async def handler(messages: List[Dict[str, Any]]) -> None:
            for m in messages:
                seen[m["data"]["n"]] += 1
            if len(seen) >= total // 3:
                third.set()
            if len(seen) >= total:
                done.set()

        owner = cluster.urls.index(q._host._transport.balancer.pick(f"{name}:Default:workers"))
        consume = asyncio.ensure_future(
            q.queue(name).group("workers").batch(20).concurrency(3).consume(handler, signal=done))
        await third.wait()
        await cluster.stop(owner)  # the server the group's pops go to
        await consume
    assert set(seen) == set(range(total))  # nothing lost (at-least-once: a cut pop may repeat)


async def test_consumer_resumes_when_a_server_comes_back(cluster: Cluster, unique_name: Any) -> None:
    name = unique_name("resume")
    async with Queen({"urls": cluster.urls, "server_version": cluster.compat}) as q:
        await q.queue(name).create()
        got: List[int] = []
        done = asyncio.Event()

        async def handler(message: Dict[str, Any]) -> None:
            got.append(message["data"]["n"])
            if len(got) == 2:
                done.set()

        consume = asyncio.ensure_future(q.queue(name).consume(handler, signal=done))
        await q.queue(name).push([{"data": {"n": 1}}])
        await until(lambda: got == [1], "the first message")
        await cluster.stop()  # every server down: the consumer keeps trying
        balancer = q._host._transport.balancer
        await until(lambda: len(balancer.failed()) == 3, "the consumer to find them all down")
        await cluster.start(1)
        async with Queen({"url": cluster.urls[1], "server_version": cluster.compat}) as p:
            await p.queue(name).push([{"data": {"n": 2}}])
        await consume
    assert got == [1, 2]


async def test_close_from_inside_a_handler(queen_url: str, unique_name: Any) -> None:
    name = unique_name("inside")
    q = Queen(queen_url)
    await q.queue(name).create()
    await q.queue(name).push([{"data": 1}])

    async def handler(message: Dict[str, Any]) -> None:
        await q.close()  # must not wait for this very handler

    assert await q.queue(name).consume(handler) is None
