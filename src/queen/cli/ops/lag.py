"""queen lag: partitions whose oldest unconsumed message is older than a threshold."""

from __future__ import annotations

import argparse
from typing import Any

from .common import OK, add_common, execute, show

HELP = "list lagging partitions (oldest unconsumed message older than --min-seconds)"


def build_parser(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument("--min-seconds", type=int, default=60, metavar="N",
                        help="lag threshold in seconds (default 60)")


def run(args: argparse.Namespace) -> int:
    async def body(queen: Any) -> int:
        rows = await queen.admin.get_lagging_consumers(min_lag_seconds=args.min_seconds)
        show(args, rows, rows, [
            ("group", "consumer_group"), ("queue", "queue_name"),
            ("partition", "partition_name"), ("offset lag", "offset_lag"),
            ("time lag (s)", "time_lag_seconds"), ("oldest unconsumed", "oldest_unconsumed_at"),
            ("last consumed", "last_consumed_at")])
        return OK

    return execute(args, body)
