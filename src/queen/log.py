"""Structured debug logging, switched on by ``QUEEN_CLIENT_LOG=true``.

One line per event on stderr, in the format of the other Queen clients::

    [2025-10-28T10:30:45.123Z] [INFO] [Queen.constructor] {"status":"initialized","urls":1}

The environment is read once at import; :func:`refresh` re-reads it (for tests).
When disabled every call returns at once; hot paths may also guard with
``if log.enabled():`` to skip building the detail dict.
Values under secret-looking keys (authorization, token, password, ...) are redacted.
"""

from __future__ import annotations

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
_USERINFO = re.compile(r"(://)[^/@\s]+@")

_enabled = False
_stream: TextIO | None = None  # None = sys.stderr at write time (pytest's capsys swaps it)


def _env_on() -> bool:
    return os.environ.get(ENV_VAR, "").strip().lower() in ("true", "1", "yes", "on")


def refresh() -> bool:
    """Re-read ``QUEEN_CLIENT_LOG``; returns whether logging is now on."""
    global _enabled
    _enabled = _env_on()
    return _enabled


def enabled() -> bool:
    return _enabled


def set_stream(stream: TextIO | None) -> None:
    """Send log lines to ``stream`` instead of stderr (None restores stderr)."""
    global _stream
    _stream = stream


def info(operation: str, detail: Any = None) -> None:
    if _enabled:
        _emit("INFO", operation, detail)


def warn(operation: str, detail: Any = None) -> None:
    if _enabled:
        _emit("WARN", operation, detail)


def error(operation: str, detail: Any = None) -> None:
    if _enabled:
        _emit("ERROR", operation, detail)


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


def format_line(level: str, operation: str, detail: Any, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    text = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    if detail is None:
        body = "{}"
    elif isinstance(detail, str):
        body = redact(detail)
    else:
        body = orjson.dumps(
            redact(detail), default=str, option=orjson.OPT_NON_STR_KEYS
        ).decode()
    return f"[{text}] [{level}] [{operation}] {body}"


def _emit(level: str, operation: str, detail: Any) -> None:
    try:
        line = format_line(level, operation, detail)
        stream = _stream or sys.stderr
        stream.write(line + "\n")
    except Exception:  # logging must never break the client
        pass


refresh()

__all__ = ["enabled", "error", "format_line", "info", "redact", "refresh", "set_stream", "warn"]
