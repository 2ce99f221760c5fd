"""Several embedded servers over one broker: the in-process picture of several Queen
servers over one PostgreSQL database, for failover tests and benchmarks.

    async with serve_cluster(3, compat="0.15") as cluster:   # in the running loop
        client = Queen(cluster.urls)
        await cluster.stop(1)      # like SIGKILL: port closed, open connections cut
        await cluster.start(1)     # back on the same port, same data

    with start_cluster(3) as cluster:                       # background thread
        cluster.stop(1); cluster.start(1)

Each node counts the requests it served (``node.requests``, over all its restarts),
so a test can say how many requests reached a server. ``ssl=`` serves HTTPS.
"""

from __future__ import annotations

import asyncio
import ssl as _ssl
import threading
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, AsyncIterator, List, Optional

from .broker import Broker

if TYPE_CHECKING:  # pragma: no cover
    from aiohttp import web

    from .app import QueenServer

__all__ = ["Cluster", "ClusterHandle", "Node", "serve_cluster", "start_cluster"]


class Node:
    """One front of the cluster: a port that can be stopped and started again."""

    def __init__(self, cluster: Cluster, index: int) -> None:
        self.cluster = cluster
        self.index = index
        self.port = 0
        self.url = ""
        self._runner: Optional[web.AppRunner] = None
        self._server: Optional[QueenServer] = None  # the running incarnation's
        self._served = 0  # requests of earlier incarnations

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def requests(self) -> int:
        """Requests this node has served (all incarnations)."""
        current = self._server.requests if self._server is not None else 0
        return self._served + current

    async def start(self) -> None:
        if self._runner is not None:
            return
        from . import _start, _url

        c = self.cluster
        runner, self.port, self._server = await _start(c.host, self.port, c.broker, c.ssl)
        self.url = _url(c.host, self.port, c.ssl is not None)
        self._runner = runner

    async def stop(self) -> None:
        """Stop abruptly: close the port and cut every open connection (in-flight
        requests get no answer), as a killed server does."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        server = runner.server
        for site in list(runner.sites):
            await site.stop()
        if server is not None:
            for proto in list(server.connections):
                transport = proto.transport
                if transport is not None:
                    transport.abort()
        await runner.cleanup()
        if self._server is not None:
            self._served += int(self._server.requests)
        self._server = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Node {self.index} {self.url} {state}>"


class Cluster:
    """``size`` fronts over one :class:`Broker` (all in the running loop)."""

    def __init__(self, size: int = 3, compat: str = "0.15", host: str = "127.0.0.1",
                 broker: Optional[Broker] = None, ssl: Optional[_ssl.SSLContext] = None) -> None:
        if size < 1:
            raise ValueError("a cluster needs at least one node")
        self.compat = compat
        self.host = host
        self.ssl = ssl
        self.broker = broker or Broker(compat)
        self.nodes: List[Node] = [Node(self, i) for i in range(size)]

    @property
    def urls(self) -> List[str]:
        return [n.url for n in self.nodes]

    async def start(self, index: Optional[int] = None) -> None:
        """Start one node (by index) or all of them."""
        for node in self._pick(index):
            await node.start()

    async def stop(self, index: Optional[int] = None) -> None:
        """Stop one node (by index) or all of them; see :meth:`Node.stop`."""
        for node in self._pick(index):
            await node.stop()

    def _pick(self, index: Optional[int]) -> List[Node]:
        return self.nodes if index is None else [self.nodes[index]]

    def requests(self) -> List[int]:
        return [n.requests for n in self.nodes]

    def __repr__(self) -> str:
        return f"<Cluster {self.compat} {self.urls}>"


@asynccontextmanager
async def serve_cluster(size: int = 3, compat: str = "0.15", host: str = "127.0.0.1",
                        broker: Optional[Broker] = None,
                        ssl: Optional[_ssl.SSLContext] = None) -> AsyncIterator[Cluster]:
    """Run a :class:`Cluster` in the current event loop."""
    cluster = Cluster(size, compat, host, broker, ssl)
    try:
        await cluster.start()
        yield cluster
    finally:
        await cluster.stop()


class ClusterHandle:
    """A :class:`Cluster` running in a background thread with its own loop; the same
    methods, called from any thread (``stop(i)``, ``start(i)``, ``call(fn, *args)``)."""

    def __init__(self, cluster: Cluster, loop: asyncio.AbstractEventLoop,
                 thread: threading.Thread) -> None:
        self.cluster = cluster
        self._loop = loop
        self._thread = thread

    @property
    def urls(self) -> List[str]:
        return self.cluster.urls

    @property
    def nodes(self) -> List[Node]:
        return self.cluster.nodes

    @property
    def broker(self) -> Broker:
        return self.cluster.broker

    @property
    def compat(self) -> str:
        return self.cluster.compat

    def start(self, index: Optional[int] = None) -> None:
        self._run(self.cluster.start(index))

    def stop(self, index: Optional[int] = None) -> None:
        self._run(self.cluster.stop(index))

    def requests(self) -> List[int]:
        return self.cluster.requests()

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` in the cluster's thread (safe access to the broker)."""
        async def run_it() -> Any:
            return fn(*args)

        return self._run(run_it())

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self._run(self.cluster.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> ClusterHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def start_cluster(size: int = 3, compat: str = "0.15", host: str = "127.0.0.1",
                  broker: Optional[Broker] = None,
                  ssl: Optional[_ssl.SSLContext] = None) -> ClusterHandle:
    """Run a :class:`Cluster` in a background thread (its own event loop)."""
    from . import in_thread

    cluster = Cluster(size, compat, host, broker, ssl)
    loop, thread, _ = in_thread(f"queen-cluster-{compat}", cluster.start())
    return ClusterHandle(cluster, loop, thread)
