"""Event-loop helpers. The library never installs uvloop by itself: call these
from your application's entry point if you want it."""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Coroutine, Optional, TypeVar

T = TypeVar("T")


def uvloop_available() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def install_uvloop() -> bool:
    """Make uvloop the event loop policy for this process, if it is installed.

    Returns True when uvloop is now in use, False when it is not installed.
    """
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def run(
    coro: Coroutine[Any, Any, T], *, use_uvloop: bool = True, debug: Optional[bool] = None
) -> T:
    """Run ``coro`` to completion like :func:`asyncio.run`, on uvloop when it is
    installed (and ``use_uvloop``), without changing the global loop policy."""
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            if sys.version_info >= (3, 11):
                with asyncio.Runner(loop_factory=uvloop.new_event_loop, debug=debug) as runner:
                    return runner.run(coro)
            return uvloop.run(coro, debug=debug)  # type: ignore[no-any-return]
    return asyncio.run(coro, debug=debug)


__all__ = ["install_uvloop", "run", "uvloop_available"]
