"""HTTP transport: pooled connections, retries with backoff, failover, health marking.

HTTP/1.1 goes over our own httptools-based pool (``h1.py``; about a quarter of
aiohttp's CPU per request), or over aiohttp when httptools is missing or
``QUEEN_HTTP1_BACKEND=aiohttp``. Both write a request's headers and body in one
``send`` (real Queen 0.7.5 crashes when a lease-extend body arrives in a separate
TCP segment, which is what httpx does). HTTP/2 (``http2=True``) goes over httpx,
with prior knowledge on ``http://`` URLs and ALPN on ``https://``.

Failover (see docs/failover.md): a request goes to the first server of the
balancer's plan; a server that refuses or resets the connection, or does not accept
it in time, is marked failed and the request moves to the next server at once. A
failed server gets no user traffic until a background ``GET /health`` probe (every
``health_retry_after_millis``) finds it answering. 5xx/429 answers move on too.
Only when every server of a round has failed does the request wait, with the backoff
of ``queen.retry.Retry.for_transport``, for up to ``retry_attempts`` more rounds.

Whether a request may be sent again is one rule (``_failure.may_resend``): always
when none of its bytes were written; otherwise only when ``wire`` marked it
idempotent (reads, and pushes: their transactionIds make a second copy a
duplicate), after a timeout or a reset, here or on another server. A pop, ack,
transaction or lease extend that met such a failure raises
``QueenOutcomeUnknownError``: it may have been applied. A drop on a pooled
connection (a keep-alive socket the server closed) is retried at once on a fresh
connection when the rule allows it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from functools import partial
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import orjson

from .. import log
from .._extras import LazyModule, install_hint, require
from ..config import ClientConfig
from ..errors import (
    QueenConnectionError,
    QueenOutcomeUnknownError,
    QueenTimeoutError,
    QueenValidationError,
    UnknownAfterTimeout,
)
from ..retry import TRANSPORT_CAP, Retry
from ._auth import TokenAuth
from ._failure import CONNECT as _CONNECT
from ._failure import CONNECT_TIMEOUT as _CONNECT_TIMEOUT
from ._failure import DROPPED as _DROPPED
from ._failure import KEEPALIVE_SECONDS, may_resend, server_down
from ._failure import TIMEOUT as _TIMEOUT
from ._failure import TLS as _TLS
from ._failure import Failure as _Failure
from ._tls import context_for, is_tls_failure, tls_error
from .balancer import Balancer

_AIOHTTP = "the aiohttp HTTP/1.1 backend (QUEEN_HTTP1_BACKEND=aiohttp, or httptools missing)"
if TYPE_CHECKING:
    import aiohttp
    import yarl
else:  # only the aiohttp fallback backend loads them: `import queen` stays light
    aiohttp = LazyModule("aiohttp", "server", _AIOHTTP)
    yarl = LazyModule("yarl", "server", _AIOHTTP)

try:
    from .h1 import H1Backend
except ImportError:  # httptools missing (e.g. an exotic platform): aiohttp does it all
    H1Backend = None  # type: ignore[assignment, misc]

# Immediate reconnects after a connection dropped before any response byte.
FRESH_RETRIES = 2
MAX_BACKOFF_SECONDS = TRANSPORT_CAP
USER_AGENT = "queen-mq-python"
# HTTP/1.1 backend: "httptools" (default when installed) or "aiohttp".
BACKEND_ENV = "QUEEN_HTTP1_BACKEND"


def http1_backend() -> str:
    """The HTTP/1.1 backend new transports use: $QUEEN_HTTP1_BACKEND, else httptools
    when importable, else aiohttp."""
    wanted = os.environ.get(BACKEND_ENV, "").strip().lower()
    if wanted not in ("", "httptools", "aiohttp"):
        raise QueenValidationError(f"{BACKEND_ENV} must be 'httptools' or 'aiohttp', got {wanted!r}")
    if wanted == "aiohttp" or H1Backend is None:
        return "aiohttp"
    return "httptools"


class Response:
    """One HTTP answer: status, raw body, and the request that produced it."""

    __slots__ = ("status", "body", "method", "url")

    def __init__(self, status: int, body: bytes, method: str, url: str) -> None:
        self.status = status
        self.body = body
        self.method = method
        self.url = url

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body parsed as JSON; None for an empty body. Raises ValueError if not JSON."""
        return orjson.loads(self.body) if self.body else None

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"<Response {self.method} {log.redact(self.url)} -> {self.status}, {len(self.body)} bytes>"


class _AiohttpBackend:
    """HTTP/1.1: one aiohttp ClientSession (created lazily inside the running loop)."""

    def __init__(self, config: ClientConfig, headers: Dict[str, str]) -> None:
        require("aiohttp", "server", _AIOHTTP)
        self._config = config
        self._headers = dict(headers)
        self._session: Optional[aiohttp.ClientSession] = None
        self._timeouts: Dict[float, aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            ssl=context_for(self._config) or True,
            limit=self._config.pool_size,
            limit_per_host=0,
            keepalive_timeout=KEEPALIVE_SECONDS,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=self._headers,
            cookie_jar=aiohttp.DummyCookieJar(),
            raise_for_status=False,
        )
        # aiohttp sends a GET again by itself when a pooled connection drops; a pop is a
        # GET that must not go twice (the transport applies its own rule instead).
        self._session._retry_connection = False
        return self._session

    def set_header(self, name: str, value: str) -> None:
        self._headers[name] = value
        if self._session is not None:
            self._session.headers[name] = value

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        found = self._timeouts.get(seconds)
        if found is None:
            connect = min(seconds, self._config.connect_timeout_millis / 1000.0)
            found = aiohttp.ClientTimeout(total=seconds, sock_connect=connect)
            if len(self._timeouts) < 64:
                self._timeouts[seconds] = found
        return found

    async def send(
        self, method: str, server: str, path: str, body: Optional[bytes], timeout: float
    ) -> Tuple[int, bytes]:
        url = server + path
        session = self._session or self._open()
        try:
            async with session.request(
                method, yarl.URL(url, encoded=True), data=body, timeout=self._timeout(timeout)
            ) as resp:
                return resp.status, await resp.read()
        except aiohttp.ConnectionTimeoutError as exc:
            raise _Failure(_CONNECT_TIMEOUT, exc) from exc
        except aiohttp.ClientConnectorError as exc:
            raise _Failure(_CONNECT, exc) from exc
        except asyncio.TimeoutError as exc:  # includes aiohttp.ServerTimeoutError
            raise _Failure(_TIMEOUT, exc) from exc
        except aiohttp.InvalidURL as exc:
            raise QueenValidationError(f"invalid request URL {log.redact(url)!r}: {exc}") from exc
        except (aiohttp.ClientError, OSError) as exc:
            # Includes unparsable answers (e.g. Queen 0.15's 204 with a body): that
            # connection is discarded by aiohttp, and the request retried on a new one.
            raise _Failure(_DROPPED, exc) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


class _HttpxBackend:
    """HTTP/2 over httpx: prior knowledge for http://, ALPN (with HTTP/1.1 fallback) for https://."""

    def __init__(self, config: ClientConfig, headers: Dict[str, str]) -> None:
        if importlib.util.find_spec("httpx") is None or importlib.util.find_spec("h2") is None:
            raise QueenValidationError(
                f"http2=True needs the 'httpx' and 'h2' packages: {install_hint('http2')}"
            )
        self._config = config
        self._headers = dict(headers)
        self._clients: Dict[str, Any] = {}

    def _client(self, url: str) -> Any:
        import httpx

        tls = url.startswith("https:")
        client = self._clients.get("https" if tls else "http")
        if client is None:
            size = self._config.pool_size
            client = httpx.AsyncClient(
                verify=context_for(self._config) or True,
                http1=tls,
                http2=True,
                headers=self._headers,
                limits=httpx.Limits(
                    max_connections=size,
                    max_keepalive_connections=size,
                    keepalive_expiry=KEEPALIVE_SECONDS,
                ),
                follow_redirects=False,
            )
            self._clients["https" if tls else "http"] = client
        return client

    def set_header(self, name: str, value: str) -> None:
        self._headers[name] = value
        for client in self._clients.values():
            client.headers[name] = value

    async def send(
        self, method: str, server: str, path: str, body: Optional[bytes], timeout: float
    ) -> Tuple[int, bytes]:
        import httpx

        url = server + path
        connect = min(timeout, self._config.connect_timeout_millis / 1000.0)
        try:
            resp = await self._client(url).request(
                method, url, content=body, timeout=httpx.Timeout(timeout, connect=connect)
            )
            return resp.status_code, resp.content
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise _Failure(_CONNECT_TIMEOUT, exc) from exc
        except httpx.ConnectError as exc:
            raise _Failure(_CONNECT, exc) from exc
        except httpx.TimeoutException as exc:
            raise _Failure(_TIMEOUT, exc) from exc
        except httpx.InvalidURL as exc:
            raise QueenValidationError(f"invalid request URL {log.redact(url)!r}: {exc}") from exc
        except (httpx.TransportError, OSError) as exc:
            raise _Failure(_DROPPED, exc) from exc

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.aclose()


def _unknown(method: str, url: str, failure: _Failure, seconds: float) -> QueenOutcomeUnknownError:
    """The error for a request that was written but got no (complete) answer."""
    if failure.kind == _TIMEOUT:
        return UnknownAfterTimeout(
            f"{method} {log.redact(url)} got no answer within {seconds:g} s: the server may "
            "have applied it, so it was not sent again (a popped message comes back when its "
            "lease expires; check before repeating an ack or a transaction)"
        )
    return QueenOutcomeUnknownError(
        f"{method} {log.redact(url)}: the connection was lost before the answer "
        f"({failure.describe()}): the server may have applied it, so it was not sent again "
        "(a popped message comes back when its lease expires; check before repeating an ack "
        "or a transaction)"
    )


def _closed_error() -> QueenConnectionError:
    # upstream's (httpx's) text first: code matches on it
    return QueenConnectionError(
        "Cannot send a request, as the client has been closed: create a new Queen")


class Transport:
    """Sends requests to the configured Queen servers. See the module docstring."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.balancer = Balancer.from_config(config)
        self.balancer.probed = True  # failed servers come back through _probe
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        headers.update(config.request_headers())
        self._backend: Any
        if config.http2:
            self._backend = _HttpxBackend(config, headers)
        elif http1_backend() == "httptools":
            self._backend = H1Backend(config, headers)
        else:
            self._backend = _AiohttpBackend(config, headers)
        self._timeout = config.timeout_millis / 1000.0
        self._only: Optional[str] = config.urls[0] if len(config.urls) == 1 else None
        self.retry = Retry.for_transport(config.retry_delay_millis, config.retry_attempts)
        self._closed = False
        self._probes: Dict[str, asyncio.Task[None]] = {}
        token = config.bearer_token
        self._auth: Optional[TokenAuth] = None
        if token is not None and not isinstance(token, str):
            self._auth = TokenAuth(token, partial(self._backend.set_header, "Authorization"))

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def server_for(self, affinity_key: Optional[str] = None) -> str:
        """The server the next request with this key would go to first."""
        return self.balancer.pick(affinity_key)

    async def aclose(self) -> None:
        self._closed = True
        probes, self._probes = list(self._probes.values()), {}
        for task in probes:
            task.cancel()
        if probes:
            await asyncio.gather(*probes, return_exceptions=True)
        await self._backend.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Optional[bytes] = None,
        affinity_key: Optional[str] = None,
        timeout: Optional[float] = None,
        idempotent: bool = True,
    ) -> Response:
        """Send ``method path`` (path includes the query string) and return the answer.

        Any status is returned as is, except that 5xx/429 are retried first, and a
        401 is sent once more with a fresh token when ``bearer_token`` is a provider.
        Raises QueenConnectionError / QueenTimeoutError when no answer came.
        """
        if self._closed:
            raise _closed_error()
        if self._auth is not None:
            version = await self._auth.ensure()
            answer = await self._request(method, path, body, affinity_key, timeout, idempotent)
            if answer.status != 401:
                return answer
            # Refused before it was processed: safe to send again, whatever its kind.
            await self._auth.refresh(version)
        return await self._request(method, path, body, affinity_key, timeout, idempotent)

    async def _request(
        self, method: str, path: str, body: Optional[bytes], affinity_key: Optional[str],
        timeout: Optional[float], idempotent: bool,
    ) -> Response:
        seconds = self._timeout if timeout is None else timeout
        retry = self.retry
        tried: List[str] = []
        answer: Optional[Response] = None
        failure: Optional[_Failure] = None
        rounds = 0  # rounds in which no server gave a usable answer
        fixed = None if self.config.enable_failover else self._plan(affinity_key)
        while True:
            for server in fixed or self._plan(affinity_key):
                if server not in tried:
                    tried.append(server)
                url = server + path
                fresh = FRESH_RETRIES
                while True:
                    if self._closed:  # closed while this request was failing over: stop here
                        raise _closed_error()
                    if log.enabled():
                        log.info("Transport.request", {"method": method, "url": url})
                    try:
                        status, data = await self._backend.send(method, server, path, body, seconds)
                    except _Failure as exc:
                        failure = exc
                        if exc.kind == _TLS or is_tls_failure(exc.cause):
                            self._log_failure(method, url, exc)
                            raise tls_error(f"{method} {log.redact(url)}", server,
                                            exc.cause) from exc.cause
                        if not may_resend(exc, idempotent):
                            self._log_failure(method, url, exc)
                            raise _unknown(method, url, exc, seconds) from exc.cause
                        if exc.kind == _DROPPED and exc.reused and fresh > 0:
                            fresh -= 1  # most likely a pooled connection the server closed
                            continue
                        if server_down(exc):
                            self._server_failed(server)
                        self._log_failover(method, url, exc.kind)
                        break
                    if status < 500 and status != 429:
                        if self._only is None:
                            self.balancer.mark_ok(server)  # (answered while marked failed)
                        return Response(status, data, method, url)
                    answer = Response(status, data, method, url)  # another server may do better
                    if status != 429:  # in trouble (e.g. its database): skip it, probe it
                        self._server_failed(server)
                    self._log_failover(method, url, f"HTTP {status}")
                    break
            rounds += 1  # every server of this round failed: only now wait before the next
            if not retry.allows(rounds):
                break
            delay = retry.delay(rounds)
            if log.enabled():  # (the caller sees the final failure as an exception)
                log.warn("Transport.retry", {"method": method, "path": path, "attempt": rounds,
                                             "delay_ms": round(delay * 1000)})
            await asyncio.sleep(delay)

        if answer is not None:  # some server answered (5xx/429): the caller reports it
            return answer
        assert failure is not None
        self._log_failure(method, path, failure)
        names = log.redact(", ".join(tried))
        what = f"{method} {log.redact(path)}"
        if failure.kind == _CONNECT_TIMEOUT:
            raise QueenTimeoutError(
                f"{what}: could not connect in time to any Queen server (tried {names}): "
                "check that the servers are up and reachable"
            ) from failure.cause
        if failure.kind == _TIMEOUT:
            raise QueenTimeoutError(
                f"{what}: no answer within {seconds:g} s from any Queen server (tried {names}): "
                "raise timeout_millis or check the servers' load"
            ) from failure.cause
        raise QueenConnectionError(
            f"{what}: could not reach any Queen server (tried {names}; last error: "
            f"{failure.describe()}): check that the server is running and the URL is right"
        ) from failure.cause

    # ---- servers: which to try, and the background probe of the failed ones

    def _plan(self, affinity_key: Optional[str]) -> List[str]:
        if self._only is not None:  # one server: nothing to choose or fail over to
            return [self._only]
        servers = self.balancer.plan(affinity_key)
        return servers if self.config.enable_failover else servers[:1]

    def _server_failed(self, server: str) -> None:
        """Skip ``server`` from now on; a background probe lets it back in."""
        if self._only is not None:
            return
        self.balancer.mark_failed(server)
        if server not in self._probes and not self._closed:
            self._probes[server] = asyncio.get_running_loop().create_task(self._probe(server))

    async def _probe(self, server: str) -> None:
        """``GET /health`` every ``health_retry_after_millis`` until it answers: no
        user request ever waits on a dead server."""
        every = max(self.balancer.retry_after, 0.05)
        timeout = min(self._timeout, self.config.connect_timeout_millis / 1000.0, 5.0)
        try:
            while not self._closed:
                await asyncio.sleep(every)
                try:
                    status, _ = await self._backend.send("GET", server, "/health", None, timeout)
                except (_Failure, OSError):
                    continue
                if status < 500:
                    self.balancer.mark_ok(server)
                    if log.enabled():
                        log.info("Transport.probe", {"url": server, "status": "back"})
                    return
        finally:
            self._probes.pop(server, None)

    def _log_failover(self, method: str, url: str, reason: str) -> None:
        if log.enabled():
            log.warn("Transport.failover", {"method": method, "url": url, "error": reason})

    @staticmethod
    def _log_failure(method: str, url: str, failure: _Failure) -> None:
        if log.enabled():
            log.error("Transport.request", {"method": method, "url": url, "error": failure.kind,
                                            "detail": failure.describe()})


__all__ = ["Response", "Transport"]
