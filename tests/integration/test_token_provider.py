"""bearer_token as a provider (sync or async): asked before the first request and
again when a server answers 401; concurrent 401s cause one refresh."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, List, Set

import aiohttp
import pytest
from aiohttp import web

from http_stub import serve_handler
from queen import Queen, QueenConnectionError, QueenHTTPError, QueenValidationError


class Gate:
    """An auth proxy in front of the test server: only current tokens get through."""

    def __init__(self) -> None:
        self.valid: Set[str] = set()
        self.seen: List[str] = []
        self.refused = 0
        self.url = ""


@pytest.fixture
async def gate(queen_url: str) -> AsyncIterator[Gate]:
    g = Gate()
    session = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        g.seen.append(auth)
        if auth.removeprefix("Bearer ") not in g.valid:
            g.refused += 1
            return web.json_response({"error": "token expired"}, status=401)
        async with session.request(request.method, queen_url + request.path_qs,
                                   data=await request.read() or None,
                                   headers={"Content-Type": "application/json"}) as resp:
            return web.Response(status=resp.status, body=await resp.read(),
                                content_type="application/json")

    try:
        async with serve_handler(forward) as g.url:
            yield g
    finally:
        await session.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("backend", ["httptools", "aiohttp"])
async def test_token_refreshed_after_401(gate: Gate, kind: str, backend: str, unique_name: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEEN_HTTP1_BACKEND", backend)
    issued: List[str] = []

    def fresh() -> str:
        token = f"token-{len(issued) + 1}"
        issued.append(token)
        gate.valid = {token}  # the identity provider: the newest token only
        return token

    async def fresh_async() -> str:
        await asyncio.sleep(0)
        return fresh()

    provider = fresh if kind == "sync" else fresh_async
    async with Queen({"url": gate.url, "bearer_token": provider}) as q:
        name = unique_name("tok")
        await q.queue(name).create()
        assert issued == ["token-1"] and gate.refused == 0
        gate.valid = {"token-from-elsewhere"}  # token-1 expires
        await asyncio.gather(*(q.queue(name).push([{"data": i}]) for i in range(5)))
        assert issued == ["token-1", "token-2"]  # five 401s, one refresh
        messages = await q.queue(name).batch(10).wait(False).pop()
        assert sorted(m["data"] for m in messages) == [0, 1, 2, 3, 4]
        await q.ack(messages)
        await q.queue(name).delete()
    assert set(gate.seen) == {"Bearer token-1", "Bearer token-2"}


async def test_a_token_still_refused_is_an_http_error(gate: Gate) -> None:
    async with Queen({"url": gate.url, "bearer_token": lambda: "never-valid"}) as q:
        with pytest.raises(QueenHTTPError) as info:
            await q.queue("q").create()
    assert info.value.status == 401
    assert gate.refused == 2  # sent, refreshed, sent once more


@pytest.mark.parametrize("provider, error", [
    (lambda: None, QueenValidationError),
    (lambda: "a\r\nX-Evil: 1", QueenValidationError),
    (lambda: 1 / 0, QueenConnectionError),
])
async def test_bad_provider(gate: Gate, provider: Any, error: type) -> None:
    async with Queen({"url": gate.url, "bearer_token": provider}) as q:
        with pytest.raises(error):
            await q.queue("q").create()
    assert gate.seen == []


def test_fixed_token_still_a_string_option() -> None:
    with pytest.raises(QueenValidationError):
        Queen({"bearer_token": 42})
