"""Streams SDK benchmark: key_by + tumbling window + aggregate + sink over N messages,
this client vs upstream queen-mq 2.6.0, on the same 0.15 server in one run.

    python benchmarks/bench_streams_sdk.py [--n 100000] [--url http://127.0.0.1:6633]
        [--upstream /work/upstream-2.6.0/bin/python] [--json out.json]

Without ``--url``/``QUEEN_URL`` the embedded server (0.15 personality) runs in a
separate process, so its CPU is never counted as the client's. The source queue is
preloaded once (not measured); each SDK then runs the same pipeline under its own
query id (its own consumer group ``streams.<id>``) in a fresh worker process,
measured from ``run()`` until ``metrics()["messagesTotal"]`` reaches N: wall seconds
and ``time.process_time()`` of the worker (client CPU). The worker half imports only
the standard library and ``from queen import Queen, Stream``, so the same file drives
both SDKs (the upstream one with its own venv's python).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any, Dict, List, Optional

PARTITIONS = 10
CUSTOMERS = 50
WINDOW_SECONDS = 1


# ---------------------------------------------------------------- worker (any SDK)


async def _worker(url: str, src: str, sink: str, query: str, n: int, batch: int,
                  extra: Dict[str, Any]) -> Dict[str, Any]:
    from queen import Queen, Stream

    async with Queen(url) as q:
        stream = (Stream.from_(q.queue(src))
                  .key_by(lambda m: m["data"]["customer"])
                  .window_tumbling(seconds=WINDOW_SECONDS, idle_flush_ms=500)
                  .aggregate({"count": lambda v: 1, "sum": lambda v: v["amount"],
                              "max": lambda v: v["amount"]})
                  .to(q.queue(sink)))
        c0, t0 = time.process_time(), time.perf_counter()
        runner = await stream.run(query_id=query, url=url, batch_size=batch,
                                  max_partitions=PARTITIONS, **extra)
        deadline = t0 + max(120.0, n / 200.0)
        # both SDKs expose only metrics(): poll them
        while runner.metrics()["messagesTotal"] < n and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        t1, c1 = time.perf_counter(), time.process_time()
        m = runner.metrics()
        await runner.stop()
    done = m["messagesTotal"]
    return {"messages": done, "seconds": t1 - t0, "cpu_seconds": c1 - c0,
            "errors": m["errorsTotal"], "push_items": m["pushItemsTotal"],
            "status": "ok" if done == n and not m["errorsTotal"] else "incomplete"}


# ---------------------------------------------------------------- orchestrator


async def _preload(url: str, src: str, n: int) -> None:
    from queen import Queen

    async with Queen(url) as q:
        await q.queue(src).config({"leaseTime": 60}).create()
        per = [[] for _ in range(PARTITIONS)]  # type: List[List[Dict[str, Any]]]
        for i in range(n):
            per[i % PARTITIONS].append({"customer": f"c{i % CUSTOMERS}", "amount": i % 100})
        for p, items in enumerate(per):
            for k in range(0, len(items), 1000):
                await q.queue(src).partition(f"p{p}").push(items[k:k + 1000])


async def _cleanup(url: str, names: List[str]) -> None:
    from queen import Queen, QueenError

    async with Queen(url) as q:
        for name in names:
            try:
                await q.queue(name).delete()
            except QueenError:
                pass


def _run_worker(python: str, args: List[str]) -> Dict[str, Any]:
    out = subprocess.run([python, os.path.abspath(__file__), "--worker", *args],
                         capture_output=True, text=True, check=False)
    try:
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        return {"status": "failed", "error": (out.stderr or out.stdout)[-800:]}


def _row(name: str, r: Dict[str, Any], n: int) -> str:
    if "seconds" not in r:
        return f"{name:<12} {r.get('status')}: {r.get('error', '')}"
    rate = r["messages"] / r["seconds"] if r["seconds"] else 0.0
    cpu = r["cpu_seconds"] / max(1, r["messages"]) * 1e6
    r["msgs_per_s"], r["cpu_us_per_msg"] = rate, cpu
    return (f"{name:<12} {r['messages']:>8}/{n} {r['seconds']:8.2f} s {rate:10.0f} msg/s "
            f"{cpu:8.1f} us CPU/msg  pushes={r['push_items']} errors={r['errors']} {r['status']}")


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--url", default=os.environ.get("QUEEN_URL"))
    ap.add_argument("--upstream", default="/work/upstream-2.6.0/bin/python",
                    help="python of a venv with upstream queen-mq ('' to skip)")
    ap.add_argument("--json")
    ap.add_argument("--concurrency", type=int, default=4,
                    help="also run this SDK with run(concurrency=N) (an option upstream lacks)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--src")
    ap.add_argument("--sink")
    ap.add_argument("--query")
    a = ap.parse_args(argv)
    if a.worker:
        extra = {"concurrency": a.concurrency} if a.concurrency > 1 else {}
        print(json.dumps(asyncio.run(_worker(a.url, a.src, a.sink, a.query, a.n, a.batch,
                                             extra))))
        return 0

    server = None
    url = a.url
    if not url:
        from bench_server import start_embedded  # our venv only (imports aiohttp)

        server, url = start_embedded("0.15")
    run_id = uuid.uuid4().hex[:8]
    src = f"bench-streams-src-{run_id}"
    sinks = {"ours": f"bench-streams-sink-ours-{run_id}",
             "upstream": f"bench-streams-sink-up-{run_id}"}
    results: Dict[str, Any] = {"n": a.n, "url": url, "embedded": server is not None}
    try:
        asyncio.run(_preload(url, src, a.n))
        sides = [("ours", sys.executable, 1)]
        if a.upstream and os.path.exists(a.upstream):
            sides.append(("upstream", a.upstream, 1))
        if a.concurrency > 1:
            sides.append((f"ours-c{a.concurrency}", sys.executable, a.concurrency))
            sinks[f"ours-c{a.concurrency}"] = f"bench-streams-sink-oursc-{run_id}"
        for name, python, conc in sides:
            results[name] = _run_worker(python, [
                "--url", url, "--src", src, "--sink", sinks[name], "--n", str(a.n),
                "--batch", str(a.batch), "--query", f"bench-{name}-{run_id}",
                "--concurrency", str(conc)])
            print(_row(name, results[name], a.n), flush=True)
        ours, up = results.get("ours", {}), results.get("upstream", {})
        if ours.get("msgs_per_s") and up.get("msgs_per_s"):
            results["rate_ratio"] = ours["msgs_per_s"] / up["msgs_per_s"]
            results["cpu_ratio"] = ours["cpu_us_per_msg"] / up["cpu_us_per_msg"]
            print(f"ours vs upstream: {results['rate_ratio']:.1f}x the messages/s, "
                  f"{results['cpu_ratio']:.2f}x the client CPU per message")
        many = results.get(f"ours-c{a.concurrency}", {})
        if many.get("msgs_per_s") and up.get("msgs_per_s"):
            results["rate_ratio_concurrent"] = many["msgs_per_s"] / up["msgs_per_s"]
            print(f"ours with concurrency={a.concurrency} vs upstream: "
                  f"{results['rate_ratio_concurrent']:.1f}x the messages/s, "
                  f"{many['cpu_us_per_msg'] / up['cpu_us_per_msg']:.2f}x the client CPU")
        if a.json:
            with open(a.json, "w") as fh:
                json.dump(results, fh, indent=2)
    finally:
        asyncio.run(_cleanup(url, [src, *sinks.values()]))
        if server is not None:
            server.terminate()
            server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
