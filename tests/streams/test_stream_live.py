"""Streams on the shared server fixture (either personality, or a real server via
QUEEN_URL), in wall-clock time: one 1-second window, so this costs about 1-2 s."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any, Callable, List

import pytest

from queen.errors import QueenServerFeatureError
from queen.stream import Window


async def test_one_window_in_real_time(queen: Any, queen_compat: str,
                                       unique_name: Callable[[str], str]) -> None:
    src, stream = unique_name("st-src"), unique_name("st")
    if queen_compat == "0.15":
        with pytest.raises(QueenServerFeatureError, match=r"Queen 0\.15\.x"):
            await queen.stream(stream, "ns").sources([src]).define()
        return
    await queen.queue(src).create()
    try:
        reply = await (queen.stream(stream, "ns").sources([src]).tumbling_time(1)
                       .grace_period(0).lease_timeout(30).define())
        assert reply["success"] is True
        await queen.queue(src).push([{"data": {"n": 1}}, {"data": {"n": 2}}])
        end = math.ceil(time.time())
        await asyncio.sleep(max(0.0, end - time.time()) + 0.05)
        await queen.queue(src).push([{"data": {"tick": True}}])  # moves the watermark
        seen: List[Window] = []

        async def cb(window: Window) -> None:
            seen.append(window)

        await asyncio.wait_for(queen.consumer(stream, "g").process(cb, limit=1), 15)
        (window,) = seen
        # a push straddling a second boundary may split n=1/n=2; the first window has n=1
        assert [m["data"] for m in window.messages][0] == {"n": 1}
        assert window.aggregate({"count": True})["count"] == window.size() >= 1
    finally:
        assert (await queen.stream(stream, "ns").delete())["success"] is True
        await queen.queue(src).delete()
