"""A TCP fault proxy for HTTP/1.1: it sits between the client and one server, reads
whole requests and answers, and breaks chosen exchanges on purpose.

    proxy = FaultProxy(server_url); await proxy.start()
    proxy.plan(Fault("cut", forward=True), match="/api/v1/ack")   # next ack
    ... Queen(proxy.url) ...
    proxy.seen         # every request that arrived, with the fault applied to it

A fault says whether the request was passed on to the server first (``forward``:
the server acted on it) and what the client then gets:

* ``close``     - the connection is closed, no answer
* ``reset``     - the connection is reset (RST), no answer
* ``partial``   - the first ``keep`` bytes of the answer, then close (cut mid-answer)
* ``truncate``  - the head and half of the body, then close
* ``garbage``   - bytes that are not HTTP, then close
* ``delay``     - the answer, ``delay`` seconds late
* ``blackhole`` - nothing, ever (the connection stays open)

``refuse()`` closes the listening port (connection refused) until ``accept()``;
``reset_on_connect`` resets every new connection before a byte of it is read.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass, field
from typing import List, Optional, Tuple
from urllib.parse import urlsplit

import httptools

KINDS = ("close", "reset", "partial", "truncate", "garbage", "delay", "blackhole")


@dataclass(frozen=True)
class Fault:
    kind: str
    forward: bool = True
    keep: int = 12
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault {self.kind!r}")


@dataclass
class Seen:
    method: str
    path: str
    body: bytes
    fault: Optional[Fault]
    forwarded: bool


@dataclass
class _Planned:
    fault: Fault
    match: str
    method: Optional[str]
    times: int


class _Reader:
    """Reads one whole HTTP message (request or response) off a stream."""

    def __init__(self, request: bool) -> None:
        self.request = request
        self.done = False
        self.method = ""
        self.path = ""
        self.body: List[bytes] = []
        self.parser: object = (httptools.HttpRequestParser(self) if request
                               else httptools.HttpResponseParser(self))

    def on_url(self, url: bytes) -> None:
        self.path += url.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.done = True

    async def read(self, stream: asyncio.StreamReader) -> Optional[bytes]:
        """The raw bytes of one message, or None at a clean end of stream."""
        raw = bytearray()
        while not self.done:
            chunk = await stream.read(65536)
            if not chunk:
                if not raw:
                    return None
                raise ConnectionError("stream ended inside a message")
            raw += chunk
            self.parser.feed_data(chunk)  # type: ignore[attr-defined]
        if self.request:
            self.method = self.parser.get_method().decode()  # type: ignore[attr-defined]
        return bytes(raw)


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@dataclass
class FaultProxy:
    upstream: str
    host: str = "127.0.0.1"
    port: int = 0
    seen: List[Seen] = field(default_factory=list)
    connections: int = 0
    reset_on_connect: bool = False
    _plan: List[_Planned] = field(default_factory=list)
    _server: Optional[asyncio.base_events.Server] = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _target(self) -> Tuple[str, int]:
        parts = urlsplit(self.upstream)
        return parts.hostname or "127.0.0.1", parts.port or 80

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._client, self.host, self.port,
                                                  reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def refuse(self) -> None:
        """Close the listening port: new connections are refused."""
        if self._server is not None:
            self._server.close()
            self._server = None

    async def accept(self) -> None:
        """Listen again on the same port."""
        if self._server is None:
            await self.start()

    async def aclose(self) -> None:
        self.refuse()
        self._closing.set()
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def plan(self, fault: Fault, match: str = "", method: Optional[str] = None,
             times: int = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests whose path starts with ``match``
        (and whose method is ``method``, when given)."""
        self._plan.append(_Planned(fault, match, method, times))

    def clear(self) -> None:
        """Forget every planned fault."""
        self._plan.clear()

    def to(self, prefix: str) -> List[Seen]:
        return [s for s in self.seen if s.path.startswith(prefix)]

    def _fault_for(self, method: str, path: str) -> Optional[Fault]:
        for planned in self._plan:
            if path.startswith(planned.match) and planned.method in (None, method):
                planned.times -= 1
                if planned.times <= 0:
                    self._plan.remove(planned)
                return planned.fault
        return None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        upstream: Optional[Tuple[asyncio.StreamReader, asyncio.StreamWriter]] = None
        try:
            if self.reset_on_connect:
                _reset(writer)
                return
            while True:
                req = _Reader(request=True)
                raw = await req.read(reader)
                if raw is None:
                    return
                fault = self._fault_for(req.method, req.path)
                forward = fault is None or fault.forward
                self.seen.append(Seen(req.method, req.path, b"".join(req.body), fault, forward))
                answer = b""
                if forward:
                    if upstream is None:
                        upstream = await asyncio.open_connection(*self._target())
                    upstream[1].write(raw)
                    got = await _Reader(request=False).read(upstream[0])
                    if got is None:
                        return
                    answer = got
                if fault is None:
                    writer.write(answer)
                    await writer.drain()
                    continue
                if not await self._apply(fault, answer, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, httptools.HttpParserError):
            pass
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            if upstream is not None:
                upstream[1].close()
            if not writer.transport.is_closing():
                writer.close()

    async def _apply(self, fault: Fault, answer: bytes, writer: asyncio.StreamWriter) -> bool:
        """Break one exchange; True when the connection stays usable."""
        kind = fault.kind
        if kind == "delay":
            await asyncio.sleep(fault.delay)
            writer.write(answer)
            await writer.drain()
            return True
        if kind == "blackhole":
            await self._closing.wait()  # until the proxy closes
        if kind == "reset":
            _reset(writer)
            return False
        if kind == "partial":
            writer.write(answer[:fault.keep])
        elif kind == "truncate":
            head, _, body = answer.partition(b"\r\n\r\n")
            writer.write(head + b"\r\n\r\n" + body[: max(1, len(body) // 2)])
        elif kind == "garbage":
            writer.write(b"\x00\x17garbage, not HTTP\r\n\r\n")
        await writer.drain()
        writer.close()
        return False

