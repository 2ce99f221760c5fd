"""Window operators: tumbling, sliding, cron (fixed buckets) and session (per-key
activity). Each knows its state-key tag (part of every stored row, reproduced
exactly as upstream forms it), its grace, idle-flush period and clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Dict, Optional, Union

from .._core import iso_ms

MS_PER_SEC = 1000
_EVERY_MS = {"second": 1000, "minute": 60_000, "hour": 3_600_000, "day": 86_400_000,
             "week": 7 * 86_400_000}
# 1970-01-01 was a Thursday: weeks start on Monday 00:00 UTC.
_WEEK_OFFSET_MS = 4 * 86_400_000

_CAMEL = {"gracePeriod": "grace_period", "idleFlushMs": "idle_flush_ms",
          "eventTime": "event_time", "allowedLateness": "allowed_lateness", "onLate": "on_late"}


def snake_options(opts: Dict[str, Any]) -> Dict[str, Any]:
    """Window keyword options in snake_case (camelCase spellings translated)."""
    return {_CAMEL.get(k, k): v for k, v in opts.items()}


def iso_to_ms(text: Any) -> Optional[int]:
    """Epoch ms of an ISO-8601 string (None when unreadable)."""
    return iso_ms(text)  # type: ignore[no-any-return]


def _positive(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0


def normalise_late(on_late: Any) -> str:
    if on_late is None or on_late == "drop":
        return "drop"
    if on_late == "include":
        return "include"
    raise ValueError(f"on_late must be 'drop' or 'include' (got {on_late!r})")


def event_time_ms(raw: Any) -> Optional[int]:
    """An event-time extractor's result -> epoch ms: datetime, number (ms) or ISO
    string; None when it gives no usable time."""
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return int(raw.timestamp() * 1000)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return int(raw)
    if isinstance(raw, str):
        return iso_to_ms(raw)
    return None


class WindowOperator:
    """What every window shares: grace, idle flush, event time and lateness."""

    kind = "window"
    window_kind = ""
    name = "window"
    size_ms = 0
    slide_ms = 0
    offset_ms = 0
    operator_tag = ""

    def _common(self, kind: str, head: Dict[str, Any], grace_period: Any, idle_flush_ms: Any,
                event_time: Optional[Callable[[Any], Any]], allowed_lateness: Any,
                on_late: Any) -> None:
        grace_period = 0 if grace_period is None else grace_period
        allowed_lateness = 0 if allowed_lateness is None else allowed_lateness
        self.grace_period_ms = max(0, int(grace_period * MS_PER_SEC))
        self.idle_flush_ms = max(0, int(idle_flush_ms))
        self.event_time_fn = event_time if callable(event_time) else None
        self.allowed_lateness_ms = max(0, int(allowed_lateness * MS_PER_SEC))
        self.on_late_policy = normalise_late(on_late)
        self.config: Dict[str, Any] = {
            "kind": kind, **head, "gracePeriod": grace_period, "idleFlushMs": self.idle_flush_ms,
            "eventTime": bool(self.event_time_fn), "allowedLateness": allowed_lateness,
            "onLate": self.on_late_policy}

    @property
    def drop_late(self) -> bool:
        return self.on_late_policy == "drop"

    def no_time(self) -> RuntimeError:
        return RuntimeError(f"{self.name} could not determine timestamp for message")


class WindowTumblingOperator(WindowOperator):
    """Fixed, non-overlapping windows of ``seconds``."""

    window_kind = "tumbling"
    name = "window_tumbling"

    def __init__(self, seconds: Any = None, grace_period: Any = 0, idle_flush_ms: Any = 5000,
                 event_time: Optional[Callable[[Any], Any]] = None, allowed_lateness: Any = 0,
                 on_late: Any = None) -> None:
        if not _positive(seconds):
            raise ValueError("window_tumbling requires seconds=<positive number>")
        self.size_ms = self.slide_ms = int(seconds * MS_PER_SEC)
        self.operator_tag = f"tumb:{seconds}"
        self._common("window-tumbling", {"seconds": seconds}, grace_period, idle_flush_ms,
                     event_time, allowed_lateness, on_late)


class WindowSlidingOperator(WindowOperator):
    """Windows of ``size`` seconds starting every ``slide`` seconds."""

    window_kind = "sliding"
    name = "window_sliding"

    def __init__(self, size: Any = None, slide: Any = None, grace_period: Any = 0,
                 idle_flush_ms: Any = 5000, event_time: Optional[Callable[[Any], Any]] = None,
                 allowed_lateness: Any = 0, on_late: Any = None) -> None:
        if not _positive(size):
            raise ValueError("window_sliding requires size=<positive number>")
        if not _positive(slide):
            raise ValueError("window_sliding requires slide=<positive number>")
        if size % slide != 0:
            raise ValueError(
                f"window_sliding: size ({size}) must be an integer multiple of slide ({slide}) "
                "to keep the per-event window count finite")
        self.size_ms = int(size * MS_PER_SEC)
        self.slide_ms = int(slide * MS_PER_SEC)
        self.operator_tag = f"slide:{size}:{slide}"
        self._common("window-sliding", {"size": size, "slide": slide}, grace_period,
                     idle_flush_ms, event_time, allowed_lateness, on_late)


class WindowCronOperator(WindowOperator):
    """Windows aligned to UTC second/minute/hour/day/week (Monday) boundaries."""

    window_kind = "cron"
    name = "window_cron"

    def __init__(self, every: Any = None, grace_period: Any = 0, idle_flush_ms: Any = 30_000,
                 event_time: Optional[Callable[[Any], Any]] = None, allowed_lateness: Any = 0,
                 on_late: Any = None) -> None:
        if not isinstance(every, str):
            raise ValueError("window_cron requires every='second'|'minute'|'hour'|'day'|'week'")
        if every not in _EVERY_MS:
            raise ValueError(
                f"window_cron: every must be one of second|minute|hour|day|week (got {every!r})")
        self.every = every
        self.size_ms = self.slide_ms = _EVERY_MS[every]
        self.offset_ms = _WEEK_OFFSET_MS if every == "week" else 0
        self.operator_tag = f"cron:{every}"
        self._common("window-cron", {"every": every}, grace_period, idle_flush_ms, event_time,
                     allowed_lateness, on_late)


class WindowSessionOperator(WindowOperator):
    """Per-key sessions closed after ``gap`` seconds without events."""

    window_kind = "session"
    name = "window_session"

    def __init__(self, gap: Any = None, grace_period: Any = 0, idle_flush_ms: Any = 1000,
                 event_time: Optional[Callable[[Any], Any]] = None, allowed_lateness: Any = 0,
                 on_late: Any = None) -> None:
        if not _positive(gap):
            raise ValueError("window_session requires gap=<positive number>")
        self.gap_ms = int(gap * MS_PER_SEC)
        self.operator_tag = f"sess:{gap}"
        self._common("window-session", {"gap": gap}, grace_period, idle_flush_ms, event_time,
                     allowed_lateness, on_late)

    def open_session_state_key(self, user_key: str) -> str:
        return f"{self.operator_tag}\x1fopen\x1f{user_key}"

    @property
    def open_prefix(self) -> str:
        return f"{self.operator_tag}\x1fopen\x1f"


AnyWindow = Union[WindowTumblingOperator, WindowSlidingOperator, WindowCronOperator,
                  WindowSessionOperator]

__all__ = ["WindowOperator", "WindowTumblingOperator", "WindowSlidingOperator",
           "WindowCronOperator", "WindowSessionOperator", "snake_options", "iso_to_ms",
           "event_time_ms"]
