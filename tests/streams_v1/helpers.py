"""Small helpers of the streams SDK tests."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable, Dict, List, Tuple

from queen import Queen

SAFETY = 30.0  # seconds: only reached when something hangs


async def wait_for(predicate: Callable[[], Any], what: str, timeout: float = SAFETY) -> None:
    """Poll ``predicate`` (sync or async) until true; never a fixed sleep."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        ok = predicate()
        if inspect.isawaitable(ok):
            ok = await ok
        if ok:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class Sink:
    """Drains a sink queue (acking what it reads) and keeps ``(partition, data)``."""

    def __init__(self, queen: Queen, queue: str) -> None:
        self.queen, self.queue = queen, queue
        self.rows: List[Tuple[str, Any]] = []

    async def drain(self) -> List[Tuple[str, Any]]:
        while True:
            msgs = await self.queen.queue(self.queue).batch(100).wait(False).pop()
            if not msgs:
                return self.rows
            self.rows.extend((m["partition"], m["data"]) for m in msgs)
            await self.queen.ack(msgs)

    async def count_at_least(self, n: int) -> bool:
        await self.drain()
        return len(self.rows) >= n

    def by_partition(self) -> Dict[str, List[Any]]:
        out: Dict[str, List[Any]] = {}
        for p, d in self.rows:
            out.setdefault(p, []).append(d)
        return out
