"""Rate-limiting gates for ``Stream.gate``: a token bucket and a two-bucket sliding
window. Their state lives in ``ctx.state`` (stored per key on the server); a denied
message stops the partition's batch, which comes back after the source lease
expires, so a partition's rate is bounded by about ``min(refill, capacity / leaseTime)``.
"""

from __future__ import annotations

import math
from typing import Any, Callable


def _finite_positive(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def _cost(cost_fn: Callable[[Any], Any], value: Any) -> float:
    c = cost_fn(value)
    if not isinstance(c, (int, float)) or isinstance(c, bool) or not math.isfinite(c) or c < 0:
        return 1
    return c


def _one(_value: Any) -> float:
    return 1


def token_bucket_gate(capacity: float, refill_per_sec: float,
                      cost_fn: Callable[[Any], Any] = _one,
                      allow_zero_cost: bool = True) -> Callable[[Any, Any], bool]:
    """A gate allowing ``capacity`` tokens at once, refilled at ``refill_per_sec``.
    ``cost_fn(value)`` prices a message (1 by default; non-numbers count as 1)."""
    if not _finite_positive(capacity):
        raise ValueError("token_bucket_gate: capacity must be a positive number")
    if not _finite_positive(refill_per_sec):
        raise ValueError("token_bucket_gate: refill_per_sec must be a positive number")
    if not callable(cost_fn):
        raise TypeError("token_bucket_gate: cost_fn must be callable")

    def token_bucket(value: Any, ctx: Any) -> bool:
        now = ctx.stream_time_ms
        st = ctx.state
        if not isinstance(st.get("tokens"), (int, float)):
            st["tokens"] = capacity
        if not isinstance(st.get("lastRefillAt"), (int, float)):
            st["lastRefillAt"] = now
        elapsed = max(0.0, (now - st["lastRefillAt"]) / 1000.0)
        st["tokens"] = min(capacity, st["tokens"] + elapsed * refill_per_sec)
        st["lastRefillAt"] = now
        cost = _cost(cost_fn, value)
        if cost == 0:
            return allow_zero_cost
        if st["tokens"] >= cost:
            st["tokens"] -= cost
            st["allowedTotal"] = st.get("allowedTotal", 0) + 1
            st["consumedTotal"] = st.get("consumedTotal", 0) + cost
            return True
        return False

    return token_bucket


def sliding_window_gate(limit: float, window_sec: float,
                        cost_fn: Callable[[Any], Any] = _one) -> Callable[[Any, Any], bool]:
    """A gate allowing about ``limit`` cost per ``window_sec`` (current bucket plus the
    previous one weighted by how much of it still overlaps the window)."""
    if not _finite_positive(limit):
        raise ValueError("sliding_window_gate: limit must be a positive number")
    if not _finite_positive(window_sec):
        raise ValueError("sliding_window_gate: window_sec must be a positive number")
    window_ms = window_sec * 1000

    def sliding_window(value: Any, ctx: Any) -> bool:
        now = ctx.stream_time_ms
        st = ctx.state
        index = math.floor(now / window_ms)
        elapsed = (now % window_ms) / window_ms
        if st.get("window") != index:
            st["previousCount"] = st.get("currentCount", 0) if st.get("window") == index - 1 else 0
            st["currentCount"] = 0
            st["window"] = index
        estimate = (st.get("previousCount", 0) or 0) * (1 - elapsed) + (st.get("currentCount", 0) or 0)
        cost = _cost(cost_fn, value)
        if estimate + cost <= limit:
            st["currentCount"] = st.get("currentCount", 0) + cost
            return True
        return False

    return sliding_window


__all__ = ["token_bucket_gate", "sliding_window_gate"]
