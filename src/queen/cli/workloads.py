"""The worker half of ``queen bench``: runs ONE workload in its own process and reports on
stdout (lines that start with ``@@qb``).

It imports nothing but the standard library and ``from queen import Queen`` and uses only
the guide's public API, so the very same file also drives the upstream ``queen-mq`` client
from its own virtualenv (benchmarks/compare.py). It is loaded by file path (``WORKER_BOOT``),
never as ``queen.cli.workloads``, in that other interpreter. More workloads (the 1M-message
memory run of benchmarks/) come in as plugins: files named in ``spec["plugins"]`` whose
``register(worker)`` adds to ``WORKLOADS`` and ``RUNNERS``.

Keep the top-level imports stdlib-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional

MARK = "@@qb "
PUSH_BATCH = 500
BUFFER_OPTIONS = {"message_count": PUSH_BATCH, "time_millis": 100}


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    default_messages: int


WORKLOADS: Dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("push", "buffered push (batches of 500)", 100_000),
        Workload("popack", "batch pop(100) + ack", 100_000),
        Workload("consume1", "consume batch=1 auto-ack, concurrency 1", 5_000),
        Workload("consume10", "consume batch=1 auto-ack, concurrency 10", 10_000),
        Workload("txn", "transactional ack+push (batches of 100)", 50_000),
    )
}
DEFAULT_WORKLOADS = ("push", "popack", "consume1", "consume10", "txn")


# --------------------------------------------------------------------------- measuring


def rss_mb() -> float:
    """Current resident set size from /proc/self/statm (0.0 where there is no /proc)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 1_048_576


def peak_rss_mb() -> float:
    try:
        import resource  # POSIX only
    except ImportError:
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is KiB on Linux, bytes on macOS
    return peak / (1_048_576 if sys.platform == "darwin" else 1024)


def emit(kind: str, **fields: Any) -> None:
    print(MARK + json.dumps({"kind": kind, **fields}), flush=True)


class Meter:
    """Counts processed messages, samples RSS, reports progress, times the measured part."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.count = 0
        self.rss_peak = rss_mb()
        self.rss_start = self.rss_peak
        self.marks: Dict[str, float] = {}
        self.t0 = self.c0 = 0.0
        self.seconds = self.cpu = 0.0
        self.u0 = self.s0 = self.user = self.sys = 0.0
        self._task: Optional[asyncio.Task[None]] = None

    async def _sample(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            rss = rss_mb()
            self.rss_peak = max(self.rss_peak, rss)
            emit("progress", done=self.count, total=self.total, rss_mb=round(rss, 1))

    def start(self) -> None:
        self.rss_start = rss_mb()
        self._task = asyncio.ensure_future(self._sample())
        self.u0, self.s0 = os.times()[:2]
        self.c0 = time.process_time()
        self.t0 = time.perf_counter()

    def stop(self) -> None:
        if not self.t0:  # never started (it failed before the measured part)
            return
        self.seconds = time.perf_counter() - self.t0
        self.cpu = time.process_time() - self.c0
        u, s = os.times()[:2]
        self.user, self.sys = u - self.u0, s - self.s0
        if self._task is not None:
            self._task.cancel()
        self.rss_peak = max(self.rss_peak, rss_mb())


# --------------------------------------------------------------------------- workloads


def _data(i: int) -> Dict[str, Any]:
    return {"id": i, "kind": "bench", "note": "end-to-end benchmark message"}


async def _prefill(queen: Any, queue: str, n: int, partitions: int = 1) -> None:
    """Load n messages with plain (unbuffered) 500-item pushes; not measured."""
    sem = asyncio.Semaphore(4)

    async def one(start: int) -> None:
        async with sem:
            part = f"p{(start // PUSH_BATCH) % partitions}"
            items = [{"data": _data(i)} for i in range(start, min(n, start + PUSH_BATCH))]
            await queen.queue(queue).partition(part).push(items)

    await asyncio.gather(*(one(s) for s in range(0, n, PUSH_BATCH)))


async def _drain_count(queen: Any, queue: str, limit: int) -> int:
    """Pop+ack everything left in the queue; returns how many messages came back."""
    got = empty = 0
    while empty < 3 and got <= limit:
        msgs = await queen.queue(queue).batch(1000).wait(False).pop()
        if not msgs:
            empty += 1
            await asyncio.sleep(0.05)
            continue
        empty = 0
        got += len(msgs)
        await queen.ack(msgs, True)
    return got


async def _consume_until(builder: Any, handler: Callable[[Any], Awaitable[None]],
                         done: asyncio.Event, timeout: float) -> None:
    """Run builder.consume(handler) until `done` is set, then stop it.

    Cancelling is the one stop both clients honour while a long poll is in flight.
    """
    task = asyncio.ensure_future(builder.consume(handler))
    waiter = asyncio.ensure_future(done.wait())
    try:
        finished, _ = await asyncio.wait({task, waiter}, timeout=timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        if task in finished and not done.is_set():
            task.result()  # surfaces the consumer's own error
            raise RuntimeError("consume() returned before every message arrived")
        if not finished:
            raise TimeoutError(f"consume did not finish within {timeout:.0f} s")
    finally:
        for t in (task, waiter):
            t.cancel()
        with contextlib.suppress(BaseException):
            await task


async def wl_push(queen: Any, q: str, n: int, meter: Meter, opts: Dict[str, Any]) -> Dict[str, Any]:
    await queen.queue(q).create()
    meter.start()
    for i in range(n):
        await queen.queue(q).buffer(BUFFER_OPTIONS).push([{"data": _data(i)}])
        meter.count = i + 1
    await queen.flush_all_buffers()
    meter.stop()
    stored = await _drain_count(queen, q, n + 10) if opts.get("verify", True) else n
    return {"verified": stored, "ok": stored == n}


async def wl_popack(queen: Any, q: str, n: int, meter: Meter, opts: Dict[str, Any]) -> Dict[str, Any]:
    batch = int(opts.get("batch", 100))
    await queen.queue(q).create()
    await _prefill(queen, q, n)

    async def ack(msgs: List[Any]) -> None:
        await queen.ack(msgs, True)

    await _pop_batches(queen, q, n, batch, meter, ack)
    return {"ok": meter.count == n}


async def _pop_batches(queen: Any, q: str, n: int, batch: int, meter: Meter,
                       work: Callable[[List[Any]], Awaitable[None]]) -> None:
    """Pop batches (no long poll) and hand each to ``work`` until n messages or 50 empty pops."""
    empty = 0
    meter.start()
    while meter.count < n and empty < 50:
        msgs = await queen.queue(q).batch(batch).wait(False).pop()
        if not msgs:
            empty += 1
            await asyncio.sleep(0.01)
            continue
        await work(msgs)
        meter.count += len(msgs)
    meter.stop()


async def _consume_workload(queen: Any, q: str, n: int, meter: Meter, concurrency: int,
                            opts: Dict[str, Any]) -> Dict[str, Any]:
    await queen.queue(q).create()
    await _prefill(queen, q, n, partitions=10)
    seen: set[int] = set()
    done = asyncio.Event()

    async def handler(message: Any) -> None:
        seen.add(message["data"]["id"])
        meter.count += 1
        if meter.count >= n:
            done.set()

    meter.start()
    await _consume_until(queen.queue(q).concurrency(concurrency).batch(1), handler, done,
                         float(opts.get("timeout", 600)))
    meter.stop()
    return {"unique": len(seen), "ok": len(seen) == n}


async def wl_consume1(queen: Any, q: str, n: int, meter: Meter, opts: Dict[str, Any]) -> Dict[str, Any]:
    return await _consume_workload(queen, q, n, meter, 1, opts)


async def wl_consume10(queen: Any, q: str, n: int, meter: Meter, opts: Dict[str, Any]) -> Dict[str, Any]:
    return await _consume_workload(queen, q, n, meter, 10, opts)


async def wl_txn(queen: Any, q: str, n: int, meter: Meter, opts: Dict[str, Any]) -> Dict[str, Any]:
    batch = int(opts.get("batch", 100))
    out = q + "-out"
    await queen.queue(q).create()
    await queen.queue(out).create()
    await _prefill(queen, q, n)

    async def move(msgs: List[Any]) -> None:
        txn = queen.transaction()
        for m in msgs:
            txn.ack(m)
        txn.queue(out).push([{"data": m["data"]} for m in msgs])
        await txn.commit()

    await _pop_batches(queen, q, n, batch, meter, move)
    moved = await _drain_count(queen, out, n + 10) if opts.get("verify", True) else n
    with contextlib.suppress(Exception):
        await queen.queue(out).delete()
    return {"verified": moved, "ok": moved == n and meter.count == n}


RUNNERS: Dict[str, Callable[..., Awaitable[Dict[str, Any]]]] = {
    "push": wl_push, "popack": wl_popack, "consume1": wl_consume1,
    "consume10": wl_consume10, "txn": wl_txn,
}


def load_plugins(paths: List[str]) -> None:
    """Run ``register(this module)`` of each plugin file (adds workloads)."""
    worker = sys.modules[__name__]
    for path in paths:
        spec = importlib.util.spec_from_file_location(f"queen_bench_plugin_{abs(hash(path))}", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load the workload plugin {path}")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mod.register(worker)


def _event_loop_runner() -> tuple[Callable[[Any], Any], str]:
    """Our ``queen.aio.run`` when present, else uvloop, else asyncio (upstream's venv)."""
    try:
        from queen.aio import run  # type: ignore[attr-defined]

        try:
            import uvloop  # noqa: F401

            name = "uvloop"
        except ImportError:
            name = "asyncio"
        return run, name
    except ImportError:
        pass
    try:
        import uvloop

        return uvloop.run, "uvloop"
    except (ImportError, AttributeError):
        return asyncio.run, "asyncio"


async def _run_workload(spec: Dict[str, Any]) -> Dict[str, Any]:
    from queen import Queen  # ours or upstream, whichever this interpreter has

    name = spec["workload"]
    n = int(spec["messages"])
    q = f"qb-{name}-{uuid.uuid4().hex[:10]}"
    meter = Meter(n)
    queen = Queen(spec["url"])
    extra: Dict[str, Any] = {}
    error: Optional[str] = None
    try:
        extra = await RUNNERS[name](queen, q, n, meter, spec.get("options", {}))
    except Exception as exc:  # reported, not raised: the table shows the failure
        error = f"{type(exc).__name__}: {exc}"
        if not meter.seconds:
            meter.stop()
    finally:
        with contextlib.suppress(Exception):
            await queen.queue(q).delete()
        with contextlib.suppress(Exception):
            await queen.close()
    done = meter.count
    return {
        "workload": name,
        "title": WORKLOADS[name].title,
        "messages": done,
        "seconds": round(meter.seconds, 4),
        "msgs_per_s": round(done / meter.seconds, 1) if meter.seconds else 0.0,
        "cpu_s": round(meter.cpu, 4),
        "cpu_us_per_msg": round(meter.cpu / done * 1e6, 2) if done else None,
        # user/kernel split (os.times, 10 ms ticks): loopback TCP work is charged to the sender
        "cpu_user_us_per_msg": round(meter.user / done * 1e6, 2) if done else None,
        "cpu_sys_us_per_msg": round(meter.sys / done * 1e6, 2) if done else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_start_mb": round(meter.rss_start, 1),
        "rss_sampled_peak_mb": round(meter.rss_peak, 1),
        "rss_end_mb": round(rss_mb(), 1),
        "ok": error is None and bool(extra.get("ok", True)),
        "error": error,
        **{k: v for k, v in extra.items() if k != "ok"},
    }


def worker_main(spec: Dict[str, Any]) -> None:
    """Run one workload in this process and report it (the worker half)."""
    load_plugins(list(spec.get("plugins", ())))
    run, loop_name = _event_loop_runner()
    result = run(_run_workload(spec))
    import queen

    result["client"] = spec.get("label", "queen")
    result["client_version"] = getattr(queen, "__version__", "?")
    result["loop"] = loop_name
    try:  # which twin of our compiled core ran (upstream has none)
        from queen import _core  # type: ignore[attr-defined]

        result["core"] = getattr(_core, "IMPL", None)
    except ImportError:
        result["core"] = None
    emit("result", result=result)


WORKER_BOOT = (
    "import importlib.util, json, sys\n"
    "spec = importlib.util.spec_from_file_location('queen_bench_worker', {path!r})\n"
    "mod = importlib.util.module_from_spec(spec)\n"
    "sys.modules['queen_bench_worker'] = mod\n"
    "spec.loader.exec_module(mod)\n"
    "mod.worker_main(json.loads(sys.argv[1]))\n"
)
