"""``python -m queen.testing --host 127.0.0.1 --port 6632 [--compat 0.15]``"""

from __future__ import annotations

import argparse
import asyncio
import signal
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
    parser.add_argument("--push-race-millis", type=int, default=0, metavar="MS",
                        help="0.7 only: reproduce real 0.7.5's lost messages when pushes to "
                             "one partition overlap (a push commits MS ms late)")
    parser.add_argument("--lookup-lag-millis", type=int, default=0, metavar="MS",
                        help="0.15 only: like 0.15.1, a pushed partition reaches the queue "
                             "route's pops only MS ms after the push")
    args = parser.parse_args(argv)

    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    asyncio.run(_serve(args.host, args.port, args.compat, args.push_race_millis / 1000.0,
                       args.lookup_lag_millis / 1000.0))
    return 0


async def _serve(host: str, port: int, compat: str, push_race: float = 0.0,
                 lookup_lag: float = 0.0) -> None:
    """Serve until SIGINT/SIGTERM."""
    from . import _start

    running, _, _ = await _start(host, port, Broker(compat, push_race=push_race,
                                                       lookup_lag=lookup_lag))
    print(f"queen embedded server ({compat}) on http://{host}:{port}",
          file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            pass
    try:
        await stop.wait()
    finally:
        await running.cleanup()


if __name__ == "__main__":
    sys.exit(main())
