"""queen queues: every queue with its partitions and message counts."""

from __future__ import annotations

import argparse
from typing import Any

from .common import OK, add_common, add_refresh, counts, execute, refresh, show

HELP = "list queues with their message counts"


def build_parser(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument("--namespace", help="only queues of this namespace")
    parser.add_argument("--task", help="only queues of this task")
    add_refresh(parser)


def run(args: argparse.Namespace) -> int:
    async def body(queen: Any) -> int:
        await refresh(queen, args)
        doc = await queen.admin.list_queues()
        rows = [q for q in doc["queues"]
                if (args.namespace is None or q.get("namespace") == args.namespace)
                and (args.task is None or q.get("task") == args.task)]
        show(args, {"queues": rows}, rows, [
            ("queue", "name"), ("namespace", "namespace"), ("task", "task"),
            ("partitions", "partitions"), ("total", counts("total")),
            ("pending", counts("pending")), ("processing", counts("processing")),
            ("created", "createdAt")])
        return OK

    return execute(args, body)
