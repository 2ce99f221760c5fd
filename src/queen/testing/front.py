"""A lean HTTP/1.1 front for the embedded server's hot routes.

aiohttp costs ~50 us of server CPU per request; pops, acks and pushes are most of
the traffic, so ``FrontProtocol`` parses plain keep-alive requests for those routes
itself and answers with the exact bytes aiohttp would send (same status line,
header order, Date and Server headers).  Anything else -- another route, HTTP/1.0,
chunked or compressed bodies, ``Expect``, percent-encoded paths or queries, odd
header syntax, 0.15 pop maintenance -- hands the connection, with the bytes not yet
consumed, to aiohttp's own protocol for good, so every other behaviour is
aiohttp's unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from http import HTTPStatus
from typing import Any, Callable, Dict, List, Optional, Set, Tuple, cast

from .app import JSON_HEADERS, PopWait, QueenServer, Reply

try:
    from aiohttp.http import SERVER_SOFTWARE
except ImportError:  # pragma: no cover - very old/new aiohttp
    SERVER_SOFTWARE = "aiohttp"

_KEEPALIVE = 3630.0           # aiohttp's default idle keep-alive timeout (seconds)
_HEAD_LIMIT = 4096            # bigger request heads go to aiohttp (its limits, its errors)
_BODY_LIMIT = 16 * 1024 * 1024
_DELEGATE_HEADERS = {b"transfer-encoding", b"expect", b"upgrade", b"content-encoding"}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
           "Dec")
_FIXED = "".join(f"{k}: {v}\r\n" for k, v in JSON_HEADERS.items()).encode("latin-1")
_SERVER = f"\r\nServer: {SERVER_SOFTWARE}\r\n".encode("latin-1")
_STATUS = {code: f"HTTP/1.1 {code} {HTTPStatus(code).phrase}\r\n".encode("latin-1")
           for code in (200, 201, 400, 500)}
_TROUBLE = (f"{HTTPStatus.INTERNAL_SERVER_ERROR.value} {HTTPStatus.INTERNAL_SERVER_ERROR.phrase}",
            HTTPStatus.INTERNAL_SERVER_ERROR.description)
_log = logging.getLogger("aiohttp.server")
_date_sec = -1
_date_bytes = b""


def _date() -> bytes:
    """aiohttp's Date header value (RFC 822, English names), cached per second."""
    global _date_sec, _date_bytes
    now = int(time.time())
    if now != _date_sec:
        t = time.gmtime(now)
        _date_bytes = (f"{_WEEKDAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon]:>3} "
                       f"{t.tm_year:4d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
                       ).encode("ascii")
        _date_sec = now
    return _date_bytes


def render(reply: Reply, close: bool) -> bytes:
    status, body = reply
    return b"".join((_STATUS[status], _FIXED, b"Content-Length: ", str(len(body)).encode(),
                     b"\r\nDate: ", _date(), _SERVER,
                     b"Connection: close\r\n\r\n" if close else b"\r\n", body))


def render_crash(html: bool) -> bytes:
    """aiohttp's answer to a handler that raised (debug off); it closes the connection."""
    title, msg = _TROUBLE
    if html:
        body = (f"<html><head><title>{title}</title></head><body>\n<h1>{title}</h1>"
                f"\n{msg}\n</body></html>\n")
    else:
        body = f"{title}\n\n{msg}"
    data = body.encode()
    return b"".join((f"HTTP/1.1 {title}\r\nContent-Type: text/{'html' if html else 'plain'}; "
                     f"charset=utf-8\r\nContent-Length: {len(data)}\r\nDate: ".encode(),
                     _date(), _SERVER, b"Connection: close\r\n\r\n", data))


def _query(qs: str) -> Optional[Dict[str, str]]:
    """First value per key, like ``request.query.get``; None when decoding is needed
    (``%`` is refused for the whole target by ``parse``)."""
    out: Dict[str, str] = {}
    if not qs:
        return out
    if "+" in qs or ";" in qs or "#" in qs:
        return None
    for part in qs.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        if key not in out:
            out[key] = value
    return out


class _Request:
    __slots__ = ("method", "path", "query", "body", "close", "size", "html")

    def __init__(self, method: bytes, path: str, query: Dict[str, str], body: bytes,
                 close: bool, size: int, html: bool) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.close = close
        self.size = size
        self.html = html      # Accept: text/html (only the 500 page depends on it)


_INCOMPLETE = object()


def parse(buf: bytearray) -> Any:
    """One request from the front of ``buf``: a _Request, _INCOMPLETE, or None when
    this request is not one the front answers itself."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return _INCOMPLETE if len(buf) <= _HEAD_LIMIT else None
    if end > _HEAD_LIMIT:
        return None
    head = bytes(buf[:end])
    if not head.isascii():
        return None
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] != b"HTTP/1.1" or parts[0] not in (b"GET", b"POST",
                                                                       b"DELETE"):
        return None
    target = parts[1].decode("ascii")
    if not target.startswith("/") or "%" in target:  # aiohttp would percent-decode
        return None
    length = 0
    close = html = False
    seen_length = False
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip() or line[:1] in (b" ", b"\t"):
            return None
        lname = name.lower()
        if lname == b"content-length":
            value = value.strip()
            if seen_length or not value.isdigit():
                return None
            seen_length = True
            length = int(value)
        elif lname == b"connection":
            token = value.strip().lower()
            if token == b"close":
                close = True
            elif token != b"keep-alive":
                return None
        elif lname in _DELEGATE_HEADERS:
            return None
        elif lname == b"accept" and b"text/html" in value:
            html = True
    if length > _BODY_LIMIT or (length and parts[0] == b"GET"):
        return None
    start = end + 4
    if len(buf) < start + length:
        return _INCOMPLETE
    path, _, qs = target.partition("?")
    query = _query(qs)
    if query is None:
        return None
    return _Request(parts[0], path, query, bytes(buf[start:start + length]), close,
                    start + length, html)


class Front:
    """Connection factory: one per listening socket."""

    def __init__(self, server: QueenServer, fallback: Callable[[], asyncio.Protocol]) -> None:
        self.server = server
        self.fallback = fallback      # aiohttp's web.Server: a RequestHandler per call
        self.conns: Set[FrontProtocol] = set()
        s = server
        # the client's whole traffic, so its connections never need aiohttp
        self.posts: Dict[str, Callable[[bytes], Reply]] = {
            "/api/v1/ack": s.ack_core, "/api/v1/ack/batch": s.ack_batch_core,
            "/api/v1/push": s.push_core, "/api/v1/configure": s.configure_core,
            "/api/v1/transaction": s.transaction_core, "/api/v1/traces": s.trace_core}

    def __call__(self) -> FrontProtocol:
        return FrontProtocol(self)

    def close_all(self) -> None:
        for conn in list(self.conns):
            conn.abort()


def _segment_ok(seg: str) -> bool:
    return bool(seg) and seg not in (".", "..") and "{" not in seg and "}" not in seg


class FrontProtocol(asyncio.Protocol):
    def __init__(self, front: Front) -> None:
        self.front = front
        self.transport: Optional[asyncio.Transport] = None
        self.buf = bytearray()
        self.inner: Optional[asyncio.Protocol] = None
        self.waiting: Optional[asyncio.Task[None]] = None
        self.closed = False
        self.loop = asyncio.get_running_loop()  # factories run inside the loop
        self.last = 0.0               # loop time of the last request (idle timeout)
        self.idle: Optional[asyncio.TimerHandle] = None

    # ---- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.front.conns.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:  # as aiohttp does (tcp_keepalive=True)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            except OSError:  # pragma: no cover
                pass
        loop = self.loop
        self.last = loop.time()
        self.idle = loop.call_later(_KEEPALIVE, self._check_idle)

    def _check_idle(self) -> None:
        """Close a connection idle for aiohttp's keep-alive timeout (checked lazily)."""
        self.idle = None
        if self.inner is not None or self.closed or self.transport is None:
            return
        loop = asyncio.get_running_loop()
        due = self.last + _KEEPALIVE
        if self.waiting is None and not self.buf and loop.time() >= due:
            self.transport.close()
            return
        self.idle = loop.call_at(max(due, loop.time() + 1.0), self._check_idle)

    def data_received(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.data_received(data)
            return
        self.last = self.loop.time()
        self.buf += data
        if self.waiting is None:
            self._serve()

    def eof_received(self) -> Optional[bool]:
        if self.inner is not None:
            return self.inner.eof_received()
        return None

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.closed = True
        self.front.conns.discard(self)
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        if self.inner is not None:
            self.inner.connection_lost(exc)
        elif self.waiting is not None:
            self.waiting.cancel()

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    def abort(self) -> None:
        if self.inner is None and self.transport is not None:
            self.transport.close()

    # ---- serving

    def _gone(self) -> bool:
        return self.closed or self.transport is None or self.transport.is_closing()

    def _delegate(self) -> None:
        """From here on this connection is aiohttp's (the unread bytes included)."""
        inner = self.front.fallback()
        self.inner = inner
        self.front.conns.discard(self)
        if self.idle is not None:  # aiohttp keeps its own keep-alive timer
            self.idle.cancel()
            self.idle = None
        assert self.transport is not None
        inner.connection_made(self.transport)
        if self.buf:
            data, self.buf = bytes(self.buf), bytearray()
            inner.data_received(data)

    def _route(self, req: _Request) -> Any:
        """A Reply, a PopWait, or None (not ours: delegate)."""
        server = self.front.server
        segs = req.path.split("/")
        n = len(segs)
        if req.method == b"POST":
            core = self.front.posts.get(req.path)
            if core is not None:
                return server.guarded(core, req.body)
            if n == 6 and segs[1:4] == ["api", "v1", "lease"] and segs[5] == "extend" and (
                    _segment_ok(segs[4])):
                return server.guarded(lambda raw: server.extend_core(raw, segs[4]), req.body)
            return None
        if req.method == b"DELETE":
            if n == 6 and segs[1:5] == ["api", "v1", "resources", "queues"] and _segment_ok(
                    segs[5]):
                return server.delete_queue_core(segs[5])
            return None
        if req.path == "/health":
            return server.health_core()
        if n not in (6, 8) or segs[1] != "api" or segs[2] != "v1" or segs[3] != "pop" or (
                segs[4] != "queue") or not _segment_ok(segs[5]):
            return None
        partition = None
        if n == 8:
            if segs[6] != "partition" or not _segment_ok(segs[7]):
                return None
            partition = segs[7]
        if server.v15 and server.b.pop_maintenance:
            return None  # a 204 reply: leave its shape to aiohttp
        return server.pop_begin(req.query.get, segs[5], partition)

    def _serve(self) -> None:
        transport = self.transport
        assert transport is not None
        while self.buf and self.inner is None and not self.closed:
            req = parse(self.buf)
            if req is _INCOMPLETE:
                return
            if req is None:
                self._delegate()
                return
            try:
                result = self._route(req)
            except Exception:
                self._crash(req.html)
                return
            if result is None:
                self._delegate()
                return
            del self.buf[:req.size]
            self.front.server.requests += 1
            if isinstance(result, PopWait):
                self.waiting = asyncio.get_running_loop().create_task(
                    self._long_poll(result, req.close, req.html))
                return
            transport.write(render(result, req.close))
            if req.close:
                transport.close()
                return

    def _crash(self, html: bool) -> None:
        _log.exception("Error handling request")
        assert self.transport is not None
        self.buf.clear()
        self.transport.write(render_crash(html))
        self.transport.close()

    async def _long_poll(self, wait: PopWait, close: bool, html: bool) -> None:
        server = self.front.server
        try:
            res = await server.long_poll(self._gone, wait.queue, wait.queue, wait.attempt,
                                         wait.timeout)
            reply = wait.finish(res)
        except Exception:
            self.waiting = None
            if not self._gone():
                self._crash(html)
            return
        finally:
            self.waiting = None
        if self._gone():
            return
        assert self.transport is not None
        self.transport.write(render(reply, close))
        if close:
            self.transport.close()
        elif self.buf:
            self._serve()


async def listen(server: QueenServer, fallback: Callable[[], asyncio.Protocol], host: str,
                 port: int) -> Tuple[asyncio.AbstractServer, Front, List[Any]]:
    """Listen on host:port with the front; returns the server, the front and the
    bound addresses."""
    front = Front(server, fallback)
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(front, host, port, backlog=128)
    return srv, front, [s.getsockname() for s in srv.sockets]
