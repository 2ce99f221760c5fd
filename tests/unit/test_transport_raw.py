"""Transport behaviour at the socket level: single-write requests, dropped and
stale keep-alive connections, a 204 that carries a body."""

import asyncio
import socket
import threading
from contextlib import asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable, List, Tuple

import pytest

from queen.config import parse_config
from queen.errors import QueenConnectionError, QueenOutcomeUnknownError
from queen.http import Transport

pytestmark = pytest.mark.usefixtures("http1_backend")

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"


def make(url: str, **opts: object) -> Transport:
    cfg = {"urls": [url], "retry_delay_millis": 1, "timeout_millis": 3000, "retry_attempts": 2}
    cfg.update(opts)
    return Transport(parse_config(cfg))


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One HTTP/1.1 request (headers + Content-Length body); b"" on EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return b""
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + (await reader.readexactly(length) if length else b"")


Handler = Callable[[int, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    count = 0

    async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        count += 1
        try:
            await handler(count, reader, writer)
        finally:
            writer.close()

    server = await asyncio.start_server(on_conn, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


def first_recv_server(n: int) -> Tuple[str, List[bytes], threading.Thread, socket.socket]:
    """A blocking server in a thread that records what the FIRST recv of each
    connection returned: a client that writes headers and body separately shows up
    as a first recv without the body."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.settimeout(10)
    firsts: List[bytes] = []

    def run() -> None:
        for _ in range(n):
            conn, _ = sock.accept()
            with conn:
                data = conn.recv(65536)
                firsts.append(data)
                while not data.endswith(b"}"):
                    more = conn.recv(65536)
                    if not more:
                        break
                    data += more
                conn.sendall(OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}", firsts, thread, sock


async def test_post_headers_and_body_arrive_in_one_recv():
    body = b'{"seconds":60}'
    url, firsts, thread, sock = first_recv_server(5)
    try:
        async with make(url) as t:
            for _ in range(5):
                r = await t.request("POST", "/api/v1/lease/abc/extend", body=body)
                assert r.json() == {"ok": True}
    finally:
        await asyncio.to_thread(thread.join, 5)
        sock.close()
    assert len(firsts) == 5
    for data in firsts:
        assert data.startswith(b"POST /api/v1/lease/abc/extend HTTP/1.1\r\n")
        assert data.endswith(b"\r\n\r\n" + body)


@pytest.mark.parametrize("idempotent", [True, False])
async def test_drop_on_a_pooled_connection(idempotent: bool):
    """The server read the request on a pooled socket and hung up: a request that may
    go again is re-sent at once on a fresh connection; one that may not (an ack) is
    reported as outcome unknown and never sent twice."""
    requests: List[Tuple[int, bytes]] = []

    async def handler(conn: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            req = await read_request(reader)
            if not req:
                return
            requests.append((conn, req))
            if conn == 1 and len(requests) == 2:
                return  # the server "closed this idle socket" as the request arrived
            writer.write(OK)
            await writer.drain()

    async with raw_server(handler) as url:
        async with make(url) as t:
            assert (await t.request("POST", "/api/v1/ack", body=b"{}")).status == 200
            if idempotent:
                r = await t.request("POST", "/api/v1/push", body=b"{}", idempotent=True)
                assert r.status == 200
            else:
                with pytest.raises(QueenOutcomeUnknownError, match="may have applied"):
                    await t.request("POST", "/api/v1/ack", body=b"{}", idempotent=False)
    assert [c for c, _ in requests] == ([1, 1, 2] if idempotent else [1, 1])


async def test_socket_closed_by_server_while_idle():
    conns = []

    async def handler(conn: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conns.append(conn)
        if await read_request(reader):
            writer.write(OK)
            await writer.drain()
        await asyncio.sleep(0.05)  # then close the idle keep-alive socket

    async with raw_server(handler) as url:
        async with make(url) as t:
            await t.request("GET", "/health")
            await asyncio.sleep(0.15)
            r = await t.request("POST", "/api/v1/push", body=b"{}", idempotent=False)
            assert r.status == 200
    assert conns == [1, 2]


async def test_non_idempotent_not_resent_after_a_drop():
    conns = []

    async def handler(conn: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conns.append(conn)
        await read_request(reader)  # read it, then hang up without an answer

    async with raw_server(handler) as url:
        async with make(url, retry_attempts=3) as t:
            with pytest.raises(QueenOutcomeUnknownError, match="may have applied"):
                await t.request("POST", "/api/v1/ack", body=b"{}", idempotent=False)
    assert conns == [1]  # sent once


async def test_idempotent_drops_are_retried_with_backoff_then_fail():
    conns = []

    async def handler(conn: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conns.append(conn)
        await read_request(reader)

    async with raw_server(handler) as url:
        async with make(url, retry_attempts=2) as t:
            with pytest.raises(QueenConnectionError) as info:
                await t.request("GET", "/api/v1/resources/queues")
    assert url in str(info.value)
    assert not isinstance(info.value, QueenOutcomeUnknownError)
    assert len(conns) == 1 + 2  # the first try and two retries (aiohttp's own resend is off)


async def test_204_with_body_does_not_poison_the_pool():
    conns = []

    async def handler(conn: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conns.append(conn)
        while await read_request(reader):
            if conn == 1:
                # Queen 0.15 in pop-maintenance mode: a 204 that carries a body.
                writer.write(
                    b"HTTP/1.1 204 No Content\r\nContent-Length: 29\r\n\r\n"
                    b'{"messages":[],"paused":true}'
                )
            else:
                writer.write(OK)
            await writer.drain()

    async with raw_server(handler) as url:
        async with make(url) as t:
            # httptools: the 204 is the answer and the socket is closed; aiohttp rejects
            # the stray body and re-sends on a fresh connection. Neither reuses it.
            first = await t.request("GET", "/api/v1/pop/queue/q")
            second = await t.request("GET", "/api/v1/pop/queue/q")
    assert first.status in (200, 204)
    assert (second.status, second.json()) == (200, {"ok": True})
    assert conns[0] == 1 and len(conns) >= 2
