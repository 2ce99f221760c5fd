"""Transport over HTTP/1.1 (each backend) against throwaway local aiohttp servers."""

import asyncio
import socket
from typing import Any, Dict, List

import orjson
import pytest
from aiohttp import web

from http_stub import serve_handler
from queen import log
from queen.config import parse_config
from queen.errors import QueenConnectionError, QueenOutcomeUnknownError, QueenTimeoutError
from queen.http import Response, Transport

pytestmark = pytest.mark.usefixtures("http1_backend")


serve = serve_handler


def refused_url() -> str:
    # A port that was just free: nothing listens there, so connect is refused.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def transport(urls: Any, **opts: Any) -> Transport:
    cfg: Dict[str, Any] = {"urls": urls, "retry_delay_millis": 1, "timeout_millis": 5000}
    cfg.update(opts)
    return Transport(parse_config(cfg))


class Recorder:
    """A handler that answers from a script of statuses and records requests."""

    def __init__(self, statuses: List[int], body: bytes = b'{"ok":true}') -> None:
        self.statuses = statuses
        self.body = body
        self.seen: List[Dict[str, Any]] = []

    async def __call__(self, request: web.Request) -> web.Response:
        self.seen.append(
            {
                "method": request.method,
                "path": request.path_qs,
                "headers": dict(request.headers),
                "body": await request.read(),
            }
        )
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return web.Response(status=status, body=self.body, content_type="application/json")


async def test_get_and_post_round_trip():
    rec = Recorder([200])
    async with serve(rec) as url:
        async with transport(url) as t:
            r = await t.request("GET", "/api/v1/pop/queue/q?batch=1&wait=false")
            assert isinstance(r, Response)
            assert (r.status, r.json(), r.method) == (200, {"ok": True}, "GET")
            assert r.url == url + "/api/v1/pop/queue/q?batch=1&wait=false" and r.ok
            body = orjson.dumps({"items": [{"queue": "q", "payload": 1}]})
            await t.request("POST", "/api/v1/push", body=body)
    assert rec.seen[0]["path"] == "/api/v1/pop/queue/q?batch=1&wait=false"
    assert rec.seen[1]["body"] == body
    assert rec.seen[1]["headers"]["Content-Type"] == "application/json"


async def test_path_is_sent_verbatim():
    rec = Recorder([200])
    async with serve(rec) as url:
        async with transport(url) as t:
            await t.request("GET", "/api/v1/messages/a%2Fb?x=1+2")
    assert rec.seen[0]["path"] in ("/api/v1/messages/a%2Fb?x=1+2", "/api/v1/messages/a/b?x=1+2")


async def test_empty_body_json_is_none():
    async with serve(Recorder([200], body=b"")) as url:
        async with transport(url) as t:
            r = await t.request("GET", "/x")
    assert r.json() is None and r.body == b""


async def test_retries_503_then_succeeds():
    rec = Recorder([503, 503, 200])
    async with serve(rec) as url:
        async with transport(url, retry_attempts=3) as t:
            r = await t.request("POST", "/api/v1/ack", body=b"{}")
    assert r.status == 200
    assert len(rec.seen) == 3


async def test_retries_429():
    rec = Recorder([429, 200])
    async with serve(rec) as url:
        async with transport(url) as t:
            assert (await t.request("GET", "/x")).status == 200
    assert len(rec.seen) == 2


async def test_backoff_grows_exponentially(monkeypatch: pytest.MonkeyPatch):
    delays: List[float] = []
    real_sleep = asyncio.sleep

    async def fake_sleep(d: float) -> None:
        if d > 0:  # the patch is global: ignore others' sleep(0)
            delays.append(d)
        await real_sleep(0)

    monkeypatch.setattr("queen.http.transport.asyncio.sleep", fake_sleep)
    rec = Recorder([503])
    async with serve(rec) as url:
        async with transport(url, retry_attempts=3, retry_delay_millis=100) as t:
            r = await t.request("GET", "/x")
    assert r.status == 503  # exhausted: the last 5xx answer is handed back
    assert len(rec.seen) == 4
    assert len(delays) == 3
    for got, base in zip(delays, (0.1, 0.2, 0.4)):
        assert base <= got <= base * 1.25


async def test_4xx_not_retried():
    rec = Recorder([404, 200])
    async with serve(rec) as url:
        async with transport(url) as t:
            r = await t.request("GET", "/nope")
    assert r.status == 404 and len(rec.seen) == 1


async def test_retry_attempts_zero_means_single_try():
    rec = Recorder([500])
    async with serve(rec) as url:
        async with transport(url, retry_attempts=0, enable_failover=False) as t:
            assert (await t.request("GET", "/x")).status == 500
    assert len(rec.seen) == 1


async def test_failover_to_second_when_first_refuses():
    rec = Recorder([200])
    dead = refused_url()
    async with serve(rec) as url:
        async with transport(
            [dead, url], load_balancing_strategy="round-robin", retry_attempts=1
        ) as t:
            r = await t.request("GET", "/x")
            assert r.status == 200 and r.url.startswith(url)
            assert not t.balancer.is_healthy(dead)
            # next requests skip the dead server entirely
            for _ in range(3):
                assert (await t.request("GET", "/y")).url.startswith(url)
    assert len(rec.seen) == 4


async def test_no_failover_when_disabled():
    rec = Recorder([200])
    dead = refused_url()
    async with serve(rec) as url:
        async with transport(
            [dead, url], load_balancing_strategy="round-robin", enable_failover=False,
            retry_attempts=1,
        ) as t:
            with pytest.raises(QueenConnectionError):
                await t.request("GET", "/x")
    assert rec.seen == []


async def test_5xx_moves_on_to_the_next_server_at_once():
    bad, good = Recorder([503]), Recorder([200])
    async with serve(bad) as u1, serve(good) as u2:
        async with transport([u1, u2], load_balancing_strategy="round-robin", retry_attempts=1) as t:
            r = await t.request("GET", "/x")
    assert r.status == 200 and len(bad.seen) == 1 and len(good.seen) == 1


async def test_unhealthy_server_tried_again_after_delay():
    flaky, good = Recorder([503, 200]), Recorder([200])
    async with serve(flaky) as u1, serve(good) as u2:
        async with transport(
            [u1, u2], load_balancing_strategy="round-robin", retry_attempts=0,
            health_retry_after_millis=150,
        ) as t:
            assert (await t.request("GET", "/x")).url.startswith(u2)
            assert len(flaky.seen) == 1
            for _ in range(4):
                assert (await t.request("GET", "/x")).url.startswith(u2)
            assert len(flaky.seen) == 1  # skipped while unhealthy
            await asyncio.sleep(0.2)  # > health_retry_after_millis
            assert t.balancer.is_healthy(u1)
            urls = [(await t.request("GET", "/x")).url for _ in range(4)]
            assert any(u.startswith(u1) for u in urls)
            assert len(flaky.seen) >= 2 and t.balancer.is_healthy(u1)


async def test_all_refused_names_servers():
    a, b = refused_url(), refused_url()
    async with transport([a, b], retry_attempts=1) as t:
        with pytest.raises(QueenConnectionError) as info:
            await t.request("GET", "/health")
    assert a in str(info.value) and b in str(info.value)
    assert isinstance(info.value, ConnectionError)


class Stall:
    """A handler that answers only once released (so server shutdown stays quick)."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def __call__(self, request: web.Request) -> web.Response:
        self.calls += 1
        await self.release.wait()
        return web.Response(text="late")


async def test_timeout_of_a_request_that_may_not_go_twice():
    stall = Stall()
    async with serve(stall) as url:
        async with transport(url, retry_attempts=3) as t:
            with pytest.raises(QueenOutcomeUnknownError) as info:
                await t.request("GET", "/api/v1/pop/queue/q", timeout=0.1, idempotent=False)
            assert url in str(info.value)
            assert isinstance(info.value, QueenTimeoutError)  # and still a timeout
        stall.release.set()
    assert stall.calls == 1


async def test_timeout_of_a_request_that_may_go_twice():
    stall = Stall()
    async with serve(stall) as url:
        async with transport(url, retry_attempts=2) as t:
            with pytest.raises(QueenTimeoutError) as info:
                await t.request("POST", "/api/v1/push", body=b"{}", timeout=0.1)
            assert url in str(info.value)
            assert not isinstance(info.value, QueenOutcomeUnknownError)
        stall.release.set()
    assert stall.calls == 3


async def test_config_timeout_applies():
    stall = Stall()
    async with serve(stall) as url:
        async with transport(url, timeout_millis=100) as t:
            with pytest.raises(QueenTimeoutError):
                await t.request("GET", "/slow")
        stall.release.set()


async def test_bearer_token_and_extra_headers_sent():
    rec = Recorder([200])
    async with serve(rec) as url:
        async with transport(url, bearer_token="tok-123", headers={"X-Team": "blue"}) as t:
            await t.request("GET", "/x")
            await t.request("POST", "/y", body=b"{}")
    for seen in rec.seen:
        assert seen["headers"]["Authorization"] == "Bearer tok-123"
        assert seen["headers"]["X-Team"] == "blue"


async def test_requests_are_logged_without_secrets(monkeypatch: pytest.MonkeyPatch):
    import io

    buf = io.StringIO()
    monkeypatch.setenv("QUEEN_CLIENT_LOG", "true")
    log.refresh()
    log.set_stream(buf)
    try:
        rec = Recorder([503, 200])
        async with serve(rec) as url:
            async with transport(url, bearer_token="sekrit-token") as t:
                await t.request("POST", "/api/v1/push", body=b'{"password":"pw-in-body"}')
    finally:
        log.set_stream(None)
        monkeypatch.delenv("QUEEN_CLIENT_LOG")
        log.refresh()
    lines = buf.getvalue().splitlines()
    requests = [ln for ln in lines if "[Transport.request]" in ln]
    assert len(requests) == 2
    assert requests[0].endswith(f'{{"method":"POST","url":"{url}/api/v1/push"}}')
    assert any("[WARN] [Transport.retry]" in ln for ln in lines)
    text = buf.getvalue()
    assert "sekrit-token" not in text and "pw-in-body" not in text


async def test_server_for_follows_affinity():
    urls = ["http://a:1", "http://b:1", "http://c:1"]
    t = transport(urls)
    keys = [f"q{i}:Default:g" for i in range(60)]
    owners = {t.server_for(k) for k in keys}
    assert owners <= set(urls) and len(owners) > 1
    assert all(t.server_for(k) == t.balancer.pick(k) for k in keys)
    await t.aclose()


async def test_closed_transport_refuses():
    rec = Recorder([200])
    async with serve(rec) as url:
        t = transport(url)
        await t.request("GET", "/x")
        await t.aclose()
        with pytest.raises(QueenConnectionError, match="closed"):
            await t.request("GET", "/x")


async def test_connections_are_reused():
    peers = set()

    async def handler(request: web.Request) -> web.Response:
        peers.add(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        return web.Response(text="{}")

    async with serve(handler) as url:
        async with transport(url) as t:
            for _ in range(5):
                await t.request("GET", "/x")
    assert len(peers) == 1


async def test_concurrent_requests():
    rec = Recorder([200])
    async with serve(rec) as url:
        async with transport(url, pool_size=4) as t:
            results = await asyncio.gather(*(t.request("GET", f"/x/{i}") for i in range(20)))
    assert [r.status for r in results] == [200] * 20
    assert sorted(s["path"] for s in rec.seen) == sorted(f"/x/{i}" for i in range(20))


def test_http2_without_h2_is_a_clear_error(monkeypatch: pytest.MonkeyPatch):
    import importlib.util

    from queen.errors import QueenValidationError

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "h2" else real(name, *a)
    )
    with pytest.raises(QueenValidationError, match="h2"):
        transport("http://127.0.0.1:1", http2=True)


async def test_secret_in_url_userinfo_not_in_errors():
    dead = refused_url().replace("http://", "http://user:hunter2@")
    async with transport(dead, retry_attempts=0) as t:
        with pytest.raises(QueenConnectionError) as info:
            await t.request("GET", "/x")
    assert "hunter2" not in str(info.value)
