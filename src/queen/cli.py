"""The ``queen`` console command: ``queen demo`` and ``queen bench``."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("queen-mq")
    except Exception:  # not installed as a distribution (e.g. a bare checkout)
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    from queen import bench, demo

    parser = argparse.ArgumentParser(
        prog="queen", description="Queen MQ client tools: an end-to-end demo and benchmarks.")
    parser.add_argument("--version", action="version", version=f"queen-mq {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo.build_parser(sub.add_parser(
        "demo", help="run a push -> transactional processing -> consume pipeline and check it",
        description=(demo.__doc__ or "").split("\n")[0]))
    bench.build_parser(sub.add_parser(
        "bench", help="end-to-end benchmarks (optionally against upstream queen-mq)",
        description=(bench.__doc__ or "").split("\n")[0]))
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from queen import demo

        return demo.run(args)
    if args.command == "bench":
        from queen import bench

        return bench.run(args)
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
