"""queen traces NAME: the trace events recorded under a trace name."""

from __future__ import annotations

import argparse
from typing import Any

from .common import OK, add_common, execute, show

HELP = "list the trace events recorded under a trace name"


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="trace name")
    add_common(parser)
    parser.add_argument("--limit", type=int, default=100, help="at most N events (default 100)")
    parser.add_argument("--offset", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    async def body(queen: Any) -> int:
        doc = await queen.admin.get_traces_by_name(args.name, limit=args.limit,
                                                   offset=args.offset)
        show(args, doc, doc["traces"], [
            ("created", "created_at"), ("queue", "queue_name"), ("partition", "partition_name"),
            ("transaction id", "transaction_id"), ("event", "event_type"),
            ("group", "consumer_group"), ("data", "data")],
            title=f"{doc['count']} of {doc['total']} trace event(s) named {args.name}")
        return OK

    return execute(args, body)
