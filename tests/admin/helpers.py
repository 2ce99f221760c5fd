"""Small helpers of the admin tests."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

SAFETY = 20.0  # seconds: only ever reached when something hangs


async def until(predicate: Callable[[], Awaitable[bool]], what: str, timeout: float = SAFETY) -> None:
    """Poll ``predicate`` until true (no fixed sleeps in tests)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
