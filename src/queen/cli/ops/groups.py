"""queen groups: consumer groups per queue with their lag."""

from __future__ import annotations

import argparse
from typing import Any

from .common import OK, add_common, execute, show

HELP = "list consumer groups (and queue-mode consumers) with their lag"


def build_parser(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument("--queue", help="only rows of this queue")
    parser.add_argument("--no-queue-mode", action="store_true",
                        help="leave out queue-mode consumers (__QUEUE_MODE__)")


def run(args: argparse.Namespace) -> int:
    async def body(queen: Any) -> int:
        rows = [g for g in await queen.admin.list_consumer_groups()
                if (args.queue is None or g.get("queueName") == args.queue)
                and not (args.no_queue_mode and g.get("name") == "__QUEUE_MODE__")]
        show(args, rows, rows, [
            ("group", "name"), ("queue", "queueName"), ("members", "members"),
            ("state", "state"), ("total lag", "totalLag"),
            ("partitions lagging", "partitionsWithLag"), ("max time lag (s)", "maxTimeLag"),
            ("mode", "subscriptionMode")])
        return OK

    return execute(args, body)
