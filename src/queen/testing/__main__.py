"""``python -m queen.testing --host 127.0.0.1 --port 6632 [--compat 0.15]``"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import List, Optional

from .broker import Broker


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m queen.testing",
                                     description="Embedded Queen-compatible server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6632)
    parser.add_argument("--compat", choices=("0.7", "0.15"), default="0.7",
                        help="server generation to imitate (default 0.7)")
    args = parser.parse_args(argv)

    from aiohttp import web

    from .app import make_app

    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    app = make_app(Broker(args.compat), args.compat)
    print(f"queen embedded server ({args.compat}) on http://{args.host}:{args.port}",
          file=sys.stderr, flush=True)
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None,
                handler_cancellation=True, shutdown_timeout=0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
