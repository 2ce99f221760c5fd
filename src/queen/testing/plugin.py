"""pytest plugin (entry point ``queen``): fixtures for tests that need a Queen server.

* ``queen_server`` (session): a ``ServerHandle`` per personality in ``QUEEN_TEST_COMPAT``
  (default ``0.7,0.15``; ids ``[0.7]``/``[0.15]``), or the server at ``QUEEN_URL``
  (compat from ``QUEEN_COMPAT`` or detected via ``GET /health``; ``broker`` is None).
* ``queen_url``, ``queen_compat``, ``unique_name`` (factory ``prefix -> name``).
* ``queen``: an open ``queen.Queen`` client (async, per test).
* ``embedded_server``: factory for a private server, e.g. with a ``FakeClock``.

``async def`` tests that use these fixtures run on asyncio with no configuration:

* with pytest-asyncio installed, in its strict mode too: such tests get the
  ``asyncio`` mark at collection, and ``queen`` is a pytest-asyncio fixture;
* with pytest alone (or ``-p no:asyncio``): the plugin runs them itself, each on a new
  event loop that the ``queen`` client is opened and closed on.

Imports stay cheap: the server and the client are loaded only when a fixture runs.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Generator, Iterator, List, Optional

import pytest

# the fixtures that make an async test ours to run on asyncio
FIXTURES = frozenset({"queen", "queen_server", "queen_url", "queen_compat", "unique_name",
                      "embedded_server"})
_LOOP = pytest.StashKey[asyncio.AbstractEventLoop]()


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


def _asyncio_plugin(config: Any) -> bool:
    """pytest-asyncio is installed and active (not ``-p no:asyncio``)."""
    return bool(config.pluginmanager.hasplugin("asyncio"))


def _ours(names: Any) -> bool:
    return not FIXTURES.isdisjoint(names)


def _mark(item: Any) -> None:
    if item.get_closest_marker("asyncio") is None:
        item.add_marker(pytest.mark.asyncio)


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_pycollect_makeitem(collector: Any, name: str, obj: Any) -> Generator[None, Any, None]:
    """In pytest-asyncio's strict mode an async test runs only with the ``asyncio`` mark:
    give it to the async tests that use our fixtures. Before the item exists (from the
    signature) and after (from the whole fixture closure: fixtures that use ours); the
    first is enough whatever order the hook wrappers run in."""
    active = _asyncio_plugin(collector.config) and inspect.iscoroutinefunction(obj)
    if active and _ours(inspect.signature(obj).parameters):
        pytest.mark.asyncio(obj)
    outcome = yield
    if not active:
        return
    result = outcome.get_result()
    for item in result if isinstance(result, list) else [result]:
        if isinstance(item, pytest.Function) and _ours(item.fixturenames):
            _mark(item)


def _run_by_us(item: Any) -> bool:
    """An async test pytest-asyncio will not run, which uses our fixtures."""
    if not inspect.iscoroutinefunction(getattr(item, "obj", None)):
        return False
    if _asyncio_plugin(item.config) and item.get_closest_marker("asyncio") is not None:
        return False
    return _ours(item.fixturenames)


def _loop_for(item: Any) -> asyncio.AbstractEventLoop:
    loop: Optional[asyncio.AbstractEventLoop] = item.stash.get(_LOOP, None)
    if loop is None or loop.is_closed():
        loop = item.stash[_LOOP] = asyncio.new_event_loop()
    return loop


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: Any) -> Optional[bool]:
    """Without pytest-asyncio: run an async test that uses our fixtures on the item's
    event loop (the one its ``queen`` client lives on)."""
    if not _run_by_us(pyfuncitem):
        return None
    args = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    owned = _LOOP not in pyfuncitem.stash
    loop = _loop_for(pyfuncitem)
    try:
        loop.run_until_complete(pyfuncitem.obj(**args))
    finally:
        if owned:  # no ``queen`` fixture: nothing else will close it
            _close_loop(loop)
            del pyfuncitem.stash[_LOOP]
    return True


@pytest.fixture
def queen(request: Any, queen_url: str) -> Iterator[Any]:
    """An open ``queen.Queen`` client for the test (closed afterwards)."""
    if not _run_by_us(request.node):  # pytest-asyncio runs the test: its fixture, its loop
        yield request.getfixturevalue("_queen_client_asyncio")
        return
    from queen import Queen

    loop = _loop_for(request.node)
    client = Queen(queen_url)
    try:
        yield client
    finally:
        try:
            loop.run_until_complete(client.close())
        finally:
            _close_loop(loop)


try:
    from pytest_asyncio import fixture as _asyncio_fixture
except ImportError:  # pragma: no cover - pytest alone: the plugin runs async tests itself
    pass
else:

    @_asyncio_fixture
    async def _queen_client_asyncio(queen_url: str) -> AsyncIterator[Any]:
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
