"""aio.run / install_uvloop, and the transport running on uvloop."""

import asyncio

import pytest
from aiohttp import web

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
            return web.json_response({"n": int(request.match_info["n"])})

        app = web.Application()
        app.router.add_get("/n/{n}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            async with Transport(parse_config(f"http://127.0.0.1:{port}")) as t:
                replies = await asyncio.gather(*(t.request("GET", f"/n/{i}") for i in range(10)))
            return [r.json()["n"] for r in replies]
        finally:
            await runner.cleanup()

    assert aio.run(main()) == list(range(10))
