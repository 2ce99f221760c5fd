"""The server's raw ingest limit: ready-made 500-message push bodies posted with wrk (when
installed) or a small aiohttp loader, no client library in the way."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
import uuid
from typing import Any, Dict, Optional

from queen.cli.workloads import PUSH_BATCH

WRK_SCRIPT = """
local n = __N__
local queue = "__QUEUE__"
local run = "__RUN__"
local threads = 0
local counter = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function request()
  counter = counter + 1
  local parts = {}
  local prefix = run .. "-" .. tid .. "-" .. counter .. "-"
  for i = 1, n do
    parts[i] = '{"queue":"' .. queue .. '","partition":"Default","payload":{"id":' .. i ..
      ',"kind":"bench","note":"end-to-end benchmark message"},"transactionId":"' .. prefix .. i .. '"}'
  end
  return wrk.format("POST", "/api/v1/push", {["Content-Type"] = "application/json"},
    '{"items":[' .. table.concat(parts, ",") .. ']}')
end
"""


def _http(method: str, url: str, body: Optional[Dict[str, Any]] = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        raw = r.read()
    return json.loads(raw) if raw.strip() else None


def raw_ingest(url: str, seconds: float = 10.0, connections: int = 4,
               tool: str = "auto") -> Dict[str, Any]:
    """The server's raw ingest limit: ready-made 500-message push bodies over `connections`."""
    queue = f"qb-raw-{uuid.uuid4().hex[:10]}"
    _http("POST", url + "/api/v1/configure", {"queue": queue, "options": {"leaseTime": 300}})
    probe = _http("POST", url + "/api/v1/push", {"items": [
        {"queue": queue, "partition": "Default", "payload": {"probe": True},
         "transactionId": uuid.uuid4().hex}]})
    if not (isinstance(probe, list) and probe and probe[0].get("status") == "queued"):
        raise RuntimeError(f"push probe failed: {probe!r}")
    try:
        if tool in ("auto", "wrk") and shutil.which("wrk"):
            return _raw_wrk(url, queue, seconds, connections)
        if tool == "wrk":
            raise RuntimeError("wrk is not installed (apt-get install wrk)")
        return asyncio.run(_raw_aiohttp(url, queue, seconds, connections))
    finally:
        with contextlib.suppress(Exception):
            _http("DELETE", url + f"/api/v1/resources/queues/{queue}")


def _raw_wrk(url: str, queue: str, seconds: float, connections: int) -> Dict[str, Any]:
    script = (WRK_SCRIPT.replace("__N__", str(PUSH_BATCH)).replace("__QUEUE__", queue)
              .replace("__RUN__", uuid.uuid4().hex[:8]))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        threads = min(2, connections)
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, int(seconds))}s",
             "--timeout", "30s", "-s", f.name, url],
            capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    rps = bad = 0.0
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Requests/sec:"):
            rps = float(line.split()[1])
        elif line.startswith("Non-2xx or 3xx responses:"):
            bad = float(line.split()[-1])
    return {"tool": "wrk", "connections": connections, "seconds": seconds,
            "requests_per_s": rps, "msgs_per_s": round(rps * PUSH_BATCH, 1),
            "non_2xx": int(bad), "raw_output": out}


async def _raw_aiohttp(url: str, queue: str, seconds: float, connections: int) -> Dict[str, Any]:
    import aiohttp

    run = uuid.uuid4().hex[:8]
    deadline = time.perf_counter() + seconds
    done = bad = 0

    def body(worker: int, k: int) -> bytes:
        items = [{"queue": queue, "partition": "Default", "payload": {"id": i, "kind": "bench"},
                  "transactionId": f"{run}-{worker}-{k}-{i}"} for i in range(PUSH_BATCH)]
        return json.dumps({"items": items}).encode()

    async def loop(session: Any, worker: int) -> None:
        nonlocal done, bad
        k = 0
        nxt = body(worker, k)
        while time.perf_counter() < deadline:
            async with session.post(url + "/api/v1/push", data=nxt,
                                    headers={"Content-Type": "application/json"}) as r:
                await r.read()
                bad += r.status >= 300
            done += 1
            k += 1
            nxt = body(worker, k)  # built while nothing else waits on us would be nicer

    t0 = time.perf_counter()
    conn = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=conn) as session:
        await asyncio.gather(*(loop(session, w) for w in range(connections)))
    elapsed = time.perf_counter() - t0
    return {"tool": "aiohttp", "connections": connections, "seconds": round(elapsed, 2),
            "requests_per_s": round(done / elapsed, 1),
            "msgs_per_s": round(done * PUSH_BATCH / elapsed, 1), "non_2xx": bad}
