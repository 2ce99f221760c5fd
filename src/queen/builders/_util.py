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
