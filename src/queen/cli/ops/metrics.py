"""queen metrics [--prometheus]: the server's metrics."""

from __future__ import annotations

import argparse
from typing import Any

from .common import KEY_VALUE, OK, add_common, execute, flatten, show

HELP = "show the server's metrics (JSON figures, or --prometheus text on 0.15)"


def build_parser(parser: argparse.ArgumentParser) -> None:
    add_common(parser, rows=False)
    parser.add_argument("--prometheus", action="store_true",
                        help="print the Prometheus exposition text as the server sends it (0.15)")


def run(args: argparse.Namespace) -> int:
    async def body(queen: Any) -> int:
        if args.prometheus:
            print(await queen.admin.metrics_text(), end="")
            return OK
        doc = await queen.admin.metrics()
        show(args, doc, flatten(doc), KEY_VALUE)
        return OK

    return execute(args, body)
