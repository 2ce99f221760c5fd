"""The ``queen`` console command (also ``python -m queen``).

Each verb is one module of this package that offers ``HELP`` (one line),
``build_parser(parser)`` (adds its options) and ``run(args) -> int`` (the exit
code). ``VERBS`` lists them: adding a verb is one new module plus one line there.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType
from typing import Dict, Optional, Sequence

from queen._extras import DISTRIBUTION
from queen.cli.checks import Parser, install_signal_handlers, stop_command

# verb -> module (imported when the parser is built; keep verb modules cheap to import)
VERBS: Dict[str, str] = {
    "demo": "queen.cli.demo",
    "bench": "queen.cli.bench",
    # operator verbs over queen.admin (docs/admin.md)
    "queues": "queen.cli.ops.queues",
    "queue": "queen.cli.ops.queue",
    "groups": "queen.cli.ops.groups",
    "lag": "queen.cli.ops.lag",
    "seek": "queen.cli.ops.seek",
    "messages": "queen.cli.ops.messages",
    "dlq": "queen.cli.ops.dlq",
    "traces": "queen.cli.ops.traces",
    "tail": "queen.cli.ops.tail",
    "push": "queen.cli.ops.push",
    "health": "queen.cli.ops.health",
    "metrics": "queen.cli.ops.metrics",
    "maintenance": "queen.cli.ops.maintenance",
}


def _version() -> str:
    try:
        from importlib.metadata import version

        return version(DISTRIBUTION)
    except Exception:  # not installed as a distribution (e.g. a bare checkout)
        return "unknown"


def _plain(text: str) -> str:
    """A docstring line without its reStructuredText markup, for --help."""
    return text.replace("``", "")


def _verb(name: str) -> ModuleType:
    return importlib.import_module(VERBS[name])


def build_parser() -> argparse.ArgumentParser:
    """The ``queen`` parser with one sub-command per entry of ``VERBS``."""
    parser = Parser(
        prog="queen", description="Queen MQ client tools: operator verbs, an end-to-end demo "
        "and benchmarks.")
    parser.add_argument("--version", action="version", version=f"{DISTRIBUTION} {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in VERBS:
        mod = _verb(name)
        mod.build_parser(sub.add_parser(
            name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", None)
            or _plain((mod.__doc__ or "").split("\n")[0])))
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``queen`` command; returns its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in VERBS:
        install_signal_handlers()
        try:
            code: int = _verb(args.command).run(args)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: cleanup has run on the way out
            return stop_command(f"queen {args.command}")
        return code
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
