"""Getting started: constructing Queen, async with, close, generation detection."""

from __future__ import annotations

from typing import Any

import pytest

import queen as queen_pkg
from queen import Message, Queen, QueenConnectionError, QueenValidationError, run


def test_public_names() -> None:
    assert callable(run) and Message is not None
    for name in ("QueenError", "QueenHTTPError", "QueenServerFeatureError", "QueenTimeoutError",
                 "BufferFlushError", "__version__"):
        assert hasattr(queen_pkg, name)


@pytest.mark.parametrize("make", [
    lambda url: Queen(url),
    lambda url: Queen([url]),
    lambda url: Queen({"urls": [url], "timeout_millis": 5000, "retry_attempts": 1,
                       "load_balancing_strategy": "affinity", "affinity_hash_ring": 64,
                       "enable_failover": True}),
])
async def test_three_ways_to_connect(queen_url: str, make: Any, unique_name: Any) -> None:
    async with make(queen_url) as q:
        name = unique_name("gs")
        await q.queue(name).create()
        res = await q.queue(name).push([{"data": {"hello": "world"}}])
        assert res[0]["status"] == "queued"
        msgs = await q.queue(name).pop()
        assert [m["data"] for m in msgs] == [{"hello": "world"}]
        await q.ack(msgs[0], True)


def test_bad_config_rejected_before_any_request() -> None:
    with pytest.raises(QueenValidationError):
        Queen({"urls": [], "timeout_millis": 1})
    with pytest.raises(QueenValidationError):
        Queen(42)  # type: ignore[arg-type]


async def test_close_is_idempotent_and_final(queen_url: str) -> None:
    q = Queen(queen_url)
    await q.close()
    await q.close()
    with pytest.raises(QueenConnectionError):
        await q.queue("after-close").create()


async def test_generation_detected_once_and_overridable(queen_url: str, queen_server: Any) -> None:
    async with Queen(queen_url) as q:
        gen = await q._generation()
        assert gen in ("0.7", "0.15")
        if getattr(queen_server, "compat", None):
            assert gen == queen_server.compat
        assert await q._generation() == gen
    forced = "0.15" if gen == "0.7" else "0.7"
    async with Queen({"url": queen_url, "server_version": forced}) as q:
        assert await q._generation() == forced


async def test_run_helper_runs_a_coroutine() -> None:
    async def answer() -> int:
        return 42

    # queen.run makes its own loop: run it in a worker thread from inside this test.
    import asyncio

    assert await asyncio.to_thread(run, answer()) == 42


def test_stream_entry_points(queen: Queen) -> None:
    from queen.builders.stream import StreamBuilder
    from queen.stream.consumer import StreamConsumer

    assert isinstance(queen.stream("user-events", "analytics"), StreamBuilder)
    assert isinstance(queen.consumer("user-events", "my-group"), StreamConsumer)


def test_queen_can_be_built_outside_a_loop(queen_url: str) -> None:
    import asyncio

    q = Queen(queen_url)  # e.g. at module level, before asyncio.run

    async def use() -> int:
        try:
            return len(await q.queue("outside-loop-never-created").pop())
        finally:
            await q.close()

    assert asyncio.run(use()) == 0
