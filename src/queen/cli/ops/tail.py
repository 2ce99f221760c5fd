"""queen tail QUEUE [--group G]: print new messages as they arrive.

Without ``--group`` it reads as a private consumer group subscribed to new messages
only (other consumers are not affected; the group is deleted on exit). With
``--group G`` it consumes as G from G's position and acknowledges what it prints
(G moves on). Stops after ``--limit`` messages, or on Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import uuid
from typing import Any, Dict

from .common import OK, add_common, console, dumps, execute

HELP = "follow a queue: print new messages as they arrive"


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("queue", help="queue name")
    parser.add_argument("--group", help="consume as this consumer group (acks move it on)")
    parser.add_argument("--partition", help="only this partition")
    parser.add_argument("--all", action="store_true",
                        help="a new group starts at the oldest message, not at the newest")
    parser.add_argument("--limit", type=int, help="stop after N messages")
    parser.add_argument("--batch", type=int, default=100, help="messages per pop (default 100)")
    add_common(parser)


def _plain(message: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in message.items() if k != "trace"}


def run(args: argparse.Namespace) -> int:
    private = args.group is None
    group = args.group or f"queen-tail-{uuid.uuid4().hex[:12]}"

    async def body(queen: Any) -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
                pass
        builder = queen.queue(args.queue)
        if args.partition is not None:
            builder = builder.partition(args.partition)
        builder = builder.group(group).wait(True).timeout_millis(1000)
        if private or args.all:
            builder = builder.subscription_mode("all" if args.all else "new")
        out = None if args.json or args.ndjson else console()
        seen = 0
        announced = False
        try:
            while not stop.is_set() and (args.limit is None or seen < args.limit):
                want = args.batch if args.limit is None else min(args.batch, args.limit - seen)
                messages = await builder.batch(want).pop()
                if not announced:  # subscribed: from here on new messages are seen
                    print(f"following {args.queue} as consumer group {group}", file=sys.stderr,
                          flush=True)
                    announced = True
                for m in messages:
                    if out is None:
                        print(dumps(_plain(m)), flush=True)
                    else:
                        out.print(f"{m.get('createdAt')}  {m.get('partition')}  "
                                  f"{m.get('transactionId')}  {dumps(m.get('data'))}",
                                  markup=False, soft_wrap=True)
                seen += len(messages)
                if messages:
                    await queen.ack(messages, True)
        finally:
            if private:
                await queen.delete_consumer_group(group)
        return OK

    return execute(args, body)
