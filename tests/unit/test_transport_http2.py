"""Transport over HTTP/2 (httpx, cleartext prior knowledge) against hypercorn."""

import asyncio
import socket
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, List

import orjson
import pytest

pytest.importorskip("h2")
hypercorn_asyncio = pytest.importorskip("hypercorn.asyncio")
from hypercorn.config import Config  # noqa: E402

from queen.config import parse_config  # noqa: E402
from queen.errors import QueenTimeoutError  # noqa: E402
from queen.http import Transport  # noqa: E402


class App:
    """Tiny ASGI app: echoes the HTTP version, path, headers and body as JSON."""

    def __init__(self) -> None:
        self.seen: List[Dict[str, Any]] = []
        self.release = asyncio.Event()
        self.token: Any = None  # when set, only "Bearer <token>" gets a 200 (else 401)

    async def __call__(self, scope: Dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        if scope["path"] == "/slow":
            await self.release.wait()
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        query = scope["query_string"].decode()
        info = {
            "http_version": scope["http_version"],
            "method": scope["method"],
            "path": scope["path"] + (f"?{query}" if query else ""),
            "headers": headers,
            "body": body.decode(),
        }
        self.seen.append(info)
        status = 503 if scope["path"] == "/busy" and len(self.seen) == 1 else 200
        if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
            status = 401
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": orjson.dumps(info)})


@asynccontextmanager
async def hypercorn_server(app: App) -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]  # hypercorn owns (and closes) the socket
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 0.1
    stop = asyncio.Event()
    task = asyncio.create_task(hypercorn_asyncio.serve(app, config, shutdown_trigger=stop.wait))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app.release.set()
        stop.set()
        await asyncio.wait_for(task, 5)


def make(urls: Any, **opts: Any) -> Transport:
    cfg: Dict[str, Any] = {"urls": urls, "http2": True, "retry_delay_millis": 1}
    cfg.update(opts)
    return Transport(parse_config(cfg))


async def test_http2_prior_knowledge_get_and_post():
    app = App()
    async with hypercorn_server(app) as url:
        async with make(url, bearer_token="tok", headers={"X-Team": "red"}) as t:
            r = await t.request("GET", "/health?x=1")
            assert r.status == 200
            assert r.json()["http_version"] == "2"
            assert r.json()["path"] == "/health?x=1"
            body = b'{"items":[]}'
            posted = await t.request("POST", "/api/v1/push", body=body)
            info = posted.json()
            assert (info["method"], info["body"], info["http_version"]) == ("POST", body.decode(), "2")
            assert info["headers"]["authorization"] == "Bearer tok"
            assert info["headers"]["x-team"] == "red"
            assert info["headers"]["content-type"] == "application/json"
            many = await asyncio.gather(*(t.request("GET", f"/n/{i}") for i in range(10)))
            assert [m.json()["path"] for m in many] == [f"/n/{i}" for i in range(10)]


async def test_http2_retries_503():
    app = App()
    async with hypercorn_server(app) as url:
        async with make(url) as t:
            assert (await t.request("GET", "/busy")).status == 200
    assert len(app.seen) == 2


async def test_http2_failover_from_refused_server():
    app = App()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    s.close()
    async with hypercorn_server(app) as url:
        async with make([dead, url], load_balancing_strategy="round-robin", retry_attempts=0) as t:
            r = await t.request("GET", "/x")
            assert r.status == 200 and r.url.startswith(url)
            assert not t.balancer.is_healthy(dead)


async def test_http2_timeout():
    app = App()
    async with hypercorn_server(app) as url:
        async with make(url) as t:
            with pytest.raises(QueenTimeoutError):
                await t.request("GET", "/slow", timeout=0.1)


async def test_http2_token_provider_asked_again_after_401():
    app = App()
    issued: List[str] = []

    async def provider() -> str:
        issued.append(f"t{len(issued) + 1}")
        return issued[-1]

    async with hypercorn_server(app) as url:
        async with make(url, bearer_token=provider) as t:
            app.token = "t1"
            assert (await t.request("GET", "/x")).status == 200
            app.token = "t2"  # t1 expired
            r = await t.request("GET", "/y")
            assert r.status == 200 and r.json()["headers"]["authorization"] == "Bearer t2"
    assert issued == ["t1", "t2"]
