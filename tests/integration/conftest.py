"""Helpers for the client integration tests. Servers come from the ``queen.testing``
plugin fixtures (``queen_server``/``queen_url``/``queen``, both personalities, or
``QUEEN_URL``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List

import aiohttp
import orjson
import pytest
from aiohttp import web

from http_stub import serve_handler
from queen import Queen, QueenError


@pytest.fixture
async def generation(queen: Queen) -> str:
    return await queen._generation()


@pytest.fixture
async def make_queue(
    queen: Queen, unique_name: Callable[[str], str]
) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """Create uniquely named queues; they are deleted again afterwards (real servers
    are shared)."""
    made: List[str] = []

    async def make(prefix: str = "q", **options: Any) -> str:
        name = unique_name(prefix)
        await queen.queue(name).config({"leaseTime": 30, **options}).create()
        made.append(name)
        return name

    yield make
    for name in made:
        try:
            await queen.queue(name).delete()
        except QueenError:
            pass


@dataclass
class Recorded:
    method: str
    path: str
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


@dataclass
class Recorder:
    """A small HTTP proxy in front of the server that logs every request."""

    url: str
    requests: List[Recorded] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    delay: float = 0.0
    fail_paths: Dict[str, int] = field(default_factory=dict)  # path -> status to answer

    def to(self, prefix: str) -> List[Recorded]:
        return [r for r in self.requests if r.path.startswith(prefix)]


@pytest.fixture
async def recorder(queen_url: str) -> AsyncIterator[Recorder]:
    rec = Recorder(url="")
    session = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        rec.requests.append(Recorded(request.method, request.path_qs, body))
        rec.in_flight += 1
        rec.max_in_flight = max(rec.max_in_flight, rec.in_flight)
        try:
            if rec.delay:
                await asyncio.sleep(rec.delay)
            status = rec.fail_paths.get(request.path)
            if status is not None:
                return web.Response(status=status, body=b'{"error":"injected failure"}',
                                    content_type="application/json")
            async with session.request(
                request.method, queen_url + request.path_qs, data=body or None,
                headers={"Content-Type": "application/json"},
            ) as resp:
                data = await resp.read()
                return web.Response(status=resp.status, body=data,
                                    content_type=resp.content_type or "application/json")
        finally:
            rec.in_flight -= 1

    try:
        async with serve_handler(forward) as rec.url:
            yield rec
    finally:
        await session.close()


@pytest.fixture
async def proxied(recorder: Recorder) -> AsyncIterator[Queen]:
    """A Queen talking to the server through ``recorder``."""
    q = Queen({"url": recorder.url, "retry_attempts": 0})
    try:
        yield q
    finally:
        await q.close()
