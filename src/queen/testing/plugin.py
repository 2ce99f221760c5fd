"""pytest plugin (entry point ``queen``): fixtures for tests that need a Queen server.

* ``queen_server`` (session): a ``ServerHandle`` per personality in ``QUEEN_TEST_COMPAT``
  (default ``0.7,0.15``; ids ``[0.7]``/``[0.15]``), or the server at ``QUEEN_URL``
  (compat from ``QUEEN_COMPAT`` or detected via ``GET /health``; ``broker`` is None).
* ``queen_url``, ``queen_compat``, ``unique_name`` (factory ``prefix -> name``).
* ``queen``: an open ``queen.Queen`` client (async, per test).
* ``embedded_server``: factory for a private server, e.g. with a ``FakeClock``.

Imports stay cheap: the server and the client are loaded only when a fixture runs.
"""

from __future__ import annotations

import itertools
import os
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Iterator, List

import pytest


def _compats() -> List[str]:
    raw = os.environ.get("QUEEN_TEST_COMPAT", "0.7,0.15")
    return [c.strip() for c in raw.split(",") if c.strip()] or ["0.7"]


@dataclass
class _Health:
    """The /health answer in the shape ``queen.wire`` parses (its ``Reply``)."""

    status: int
    body: bytes
    method: str
    url: str


def _detect(url: str) -> str:
    """The generation of the server at ``url``: ``QUEEN_COMPAT``, else the client's own
    rule (``queen.wire.parse_health``), imported here at fixture time so that loading
    the plugin loads no client module."""
    forced = os.environ.get("QUEEN_COMPAT")
    if forced:
        return forced
    from queen import wire

    request = wire.health()
    try:
        with urllib.request.urlopen(url.rstrip("/") + request.path, timeout=5) as resp:
            reply = _Health(resp.status, resp.read(), request.method, url)
        return wire.parse_health(reply)
    except Exception:
        return wire.GEN_07


def _start(compat: str, **kwargs: Any) -> Any:
    from queen._extras import require

    require("aiohttp", "server", "the embedded Queen server (queen.testing)")
    from queen.testing import start_server

    return start_server(compat=compat, **kwargs)


def pytest_generate_tests(metafunc: Any) -> None:
    if "queen_server" in metafunc.fixturenames and not os.environ.get("QUEEN_URL"):
        metafunc.parametrize("queen_server", _compats(), indirect=True, ids=lambda c: c,
                             scope="session")


@pytest.fixture(scope="session")
def queen_server(request: Any) -> Iterator[Any]:
    from queen.testing import ServerHandle

    url = os.environ.get("QUEEN_URL")
    if url:
        yield ServerHandle(url.rstrip("/"), _detect(url))
        return
    compat = getattr(request, "param", None) or _compats()[0]
    handle = _start(compat)
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def queen_url(queen_server: Any) -> str:
    return str(queen_server.url)


@pytest.fixture
def queen_compat(queen_server: Any) -> str:
    return str(queen_server.compat)


_counter = itertools.count()


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """``unique_name("orders")`` -> ``orders-1a2b3c4d-7``: safe on a shared server."""
    run = uuid.uuid4().hex[:8]

    def make(prefix: str = "t") -> str:
        return f"{prefix}-{run}-{next(_counter)}"

    return make


try:  # works in pytest-asyncio's strict mode too (it is loaded anyway when installed)
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover
    _async_fixture = pytest.fixture  # type: ignore[assignment]


@_async_fixture
async def queen(queen_url: str) -> AsyncIterator[Any]:
    from queen import Queen

    async with Queen(queen_url) as client:
        yield client


@pytest.fixture
def embedded_server() -> Iterator[Callable[..., Any]]:
    """``embedded_server(compat="0.15", clock=FakeClock())`` -> a fresh ServerHandle,
    closed at the end of the test."""
    handles: List[Any] = []

    def make(compat: str = "0.7", **kwargs: Any) -> Any:
        handle = _start(compat, **kwargs)
        handles.append(handle)
        return handle

    try:
        yield make
    finally:
        for h in handles:
            h.close()
