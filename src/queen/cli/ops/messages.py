"""queen messages QUEUE: browse a queue's messages (newest first, no payloads)."""

from __future__ import annotations

import argparse
from typing import Any

from ...wire.admin import MESSAGE_STATUSES
from .common import OK, add_common, execute, show

HELP = "list a queue's messages, newest first (filters: status, partition)"


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("queue", help="queue name")
    add_common(parser)
    parser.add_argument("--status", choices=MESSAGE_STATUSES)
    parser.add_argument("--partition", help="partition name")
    parser.add_argument("--limit", type=int, default=50, help="at most N messages (default 50)")
    parser.add_argument("--offset", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    async def body(queen: Any) -> int:
        doc = await queen.admin.list_messages(
            queue=args.queue, partition=args.partition, status=args.status,
            limit=args.limit, offset=args.offset)
        show(args, doc, doc["messages"], [
            ("partition", "partition"), ("transaction id", "transactionId"),
            ("status", "status"), ("created", "createdAt"),
            ("lease expires", "leaseExpiresAt"), ("trace id", "traceId")])
        return OK

    return execute(args, body)
