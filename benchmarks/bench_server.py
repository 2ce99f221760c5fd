"""Throughput of the embedded Queen server (or any server at QUEEN_URL).

    python benchmarks/bench_server.py [--compat 0.15] [--messages 100000] [--roundtrips 5000]

Starts ``python -m queen.testing`` in a subprocess (so client and server do not share
a GIL) unless QUEEN_URL is set, then measures:

* push: batches of 500 messages, a few requests in flight -> messages/s
* pop+ack: workers each pop 1 message and ack it, one partition per worker -> round trips/s
* pop1 auto-ack: one worker pops 1 message at a time with autoAck=true -> pops/s

With the embedded server started here, each phase also reports the server process's
CPU time per message (Linux /proc), a figure far less noisy than rates on a busy box.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from typing import Any, Dict, List, Optional

import aiohttp
import orjson


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_cpu(pid: Optional[int]) -> Optional[float]:
    """user+system CPU seconds of a process (Linux), None when unknown."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_embedded(compat: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "queen.testing", "--port", str(port),
                             "--compat", compat], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("embedded server did not start")


async def post(session: aiohttp.ClientSession, url: str, body: Any) -> Any:
    async with session.post(url, data=orjson.dumps(body),
                            headers={"Content-Type": "application/json"}) as resp:
        raw = await resp.read()
        return orjson.loads(raw) if raw else None


async def bench_push(session: aiohttp.ClientSession, base: str, queue: str, total: int,
                     batch: int = 500, inflight: int = 4) -> float:
    payload = {"kind": "bench", "text": "x" * 64, "n": 0}
    bodies = [{"items": [{"queue": queue, "partition": f"p{i % 8}", "payload": payload,
                          "transactionId": str(uuid.uuid4())} for i in range(batch)]}
              for _ in range(total // batch)]
    sem = asyncio.Semaphore(inflight)

    async def one(body: Dict[str, Any]) -> None:
        async with sem:
            res = await post(session, base + "/api/v1/push", body)
            assert isinstance(res, list) and res[0]["status"] == "queued", res

    t0 = time.perf_counter()
    await asyncio.gather(*(one(b) for b in bodies))
    return len(bodies) * batch / (time.perf_counter() - t0)


async def bench_pop_ack(session: aiohttp.ClientSession, base: str, queue: str, total: int,
                        workers: int = 8) -> float:
    per = total // workers
    for w in range(workers):
        items = [{"queue": queue, "partition": f"w{w}", "payload": {"i": i}} for i in range(per)]
        for start in range(0, per, 500):
            await post(session, base + "/api/v1/push", {"items": items[start:start + 500]})
    done = 0

    async def worker(w: int) -> None:
        nonlocal done
        url = f"{base}/api/v1/pop/queue/{queue}/partition/w{w}?batch=1&wait=false"
        for _ in range(per):
            async with session.get(url) as resp:
                body = orjson.loads(await resp.read())
            msgs: List[Dict[str, Any]] = body.get("messages") or []
            m = msgs[0]
            await post(session, base + "/api/v1/ack", {
                "transactionId": m["transactionId"], "partitionId": m["partitionId"],
                "leaseId": m["leaseId"], "status": "completed"})
            done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(workers)))
    return done / (time.perf_counter() - t0)


async def bench_pop_auto(session: aiohttp.ClientSession, base: str, queue: str,
                         total: int, partitions: int = 10) -> float:
    """Queue-route pops of 1 message with autoAck, one at a time (the consume path)."""
    items = [{"queue": queue, "partition": f"p{i % partitions}", "payload": {"i": i}}
             for i in range(total)]
    for start in range(0, total, 500):
        await post(session, base + "/api/v1/push", {"items": items[start:start + 500]})
    url = f"{base}/api/v1/pop/queue/{queue}?batch=1&wait=false&autoAck=true"
    t0 = time.perf_counter()
    for _ in range(total):
        async with session.get(url) as resp:
            body = orjson.loads(await resp.read())
        assert body and len(body["messages"]) == 1, body
    return total / (time.perf_counter() - t0)


class Phase:
    """Rate of one phase plus the server CPU it cost per message."""

    def __init__(self, pid: Optional[int]) -> None:
        self.pid = pid
        self.cpu: Dict[str, Optional[float]] = {}

    async def run(self, name: str, count: int, coro: Any) -> float:
        c0 = proc_cpu(self.pid)
        rate = float(await coro)
        c1 = proc_cpu(self.pid)
        self.cpu[name] = (c1 - c0) / count * 1e6 if c0 is not None and c1 is not None else None
        return rate


async def main_async(base: str, messages: int, roundtrips: int,
                     pid: Optional[int] = None) -> Dict[str, Any]:
    conn = aiohttp.TCPConnector(limit=32)
    phase = Phase(pid)
    async with aiohttp.ClientSession(connector=conn) as session:
        run = uuid.uuid4().hex[:8]
        names = (f"bench-push-{run}", f"bench-pop-{run}", f"bench-auto-{run}")
        for q in names:
            await post(session, base + "/api/v1/configure", {"queue": q, "options": {
                "leaseTime": 60}})
        await bench_push(session, base, names[0], 5000)  # warm-up
        push_rate = await phase.run("push", messages, bench_push(session, base, names[0],
                                                                 messages))
        # CPU per round trip here includes pushing the messages first (cheap, batched)
        pop_rate = await phase.run("pop_ack", roundtrips,
                                   bench_pop_ack(session, base, names[1], roundtrips))
        auto_n = max(1, roundtrips // 2)
        auto_rate = await phase.run("pop_auto", auto_n,
                                    bench_pop_auto(session, base, names[2], auto_n))
        for q in names:
            async with session.delete(f"{base}/api/v1/resources/queues/{q}") as resp:
                await resp.read()
        return {"push_msgs_per_s": push_rate, "pop_ack_per_s": pop_rate,
                "pop_auto_per_s": auto_rate, "server_cpu_us": phase.cpu}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--compat", choices=("0.7", "0.15"), default="0.7")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--roundtrips", type=int, default=8_000)
    args = parser.parse_args(argv)
    url = os.environ.get("QUEEN_URL")
    proc = None
    if not url:
        proc, url = start_embedded(args.compat)
    try:
        res = asyncio.run(main_async(url.rstrip("/"), args.messages, args.roundtrips,
                                     proc.pid if proc is not None else None))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(5)
    where = url if os.environ.get("QUEEN_URL") else f"embedded {args.compat}"
    print(f"{where}: push {res['push_msgs_per_s']:,.0f} msg/s (batches of 500); "
          f"pop+ack {res['pop_ack_per_s']:,.0f} round trips/s; "
          f"pop1 auto-ack {res['pop_auto_per_s']:,.0f} pops/s")
    cpu = res["server_cpu_us"]
    if any(v is not None for v in cpu.values()):
        shown = ", ".join(f"{k} {v:.1f}" for k, v in cpu.items() if v is not None)
        print(f"server CPU us per message: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
