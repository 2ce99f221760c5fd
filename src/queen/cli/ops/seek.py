"""queen seek GROUP QUEUE (--to-end | --to TIME) [--partition P]: move a group."""

from __future__ import annotations

import argparse
from typing import Any, Dict

from .common import KEY_VALUE, OK, Refused, add_common, execute, flatten, show

HELP = "move a consumer group on a queue to the end or to a time (0.15)"


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("group", help="consumer group")
    parser.add_argument("queue", help="queue name")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--to-end", action="store_true", help="skip the backlog")
    where.add_argument("--to", metavar="TIME",
                       help="replay from TIME (ISO 8601, or a PostgreSQL literal like 'yesterday')")
    parser.add_argument("--partition", help="move only this partition (to its end)")
    add_common(parser, rows=False)


def run(args: argparse.Namespace) -> int:
    options: Dict[str, Any] = {"toEnd": True} if args.to_end else {"timestamp": args.to}
    if args.partition is not None:  # the partition route moves to the end only
        options = {"partition": args.partition, "timestamp": args.to}

    async def body(queen: Any) -> int:
        out = await queen.admin.seek_consumer_group(args.group, args.queue, options)
        if out.get("success") is False:
            raise Refused(str(out.get("error") or "the server refused the seek"))
        show(args, out, flatten(out), KEY_VALUE)
        return OK

    return execute(args, body)
