"""Plain helpers for the client integration tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Dict, List

import pytest

from queen import Queen

SAFETY = 20.0  # seconds: only ever reached when something hangs


async def until(predicate: Callable[[], Awaitable[bool]], what: str, timeout: float = SAFETY) -> None:
    """Poll ``predicate`` until true (no fixed sleeps in tests)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def pop_in_flight(recorder: Any) -> None:
    """Wait until a pop has passed the recording proxy and waits on the server (a
    long poll in progress), instead of sleeping and hoping it has."""

    async def waiting() -> bool:
        return recorder.in_flight > 0 and bool(recorder.to("/api/v1/pop"))

    await until(waiting, "a pop to be waiting on the server")


async def subscribed(queen: Queen, queue: str, seen_marker: Callable[[], bool]) -> None:
    """Push ``{'marker': True}`` messages until a consumer's handler reports one
    (``seen_marker``): the consumer's group subscription is then recorded on the
    server, so what is pushed next is "new" for it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SAFETY
    while not seen_marker():
        if loop.time() > deadline:
            raise AssertionError("the consumer never received a marker message")
        await queen.queue(queue).push([{"data": {"marker": True}}])
        for _ in range(10):  # give it a moment before the next marker
            if seen_marker():
                return
            await asyncio.sleep(0.02)


async def pop_all(queen: Queen, queue: str, **kw: Any) -> List[Dict[str, Any]]:
    """Pop (and ack) everything currently deliverable from ``queue``."""
    out: List[Dict[str, Any]] = []
    for _ in range(200):
        b = queen.queue(queue)
        if kw.get("partition"):
            b = b.partition(kw["partition"])
        if kw.get("group"):
            b = b.group(kw["group"])
        msgs = await b.batch(kw.get("batch", 100)).pop()
        if not msgs:
            return out
        out.extend(msgs)
        await queen.ack(msgs, True)
    return out


def unused_url() -> str:
    """A loopback URL nobody listens on."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def skip_without_broker(server: Any) -> None:
    if getattr(server, "broker", None) is None:
        pytest.skip("needs the embedded server")
