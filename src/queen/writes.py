"""What one client remembers about its own writes, for two server defects.

* **0.7: one write per partition at a time.** Real 0.7.5 loses messages for a live
  consumer group when two pushes to one partition overlap: a push that commits after
  a later one was read falls behind the group's cursor. :func:`one_writer` makes
  this client's pushes, buffer flushes and transactions with pushes to a partition
  wait for each other (locks taken in sorted order, so transactions cannot deadlock).
* **0.15: read your writes.** 0.15.1 shows a pushed partition to the queue route only
  after the push has answered (a lookup table updated after the commit). The client
  notes when it last wrote to each queue (:func:`pushed_at`), and ``ops.pop`` asks an
  empty ``wait=False`` pop again for up to ``READ_YOUR_WRITES`` seconds after that.

The bookkeeping hangs off the host (weakly), so the seam stays as it is.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from time import monotonic
from typing import Any, AsyncIterator, Dict, Iterable, Optional, Tuple
from weakref import WeakKeyDictionary

from . import wire
from .seam import Host

READ_YOUR_WRITES = 0.25  # s after a push in which an empty 0.15 pop is asked again


class _Writes:
    __slots__ = ("locks", "pushed")

    def __init__(self) -> None:
        self.locks: Dict[Tuple[str, str], asyncio.Lock] = {}
        self.pushed: Dict[str, float] = {}


_BY_HOST: WeakKeyDictionary[Any, _Writes] = WeakKeyDictionary()


def _of(host: Host) -> _Writes:
    writes = _BY_HOST.get(host)
    if writes is None:
        writes = _BY_HOST[host] = _Writes()
    return writes


@asynccontextmanager
async def one_writer(host: Host, targets: Iterable[Tuple[str, str]]) -> AsyncIterator[None]:
    """Around a write to ``(queue, partition)`` targets (see the module docstring)."""
    generation = host.known_generation or await host.generation()
    writes = _of(host)
    if generation != wire.GEN_07:
        yield
        now = monotonic()
        for queue, _ in targets:
            writes.pushed[queue] = now
        return
    locks = [writes.locks.setdefault(t, asyncio.Lock()) for t in sorted(set(targets))]
    for lock in locks:
        await lock.acquire()
    try:
        yield
    finally:
        for lock in reversed(locks):
            lock.release()


def pushed_at(host: Host, queue: str) -> Optional[float]:
    """When (``time.monotonic``) this client last wrote to ``queue`` on 0.15, if it is
    still within ``READ_YOUR_WRITES``; None otherwise."""
    writes = _BY_HOST.get(host)
    if writes is None:
        return None
    at = writes.pushed.get(queue)
    if at is not None and monotonic() - at >= READ_YOUR_WRITES:
        del writes.pushed[queue]
        return None
    return at


__all__ = ["READ_YOUR_WRITES", "one_writer", "pushed_at"]
