"""The hot-path HTTP front (queen.testing.front) must answer byte for byte like aiohttp.

A connection whose first request is not a hot-path one (GET /health) is handed to
aiohttp for good, so the same request sent after it shows aiohttp's own answer.
"""

from __future__ import annotations

import re
import socket
import time
from typing import Iterator, List

import pytest

from queen.testing import ServerHandle, front, start_server
from queen.testing.front import _INCOMPLETE, parse

HEALTH = b"GET /api/v1/resources/overview HTTP/1.1\r\nHost: t\r\n\r\n"  # aiohttp's
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
STAMP = re.compile(rb"\d{4}-\d\d-\d\dT[\d:.]+Z")


@pytest.fixture(params=["0.7", "0.15"])
def srv(request: pytest.FixtureRequest) -> Iterator[ServerHandle]:
    with start_server(compat=request.param) as handle:
        yield handle


def _port(handle: ServerHandle) -> int:
    return int(handle.url.rsplit(":", 1)[1])


def _responses(data: bytes, count: int) -> List[bytes]:
    """Split ``count`` Content-Length framed responses off ``data``."""
    out = []
    while len(out) < count:
        end = data.index(b"\r\n\r\n") + 4
        length = int(re.search(rb"Content-Length: (\d+)", data[:end]).group(1))  # type: ignore[union-attr]
        out.append(data[:end + length])
        data = data[end + length:]
    assert data == b""
    return out


def exchange(handle: ServerHandle, payload: bytes, count: int, chunk: int = 0) -> List[bytes]:
    """Send ``payload`` (in ``chunk``-byte pieces when set) and read ``count`` replies."""
    with socket.create_connection(("127.0.0.1", _port(handle)), timeout=10) as s:
        if chunk:
            for i in range(0, len(payload), chunk):
                s.sendall(payload[i:i + chunk])
                time.sleep(0.001)
        else:
            s.sendall(payload)
        data = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                return _responses(data, count)
            except (ValueError, AttributeError):
                pass
            got = s.recv(65536)
            if not got:
                break
            data += got
        return _responses(data, count)


def _norm(reply: bytes) -> bytes:
    reply = re.sub(rb"Date: [^\r]*", b"Date: -", reply)
    return STAMP.sub(b"T", UUID.sub(b"U", reply))


def post(path: str, body: bytes, extra: bytes = b"") -> bytes:
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: t\r\nContent-Type: application/json"
            b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body)


def get(path: str, extra: bytes = b"") -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n" + extra + b"\r\n"


CASES = [
    get("/api/v1/pop/queue/nothing?batch=1"),
    get("/api/v1/pop/queue/nothing/partition/p?batch=1&wait=false"),
    get("/api/v1/pop/queue/nothing?batch=-1"),
    get("/api/v1/pop/queue/q?batch=1&wait=true&timeout=20"),
    get("/api/v1/pop/queue/q?batch=2", b"Connection: keep-alive\r\n"),
    post("/api/v1/ack", b"{}"),
    post("/api/v1/ack", b"{bad"),
    post("/api/v1/ack", b""),
    post("/api/v1/ack", b'{"transactionId": "t", "partitionId": "p"}'),
    post("/api/v1/ack/batch", b'{"acknowledgments": [{"transactionId": 1}]}'),
    post("/api/v1/ack/batch", b'{"acknowledgments": []}'),
    post("/api/v1/push", b'{"items": []}'),
    post("/api/v1/push", b'{"items": [{"queue": 5}]}'),
    post("/api/v1/push", b'{"items": [{"queue": "q", "traceId": "nope"}]}'),
    post("/api/v1/configure", b'{"queue": "c", "options": {"leaseTime": "x"}}'),
    post("/api/v1/configure", b'{"queue": "c", "namespace": "n", "options": {"ttl": 5}}'),
    post("/api/v1/transaction", b'{"operations": []}'),
    post("/api/v1/transaction", b'{"operations": [{"type": "push", "items": [{"queue": 1}]}]}'),
    post("/api/v1/transaction", b'{"operations": [{"type": "nope"}]}'),
    post("/api/v1/traces", b'{"transactionId": "t", "partitionId": "p", "data": {}}'),
    post("/api/v1/traces", b'{"transactionId": "t"}'),
    post("/api/v1/lease/some-lease/extend", b'{"seconds": 10}'),
    post("/api/v1/lease/some-lease/extend", b""),
    b"DELETE /api/v1/resources/queues/nothing HTTP/1.1\r\nHost: t\r\n\r\n",
    get("/health"),
]


@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_front_answers_like_aiohttp(srv: ServerHandle, case: bytes) -> None:
    exchange(srv, post("/api/v1/configure", b'{"queue": "q"}'), 1)
    fast = exchange(srv, case, 1)[0]
    _, slow = exchange(srv, HEALTH + case, 2)
    assert _norm(fast) == _norm(slow)


def test_push_pop_ack_replies_match(srv: ServerHandle) -> None:
    """Same state changes through both paths give the same bytes (ids aside)."""
    body = b'{"items": [{"queue": "q", "partition": "a", "payload": {"n": 1}}]}'
    steps = post("/api/v1/push", body) + get("/api/v1/pop/queue/q?batch=5")
    with start_server(compat=srv.compat) as other:
        replies = []
        for handle, lead in ((srv, b""), (other, HEALTH)):
            exchange(handle, post("/api/v1/configure", b'{"queue": "q"}'), 1)
            replies.append([_norm(r) for r in exchange(handle, lead + steps, 3 if lead else 2)])
    assert replies[0] == replies[1][1:]
    assert b'"data":{"n":1}' in replies[0][1]


def test_pipelined_fragmented_and_delegated_requests_keep_order(srv: ServerHandle) -> None:
    payload = (get("/api/v1/pop/queue/none?batch=1") + HEALTH
               + post("/api/v1/ack", b"{}") + get("/api/v1/pop/queue/none?batch=1"))
    for chunk in (0, 7):
        replies = exchange(srv, payload, 4, chunk)
        assert replies[0].endswith(b"\r\n\r\nnull") or b'"messages":[]' in replies[0]
        assert b'"messages":{' in replies[1]
        assert replies[2].endswith(b'{"error":"transactionId is required"}')
        assert _norm(replies[3]) == _norm(replies[0])


def test_connection_close_is_honoured(srv: ServerHandle) -> None:
    with socket.create_connection(("127.0.0.1", _port(srv)), timeout=10) as s:
        s.sendall(get("/api/v1/pop/queue/none?batch=1", b"Connection: close\r\n"))
        data = b""
        while True:
            got = s.recv(65536)
            if not got:
                break
            data += got
    assert b"\r\nConnection: close\r\n" in data


def test_long_poll_on_the_front_wakes_on_push(srv: ServerHandle) -> None:
    exchange(srv, post("/api/v1/configure", b'{"queue": "lp"}'), 1)
    with socket.create_connection(("127.0.0.1", _port(srv)), timeout=10) as s:
        s.sendall(get("/api/v1/pop/queue/lp?batch=1&wait=true&timeout=10000"))
        time.sleep(0.05)
        body = b'{"items": [{"queue": "lp", "payload": "hi"}]}'
        exchange(srv, post("/api/v1/push", body), 1)
        data = b""
        while b'"hi"' not in data:
            got = s.recv(65536)
            assert got, "connection closed before the message arrived"
            data += got
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.parametrize("raw", [
    b"GET /x HTTP/1.0\r\n\r\n",
    b"POST /api/v1/push HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST /api/v1/push HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
    b"POST /api/v1/push HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}",
    b"GET /api/v1/pop/queue/a%20b HTTP/1.1\r\n\r\n",
    b"GET /api/v1/pop/queue/a?x=%41 HTTP/1.1\r\n\r\n",
    b"GET /api/v1/pop/queue/a HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
    b"GET /api/v1/pop/queue/a HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n",
    b"GET /api/v1/pop/queue/a HTTP/1.1\r\nConnection: upgrade\r\n\r\n",
    b"HEAD /health HTTP/1.1\r\n\r\n",
    b"POST /api/v1/ack HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n{",
])
def test_unusual_requests_are_left_to_aiohttp(raw: bytes) -> None:
    assert parse(bytearray(raw)) is None


def test_parse_waits_for_whole_request() -> None:
    whole = post("/api/v1/ack", b'{"a": 1}')
    for cut in (5, whole.index(b"\r\n\r\n"), len(whole) - 1):
        assert parse(bytearray(whole[:cut])) is _INCOMPLETE
    req = parse(bytearray(whole + b"GET"))
    assert req is not _INCOMPLETE and req is not None
    assert req.body == b'{"a": 1}' and req.size == len(whole) and not req.close


@pytest.mark.parametrize("accept", [b"", b"Accept: text/html\r\n"])
def test_handler_crash_gets_aiohttps_500(srv: ServerHandle, accept: bytes) -> None:
    broker = srv.broker
    assert broker is not None

    def boom(*args: object) -> None:
        raise RuntimeError("boom")

    srv.call(setattr, broker, "ack", boom)
    case = post("/api/v1/ack", b'{"transactionId": "t", "partitionId": "p"}', accept)
    fast = exchange(srv, case, 1)[0]
    slow = exchange(srv, HEALTH + case, 2)[1]
    assert fast.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert _norm(fast) == _norm(slow)


def test_idle_connections_close_after_the_keepalive_timeout(
        srv: ServerHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(front, "_KEEPALIVE", 0.05)
    with socket.create_connection(("127.0.0.1", _port(srv)), timeout=10) as s:
        s.sendall(get("/api/v1/pop/queue/none?batch=1"))
        data = b""
        while True:
            got = s.recv(65536)
            if not got:
                break  # the server closed the idle connection
            data += got
    assert len(_responses(data, 1)) == 1
