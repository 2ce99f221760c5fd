"""Small helpers shared by the builders."""

from __future__ import annotations

import inspect
from datetime import datetime, timezone
from typing import Any, Callable

from ..errors import QueenValidationError


async def call_back(cb: Callable[..., Any], *args: Any) -> None:
    """Call a user callback that may be sync or async."""
    result = cb(*args)
    if inspect.isawaitable(result):
        await result


def positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise QueenValidationError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def callable_or_fail(name: str, cb: Any) -> Callable[..., Any]:
    if not callable(cb):
        raise QueenValidationError(f"{name} must be callable, got {type(cb).__name__}")
    return cb  # type: ignore[no-any-return]


# PostgreSQL's special timestamp inputs, which both server generations accept.
PG_TIME_WORDS = frozenset({"now", "today", "yesterday", "tomorrow", "epoch", "infinity",
                           "-infinity"})


def checked_timestamp(value: Any, name: str) -> str:
    """``timestamp_text`` that also refuses text no server can read: 0.15.1 ignores a
    bad subscription time silently when no row is touched (no error comes back), so
    it is caught here, on both generations alike."""
    from ..wire import parse_time

    text = timestamp_text(value, name)
    if text.strip().lower() in PG_TIME_WORDS or parse_time(text) is not None:
        return text
    raise QueenValidationError(
        f"{name} {text!r} is not a time: use an ISO-8601 timestamp such as "
        "'2025-01-01T00:00:00Z', a datetime, or 'now'"
    )


def timestamp_text(value: Any, name: str) -> str:
    """A str is sent as given; a datetime becomes ISO-8601 UTC with a Z."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        text = value.astimezone(timezone.utc).isoformat(timespec="milliseconds")
        return str(text).replace("+00:00", "Z")
    if isinstance(value, str) and value:
        return str(value)
    raise QueenValidationError(f"{name} must be an ISO-8601 str or a datetime, got {value!r}")
