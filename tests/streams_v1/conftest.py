"""Fixtures for the streams SDK tests: the plugin's ``queen`` client (embedded 0.7
and 0.15, or ``QUEEN_URL``), queues made per test and deleted afterwards, and a
``needs015`` guard for tests of a feature 0.7 lacks."""

from __future__ import annotations

from typing import Any

import pytest

from integration.conftest import make_queue
from queen import Queen

__all__ = ["make_queue"]


@pytest.fixture
async def generation(queen: Queen) -> str:
    return await queen._host.generation()


@pytest.fixture
def needs015(generation: str) -> None:
    if generation != "0.15":
        pytest.skip("the streams SDK needs Queen 0.15 (0.7 raises QueenServerFeatureError)")


@pytest.fixture(params=["compiled", "pure"])
def kernel(request: pytest.FixtureRequest) -> Any:
    """One twin of the ``_core`` kernels (a missing compiled one fails, unless the
    run is the pure one: QUEEN_NO_EXTENSIONS=1)."""
    import queen._core as core_pkg

    if request.param == "pure":
        return core_pkg.load(pure=True)
    from core.core_twins import compiled_or_skip  # tests/core (a namespace package)

    return compiled_or_skip()
