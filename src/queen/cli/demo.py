"""``queen demo``: a three-stage pipeline that shows the client end to end.

1. a buffered producer pushes N messages over several partitions of an input queue;
2. a consumer group processes them in batches with a transaction each (ack the inputs and push
   the outputs atomically) into an output queue;
3. a second consumer group consumes the output queue.

Every payload carries its id and the time it was produced, so the last stage can check that
each message arrived exactly once and measure end-to-end latency. Runs against ``--url`` /
``QUEEN_URL`` or an embedded server started in a separate process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from queen.cli.checks import Parser, check_env_url, positive_int, positive_seconds, run_loop
from queen.cli.checks import server_url as url_arg
from queen.cli.common import Progress, print_table, server_url, wait_healthy


@dataclass
class Stage:
    name: str
    total: int
    count: int = 0
    first: float = 0.0
    last: float = 0.0
    latencies: List[float] = field(default_factory=list)

    def hit(self, k: int, now: float) -> None:
        if not self.count:
            self.first = now
        self.count += k
        self.last = now


@dataclass
class DemoResult:
    stages: List[Stage]
    started: float
    finished: float
    lost: List[int]
    duplicates: Dict[int, int]
    redelivered: int
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.lost and not self.duplicates


def percentile(values: Sequence[float], p: float) -> Optional[float]:
    """Nearest-rank percentile of `values` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


async def _stop(task: asyncio.Future[Any]) -> None:
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


async def run_pipeline(url: str, n: int, partitions: int = 8, batch: int = 50,
                       concurrency: int = 4, timeout: float = 120.0,
                       show_progress: bool = True) -> DemoResult:
    from queen import Queen

    tag = uuid.uuid4().hex[:8]
    q_in, q_out = f"demo-{tag}-raw", f"demo-{tag}-processed"
    produce = Stage("1 push (buffered)", n)
    process = Stage("2 process (transactions)", n)
    sink = Stage("3 consume (2nd group)", n)
    seen_process: Counter[int] = Counter()
    seen_sink: Counter[int] = Counter()
    all_in = asyncio.Event()
    error: Optional[str] = None

    async with Queen(url) as queen:
        await queen.queue(q_in).create()
        await queen.queue(q_out).create()

        async def processor(messages: Any) -> None:
            msgs = messages if isinstance(messages, list) else [messages]
            now = time.time()
            txn = queen.transaction()
            for m in msgs:
                txn.ack(m)
            txn.queue(q_out).push([{"data": {"id": m["data"]["id"], "ts": m["data"]["ts"]}}
                                   for m in msgs])
            await txn.commit()
            done = time.time()
            for m in msgs:
                seen_process[m["data"]["id"]] += 1
                process.latencies.append(now - m["data"]["ts"])
            process.hit(len(msgs), done)

        async def consumer(messages: Any) -> None:
            msgs = messages if isinstance(messages, list) else [messages]
            now = time.time()
            for m in msgs:
                seen_sink[m["data"]["id"]] += 1
                sink.latencies.append(now - m["data"]["ts"])
            sink.hit(len(msgs), now)
            if len(seen_sink) >= n:
                all_in.set()

        async def producer() -> None:
            opts = {"message_count": 500, "time_millis": 100}
            for i in range(n):
                await (queen.queue(q_in).partition(f"p{i % partitions}").buffer(opts)
                       .push([{"data": {"id": i, "ts": time.time()}}]))
                produce.count = i + 1
            await queen.flush_all_buffers()
            produce.last = time.time()

        started = time.time()
        produce.first = started
        tasks = [
            asyncio.ensure_future(queen.queue(q_in).group("processors").batch(batch)
                                   .concurrency(concurrency).auto_ack(False).consume(processor)),
            asyncio.ensure_future(queen.queue(q_out).group("sinks").batch(100)
                                  .consume(consumer)),
        ]
        prod = asyncio.ensure_future(producer())
        bars = Progress(show_progress)
        with bars:
            ids = [bars.add(s.name, n) for s in (produce, process, sink)]

            async def tick() -> None:
                while True:
                    for t, s in zip(ids, (produce, process, sink)):
                        bars.update(t, s.count, n)
                    await asyncio.sleep(0.1)

            ticker = asyncio.ensure_future(tick())
            waiter = asyncio.ensure_future(all_in.wait())
            try:
                pending = {waiter, prod, *tasks}
                deadline = time.monotonic() + timeout
                while not all_in.is_set():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        error = f"timed out after {timeout:.0f} s"
                        break
                    ready, pending = await asyncio.wait(
                        pending, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                    for t in ready:
                        if t is not waiter and t is not prod and t.exception() is not None:
                            error = f"a consumer failed: {t.exception()!r}"
                        elif t is prod and t.exception() is not None:
                            error = f"the producer failed: {t.exception()!r}"
                    if error:
                        break
                    if not pending - {waiter}:
                        break
                # late duplicates would show up right after the last message
                if not error:
                    await asyncio.sleep(0.3)
                for t, s in zip(ids, (produce, process, sink)):
                    bars.update(t, s.count, n)
            finally:
                for t in (ticker, waiter, prod, *tasks):
                    await _stop(t)
        finished = time.time()
        with contextlib.suppress(Exception):
            await queen.queue(q_in).delete()
        with contextlib.suppress(Exception):
            await queen.queue(q_out).delete()

    lost = [i for i in range(n) if i not in seen_sink]
    dups = {i: c for i, c in seen_sink.items() if c > 1}
    redelivered = sum(c - 1 for c in seen_process.values() if c > 1)
    return DemoResult([produce, process, sink], started, finished, lost, dups, redelivered, error)


def _ms(v: Optional[float]) -> str:
    return "-" if v is None else f"{v * 1000:,.1f}"


def report(res: DemoResult) -> List[List[str]]:
    rows = []
    for s in res.stages:
        secs = max(s.last - s.first, 1e-9) if s.count else 0.0
        rate = f"{s.count / secs:,.0f}" if secs else "-"
        rows.append([s.name, f"{s.count:,}", f"{secs:.2f}", rate,
                     _ms(percentile(s.latencies, 50)), _ms(percentile(s.latencies, 99))])
    last = res.stages[-1]
    total = max(last.last, res.stages[0].last) - res.started if last.count else 0.0
    rows.append(["total (end to end)", f"{last.count:,}", f"{total:.2f}",
                 f"{last.count / total:,.0f}" if total > 0 else "-",
                 _ms(percentile(last.latencies, 50)), _ms(percentile(last.latencies, 99))])
    return rows


HELP = "run a push -> transactional processing -> consume pipeline and check it"
DESCRIPTION = ("A three-stage pipeline that shows the client end to end: a buffered producer, "
               "a consumer group processing with transactions, a second group consuming; "
               "checks that every message arrived exactly once.")


def build_parser(parser: Optional[argparse.ArgumentParser] = None) -> argparse.ArgumentParser:
    p = parser or Parser(prog="queen demo", description=DESCRIPTION)
    p.add_argument("--url", type=url_arg,
                   help="Queen server, http(s)://host:port (default: $QUEEN_URL, else an "
                        "embedded server in a child process)")
    p.add_argument("--compat", default="0.7", choices=["0.7", "0.15"],
                   help="personality of the embedded server")
    p.add_argument("--messages", type=positive_int, default=10_000,
                   help="messages pushed through the pipeline")
    p.add_argument("--partitions", type=positive_int, default=8,
                   help="partitions of the input queue")
    p.add_argument("--batch", type=positive_int, default=50, help="batch of the processing stage")
    p.add_argument("--concurrency", type=positive_int, default=4,
                   help="workers of the processing stage")
    p.add_argument("--timeout", type=positive_seconds, default=120.0,
                   help="give up after this many seconds")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def verdict(res: DemoResult, n: int) -> Tuple[int, List[str]]:
    """Exit code and closing lines: 0 only when every id arrived exactly once."""
    lines = []
    if res.redelivered:
        lines.append(f"note: {res.redelivered} input deliveries were retried by the processing stage")
    if res.ok:
        return 0, [*lines, f"OK: all {n:,} messages arrived exactly once"]
    if res.error:
        lines.append(f"FAILED: {res.error}")
    if res.lost:
        lines.append(f"FAILED: {len(res.lost):,} of {n:,} message(s) never arrived "
                     f"(first ids: {res.lost[:10]})")
    if res.duplicates:
        sample = dict(list(res.duplicates.items())[:10])
        lines.append(f"FAILED: {len(res.duplicates):,} message(s) arrived more than once "
                     f"(id: times {sample})")
    return 1, lines


def run(args: argparse.Namespace) -> int:
    if not check_env_url("queen demo", args.url):
        return 2
    try:
        with server_url(args.url, args.compat) as url:
            external = args.url or os.environ.get("QUEEN_URL")
            if external:
                wait_healthy(url, timeout=3.0)  # fail fast, not after the client's retries
            where = url if external else "embedded server at " + url
            print(f"queen demo: {args.messages:,} messages, {args.partitions} partitions, "
                  f"{where}", flush=True)
            res = run_loop(lambda: run_pipeline(
                url, args.messages, args.partitions, args.batch, args.concurrency,
                args.timeout, not args.quiet))
    except Exception as exc:  # e.g. no server there: say so instead of a traceback
        print(f"FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print_table("queen demo", ["stage", "messages", "seconds", "msgs/s", "latency p50 ms",
                               "latency p99 ms"], report(res))
    code, lines = verdict(res, args.messages)
    for line in lines:
        print(line, file=sys.stdout if code == 0 or line.startswith("note") else sys.stderr)
    return code


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run(build_parser().parse_args(argv))
