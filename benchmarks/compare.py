"""Side-by-side: our client vs upstream ``queen-mq==2.6.0``, plus the server's raw ingest limit.

The same workload file (src/queen/cli/workloads.py, queen bench's worker) runs once per side,
each in its own interpreter: ours from this venv, upstream from ``--upstream-venv`` (or
``$QUEEN_UPSTREAM_VENV``; both import as ``queen``), against the same server, in one run.
Also offers the 1M-message ``memory`` workload (``--only memory``) and a Markdown report.

    python benchmarks/compare.py --upstream-venv DIR [--setup] [--url URL] [--only ...]
                                 [--json compare.json] [--markdown compare.md]

``--setup`` creates the upstream venv first (pip install queen-mq==2.6.0 uvloop).
``--no-upstream --no-raw`` runs our side only (that is benchmarks/e2e.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import memory_workload
from queen.cli import bench, workloads
from queen.cli.common import Progress, print_table, server_url
from raw_ingest import raw_ingest
from report import compare_rows, markdown_report, target_rows

PLUGINS = [str(Path(memory_workload.__file__).resolve())]
memory_workload.register(workloads)  # so that --only memory is a known workload here too


def setup_upstream(venv: str) -> None:
    """Create `venv` with upstream queen-mq 2.6.0 (and uvloop, so both sides share a loop)."""
    if not (Path(venv) / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([str(Path(venv) / "bin" / "pip"), "install", "-q", "queen-mq==2.6.0", "uvloop"],
                   check=True)


def upstream_python(venv: Optional[str]) -> str:
    if not venv:
        raise SystemExit("name the upstream venv: --upstream-venv DIR or QUEEN_UPSTREAM_VENV "
                         "(add --setup to create it), or pass --no-upstream")
    py = Path(venv) / "bin" / "python"
    if not py.exists():
        raise SystemExit(
            f"no upstream venv at {venv}: create it with --setup, or by hand with\n"
            f"  python3 -m venv {venv} && {venv}/bin/pip install queen-mq==2.6.0 uvloop")
    return str(py)


def build_parser() -> argparse.ArgumentParser:
    p = bench.build_parser(argparse.ArgumentParser(
        prog="compare.py", description=(__doc__ or "").split("\n")[0]))
    p.add_argument("--upstream-venv", default=os.environ.get("QUEEN_UPSTREAM_VENV"),
                   help="venv with upstream queen-mq (default: $QUEEN_UPSTREAM_VENV)")
    p.add_argument("--setup", action="store_true", help="create the upstream venv first")
    p.add_argument("--no-upstream", action="store_true", help="run our side only")
    p.add_argument("--upstream-messages", type=int,
                   help="messages per workload for the upstream side (default: same as ours)")
    p.add_argument("--no-raw", action="store_true", help="skip the raw ingest measurement")
    p.add_argument("--raw-seconds", type=float, default=10.0)
    p.add_argument("--raw-tool", default="auto", choices=["auto", "wrk", "aiohttp"])
    p.add_argument("--raw-connections", default="4,1",
                   help="comma-separated connection counts; the first is the headline figure")
    p.add_argument("--markdown", help="also write the tables as Markdown to this file")
    return p


def run(args: argparse.Namespace) -> int:
    names = bench.workload_names(args.only)
    if names is None:
        return 2
    sides = [bench.OURS]
    if not args.no_upstream:
        if args.setup and args.upstream_venv:
            setup_upstream(args.upstream_venv)
        # autopilot off: upstream then sends exactly the batch we ask for
        sides.append(bench.Side("upstream", upstream_python(args.upstream_venv),
                                "upstream 2.6.0", {"QUEEN_SDK_POP_AUTOPILOT": "off"},
                                args.upstream_messages))
    raws: List[Dict[str, Any]] = []
    with server_url(args.url, args.compat) as url, Progress(not args.quiet) as progress:
        results = bench.measure(args, names, url, progress, sides, PLUGINS)
        if not args.no_raw:
            for conns in (int(c) for c in str(args.raw_connections).split(",") if c.strip()):
                raws.append(raw_ingest(url, args.raw_seconds, conns, args.raw_tool))
    raw = raws[0] if raws else None
    print_table("queen bench", bench.HEADER, bench.results_table(results))
    if len(sides) > 1:
        print_table("ours vs upstream (ratio = ours / upstream)",
                    ["workload", "CPU us/msg ours", "upstream", "ratio", "msgs/s ours", "upstream",
                     "ratio", "RSS MB ours", "upstream", "ratio"], compare_rows(results))
    push = next((r for r in results if r["workload"] == "push" and r.get("side") == "ours"), None)
    for one in raws:
        line = (f"server raw ingest ({one['tool']}, {one['connections']} connection(s), "
                f"500-message bodies): {one['msgs_per_s']:,.0f} msgs/s")
        if push and push.get("msgs_per_s"):
            line += f"; our buffered push: {push['msgs_per_s']:,.0f} msgs/s " \
                    f"({push['msgs_per_s'] / one['msgs_per_s'] * 100:.0f}% of it)"
        print(line)
    targets = target_rows(results, raw)
    if targets:
        print_table("targets (issue 5)", ["target", "measured", "verdict"], targets)
    if args.markdown:
        Path(args.markdown).write_text(markdown_report(results, raws, targets))
    if args.json_out:
        strip = [{k: v for k, v in one.items() if k != "raw_output"} for one in raws]
        bench.write_json(args.json_out, args, url, results,
                         targets=[dict(zip(("target", "measured", "verdict"), t))
                                  for t in targets],
                         raw_ingest=strip[0] if strip else None, raw_ingest_all=strip)
    return 0 if all(r.get("ok") for r in results) else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
