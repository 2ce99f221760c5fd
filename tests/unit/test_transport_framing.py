"""HTTP/1.1 framing and pool rules at the socket level, for each backend: chunked and
EOF-delimited answers, Connection: close, pool_size, timeouts and cancels that leave
a socket out of step, unsolicited bytes, URL prefixes and userinfo."""

import asyncio
import shutil
import socketserver
import ssl
import subprocess
import threading
from pathlib import Path
from typing import List, Set, Tuple

import pytest
from test_transport_raw import OK, make, raw_server, read_request

from queen.errors import QueenTimeoutError

pytestmark = pytest.mark.usefixtures("http1_backend")


def answer(body: bytes, *extra: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n" % len(body)
    return head + b"".join(e + b"\r\n" for e in extra) + b"\r\n" + body


async def test_chunked_answer_is_reassembled():
    async def handler(conn: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await read_request(reader):
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            await writer.drain()
            for part in (b'{"a":', b"[1,2]", b"}"):
                writer.write(b"%x\r\n%s\r\n" % (len(part), part))
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()

    async with raw_server(handler) as url:
        async with make(url) as t:
            for _ in range(2):
                assert (await t.request("GET", "/x")).json() == {"a": [1, 2]}


async def test_answer_ended_by_closing_the_connection():
    async def handler(conn: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"eof":true}')
        await writer.drain()

    async with raw_server(handler) as url:
        async with make(url) as t:
            for _ in range(2):
                assert (await t.request("GET", "/x")).json() == {"eof": True}


async def test_connection_close_is_honoured():
    conns: List[int] = []

    async def handler(conn: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await read_request(reader):
            conns.append(conn)
            writer.write(answer(b"{}", b"Connection: close"))
            await writer.drain()
            await asyncio.sleep(0.2)  # keep the socket open: the client must not reuse it

    async with raw_server(handler) as url:
        async with make(url) as t:
            for _ in range(3):
                assert (await t.request("POST", "/x", body=b"{}", idempotent=False)).status == 200
    assert conns == [1, 2, 3]


async def test_pool_size_caps_open_connections():
    open_now: Set[int] = set()
    most = 0

    async def handler(conn: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal most
        open_now.add(conn)
        most = max(most, len(open_now))
        try:
            while await read_request(reader):
                await asyncio.sleep(0.01)
                writer.write(OK)
                await writer.drain()
        finally:
            open_now.discard(conn)

    async with raw_server(handler) as url:
        async with make(url, pool_size=2) as t:
            replies = await asyncio.gather(*(t.request("GET", f"/{i}") for i in range(8)))
    assert [r.status for r in replies] == [200] * 8
    assert 1 <= most <= 2


async def test_late_answer_after_timeout_does_not_reach_the_next_request():
    async def handler(conn: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            req = await read_request(reader)
            if not req:
                return
            if b"/slow" in req:
                await asyncio.sleep(0.3)
                body = b'{"who":"slow"}'
            else:
                body = b'{"who":"fast"}'
            writer.write(answer(body))
            await writer.drain()

    async with raw_server(handler) as url:
        async with make(url, timeout_millis=100) as t:
            with pytest.raises(QueenTimeoutError):
                await t.request("GET", "/slow")
            await asyncio.sleep(0.3)
            assert (await t.request("GET", "/fast", timeout=2.0)).json() == {"who": "fast"}


async def test_cancelled_request_leaves_no_stray_answer():
    async def handler(conn: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            req = await read_request(reader)
            if not req:
                return
            path = req.split(b" ")[1]
            if path == b"/slow":
                await asyncio.sleep(0.1)
            writer.write(answer(b'{"path":"%s"}' % path))
            await writer.drain()

    async with raw_server(handler) as url:
        async with make(url, pool_size=1) as t:
            task = asyncio.ensure_future(t.request("GET", "/slow"))
            await asyncio.sleep(0.02)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.15)
            assert (await t.request("GET", "/next")).json() == {"path": "/next"}


async def test_unsolicited_bytes_retire_an_idle_connection():
    conns: List[int] = []

    async def handler(conn: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            req = await read_request(reader)
            if not req:
                return
            conns.append(conn)
            writer.write(answer(b'{"n":%d}' % len(conns)))
            await writer.drain()
            await asyncio.sleep(0.01)
            writer.write(b"garbage while idle")
            await writer.drain()

    async with raw_server(handler) as url:
        async with make(url) as t:
            assert (await t.request("GET", "/a")).json() == {"n": 1}
            await asyncio.sleep(0.05)
            assert (await t.request("GET", "/b")).json() == {"n": 2}
    assert conns[-1] != 1


async def test_url_path_prefix_and_userinfo():
    seen: List[bytes] = []

    async def handler(conn: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        req = await read_request(reader)
        seen.append(req)
        writer.write(OK)
        await writer.drain()

    async with raw_server(handler) as url:
        base = url.replace("http://", "http://user:pw@") + "/queen"
        async with make(base) as t:
            assert (await t.request("GET", "/api/v1/status?x=1")).status == 200
    head = seen[0].decode()
    assert head.startswith("GET /queen/api/v1/status?x=1 HTTP/1.1\r\n")
    assert "Authorization: Basic dXNlcjpwdw==" in head  # base64("user:pw")
    assert "Host: 127.0.0.1:" in head and "user" not in head.split("Authorization")[0]


async def test_cancel_while_waiting_for_a_pool_slot():
    async def handler(conn: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            req = await read_request(reader)
            if not req:
                return
            path = req.split(b" ")[1]
            if path == b"/slow":
                await asyncio.sleep(0.1)
            writer.write(answer(b'{"path":"%s"}' % path))
            await writer.drain()

    async with raw_server(handler) as url:
        async with make(url, pool_size=1) as t:
            slow = asyncio.ensure_future(t.request("GET", "/slow"))
            await asyncio.sleep(0.02)
            gone = asyncio.ensure_future(t.request("GET", "/gone"))
            after = asyncio.ensure_future(t.request("GET", "/after"))
            await asyncio.sleep(0.02)
            gone.cancel()
            assert (await slow).json() == {"path": "/slow"}
            assert (await after).json() == {"path": "/after"}
            with pytest.raises(asyncio.CancelledError):
                await gone



def test_transport_survives_a_new_event_loop(http1_backend: str):
    # One client used from two asyncio.run() calls: the second loop gets new sockets.
    if http1_backend == "aiohttp":
        pytest.skip("an aiohttp session is bound to its first loop")
    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                while self.rfile.readline() not in (b"\r\n", b""):
                    pass
                self.wfile.write(OK)

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler) as server:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        t = make(f"http://127.0.0.1:{server.server_address[1]}")

        async def call() -> int:
            return (await t.request("GET", "/x")).status

        try:
            assert asyncio.run(call()) == 200
            assert asyncio.run(call()) == 200
        finally:
            asyncio.run(t.aclose())
            server.shutdown()


@pytest.fixture
def tls_files(tmp_path: Path) -> Tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True,
    )
    return cert, key


async def test_https_with_a_trusted_certificate(
    tls_files: Tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, http1_backend: str
):
    if http1_backend == "aiohttp":
        pytest.skip("aiohttp builds its default SSL context at import, before SSL_CERT_FILE is set")
    cert, key = tls_files
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trusted by the default context
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))

    async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await read_request(reader):
            writer.write(OK)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(on_conn, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        async with make(f"https://localhost:{port}") as t:
            for _ in range(2):
                assert (await t.request("POST", "/x", body=b"{}")).json() == {"ok": True}
    finally:
        server.close()
        await server.wait_closed()


async def test_stale_pool_after_a_server_restart_is_not_fatal(http1_backend: str):
    # Three pooled sockets all go stale at once (a restarted server that never sent FIN):
    # after the first one fails, its idle siblings are dropped and the retry is fresh.
    if http1_backend == "aiohttp":
        pytest.skip("aiohttp may hand out another stale socket on the retry")
    stale: Set[int] = set()

    async def handler(conn: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await read_request(reader):
            if conn in stale:
                return  # read it, then hang up without an answer
            await asyncio.sleep(0.02)
            writer.write(OK)
            await writer.drain()

    async with raw_server(handler) as url:
        async with make(url) as t:
            await asyncio.gather(*(t.request("GET", f"/{i}") for i in range(3)))
            stale.update({1, 2, 3})
            # a push may go again (its transactionIds make a copy a duplicate)
            r = await t.request("POST", "/api/v1/push", body=b"{}", idempotent=True)
            assert r.status == 200


def test_backend_choice(monkeypatch: pytest.MonkeyPatch):
    from queen.errors import QueenValidationError
    from queen.http import transport as transport_module

    monkeypatch.setenv(transport_module.BACKEND_ENV, "aiohttp")
    assert transport_module.http1_backend() == "aiohttp"
    assert type(make("http://127.0.0.1:1")._backend).__name__ == "_AiohttpBackend"
    monkeypatch.setenv(transport_module.BACKEND_ENV, "curl")
    with pytest.raises(QueenValidationError, match="httptools"):
        transport_module.http1_backend()
    monkeypatch.delenv(transport_module.BACKEND_ENV)
    monkeypatch.setattr(transport_module, "H1Backend", None)  # httptools not installed
    assert transport_module.http1_backend() == "aiohttp"
    assert type(make("http://127.0.0.1:1")._backend).__name__ == "_AiohttpBackend"
