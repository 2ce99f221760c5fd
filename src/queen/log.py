"""The one logging path of queen-mq: structured events, to two places.

* ``QUEEN_CLIENT_LOG=true``: one line per event on stderr, in the format of the
  other Queen clients::

    [2025-10-28T10:30:45.123Z] [INFO] [Queen.constructor] {"status":"initialized","urls":1}

* the standard ``logging`` module, always: logger ``queen.<area>`` (``queen.client``,
  ``queen.http``, ``queen.builders``, ``queen.buffer``, ``queen.consumer``,
  ``queen.stream``), levels INFO/WARNING/ERROR, message ``"<event> <detail json>"``,
  and the event name and detail dict as the record's ``queen_event`` /
  ``queen_detail`` attributes. An app routes them like any library's records.

Event names are ``Class.action`` of our own classes (``Transport.retry``,
``Consumer.worker``, ...). The environment is read at import and by
:func:`refresh` (``Queen()`` calls it). Events on per-message paths are guarded
with ``if log.enabled():``, which is true when the stderr lines are on or when
the ``queen`` logger took INFO records at the last refresh; every other event is
offered to ``logging`` as it happens. When stderr lines are on and ``logging``
has no handler at all, records are not also printed by logging's last resort
(one failure is reported once). Values under secret-looking keys (authorization,
token, password, ...) are redacted in both places.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

import orjson

ENV_VAR = "QUEEN_CLIENT_LOG"
REDACTED = "[REDACTED]"

_SECRET_KEY = re.compile(
    r"authori[sz]ation|token|passw(or)?d|secret|api[-_]?key|cookie|credential", re.IGNORECASE
)
_BEARER = re.compile(r"\b(bearer|basic)\s+\S+", re.IGNORECASE)
_USERINFO = re.compile(r"(://)[^/\s]*@")  # up to the last @ of the authority

_enabled = False      # stderr lines
_any = False          # stderr lines, or INFO records wanted by the queen logger
_stream: TextIO | None = None  # None = sys.stderr at write time (pytest's capsys swaps it)

ROOT = "queen"
# the class part of an event name -> the area logger it goes to
AREAS = {
    "Queen": "client",
    "Transport": "http",
    "PushBuilder": "builders",
    "QueueBuilder": "builders",
    "TransactionBuilder": "builders",
    "BufferManager": "buffer",
    "Consumer": "consumer",
    "StreamConsumer": "stream",
}
_LEVELS = {"INFO": logging.INFO, "WARN": logging.WARNING, "ERROR": logging.ERROR}
_loggers: dict[str, logging.Logger] = {}  # event name -> its area logger


def _env_on() -> bool:
    return os.environ.get(ENV_VAR, "").strip().lower() in ("true", "1", "yes", "on")


def refresh() -> bool:
    """Re-read ``QUEEN_CLIENT_LOG`` and whether the ``queen`` logger takes INFO
    records; returns whether the stderr lines are on."""
    global _enabled, _any
    _enabled = _env_on()
    _any = _enabled or logging.getLogger(ROOT).isEnabledFor(logging.INFO)
    return _enabled


def enabled() -> bool:
    """Whether an INFO event would go anywhere: hot paths skip building it if not."""
    return _any


def logger_for(operation: str) -> logging.Logger:
    """The stdlib logger an event goes to (``queen.<area>``)."""
    found = _loggers.get(operation)
    if found is None:
        area = AREAS.get(operation.split(".", 1)[0])
        found = logging.getLogger(f"{ROOT}.{area}" if area else ROOT)
        if len(_loggers) < 1024:
            _loggers[operation] = found
    return found


def set_stream(stream: TextIO | None) -> None:
    """Send log lines to ``stream`` instead of stderr (None restores stderr)."""
    global _stream
    _stream = stream


def info(operation: str, detail: Any = None) -> None:
    """Something worth knowing when looking closely (lifecycle, requests)."""
    _emit("INFO", operation, detail, None)


def warn(operation: str, detail: Any = None, exc: BaseException | None = None) -> None:
    """Something failed and the client handles it (a retry, a rejected ack)."""
    _emit("WARN", operation, detail, exc)


def error(operation: str, detail: Any = None, exc: BaseException | None = None) -> None:
    """Something failed that nobody else reports (``exc`` gives logging its traceback)."""
    _emit("ERROR", operation, detail, exc)


def redact(value: Any) -> Any:
    """A copy of ``value`` with secret-looking keys and bearer strings masked."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if isinstance(k, str) and _SECRET_KEY.search(k) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str):
        value = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", value)
        return _USERINFO.sub(rf"\1{REDACTED}@", value) if "@" in value else value
    return value


def _body(detail: Any) -> str:
    if detail is None:
        return "{}"
    if isinstance(detail, str):
        return str(redact(detail))
    return orjson.dumps(redact(detail), default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def format_line(level: str, operation: str, detail: Any, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    return f"[{text}] [{level}] [{operation}] {_body(detail)}"


def _emit(level: str, operation: str, detail: Any, exc: BaseException | None) -> None:
    try:
        if _enabled:
            (_stream or sys.stderr).write(format_line(level, operation, detail) + "\n")
        std = logger_for(operation)
        number = _LEVELS[level]
        if not std.isEnabledFor(number) or (_enabled and not std.hasHandlers()):
            return  # nobody listens, or it would be the same line twice on stderr
        std.log(number, "%s %s", operation, _body(detail), exc_info=exc,
                extra={"queen_event": operation, "queen_detail": redact(detail)})
    except Exception:  # logging must never break the client
        pass


refresh()

__all__ = ["AREAS", "ROOT", "enabled", "error", "format_line", "info", "logger_for", "redact",
           "refresh", "set_stream", "warn"]
