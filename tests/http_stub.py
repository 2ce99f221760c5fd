"""A throwaway local HTTP server for tests: every method and path goes to one handler."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable


@asynccontextmanager
async def serve_handler(handler: Callable[[Any], Awaitable[Any]]) -> AsyncIterator[str]:
    """Serve every method and path with ``handler`` (an aiohttp handler) on a free
    loopback port; yields the base URL."""
    from aiohttp import web

    async def handle(request: Any) -> Any:  # (aiohttp wants a coroutine function)
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
