"""Argument checking and signal handling shared by the ``queen`` verbs.

Bad input ends the command before anything starts: exit status 2 and one line on stderr
(``queen demo: error: argument --partitions: must be an integer >= 1, got '0'``). Ctrl-C and
SIGTERM end it cleanly: what runs is cancelled, the embedded server child is stopped, one
line says so, and the exit status is 128 + the signal's number.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
from types import FrameType
from typing import Any, Callable, Coroutine, Iterable, NoReturn, Optional, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


class _Help(argparse.HelpFormatter):
    """Shows an option's default in ``--help`` when it has a meaningful one."""

    def _get_help_string(self, action: argparse.Action) -> Optional[str]:
        text = action.help or ""
        default = action.default
        if ("default" in text or default is None or default is False
                or default is argparse.SUPPRESS or not action.option_strings):
            return text
        return f"{text} (default: {default})"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage block), with defaults shown
    in ``--help``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Help)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def positive_seconds(text: str) -> float:
    """A finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def server_url(text: str) -> str:
    """An ``http://`` or ``https://`` URL with a host (and a valid port, if any)."""
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise argparse.ArgumentTypeError(
            f"must be a server URL like http://127.0.0.1:6632, got {text!r}")
    if parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"must have no query or fragment, got {text!r}")
    return text.rstrip("/")


def names_from(choices: Iterable[str], kind: str) -> Callable[[str], str]:
    """A comma-separated list, each name one of ``choices`` (``kind``: what they are)."""
    known = list(choices)

    def check(text: str) -> str:
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in known]
        if not names or unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {kind}(s): {', '.join(unknown) or repr(text)}; "
                f"pick from {', '.join(known)}")
        return ",".join(names)

    return check


_received: Optional[int] = None
_deferring = False  # True while run_loop builds its event loop
_pending = False    # a signal came while _deferring


def _on_signal(signum: int, frame: Optional[FrameType]) -> None:
    # Take the path Ctrl-C takes (asyncio cancels the running task, finally blocks run,
    # the server child is stopped), remembering which signal it was.
    global _received, _pending
    if signum != signal.SIGINT:
        _received = signum
    if _deferring:
        _pending = True  # raised by run_loop once the loop is whole
        return
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    signal.raise_signal(signal.SIGINT)


def run_loop(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``make()`` to completion on a new event loop (uvloop when installed).

    The loop is built while Ctrl-C and SIGTERM are held back: a signal landing inside
    an event loop's constructor leaves a half-built loop whose finaliser prints a
    traceback. A signal that came meanwhile ends the command once the loop is whole.
    """
    global _deferring, _pending
    if sys.version_info < (3, 11):  # no asyncio.Runner: build and run in one step
        from queen.aio import run as aio_run

        return aio_run(make())
    import asyncio

    try:
        import uvloop

        factory: Optional[Callable[[], asyncio.AbstractEventLoop]] = uvloop.new_event_loop
    except ImportError:
        factory = None
    previous = signal.getsignal(signal.SIGINT)
    _deferring, _pending = True, False
    signal.signal(signal.SIGINT, _on_signal)
    try:
        runner = asyncio.Runner(loop_factory=factory)
        runner.get_loop()
    finally:
        _deferring = False
        signal.signal(signal.SIGINT, previous)
    with runner:
        if _pending:
            raise KeyboardInterrupt
        return runner.run(make())


def install_signal_handlers() -> None:
    """SIGTERM (and SIGHUP) end the command like Ctrl-C: cleanup runs, children stop."""
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            signal.signal(sig, _on_signal)


def interrupted_exit_code() -> int:
    """128 + the signal that ended the command (SIGINT when it was Ctrl-C)."""
    return 128 + (_received or signal.SIGINT)


def stop_command(prog: str) -> int:
    """Say how the command ended; the exit status to return."""
    name = signal.Signals(_received).name if _received else "Ctrl-C"
    print(f"{prog}: interrupted ({name}); stopped cleanly", file=sys.stderr, flush=True)
    return interrupted_exit_code()


def check_env_url(prog: str, given: Optional[str]) -> bool:
    """``$QUEEN_URL`` (used when ``--url`` is not given) must be a server URL too; says
    why on stderr (one line) when it is not."""
    import os

    env = os.environ.get("QUEEN_URL")
    if given or not env:
        return True
    try:
        server_url(env)
    except argparse.ArgumentTypeError as exc:
        print(f"{prog}: error: QUEEN_URL {exc}", file=sys.stderr)
        return False
    return True
