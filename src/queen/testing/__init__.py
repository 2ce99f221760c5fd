"""Embedded Queen-compatible server for tests and demos.

    from queen.testing import start_server
    with start_server(compat="0.15") as srv:      # background thread, own event loop
        print(srv.url)                            # http://127.0.0.1:<port>

    async with serve(compat="0.7") as srv:        # inside a running event loop
        ...

Pass ``clock=FakeClock()`` to control time (leases, delays, window buffers) and call
``srv.advance(seconds)``; ``ssl=<ssl.SSLContext>`` serves HTTPS. Several fronts over
one broker, each stoppable: ``queen.testing.cluster``. Heavy imports (aiohttp) happen
only when a server starts.
"""

from __future__ import annotations

import asyncio
import ssl as _ssl
import threading
from contextlib import asynccontextmanager
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Dict,
    Optional,
    Tuple,
)

from .broker import Broker, FakeClock

if TYPE_CHECKING:  # pragma: no cover
    from aiohttp import web

__all__ = ["Broker", "FakeClock", "ServerHandle", "start_server", "serve", "make_app"]


def make_app(broker: Broker, compat: Optional[str] = None) -> web.Application:
    """The aiohttp app serving ``broker`` (its generation comes from the broker;
    ``compat``, when given, must match it)."""
    from .app import make_app as _make_app

    if compat is not None and compat != broker.compat:
        raise ValueError(f"compat {compat!r} does not match the broker's {broker.compat!r}")
    return _make_app(broker)


class ServerHandle:
    """A running server: ``url``, ``compat``, ``broker`` (None for a remote server),
    ``clock`` (the FakeClock when one was given), ``close()``, ``advance(seconds)``,
    ``call(fn, *args)`` (run code against the broker in the server's thread)."""

    def __init__(self, url: str, compat: str, broker: Optional[Broker] = None,
                 clock: Optional[FakeClock] = None) -> None:
        self.url = url
        self.compat = compat
        self.broker = broker
        self.clock = clock
        self._closer: Optional[Callable[[], None]] = None
        self._waker: Optional[Callable[[], None]] = None
        self._caller: Optional[Callable[..., Any]] = None

    def advance(self, seconds: float) -> None:
        """Move the fake clock forward and let waiting long polls re-check."""
        if self.clock is None:
            raise RuntimeError("advance() needs a server started with clock=FakeClock()")
        self.clock.advance(seconds)
        if self._waker is not None:
            self._waker()

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` where the broker lives (the server's loop thread) and
        return its result: safe access to ``broker`` while requests are served."""
        if self._caller is None:
            return fn(*args)
        return self._caller(fn, *args)

    def close(self) -> None:
        closer, self._closer = self._closer, None
        if closer is not None:
            closer()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ServerHandle(url={self.url!r}, compat={self.compat!r})"


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        # typed whether or not uvloop (an optional extra) is installed for mypy
        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        return loop
    except ImportError:
        return asyncio.new_event_loop()


async def _start(host: str, port: int, broker: Broker,
                 ssl: Optional[_ssl.SSLContext] = None) -> Any:
    """Serve the aiohttp app on host:port (HTTPS with ``ssl``); returns (runner, bound
    port, QueenServer)."""
    from aiohttp import web

    from .app import SERVER_KEY
    from .app import make_app as _make_app

    app = _make_app(broker)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5,
                           handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl, reuse_address=True)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    server = app[SERVER_KEY]
    sockets = getattr(site._server, "sockets", None)  # asyncio's or uvloop's Server
    assert sockets, "the server has no listening socket"
    bound = sockets[0].getsockname()[1]  # port 0 asks the OS for a free one
    return runner, bound, server


def _url(host: str, port: int, tls: bool = False) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def in_thread(name: str, start: Awaitable[Any],
              stop: Optional[Callable[[Any], Awaitable[None]]] = None,
              ) -> Tuple[asyncio.AbstractEventLoop, threading.Thread, Any]:
    """Run ``start`` in a new thread with its own loop, which then runs until stopped
    (``loop.call_soon_threadsafe(loop.stop)``), awaits ``stop(result)`` and closes.
    Returns (loop, thread, what ``start`` returned); its exception is raised here."""
    loop = _new_loop()
    ready = threading.Event()
    box: Dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            box["started"] = loop.run_until_complete(start)
        except BaseException as exc:  # surfaced to the caller below
            box["error"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()
        if stop is not None:
            loop.run_until_complete(stop(box["started"]))
        loop.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    ready.wait()
    if "error" in box:
        thread.join()
        raise box["error"]
    return loop, thread, box["started"]


def start_server(compat: str = "0.7", host: str = "127.0.0.1", port: int = 0,
                 clock: Optional[Any] = None, broker: Optional[Broker] = None,
                 ssl: Optional[_ssl.SSLContext] = None) -> ServerHandle:
    """Run an embedded server in a background thread with its own event loop."""
    broker = broker or Broker(compat, clock)

    async def stop(started: Any) -> None:
        await started[0].cleanup()

    loop, thread, started = in_thread(f"queen-embedded-{compat}",
                                      _start(host, port, broker, ssl), stop)
    runner, real_port, server = started
    handle = ServerHandle(_url(host, real_port, ssl is not None), broker.compat, broker,
                          clock if isinstance(clock, FakeClock) else None)

    def close() -> None:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)

    handle._closer = close
    def wake() -> None:
        loop.call_soon_threadsafe(server.wake_all)

    def caller(fn: Callable[..., Any], *args: Any) -> Any:
        async def run_it() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run_it(), loop).result(30)

    handle._waker = wake
    handle._caller = caller
    return handle


@asynccontextmanager
async def serve(compat: str = "0.7", host: str = "127.0.0.1", port: int = 0,
                clock: Optional[Any] = None, broker: Optional[Broker] = None,
                ssl: Optional[_ssl.SSLContext] = None) -> AsyncIterator[ServerHandle]:
    """Run an embedded server inside the current event loop."""
    broker = broker or Broker(compat, clock)
    runner, real_port, server = await _start(host, port, broker, ssl)
    handle = ServerHandle(_url(host, real_port, ssl is not None), broker.compat, broker,
                          clock if isinstance(clock, FakeClock) else None)
    handle._waker = server.wake_all
    try:
        yield handle
    finally:
        await runner.cleanup()
