"""Server choice: affinity (consistent hash), round-robin and session strategies.

Every strategy is health-aware: a server marked failed is skipped until
``health_retry_after_millis`` has passed, then offered again -- or, with
``probed=True`` (what the transport uses), until a background health probe finds it
answering again (``mark_ok``), so user traffic never waits on a dead server. When
every server is marked failed, all of them are offered anyway (better a retry than
no try).

Affinity: a key's servers are its successive ring owners, so the keys of a failed
server move to their ring successor (about a third of them with three servers) and
come back when it is healthy again. Round-robin rotates over the healthy servers.
Session keeps one server until it fails, then moves to the next healthy one.
"""

from __future__ import annotations

import random
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from .._core import HashRing
from ..config import ClientConfig

_ORDER_CACHE = 4096  # affinity keys remembered


class Balancer:
    """Orders the servers to try for one request. Not thread-safe (one event loop)."""

    def __init__(
        self,
        urls: Sequence[str],
        strategy: str = "affinity",
        *,
        vnodes: int = 128,
        retry_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        rng: Optional[random.Random] = None,
        probed: bool = False,
    ) -> None:
        if not urls:
            raise ValueError("Balancer needs at least one server")
        self.urls: Tuple[str, ...] = tuple(urls)
        self.strategy = strategy
        self.retry_after = retry_after
        self.probed = probed  # failed servers come back only through mark_ok
        self._clock = clock
        self._ring = HashRing(self.urls, vnodes) if strategy == "affinity" else None
        self._next = 0  # round-robin cursor
        self._sticky = (rng or random).randrange(len(self.urls))  # session server index
        self._failed_at: Dict[str, float] = {}
        self._orders: Dict[str, Tuple[str, ...]] = {}

    @classmethod
    def from_config(cls, config: ClientConfig) -> Balancer:
        return cls(
            config.urls,
            config.load_balancing_strategy,
            vnodes=config.affinity_hash_ring,
            retry_after=config.health_retry_after_millis / 1000.0,
        )

    # health -----------------------------------------------------------------

    def mark_failed(self, url: str) -> None:
        self._failed_at[url] = self._clock()
        if self.strategy == "session" and self.urls[self._sticky] == url:
            self._restick()

    def mark_ok(self, url: str) -> None:
        self._failed_at.pop(url, None)

    def is_healthy(self, url: str) -> bool:
        """True unless marked failed (less than ``retry_after`` seconds ago, when not
        ``probed``)."""
        failed = self._failed_at.get(url)
        if failed is None:
            return True
        return not self.probed and self._clock() - failed >= self.retry_after

    def failed(self) -> List[str]:
        """The servers marked failed, in configuration order."""
        return [u for u in self.urls if u in self._failed_at]

    def _restick(self) -> None:
        # Move the session to the next healthy server after the current one.
        n = len(self.urls)
        for step in range(1, n + 1):
            idx = (self._sticky + step) % n
            if self.is_healthy(self.urls[idx]):
                self._sticky = idx
                return

    # choice -----------------------------------------------------------------

    def pick(self, key: Optional[str] = None) -> str:
        """The server for one request (does not advance round-robin)."""
        return self._order(key, advance=False)[0]

    def plan(self, key: Optional[str] = None) -> List[str]:
        """Servers to try for one request, first choice first, healthy ones only
        (all of them when none is healthy). Advances the round-robin cursor."""
        return self._order(key, advance=True)

    def _order(self, key: Optional[str], advance: bool) -> List[str]:
        urls = self.urls
        if self._ring is not None and key is not None:
            return self._live(self._ring_order(key))
        if self.strategy == "session":
            if not self.is_healthy(urls[self._sticky]):
                self._restick()
            start = self._sticky
            return self._live(urls[start:] + urls[:start])
        # round-robin (and affinity without a key): rotate over the healthy servers
        live = self._live(urls)
        start = self._next % len(live)
        if advance:
            self._next += 1
        return live[start:] + live[:start]

    def _live(self, order: Sequence[str]) -> List[str]:
        if not self._failed_at:
            return list(order)
        failed = self._failed_at
        if self.probed:
            healthy = [u for u in order if u not in failed]
        else:
            now = self._clock()
            healthy = [u for u in order if u not in failed or now - failed[u] >= self.retry_after]
        return healthy or list(order)

    def _ring_order(self, key: str) -> Sequence[str]:
        # Successive ring owners: the first is the key's server, the rest is the
        # order its keys fall back to, so failover is consistent too. Cached: the
        # hash of a key is pure-Python work and keys repeat (queue:partition:group).
        cached = self._orders.get(key)
        if cached is not None:
            return cached
        assert self._ring is not None
        order: List[str] = []
        while len(order) < len(self.urls):
            nxt = self._ring.lookup(key, skip=order)
            if nxt is None:
                break
            order.append(nxt)
        if len(self._orders) >= _ORDER_CACHE:
            self._orders.clear()
        result = tuple(order)
        self._orders[key] = result
        return result


__all__ = ["Balancer"]
