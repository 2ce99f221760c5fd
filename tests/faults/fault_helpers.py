"""Small helpers of the fault suite: poll until a condition holds, read back a queue."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, List, Optional, Sequence

from queen import Queen


async def until(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Poll ``predicate`` until true (no fixed sleeps in tests)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def stored(queen: Queen, name: str, partitions: Optional[Sequence[str]] = None) -> List[Any]:
    """The data of every message now in ``name`` (popped and acked), partition by
    partition (``Default`` when none are given)."""
    out: List[Any] = []
    for partition in partitions or ["Default"]:
        while True:
            got = await queen.queue(name).partition(partition).batch(500).wait(False).pop()
            if not got:
                break
            out.extend(m["data"] for m in got)
            await queen.ack(got)
    return out
