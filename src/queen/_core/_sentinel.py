"""The ``MISSING`` sentinel, shared by both twins so ``x is MISSING`` works whichever is active."""

from __future__ import annotations

from typing import Final


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
