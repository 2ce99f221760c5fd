"""What every operator verb shares: connection options (``--url``/``QUEEN_URL``,
the bearer token from ``QUEEN_TOKEN``), output (aligned tables for people,
``--json``/``--ndjson`` for scripts) and exit codes (0 ok, 1 the server said no or
could not be reached, 2 usage)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import orjson

from ...errors import QueenError, QueenValidationError

OK, SERVER_SAID_NO, USAGE = 0, 1, 2
URL_ENV, TOKEN_ENV = "QUEEN_URL", "QUEEN_TOKEN"
DEFAULT_URL = "http://localhost:6632"

Cell = Union[str, Callable[[Mapping[str, Any]], Any]]
Column = Tuple[str, Cell]


class Refused(Exception):
    """The server answered, but not what the operator asked for (exit code 1)."""


def add_common(parser: argparse.ArgumentParser, rows: bool = True) -> None:
    """``--url`` and the output switches."""
    parser.add_argument("--url", default=os.environ.get(URL_ENV) or DEFAULT_URL,
                        help=f"server URL (default: ${URL_ENV} or {DEFAULT_URL}); the bearer "
                             f"token is read from ${TOKEN_ENV}")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the result as one JSON document")
    if rows:
        out.add_argument("--ndjson", action="store_true", help="print one JSON object per row")


def add_refresh(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--refresh", action="store_true",
                        help="recompute 0.15's periodic statistics first (server-wide)")


async def refresh(queen: Any, args: argparse.Namespace) -> None:
    if args.refresh:
        await queen.admin.refresh_consumer_stats()


def client(args: argparse.Namespace) -> Any:
    from ... import Queen

    config: Dict[str, Any] = {"url": args.url, "retry_attempts": 1}
    token = os.environ.get(TOKEN_ENV)
    if token:
        config["bearer_token"] = token
    return Queen(config)


def execute(args: argparse.Namespace, body: Callable[[Any], Awaitable[int]]) -> int:
    """Run ``body(queen)`` on a fresh client; map errors to exit codes."""

    async def main() -> int:
        async with client(args) as queen:
            return await body(queen)

    try:
        return asyncio.run(main())
    except QueenValidationError as exc:
        print(f"queen {args.command}: {exc}", file=sys.stderr)
        return USAGE
    except (QueenError, Refused) as exc:
        print(f"queen {args.command}: {exc}", file=sys.stderr)
        return SERVER_SAID_NO
    except KeyboardInterrupt:
        return OK


def dumps(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _cell(row: Mapping[str, Any], cell: Cell) -> str:
    value = cell(row) if callable(cell) else row.get(cell)
    if value is None:
        return "-"
    if isinstance(value, (dict, list)):
        return dumps(value)
    return str(value)


def console(stderr: bool = False) -> Any:
    """A rich console: the terminal's width, or wide enough not to wrap in a pipe."""
    try:
        from rich.console import Console
    except ImportError:  # pragma: no cover - rich comes with queen-mq[cli]
        raise QueenValidationError(
            "tables need the 'rich' package: pip install 'queen-mq[cli]' (or use --json)"
        ) from None
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, width=None if stream.isatty() else 200, highlight=False)


def show(args: argparse.Namespace, doc: Any, rows: Sequence[Mapping[str, Any]],
         columns: Sequence[Column], title: Optional[str] = None) -> None:
    """``doc`` for ``--json``, ``rows`` for ``--ndjson``, else an aligned table."""
    if getattr(args, "json", False):
        print(dumps(doc))
        return
    if getattr(args, "ndjson", False):
        for row in rows:
            print(dumps(row))
        return
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    for header, _ in columns:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row, cell) for _, cell in columns))
    console().print(table)


def flatten(doc: Mapping[str, Any], prefix: str = "") -> List[Dict[str, Any]]:
    """A nested document as ``{key: 'a.b', value}`` rows (health, metrics)."""
    rows: List[Dict[str, Any]] = []
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows.extend(flatten(value, name + "."))
        else:
            rows.append({"key": name, "value": value})
    return rows


KEY_VALUE: Sequence[Column] = (("key", "key"), ("value", "value"))


def counts(key: str) -> Callable[[Mapping[str, Any]], Any]:
    """A column reading ``row['messages'][key]``."""
    return lambda row: (row.get("messages") or {}).get(key)


__all__ = ["KEY_VALUE", "OK", "SERVER_SAID_NO", "USAGE", "Refused", "add_common", "add_refresh", "client",
           "console", "counts", "dumps", "execute", "flatten", "refresh", "show"]
