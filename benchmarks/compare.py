"""Side-by-side: our client vs upstream ``queen-mq==2.6.0``, plus the server's raw ingest limit.

The same workload file (src/queen/bench.py, worker half) runs once per side, each in its own
interpreter: ours from this venv, upstream from ``--upstream-venv`` (both import as ``queen``),
against the same server, in one run. Equivalent to ``queen bench --compare --raw``.

    python benchmarks/compare.py [--setup] [--url URL] [--only ...] [--json compare.json]

``--setup`` creates the upstream venv first (pip install queen-mq==2.6.0 uvloop).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from queen.bench import UPSTREAM_VENV, build_parser, run


def setup_upstream(venv: str) -> None:
    """Create `venv` with upstream queen-mq 2.6.0 (and uvloop, so both sides share a loop)."""
    if not (Path(venv) / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([str(Path(venv) / "bin" / "pip"), "install", "-q", "queen-mq==2.6.0", "uvloop"],
                   check=True)


def main() -> int:
    parser = build_parser()
    parser.prog = "compare.py"
    parser.add_argument("--setup", action="store_true",
                        help=f"create the upstream venv first (default {UPSTREAM_VENV})")
    parser.add_argument("--no-raw", action="store_true", help="skip the raw ingest measurement")
    args = parser.parse_args()
    if args.setup:
        setup_upstream(args.upstream_venv)
    args.compare = True
    args.raw = not args.no_raw
    if args.raw_connections == "4":
        # 4 connections is the headline; 1 is what a single-partition buffer can use
        args.raw_connections = "4,1"
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
