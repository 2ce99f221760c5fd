"""Fixtures running every kernel test against both twins of ``queen._core``.

``core`` is parametrized over "compiled" and "pure". A missing compiled twin is
skipped, unless ``QUEEN_EXPECT_COMPILED`` is set (not ""/"0"): then it fails.
"""

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


@pytest.fixture(params=["compiled", "pure"])
def core(request: pytest.FixtureRequest) -> SimpleNamespace:
    """One twin of every kernel."""
    if request.param == "pure":
        return core_pkg.load(pure=True)
    return compiled_or_skip()


@pytest.fixture
def twins() -> Tuple[SimpleNamespace, SimpleNamespace]:
    """(compiled, pure), for agreement tests."""
    return compiled_or_skip(), core_pkg.load(pure=True)
