"""aio.run / install_uvloop, and the transport running on uvloop."""

import asyncio

import pytest
from aiohttp import web

from http_stub import serve_handler
from queen import aio
from queen.config import parse_config
from queen.http import Transport

pytestmark = pytest.mark.usefixtures("http1_backend")

uvloop = pytest.importorskip("uvloop")


def test_run_uses_uvloop_without_touching_the_policy():
    before = asyncio.get_event_loop_policy()

    async def which() -> str:
        return type(asyncio.get_running_loop()).__module__

    assert aio.run(which()).startswith("uvloop")
    assert aio.run(which(), use_uvloop=False).startswith("asyncio")
    assert asyncio.get_event_loop_policy() is before


def test_install_uvloop_sets_policy():
    before = asyncio.get_event_loop_policy()
    try:
        assert aio.install_uvloop() is True
        assert isinstance(asyncio.get_event_loop_policy(), uvloop.EventLoopPolicy)
    finally:
        asyncio.set_event_loop_policy(before)
    assert aio.uvloop_available()


def test_transport_on_uvloop():
    async def main() -> list:
        async def handle(request: web.Request) -> web.Response:
            return web.json_response({"n": int(request.path.rsplit("/", 1)[1])})

        async with serve_handler(handle) as url:
            async with Transport(parse_config(url)) as t:
                replies = await asyncio.gather(*(t.request("GET", f"/n/{i}") for i in range(10)))
            return [r.json()["n"] for r in replies]

    assert aio.run(main()) == list(range(10))
