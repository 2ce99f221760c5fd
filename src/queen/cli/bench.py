"""``queen bench``: end-to-end benchmarks of this client (push, pop+ack, consume, transactions).

The orchestrator starts the embedded server in a separate process (unless ``--url`` /
``QUEEN_URL``), runs one worker process per workload (``workloads.py``, so ``ru_maxrss`` is
per workload), shows progress, prints the table and writes JSON. The comparison with
upstream queen-mq, the server's raw ingest limit, the 1M-message memory run and the Markdown
report live in benchmarks/compare.py, which builds on the functions here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from queen.cli import workloads
from queen.cli.checks import Parser, check_env_url, names_from, positive_int
from queen.cli.checks import server_url as url_arg
from queen.cli.common import Progress, fmt, print_table, server_url

DESCRIPTION = ("End-to-end benchmarks of this client: push, pop+ack, consume, "
               "transactions; one child process per workload; messages/s, client CPU per "
               "message and peak memory.")
HELP = "end-to-end benchmarks (benchmarks/compare.py adds upstream queen-mq)"
WORKER = Path(workloads.__file__).resolve()
HEADER = ["workload", "client", "messages", "seconds", "msgs/s", "CPU us/msg",
          "peak RSS MB", "sampled RSS MB", "status"]


@dataclass(frozen=True)
class Side:
    """One client under test: the interpreter that runs the worker, and how."""

    name: str
    python: str
    label: str
    env: Dict[str, str] = field(default_factory=dict)
    messages: Optional[int] = None  # overrides the per-workload size


OURS = Side("ours", sys.executable, "ours")


def build_parser(parser: Optional[argparse.ArgumentParser] = None) -> argparse.ArgumentParser:
    p = parser or Parser(prog="queen bench", description=DESCRIPTION)
    p.add_argument("--url", type=url_arg,
                   help="Queen server, http(s)://host:port (default: $QUEEN_URL, else an "
                        "embedded server in a child process)")
    p.add_argument("--compat", default="0.7", choices=["0.7", "0.15"],
                   help="personality of the embedded server")
    p.add_argument("--only", type=names_from(workloads.WORKLOADS, "workload"),
                   help="comma-separated workloads, from: " + ",".join(workloads.WORKLOADS)
                        + " (default: " + ",".join(workloads.DEFAULT_WORKLOADS) + ")")
    p.add_argument("--messages", type=positive_int,
                   help="messages per workload (default: each workload's own size)")
    p.add_argument("--batch", type=positive_int, default=100, help="pop batch for popack and txn")
    p.add_argument("--json", dest="json_out", help="write the results to this JSON file")
    p.add_argument("--repeat", type=positive_int, default=1,
                   help="run each workload N times per side; report the best of N per metric")
    p.add_argument("--no-verify", action="store_true", help="skip the unmeasured read-back checks")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def workload_names(only: Optional[str]) -> Optional[List[str]]:
    """The workloads ``--only`` picks (the default set without it); None (after saying
    why on stderr) when one is unknown."""
    names = [s.strip() for s in only.split(",")] if only else list(workloads.DEFAULT_WORKLOADS)
    unknown = [n for n in names if n not in workloads.WORKLOADS]
    if unknown:
        print(f"unknown workload(s): {', '.join(unknown)}; "
              f"pick from {', '.join(workloads.WORKLOADS)}", file=sys.stderr)
        return None
    return names


def run_worker(python: str, spec: Dict[str, Any], progress: Progress, label: str,
               env: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Run one workload in a child interpreter and return its result record."""
    code = workloads.WORKER_BOOT.format(path=str(WORKER))
    task = progress.add(label, int(spec["messages"]))
    result: Optional[Dict[str, Any]] = None
    # stderr goes to a file: a chatty client must not block on a full pipe
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([python, "-c", code, json.dumps(spec)], stdout=subprocess.PIPE,
                                stderr=err, text=True, cwd=tempfile.gettempdir(),
                                env={**os.environ, **(env or {})})
        assert proc.stdout is not None
        for line in proc.stdout:
            if not line.startswith(workloads.MARK):
                continue
            msg = json.loads(line[len(workloads.MARK):])
            if msg["kind"] == "progress":
                progress.update(task, msg["done"], msg["total"])
            elif msg["kind"] == "result":
                result = msg["result"]
                progress.update(task, result["messages"], int(spec["messages"]))
        proc.wait()
        err.seek(0)
        stderr = err.read()
    if result is None:
        return {"workload": spec["workload"], "client": spec.get("label"), "ok": False,
                "messages": 0, "error": f"worker exited with {proc.returncode}: {stderr[-2000:]}"}
    return result


def best_run(runs: List[Dict[str, Any]], side: str) -> Dict[str, Any]:
    """Best of N per metric: CPU and memory figures of the successful run with the least CPU
    per message, throughput of the fastest successful run; every run is attached."""
    good = [r for r in runs if r.get("ok") and r.get("cpu_us_per_msg")]
    best = dict(min(good, key=lambda r: float(r["cpu_us_per_msg"])) if good else runs[-1])
    if good:
        fastest = max(good, key=lambda r: float(r.get("msgs_per_s") or 0.0))
        best["msgs_per_s"], best["seconds"] = fastest.get("msgs_per_s"), fastest.get("seconds")
    best["side"] = side
    if len(runs) > 1:
        best["repeats"] = [{k: r.get(k) for k in ("msgs_per_s", "cpu_us_per_msg", "ok")}
                           for r in runs]
    return best


def measure(args: argparse.Namespace, names: Sequence[str], url: str, progress: Progress,
            sides: Sequence[Side] = (OURS,), plugins: Sequence[str] = ()) -> List[Dict[str, Any]]:
    """Every workload on every side (best of ``--repeat``), the sides alternating so that
    a burst of load elsewhere hits both alike."""
    options = {"batch": args.batch, "verify": not args.no_verify}
    results: List[Dict[str, Any]] = []
    for name in names:
        n = args.messages or workloads.WORKLOADS[name].default_messages
        runs: Dict[str, List[Dict[str, Any]]] = {s.name: [] for s in sides}
        for i in range(max(1, args.repeat)):
            tag = f" #{i + 1}" if args.repeat > 1 else ""
            for side in sides:
                spec = {"workload": name, "url": url, "messages": side.messages or n,
                        "options": options, "label": side.label, "plugins": list(plugins)}
                runs[side.name].append(run_worker(side.python, spec, progress,
                                                  f"{name} ({side.name}){tag}", side.env))
        results += [best_run(got, side) for side, got in runs.items() if got]
    return results


def results_table(results: List[Dict[str, Any]]) -> List[List[str]]:
    return [[r["workload"], r.get("client", "?"), fmt(r.get("messages")),
             fmt(r.get("seconds"), 2), fmt(r.get("msgs_per_s")), fmt(r.get("cpu_us_per_msg")),
             fmt(r.get("peak_rss_mb")), fmt(r.get("rss_sampled_peak_mb")),
             "ok" if r.get("ok") else f"FAILED {r.get('error') or ''}".strip()]
            for r in results]


def write_json(path: str, args: argparse.Namespace, url: str, results: List[Dict[str, Any]],
               **extra: Any) -> None:
    """The run as JSON: where, when, the results, plus ``extra`` (targets, raw ingest)."""
    doc = {"url": url if args.url or os.environ.get("QUEEN_URL") else "embedded",
           "compat": args.compat, "python": sys.version.split()[0],
           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "results": results, "targets": [], "raw_ingest": None, "raw_ingest_all": [], **extra}
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")


def run(args: argparse.Namespace) -> int:
    if not check_env_url("queen bench", args.url):
        return 2
    names = workload_names(args.only)
    if names is None:
        return 2
    with server_url(args.url, args.compat) as url, Progress(not args.quiet) as progress:
        results = measure(args, names, url, progress)
    print_table("queen bench", HEADER, results_table(results))
    if args.json_out:
        write_json(args.json_out, args, url, results)
    return 0 if all(r.get("ok") for r in results) else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
