"""Loading the twins of ``queen._core`` for tests; a missing compiled twin is skipped,
unless ``QUEEN_EXPECT_COMPILED`` is set (not ""/"0"): then it is a failure."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Optional, Tuple

import pytest

import queen._core as core_pkg


def _expect_compiled() -> bool:
    return os.environ.get("QUEEN_EXPECT_COMPILED", "") not in ("", "0")


def _compiled() -> Tuple[Optional[SimpleNamespace], str]:
    try:
        return core_pkg.load(pure=False), ""
    except ImportError as e:
        return None, str(e)


def compiled_or_skip() -> SimpleNamespace:
    ns, why = _compiled()
    if ns is None:
        if _expect_compiled():
            pytest.fail(f"QUEEN_EXPECT_COMPILED is set but the compiled core is missing: {why}")
        pytest.skip(f"compiled core not built: {why}")
    return ns
