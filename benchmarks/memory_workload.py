"""The 1M-message memory workload, a plugin of queen bench's worker (src/queen/cli/workloads.py).

Loaded by file path in the worker's interpreter (ours or upstream queen-mq's), so it imports
only the standard library; ``register(worker)`` adds it to the worker's tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any, Dict

NAME = "memory"
TITLE = "consume 1M (RSS after 100k and 1M)"
DEFAULT_MESSAGES = 1_000_000


def register(worker: Any) -> None:
    """Add the memory workload to a worker module (``WORKLOADS``, ``RUNNERS``)."""
    worker.WORKLOADS[NAME] = worker.Workload(NAME, TITLE, DEFAULT_MESSAGES)
    worker.RUNNERS[NAME] = functools.partial(wl_memory, worker)


async def wl_memory(w: Any, queen: Any, q: str, n: int, meter: Any,
                    opts: Dict[str, Any]) -> Dict[str, Any]:
    """Consume n messages (batch 100) while a producer keeps ~20k in the queue."""
    await queen.queue(q).create()
    done = asyncio.Event()
    rss_at: Dict[str, float] = {}
    checkpoint = min(100_000, n)

    async def produce() -> None:
        pushed = 0
        while pushed < n:
            if pushed - meter.count > 20_000:
                await asyncio.sleep(0.005)
                continue
            k = min(w.PUSH_BATCH, n - pushed)
            await queen.queue(q).push([{"data": w._data(pushed + j)} for j in range(k)])
            pushed += k

    async def handler(messages: Any) -> None:
        meter.count += len(messages)
        if "after_100k" not in rss_at and meter.count >= checkpoint:
            rss_at["after_100k"] = w.rss_mb()
        if meter.count >= n:
            rss_at["after_all"] = w.rss_mb()
            done.set()

    meter.start()
    producer = asyncio.ensure_future(produce())
    try:
        await w._consume_until(queen.queue(q).batch(100), handler, done,
                             float(opts.get("timeout", 1800)))
    finally:
        producer.cancel()
        with contextlib.suppress(BaseException):
            await producer
    meter.stop()
    a, b = rss_at.get("after_100k", 0.0), rss_at.get("after_all", 0.0)
    growth = (b - a) / a * 100 if a else None
    return {"rss_after_100k_mb": round(a, 1), "rss_after_all_mb": round(b, 1),
            "rss_growth_pct": None if growth is None else round(growth, 1),
            "ok": meter.count >= n and growth is not None and growth <= 10.0}
