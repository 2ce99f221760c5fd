"""``async for message in queen.queue(q).group(g).iterate()``: every message delivered,
acked when its body finished, redelivered when it did not, prefetch bounded, clean ends."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, List

import pytest
from client_helpers import until

from queen import Queen, QueenValidationError
from queen.iterate import MessageIterator

MakeQueue = Callable[..., Awaitable[str]]


def iterate(queen: Queen, name: str, group: str = "g", **options: Any) -> MessageIterator:
    return queen.queue(name).group(group).iterate(**options)


async def drain(queen: Queen, name: str, group: str = "g") -> List[Any]:
    """What the group can still pop now, from every partition (acked, so a later drain
    sees only new ones)."""
    out: List[Any] = []
    while True:
        batch = await queen.queue(name).group(group).batch(100).wait(False).pop()
        if not batch:
            return out
        await queen.ack(batch, True)
        out += [m["data"] for m in batch]


async def test_every_message_in_order_and_acked(queen: Queen, make_queue: MakeQueue) -> None:
    name = await make_queue("it")
    await queen.queue(name).push([{"data": n} for n in range(10)])
    seen: List[int] = []
    async for message in iterate(queen, name):
        seen.append(message["data"])
        if len(seen) == 10:
            break
    assert seen == list(range(10))
    # the last one was in hand at the break: a plain async for cannot know that the body
    # finished it, so it goes back (when the abandoned iterator is finalized, right after
    # the loop) and is delivered again; the nine before it were acked
    back: List[Any] = []

    async def returned() -> bool:
        back.extend(await drain(queen, name))
        return bool(back)

    await until(returned, "the message in hand to come back")
    assert back == [9]


async def test_async_with_break_acks_the_message_in_hand(queen: Queen, make_queue: MakeQueue
                                                         ) -> None:
    name = await make_queue("it")
    await queen.queue(name).push([{"data": n} for n in range(3)])
    async with iterate(queen, name) as messages:
        async for message in messages:
            if message["data"] == 1:
                break
    # 0 and 1 acked; 2 was popped ahead (or never popped): available again at once,
    # not only after the 30 s lease
    assert await drain(queen, name) == [2]


async def test_a_raising_body_gets_the_message_again(queen: Queen, make_queue: MakeQueue
                                                     ) -> None:
    name = await make_queue("it", retryLimit=5)
    await queen.queue(name).push([{"data": "poison"}, {"data": "next"}])
    with pytest.raises(RuntimeError, match="boom"):
        async with iterate(queen, name) as messages:
            async for _message in messages:
                raise RuntimeError("boom")
    again: List[Any] = []
    async with iterate(queen, name) as messages:
        async for message in messages:
            again.append(message["data"])
            if len(again) == 2:
                break
    assert again == ["poison", "next"]


async def test_per_message_context_manager(queen: Queen, make_queue: MakeQueue) -> None:
    name = await make_queue("it", retryLimit=5)
    await queen.queue(name).push([{"data": n} for n in range(3)])
    done: List[int] = []
    seen: List[int] = []
    failures = 0
    async with iterate(queen, name) as messages:
        async for message in messages:
            seen.append(message["data"])
            try:
                async with message:  # acked on a clean exit, nacked when it raises
                    if message["data"] == 1 and failures == 0:
                        failures += 1
                        raise ValueError("first try of 1 fails")
                    done.append(message["data"])
            except ValueError:
                continue
            if len(done) == 3:
                break
    assert seen == [0, 1, 1, 2]  # 1 came back after its failure, order kept
    assert done == [0, 1, 2]
    assert await drain(queen, name) == []


async def test_manual_mode_acks_nothing_by_itself(queen: Queen, make_queue: MakeQueue) -> None:
    name = await make_queue("it", leaseTime=2)
    await queen.queue(name).push([{"data": n} for n in range(2)])
    async with iterate(queen, name, auto_ack=False) as messages:
        async for message in messages:
            if message["data"] == 0:
                await queen.ack(message, True)  # explicit
            else:
                break  # 1 left unacked in hand: its lease expires, it comes back
    await until(lambda: _poppable(queen, name), "message 1 to come back after its lease")


async def _poppable(queen: Queen, name: str) -> bool:
    got = await drain(queen, name)
    assert got in ([], [1])
    return got == [1]


async def test_prefetch_is_bounded(proxied: Queen, recorder: Any, make_queue: MakeQueue) -> None:
    """While the body holds a message, at most ``prefetch`` more batches are popped."""
    name = await make_queue("it")
    for p in range(6):  # one partition each: a held lease blocks only its own partition
        await proxied.queue(name).partition(f"p{p}").push([{"data": p}])
    pops_before = len(recorder.to("/api/v1/pop"))
    held = None
    async with iterate(proxied, name, prefetch=2) as messages:
        async for message in messages:
            held = message["data"]

            async def popped() -> bool:
                return len(recorder.to("/api/v1/pop")) - pops_before >= 3

            await until(popped, "the prefetch pops")
            await asyncio.sleep(0.3)  # room for an unbounded fetcher to overshoot
            assert len(recorder.to("/api/v1/pop")) - pops_before == 3  # 1 + prefetch 2
            break
    # the one in hand acked at the break; the prefetched ones back at once
    assert sorted(await drain(proxied, name)) == sorted(set(range(6)) - {held})


async def test_signal_ends_a_waiting_iteration(queen: Queen, make_queue: MakeQueue) -> None:
    name = await make_queue("it")
    stop = asyncio.Event()
    got: List[Any] = []

    async def consume() -> None:
        async for message in iterate(queen, name, signal=stop):
            got.append(message["data"])
            stop.set()  # after this one

    task = asyncio.ensure_future(consume())
    await queen.queue(name).push([{"data": "only"}, {"data": "left"}])
    await asyncio.wait_for(task, 20)
    assert got == ["only"]
    assert await drain(queen, name) == ["left"]  # prefetched or not, released at the end

    stop2 = asyncio.Event()
    idle = asyncio.ensure_future(consume_until(queen, name, stop2))
    stop2.set()  # while it waits on an empty queue
    assert await asyncio.wait_for(idle, 20) == []


async def consume_until(queen: Queen, name: str, stop: asyncio.Event) -> List[Any]:
    out: List[Any] = []
    async for message in iterate(queen, name, signal=stop):
        out.append(message["data"])
    return out


async def test_closing_the_client_ends_the_iteration(queen_url: str, make_queue: MakeQueue
                                                     ) -> None:
    name = await make_queue("it")
    client = Queen(queen_url)
    task = asyncio.ensure_future(consume_until(client, name, asyncio.Event()))
    await asyncio.sleep(0)
    await client.close()
    assert await asyncio.wait_for(task, 20) == []


def test_bad_options_are_refused(queen: Queen) -> None:
    for bad in ({"prefetch": 0}, {"prefetch": True}, {"auto_ack": "yes"}, {"signal": object()}):
        with pytest.raises(QueenValidationError):
            iterate(queen, "q", **bad)
