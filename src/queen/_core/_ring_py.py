"""Consistent hashing, pure-Python twin of ``_ring.pyx``: FNV-1a and a virtual-node ring."""

from __future__ import annotations

from bisect import bisect_left
from typing import Collection, Iterable, Optional, Tuple

__all__ = ["fnv1a32", "mix32", "HashRing"]

_OFFSET = 0x811C9DC5
_PRIME = 0x01000193
MAX_VNODES = 100_000  # per node; far beyond any useful ring


def fnv1a32(s: str) -> int:
    """32-bit FNV-1a over the UTF-8 bytes of ``s``."""
    if not isinstance(s, str):
        raise TypeError(f"fnv1a32() needs a str, not {type(s).__name__}")
    h = _OFFSET
    for b in s.encode("utf-8"):
        h = ((h ^ b) * _PRIME) & 0xFFFFFFFF
    return h


def mix32(h: int) -> int:
    """MurmurHash3's 32-bit finaliser: spreads FNV-1a values of similar strings
    ("node#1", "node#2", ...) over the whole ring, which plain FNV-1a does not."""
    if not isinstance(h, int) or isinstance(h, bool):
        raise TypeError(f"mix32() needs an int, not {type(h).__name__}")
    if not 0 <= h <= 0xFFFFFFFF:
        raise ValueError(f"mix32() needs a 32-bit unsigned int, got {h}")
    return _mix(h)


def _mix(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


class HashRing:
    """Nodes placed on a 32-bit ring at ``vnodes`` points each, vnode ``i`` of node ``n``
    at ``mix32(fnv1a32(f"{n}#{i}"))``.

    ``lookup(key)`` walks clockwise from ``mix32(fnv1a32(key))`` to the first point whose
    node is not in ``skip``. Points that collide are ordered by node order, then index.
    """

    __slots__ = ("_nodes", "_vnodes", "_points", "_owners")

    def __init__(self, nodes: Iterable[str], vnodes: int = 128) -> None:
        if isinstance(nodes, str):
            raise TypeError("HashRing() needs an iterable of node names, not a str")
        if not isinstance(vnodes, int) or isinstance(vnodes, bool):
            raise TypeError(f"vnodes must be an int, not {type(vnodes).__name__}")
        if not 1 <= vnodes <= MAX_VNODES:
            raise ValueError(f"vnodes must be between 1 and {MAX_VNODES}, got {vnodes}")
        unique: list[str] = []
        for n in nodes:
            if not isinstance(n, str):
                raise TypeError(f"node names must be str, not {type(n).__name__}")
            if n not in unique:
                unique.append(n)
        placed = sorted(
            (_mix(fnv1a32(f"{n}#{i}")), k, i) for k, n in enumerate(unique) for i in range(vnodes)
        )
        self._nodes: Tuple[str, ...] = tuple(unique)
        self._vnodes = vnodes
        self._points = [p[0] for p in placed]
        self._owners = [unique[p[1]] for p in placed]

    @property
    def nodes(self) -> Tuple[str, ...]:
        return self._nodes

    @property
    def vnodes(self) -> int:
        return self._vnodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __repr__(self) -> str:
        return f"HashRing({list(self._nodes)!r}, vnodes={self._vnodes})"

    def lookup(self, key: str, skip: Collection[str] = ()) -> Optional[str]:
        """The node owning ``key``, skipping nodes in ``skip``; None if none is left."""
        h = _mix(fnv1a32(key))
        owners = self._owners
        n = len(owners)
        if n == 0:
            return None
        start = bisect_left(self._points, h)
        if not skip:
            return owners[start % n]
        if all(node in skip for node in self._nodes):
            return None
        for step in range(n):
            owner = owners[(start + step) % n]
            if owner not in skip:
                return owner
        return None
