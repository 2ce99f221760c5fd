"""queen health: is the server up and connected to its database?"""

from __future__ import annotations

import argparse
from typing import Any

from .common import KEY_VALUE, OK, SERVER_SAID_NO, add_common, execute, flatten, show

HELP = "check the server's health (exit code 1 when it is not healthy)"


def build_parser(parser: argparse.ArgumentParser) -> None:
    add_common(parser, rows=False)


def run(args: argparse.Namespace) -> int:
    async def body(queen: Any) -> int:
        doc = await queen.admin.health()
        show(args, doc, flatten(doc), KEY_VALUE)
        healthy = doc.get("status") == "healthy" and doc.get("database") == "connected"
        return OK if healthy else SERVER_SAID_NO

    return execute(args, body)
