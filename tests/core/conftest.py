"""Fixtures running every kernel test against both twins of ``queen._core``.

``core`` is parametrized over "compiled" and "pure" (see core_twins.py for skips).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Tuple

import pytest
from core_twins import compiled_or_skip

import queen._core as core_pkg


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
