"""HTTP/1.1 backend: asyncio.Protocol connections parsed by httptools (llhttp, the
parser uvicorn uses) and a small keep-alive pool.

Why not aiohttp here: its request/response machinery costs ~60-90 us of CPU per
request on loopback, about four times this path (benchmarks/bench_transport.py).
Rules kept from the Queen servers:

* head and body go out in ONE ``transport.write`` (Queen 0.7.5 crashes when a body
  arrives in a separate TCP segment);
* one request per connection at a time, no pipelining (Queen closes the socket);
* a connection that answered oddly (bytes after the response, e.g. 0.15's 204 with a
  body, or anything unsolicited) is closed, never reused;
* at most ``pool_size`` connections in all; idle ones older than KEEPALIVE_SECONDS
  are dropped when next picked (the server closes them after ~10 s).
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
from collections import deque
from typing import Any, Deque, Dict, List, Optional, Set, Tuple
from urllib.parse import unquote, urlsplit

import httptools

from ..config import ClientConfig
from ..errors import QueenValidationError
from ._failure import CONNECT, CONNECT_TIMEOUT, DROPPED, KEEPALIVE_SECONDS, TIMEOUT, TLS, Failure
from ._tls import context_for, is_tls_failure

_UNSAFE = re.compile(r"[\x00-\x20\x7f]")  # would break the request line
_FRAMING = (b"content-length", b"transfer-encoding")
_NO_BODY = ("GET", "HEAD")
# Request deadlines are checked by one sweep every TICK seconds while requests are in
# flight: a timer per request costs ~2 us on uvloop. A timeout fires up to TICK late.
TICK = 0.05


class _Server:
    """One configured URL, parsed once: where to connect and the fixed header block."""

    __slots__ = ("host", "port", "tls", "prefix", "head", "idle")

    def __init__(self, url: str, headers: Dict[str, str]) -> None:
        self.idle: List[_Conn] = []
        self.build(url, headers)

    def build(self, url: str, headers: Dict[str, str]) -> None:
        parts = urlsplit(url)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/")
        hostport = parts.netloc.rpartition("@")[2]
        lines = [f"Host: {hostport}"]
        names = {k.lower() for k in headers}
        if parts.username is not None and "authorization" not in names:
            creds = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            lines.append("Authorization: Basic " + base64.b64encode(creds.encode()).decode())
        for name, value in headers.items():
            if _UNSAFE.search(name) or "\r" in value or "\n" in value:
                raise QueenValidationError(f"header {name!r} has a line break or a bad name")
            lines.append(f"{name}: {value}")
        self.head = ("\r\n".join(lines) + "\r\n").encode("utf-8")


class _Conn(asyncio.Protocol):
    """One keep-alive connection; ``waiter`` is set while a request is in flight."""

    def __init__(self, pool: H1Backend, server: _Server) -> None:
        self.pool = pool
        self.server = server
        self.transport: Optional[asyncio.Transport] = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: Optional[asyncio.Future[Tuple[int, bytes]]] = None
        self.chunks: List[bytes] = []
        self.head_only = False
        self.headers_done = False
        self.framed = False     # the answer says how long it is (else: read until EOF)
        self.reusable = True
        self.closed = False
        self.error: Optional[BaseException] = None  # why the connection was lost
        self.idle_since = 0.0
        self.deadline = 0.0

    # -- asyncio.Protocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():  # nobody asked: this socket is out of step
            self.reusable = False
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.reusable = False
            if not waiter.done():
                waiter.set_exception(Failure(DROPPED, exc))

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.error = exc
        self._gone()
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.headers_done and not self.framed and not self.parser.should_keep_alive():
            self._finish()  # an answer delimited by the end of the connection
            return
        waiter.set_exception(Failure(DROPPED, exc or ConnectionResetError(
            "the server closed the connection before answering")))

    # -- httptools callbacks ---------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() in _FRAMING:
            self.framed = True

    def on_headers_complete(self) -> None:
        self.headers_done = True
        if self.head_only:
            self.reusable = False  # llhttp would wait for a body a HEAD answer never has
            self._finish()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        if self.parser.get_status_code() < 200:  # 1xx: the real answer follows
            self.chunks.clear()
            self.headers_done = self.framed = False
            return
        if not self.parser.should_keep_alive():
            self.reusable = False
        self._finish()

    # -- helpers -------------------------------------------------------------------

    def _finish(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            chunks = self.chunks
            body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            waiter.set_result((self.parser.get_status_code(), body))

    def _gone(self) -> None:
        if not self.closed:
            self.closed = True
            self.pool._forget(self)

    def close(self) -> None:
        self._gone()
        if self.transport is not None:
            self.transport.close()
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(Failure(DROPPED, ConnectionResetError("connection closed")))


class H1Backend:
    """The pool: ``send`` one request and get ``(status, body)`` or a ``Failure``."""

    def __init__(self, config: ClientConfig, headers: Dict[str, str]) -> None:
        self._limit = config.pool_size
        self._connect_timeout = config.connect_timeout_millis / 1000.0
        self._servers = {url: _Server(url, headers) for url in config.urls}
        self._headers = headers
        self._conns: Set[_Conn] = set()
        self._waiters: Deque[asyncio.Future[None]] = deque()
        self._ssl: Optional[ssl.SSLContext] = context_for(config)
        self._closed = False
        self._busy: Set[_Conn] = set()  # requests in flight, for the deadline sweep
        self._sweeper: Optional[asyncio.TimerHandle] = None
        # Bound at first use; asyncio.get_running_loop() costs a getpid() syscall on 3.11.
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    async def send(
        self, method: str, server: str, path: str, body: Optional[bytes], timeout: float
    ) -> Tuple[int, bytes]:
        srv = self._servers.get(server)
        if srv is None:
            srv = self._servers[server] = _Server(server, self._headers)
        if _UNSAFE.search(path) or _UNSAFE.search(method):
            raise QueenValidationError(f"invalid request path {path!r}: spaces or control characters")
        loop = self._loop
        if loop is None or loop.is_closed():
            loop = self._bind()
        now = loop.time()
        deadline = now + timeout
        conn = self._idle(srv, now)
        reused = conn is not None
        if conn is None:
            conn = await self._acquire(srv, loop, min(timeout, self._connect_timeout))
        if body is None:
            length = b"\r\n" if method in _NO_BODY else b"Content-Length: 0\r\n\r\n"
            body = b""
        else:
            length = b"Content-Length: %d\r\n\r\n" % len(body)
        # One write: request line, the fixed headers, framing and body together.
        data = b"".join((
            f"{method} {srv.prefix}{path} HTTP/1.1\r\n".encode(), srv.head, length, body,
        ))
        waiter: asyncio.Future[Tuple[int, bytes]] = loop.create_future()
        conn.waiter = waiter
        conn.head_only = method == "HEAD"
        conn.deadline = deadline
        busy = self._busy
        busy.add(conn)
        if self._sweeper is None:
            self._sweeper = loop.call_later(TICK, self._sweep, loop)
        try:
            assert conn.transport is not None
            if conn.closed or conn.transport.is_closing():  # gone while we were getting here
                if not conn.closed:
                    await asyncio.sleep(0)  # let connection_lost say why (e.g. a TLS alert)
                raise Failure(DROPPED, conn.error or ConnectionResetError("connection closed"),
                              sent=False)
            try:
                conn.transport.write(data)
            except RuntimeError as exc:  # uvloop: closed under us (the server's FIN came first)
                raise Failure(DROPPED, exc, sent=False) from exc
            result = await waiter
        except BaseException as exc:
            conn.reusable = False  # cancelled or failed mid-request: the socket is out of step
            if reused and isinstance(exc, Failure):
                exc.reused = True
                if exc.kind == DROPPED:
                    self._drop_idle_of(srv)  # its idle siblings are likely stale too: retry fresh
            raise
        finally:
            busy.discard(conn)
            self._release(conn, loop)
        return result

    def set_header(self, name: str, value: str) -> None:
        """Send ``name: value`` with every later request (e.g. a refreshed token)."""
        self._headers = {**self._headers, name: value}
        for url, srv in self._servers.items():
            srv.build(url, self._headers)

    def _bind(self) -> asyncio.AbstractEventLoop:
        """Adopt the running loop; connections of an earlier, closed loop are dropped."""
        for conn in list(self._conns):
            try:
                conn.close()
            except RuntimeError:  # "Event loop is closed": its sockets are gone with it
                pass
        for srv in self._servers.values():
            srv.idle.clear()
        self._busy.clear()
        self._waiters.clear()
        self._sweeper = None
        self._loop = asyncio.get_running_loop()
        return self._loop

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweeper = None
        now = loop.time()
        for conn in [c for c in self._busy if c.deadline <= now]:
            waiter = conn.waiter
            if waiter is not None and not waiter.done():
                waiter.set_exception(Failure(TIMEOUT, asyncio.TimeoutError("no answer in time")))
        if self._busy and not self._closed:
            self._sweeper = loop.call_later(TICK, self._sweep, loop)

    @staticmethod
    def _idle(srv: _Server, now: float) -> Optional[_Conn]:
        """A pooled connection to reuse, or None."""
        idle = srv.idle
        while idle:
            conn = idle.pop()  # the most recent: least likely to be closed by the server
            if conn.closed:
                continue
            if now - conn.idle_since > KEEPALIVE_SECONDS or conn.transport is None or (
                conn.transport.is_closing()
            ):
                conn.close()
                continue
            return conn
        return None

    async def _acquire(
        self, srv: _Server, loop: asyncio.AbstractEventLoop, connect_timeout: float
    ) -> _Conn:
        while True:
            if self._closed:
                raise Failure(DROPPED, ConnectionResetError("the client is closing"), sent=False)
            conn = self._idle(srv, loop.time())
            if conn is not None:
                return conn
            if len(self._conns) < self._limit or self._drop_idle():
                return await self._connect(srv, loop, connect_timeout)
            # Wait for a slot. Not asyncio.wait_for: on 3.11 it can swallow a cancel
            # that lands as the wait ends (gh-86296), and a stopping consumer relies on it.
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            timer = loop.call_later(connect_timeout, _expire_slot, waiter, connect_timeout, self._limit)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    self._wake()  # we were handed a slot we will not use: pass it on
                raise
            finally:
                timer.cancel()
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    async def _connect(
        self, srv: _Server, loop: asyncio.AbstractEventLoop, timeout: float
    ) -> _Conn:
        conn = _Conn(self, srv)
        self._conns.add(conn)  # holds its pool slot while connecting
        tls: Any = None
        if srv.tls:
            tls = self._ssl or ssl.create_default_context()
        # asyncio.wait, not wait_for: see _acquire (a cancel must never be lost).
        task = loop.create_task(loop.create_connection(lambda: conn, srv.host, srv.port, ssl=tls))
        try:
            done, _ = await asyncio.wait((task,), timeout=timeout)
        except BaseException:
            _abandon(task, conn)
            raise
        if not done:
            _abandon(task, conn)
            raise Failure(CONNECT_TIMEOUT, TimeoutError(
                f"connecting to {srv.host}:{srv.port} took more than {timeout:g} s"))
        exc = task.exception()
        if exc is not None:
            conn._gone()
            if is_tls_failure(exc):
                raise Failure(TLS, exc) from exc
            if isinstance(exc, OSError):
                raise Failure(CONNECT, exc) from exc
            raise exc
        if self._closed:
            conn.close()
            raise Failure(DROPPED, ConnectionResetError("the client is closing"), sent=False)
        return conn

    def _release(self, conn: _Conn, loop: asyncio.AbstractEventLoop) -> None:
        conn.waiter = None
        if conn.reusable and not conn.closed and not self._closed:
            conn.chunks = []
            conn.headers_done = conn.framed = False
            conn.idle_since = loop.time()
            conn.server.idle.append(conn)
            self._wake()
        else:
            conn.close()

    def _drop_idle(self) -> bool:
        """Close one idle connection (of any server) to make room; False if none."""
        for srv in self._servers.values():
            while srv.idle:
                conn = srv.idle.pop(0)
                if not conn.closed:
                    conn.close()
                    return True
        return False

    def _drop_idle_of(self, srv: _Server) -> None:
        idle, srv.idle = srv.idle, []
        for conn in idle:
            conn.close()

    def _forget(self, conn: _Conn) -> None:
        self._conns.discard(conn)
        idle = conn.server.idle
        if conn in idle:  # died while idle (the server's idle timeout)
            idle.remove(conn)
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def aclose(self) -> None:
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for conn in list(self._conns):
            try:
                conn.close()
            except RuntimeError:  # closed from a later loop: its sockets died with their loop
                pass
        for srv in self._servers.values():
            srv.idle.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
        await asyncio.sleep(0)  # let the transports finish closing


def _abandon(task: asyncio.Task[Any], conn: _Conn) -> None:
    """Give up on a connect: cancel it and close the socket should it open anyway."""
    task.cancel()
    task.add_done_callback(lambda _t: conn.close())


def _expire_slot(waiter: asyncio.Future[None], seconds: float, limit: int) -> None:
    if not waiter.done():
        waiter.set_exception(Failure(CONNECT_TIMEOUT, TimeoutError(
            f"no free connection within {seconds:g} s (pool_size {limit})")))


__all__ = ["H1Backend"]
