"""queen push QUEUE [JSON ...]: push messages given as arguments, or read from stdin
(one JSON array, or NDJSON: one JSON value per line)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, List

import orjson

from ...errors import QueenValidationError
from .common import OK, SERVER_SAID_NO, add_common, execute, show

HELP = "push messages: JSON payloads as arguments, or a JSON array / NDJSON on stdin"


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("queue", help="queue name")
    parser.add_argument("payloads", nargs="*", metavar="JSON",
                        help="one JSON value per message (default: read stdin)")
    parser.add_argument("--partition", help="partition name (default: Default)")
    parser.add_argument("--items", action="store_true",
                        help="each value is a message object ({'data': ..., 'transactionId': "
                             "...}) rather than the payload")
    add_common(parser)


def _values(args: argparse.Namespace) -> List[Any]:
    def parse(text: str, where: str) -> Any:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise QueenValidationError(f"{where} is not JSON ({exc}): {text[:80]!r}") from None

    if args.payloads:
        return [parse(p, f"argument {i + 1}") for i, p in enumerate(args.payloads)]
    text = sys.stdin.read()
    if text.lstrip().startswith("["):
        doc = parse(text, "stdin")
        return list(doc)
    return [parse(line, f"stdin line {n}")
            for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _messages(args: argparse.Namespace, values: List[Any]) -> List[Dict[str, Any]]:
    if not values:
        raise QueenValidationError("nothing to push: give JSON arguments or pipe them to stdin")
    if not args.items:
        return [{"data": v} for v in values]
    for v in values:
        if not isinstance(v, dict):
            raise QueenValidationError(f"--items takes message objects, got {v!r}")
    return list(values)


def run(args: argparse.Namespace) -> int:
    async def body(queen: Any) -> int:
        messages = _messages(args, _values(args))
        queue = queen.queue(args.queue)
        if args.partition is not None:
            queue = queue.partition(args.partition)
        results = await queue.push(messages)
        show(args, results, results, [
            ("transaction id", "transactionId"), ("status", "status"),
            ("message id", "messageId"), ("error", "error")])
        return SERVER_SAID_NO if any(r["status"] == "failed" for r in results) else OK

    return execute(args, body)
