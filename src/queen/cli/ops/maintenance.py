"""queen maintenance on|off|status [--pop | --all]: the server's maintenance switches.

Push maintenance makes pushes answer ``buffered`` (stored when switched off again);
pop maintenance (0.15) makes every pop answer empty. Both are server-wide."""

from __future__ import annotations

import argparse
from typing import Any, Dict, List

from .common import OK, add_common, execute, show

HELP = "switch push (and/or pop) maintenance mode on or off, or show it"


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("state", choices=("on", "off", "status"))
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--pop", action="store_true", help="pop maintenance only (0.15)")
    which.add_argument("--all", action="store_true", help="push and pop maintenance (0.15)")
    add_common(parser)


def run(args: argparse.Namespace) -> int:
    kinds = ["pop"] if args.pop else (["push", "pop"] if args.all else ["push"])

    async def body(queen: Any) -> int:
        a = queen.admin
        rows: List[Dict[str, Any]] = []
        for kind in kinds:
            if args.state == "status":
                doc = await (a.get_pop_maintenance_mode() if kind == "pop"
                             else a.get_maintenance_mode())
            else:
                on = args.state == "on"
                doc = await (a.set_pop_maintenance_mode(on) if kind == "pop"
                             else a.set_maintenance_mode(on))
            key = "popMaintenanceMode" if kind == "pop" else "maintenanceMode"
            rows.append({"mode": kind, "on": doc.get(key),
                         "buffered": doc.get("bufferedMessages"),
                         "message": doc.get("message"), "server": doc})
        show(args, {r["mode"]: r["server"] for r in rows}, rows, [
            ("maintenance", "mode"), ("on", "on"), ("buffered messages", "buffered"),
            ("message", "message")])
        return OK

    return execute(args, body)
