"""Failover under load: three Queen fronts over one database, one stopped mid-run.

    python benchmarks/bench_failover.py [--compat 0.15] [--rate 8000] [--seconds 10]
    python benchmarks/bench_failover.py --urls http://h:6701,http://h:6702,http://h:6703 \\
        --stop-cmd 'kill -9 <pid of the 6701 server>'          # real servers

Embedded by default: a cluster of three fronts over one broker runs in a subprocess
(``queen.testing.cluster``; its own GIL), and the front owning most of the producer's
partitions is stopped ``--stop-at`` seconds in. Against real servers, ``--stop-cmd`` is
run instead (see /work/shared/realservers/README.md, "Several 0.15.1 servers over one
database").

Producer phase: buffered push at ``--rate`` msg/s over 8 partitions; the stored rate
per second comes from the buffers' delivered-message count. Reported: the rate before
the stop, the lowest 1-s rate after it (and the ratio), and the time from the stop
until a 1-s rate is back at 90 % of the rate before.
Consumer phase: a consumer group with all URLs consumes everything while a second
front is stopped (embedded only); reported: time from that stop to the first message
handled after it (how fast the group resumes) and to the last message (bounded by
``--lease``: messages of pops cut in flight by the stop come back when their lease
expires), lost and duplicated messages (the producer's too).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import subprocess
import sys
import time
import uuid
from collections import Counter
from typing import Any, Dict, List, Optional

from queen import Queen

PARTITIONS = [f"p{i}" for i in range(8)]

CLUSTER_SCRIPT = """
import sys
from queen.testing.cluster import start_cluster
c = start_cluster(3, compat=sys.argv[1])
print(" ".join(c.urls), flush=True)
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "stop":
        c.stop(int(arg))
    elif cmd == "start":
        c.start(int(arg))
    print("ok", flush=True)
c.close()
"""


class Embedded:
    """The cluster in a subprocess, driven over stdin."""

    def __init__(self, compat: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CLUSTER_SCRIPT, compat],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        self.urls = self.proc.stdout.readline().split()

    def command(self, text: str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        self.proc.stdout.readline()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


async def produce(q: Queen, name: str, rate: int, seconds: float, stop_at: float,
                  stop: Any) -> Dict[str, Any]:
    """Paced buffered push; samples the delivered count every 100 ms."""
    tick = 0.01
    per_tick = max(1, int(rate * tick))
    opts = {"message_count": 200, "time_millis": 50}
    samples: List[tuple[float, int]] = []
    start = time.monotonic()
    stopped_at: Optional[float] = None
    n = 0
    next_sample = 0.0

    while True:
        now = time.monotonic() - start
        if now >= seconds:
            break
        if stopped_at is None and now >= stop_at:
            stopped_at = now
            await asyncio.get_running_loop().run_in_executor(None, stop)
        target = int(now / tick) * per_tick
        while n < target:
            await q.queue(name).partition(PARTITIONS[n % 8]).buffer(opts).push(
                [{"data": {"n": n}, "transactionId": f"{name}-{n}"}])
            n += 1
        if now >= next_sample:
            samples.append((now, q.get_buffer_stats()["sentMessages"]))
            next_sample += 0.1
        await asyncio.sleep(tick / 2)
    await q.flush_all_buffers()
    samples.append((time.monotonic() - start, q.get_buffer_stats()["sentMessages"]))
    return {"pushed": n, "samples": samples, "stopped_at": stopped_at}


def rates(samples: List[tuple[float, int]], stopped_at: float) -> Dict[str, Any]:
    """1-s windows sliding by 100 ms: rate before, lowest after, time to full rate."""
    def window(t0: float) -> Optional[float]:
        first = next((s for s in samples if s[0] >= t0), None)
        last = next((s for s in samples if s[0] >= t0 + 1.0), None)
        if first is None or last is None:
            return None
        return (last[1] - first[1]) / (last[0] - first[0])

    before = [r for t, _ in samples if 0.5 <= t <= stopped_at - 1.0
              if (r := window(t)) is not None]
    after = [(t, r) for t, _ in samples if t >= stopped_at if (r := window(t)) is not None]
    rate_before = sum(before) / len(before) if before else float("nan")
    lowest = min((r for _, r in after), default=float("nan"))
    back = next((t for t, r in after if r >= 0.9 * rate_before and t > stopped_at), None)
    return {"rate_before": round(rate_before), "lowest_after": round(lowest),
            "lowest_ratio": round(lowest / rate_before, 3) if rate_before else None,
            "time_to_full_rate_s": round(back - stopped_at, 2) if back is not None else None}


async def consume_all(urls: List[str], compat: Optional[str], name: str, expected: int,
                      stop: Any) -> Dict[str, Any]:
    seen: Counter[int] = Counter()
    done = asyncio.Event()
    third = asyncio.Event()
    stop_time: List[float] = []
    resumed: List[float] = []

    async def handler(messages: List[Dict[str, Any]]) -> None:
        if stop_time and not resumed:
            resumed.append(time.monotonic())
        for m in messages:
            seen[m["data"]["n"]] += 1
        if len(seen) >= expected // 3:
            third.set()
        if len(seen) >= expected:
            done.set()

    cfg: Dict[str, Any] = {"urls": urls}
    if compat:
        cfg["server_version"] = compat
    began = time.monotonic()
    async with Queen(cfg) as q:
        task = asyncio.ensure_future(
            q.queue(name).group("bench").batch(100).concurrency(4).consume(handler, signal=done))
        await third.wait()
        if stop is not None:
            stop_time.append(time.monotonic())
            await asyncio.get_running_loop().run_in_executor(None, stop)
        await task
    finish = time.monotonic()
    return {
        "consumed": len(seen),
        "handled_twice": sum(c - 1 for c in seen.values()),
        "missing": expected - len(seen),
        "consume_s": round(finish - began, 2),
        "resumed_after_stop_s": round(resumed[0] - stop_time[0], 3) if resumed else None,
        "finish_after_stop_s": round(finish - stop_time[0], 2) if stop_time else None,
    }


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--compat", default="0.15")
    ap.add_argument("--urls", default="")
    ap.add_argument("--stop-cmd", default="")
    ap.add_argument("--stop-cmd2", default="", help="(real servers) stop during the consume phase")
    ap.add_argument("--rate", type=int, default=8000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--stop-at", type=float, default=3.0)
    ap.add_argument("--strategy", default="affinity")
    ap.add_argument("--lease", type=int, default=10,
                    help="leaseTime (s): pops cut by the stop come back after it")
    args = ap.parse_args()

    embedded = None if args.urls else Embedded(args.compat)
    urls = args.urls.split(",") if args.urls else embedded.urls  # type: ignore[union-attr]
    compat = args.compat if embedded else None
    name = f"bench-failover-{uuid.uuid4().hex[:8]}"
    cfg: Dict[str, Any] = {"urls": urls, "load_balancing_strategy": args.strategy}
    if compat:
        cfg["server_version"] = compat

    async with Queen(cfg) as q:
        await q.queue(name).config({"leaseTime": args.lease}).create()
        owners = Counter(q._host._transport.balancer.pick(f"{name}:{p}:") for p in PARTITIONS)
        busiest = urls.index(owners.most_common(1)[0][0])

        def stop_first() -> None:
            if embedded is not None:
                embedded.command(f"stop {busiest}")
            else:
                subprocess.run(shlex.split(args.stop_cmd), check=False)

        produced = await produce(q, name, args.rate, args.seconds, args.stop_at, stop_first)

    report: Dict[str, Any] = {"urls": len(urls), "strategy": args.strategy, "rate": args.rate,
                              "lease_s": args.lease, "pushed": produced["pushed"]}
    report.update(rates(produced["samples"], produced["stopped_at"]))

    second = None
    if embedded is not None:
        embedded.command(f"start {busiest}")
        other = (busiest + 1) % 3

        def second() -> None:  # noqa: F811 - the consume phase's stop
            embedded.command(f"stop {other}")
    elif args.stop_cmd2:
        def second() -> None:  # noqa: F811
            subprocess.run(shlex.split(args.stop_cmd2), check=False)
    report["consume"] = await consume_all(urls, compat, name, produced["pushed"], second)
    if embedded is not None:
        embedded.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    if os.environ.get("QUEEN_URL"):
        print("bench_failover needs several servers: use --urls", file=sys.stderr)
    asyncio.run(main())
