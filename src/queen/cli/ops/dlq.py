"""queen dlq QUEUE: the dead letters of a queue."""

from __future__ import annotations

import argparse
from typing import Any

from .common import OK, add_common, execute, show

HELP = "list a queue's dead letters, newest first"


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("queue", help="queue name")
    add_common(parser)
    parser.add_argument("--group", help="only this consumer group's dead letters")
    parser.add_argument("--partition", help="partition name")
    parser.add_argument("--limit", type=int, default=50, help="at most N entries (default 50)")
    parser.add_argument("--offset", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    async def body(queen: Any) -> int:
        queue = queen.queue(args.queue)
        if args.partition is not None:
            queue = queue.partition(args.partition)
        doc = await queue.dlq(args.group).limit(args.limit).offset(args.offset).get()
        show(args, doc, doc["messages"], [
            ("partition", "partition"), ("transaction id", "transactionId"),
            ("group", "consumerGroup"), ("error", "errorMessage"),
            ("dead since", "dlqTimestamp"), ("data", "data")],
            title=f"{doc.get('total', len(doc['messages']))} dead letter(s) in {args.queue}")
        return OK

    return execute(args, body)
