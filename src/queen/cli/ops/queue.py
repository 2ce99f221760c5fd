"""queen queue NAME: one queue's configuration and partitions."""

from __future__ import annotations

import argparse
from typing import Any

from .common import OK, Refused, add_common, add_refresh, execute, refresh, show

HELP = "show one queue: configuration and partitions"


def _stat(key: str) -> Any:
    return lambda row: (row.get("stats") or {}).get(key)


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="queue name")
    add_common(parser)
    add_refresh(parser)


def run(args: argparse.Namespace) -> int:
    async def body(queen: Any) -> int:
        await refresh(queen, args)
        info = await queen.admin.get_queue(args.name)
        if info is None:
            raise Refused(f"queue {args.name!r} not found")
        detail = await queen.admin.get_queue_detail(args.name) or {}
        config = (detail.get("queue") or {}).get("config") or {}
        doc = {**info, "config": config}
        head = ", ".join(f"{k}={v}" for k, v in config.items())
        title = (f"{info['name']}  namespace={info.get('namespace') or '-'}  "
                 f"task={info.get('task') or '-'}  {head}")
        show(args, doc, info.get("partitions", []), [
            ("partition", "name"), ("total", _stat("total")), ("pending", _stat("pending")),
            ("processing", _stat("processing")), ("completed", _stat("completed")),
            ("dead letter", _stat("deadLetter")), ("oldest", "oldestMessage"),
            ("newest", "newestMessage")], title=title)
        return OK

    return execute(args, body)
