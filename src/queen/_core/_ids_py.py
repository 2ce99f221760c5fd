"""Ids, pure-Python twin of ``_ids.pyx``: UUIDv7 generation and UUID text checks."""

from __future__ import annotations

import os
import threading
from time import time_ns
from typing import Any

__all__ = ["uuid7", "is_uuid"]

# RFC 9562 section 6.2 method 1: a 42-bit counter in rand_a + the top of rand_b, seeded
# randomly (top bit clear) on every new millisecond, so ids stay ordered within a process.
_COUNTER_MAX = (1 << 42) - 1
_RAND_CHUNK = 4096

_lock = threading.Lock()
_last_ms = 0
_counter = 0
_pool = b""
_pos = 0


def _random(n: int) -> int:
    """``n`` random bytes as an int, served from a buffered ``os.urandom`` chunk."""
    global _pool, _pos
    if _pos + n > len(_pool):
        _pool = os.urandom(_RAND_CHUNK)
        _pos = 0
    start = _pos
    _pos = start + n
    return int.from_bytes(_pool[start:_pos], "big")


def _after_fork() -> None:
    # A child must not replay the parent's buffered randomness (duplicate ids).
    global _pool, _pos, _last_ms, _counter
    _pool = b""
    _pos = 0
    _last_ms = 0
    _counter = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def uuid7() -> str:
    """A fresh RFC 9562 UUIDv7 as canonical lowercase text, monotonic within the process."""
    global _last_ms, _counter
    with _lock:
        ms = time_ns() // 1_000_000
        if ms > _last_ms:
            _last_ms = ms
            _counter = _random(6) & 0x1FFFFFFFFFF
        else:
            # Same millisecond or the clock went back: count on from the last id.
            _counter += 1
            if _counter > _COUNTER_MAX:
                _last_ms += 1
                _counter = _random(6) & 0x1FFFFFFFFFF
        ms = _last_ms
        counter = _counter
        tail = _random(4)
    value = (
        ((ms & 0xFFFFFFFFFFFF) << 80)
        | (0x7 << 76)
        | ((counter >> 30) << 64)
        | (0x2 << 62)
        | ((counter & 0x3FFFFFFF) << 32)
        | tail
    )
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_HEX = frozenset("0123456789abcdefABCDEF")


def is_uuid(s: Any) -> bool:
    """True for a canonical 8-4-4-4-12 hex UUID string (any case)."""
    if not isinstance(s, str) or len(s) != 36:
        return False
    for i, ch in enumerate(s):
        if i in (8, 13, 18, 23):
            if ch != "-":
                return False
        elif ch not in _HEX:
            return False
    return True
