"""Pops that span several sources where the server cannot do it in one request.

* **Namespace/task consumption on 0.15.** 0.15 removed ``GET /api/v1/pop``
  (namespace/task pops). :class:`FanIn` lists the queues of the namespace/task
  (``GET /api/v1/resources/queues``, refreshed every ``LIST_TTL`` seconds so queues
  that appear are found) and pops them by name, in turn: each pop starts at the
  queue after the one that answered last, so one busy queue cannot starve the
  others. A waiting pop tries every queue once without waiting, then long-polls one
  of them (the next in turn) for at most ``SLICE`` seconds, and goes round again
  until its timeout.
* **``partitions(n)`` on 0.7.** 0.7 ignores ``partitions=N``: :func:`pop_partitions`
  pops again (without waiting) for the next partition until ``n`` partitions or the
  ``batch`` budget are reached. Each partition keeps its own lease there.

Both take the seam and the client's single-queue pop (``ops.pop_one``, passed in:
this module sits below ``ops``); the fan-in's queue lists hang off the host weakly.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple
from weakref import WeakKeyDictionary

from . import wire
from .seam import Host
from .types import Message, PopSpec

PopOne = Callable[[Host, PopSpec], Awaitable[List[Message]]]

LIST_TTL = 2.0   # s: how old a queue listing may be before it is fetched again
SLICE = 0.5      # s: the longest a waiting namespace pop long-polls one queue


async def pop_partitions(host: Host, spec: PopSpec, pop_one: PopOne) -> List[Message]:
    """``spec.partitions`` partitions' worth of messages from 0.7, ``spec.batch`` in all."""
    one = replace(spec, partitions=1)
    out = await pop_one(host, one)
    budget = spec.batch - len(out)
    claimed = 1
    while out and budget > 0 and claimed < spec.partitions:
        more = await pop_one(host, replace(one, batch=budget, wait=False))
        if not more:
            break
        out.extend(more)
        budget -= len(more)
        claimed += 1
    return out


class FanIn:
    """Namespace/task pops on 0.15, from the queue listing plus per-queue pops."""

    def __init__(self, host: Host, pop_one: PopOne) -> None:
        self._host = host
        self._pop_one = pop_one  # bound to the host below
        self._lists: Dict[Tuple[Optional[str], Optional[str]], Tuple[float, List[str]]] = {}
        self._turn: Dict[Tuple[Optional[str], Optional[str], Optional[str]], int] = {}

    async def queues(self, namespace: Optional[str], task: Optional[str]) -> List[str]:
        """The matching queue names, at most ``LIST_TTL`` seconds old."""
        now = asyncio.get_running_loop().time()
        cached = self._lists.get((namespace, task))
        if cached is not None and now - cached[0] < LIST_TTL:
            return cached[1]
        names = wire.parse_queue_names(await self._host.send(wire.list_queues()),
                                       namespace, task)
        self._lists[(namespace, task)] = (asyncio.get_running_loop().time(), names)
        return names

    async def pop(self, spec: PopSpec) -> List[Message]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + spec.timeout_millis / 1000.0 if spec.wait else 0.0
        key = (spec.namespace, spec.task, spec.group)
        by_name = replace(spec, namespace=None, task=None, wait=False)
        while True:
            names = await self.queues(spec.namespace, spec.task)
            start = self._turn.get(key, 0) % len(names) if names else 0
            order = names[start:] + names[:start]
            for i, name in enumerate(order):
                got = await self._pop_one(self._host, replace(by_name, queue=name))
                if got:
                    self._turn[key] = start + i + 1
                    return got
            left = deadline - loop.time()
            if not spec.wait or left <= 0:
                return []
            if not order:
                await asyncio.sleep(min(left, SLICE))
                continue
            # Wait on one queue (the next in turn) for a slice, then go round again.
            self._turn[key] = start + 1
            millis = max(1, int(min(left, SLICE) * 1000))
            got = await self._pop_one(self._host, replace(by_name, queue=order[0], wait=True,
                                              timeout_millis=millis))
            if got:
                return got


_BY_HOST: WeakKeyDictionary[Any, FanIn] = WeakKeyDictionary()


async def fan_in(host: Host, spec: PopSpec, pop_one: PopOne) -> List[Message]:
    """A namespace/task pop on 0.15 (see :class:`FanIn`), with this client's state."""
    engine = _BY_HOST.get(host)
    if engine is None:
        engine = _BY_HOST[host] = FanIn(host, pop_one)
    return await engine.pop(spec)


__all__ = ["FanIn", "fan_in", "pop_partitions"]
