"""Fixtures for the streams SDK tests: the plugin's ``queen`` client (embedded 0.7
and 0.15, or ``QUEEN_URL``), queues made per test and deleted afterwards, and a
``needs015`` guard for tests of a feature 0.7 lacks."""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable, List

import pytest

from queen import Queen, QueenError


@pytest.fixture
async def generation(queen: Queen) -> str:
    return await queen._host.generation()


@pytest.fixture
def needs015(generation: str) -> None:
    if generation != "0.15":
        pytest.skip("the streams SDK needs Queen 0.15 (0.7 raises QueenServerFeatureError)")


@pytest.fixture
async def make_queue(queen: Queen, unique_name: Callable[[str], str]
                     ) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    made: List[str] = []

    async def make(prefix: str = "sq", **options: Any) -> str:
        name = unique_name(prefix)
        await queen.queue(name).config({"leaseTime": 30, **options}).create()
        made.append(name)
        return name

    yield make
    for name in made:
        try:
            await queen.queue(name).delete()
        except QueenError:
            pass


@pytest.fixture(params=["compiled", "pure"])
def kernel(request: pytest.FixtureRequest) -> Any:
    """One twin of the ``_core`` kernels (the compiled one skipped when not built,
    unless QUEEN_EXPECT_COMPILED is set)."""
    import queen._core as core_pkg

    if request.param == "pure":
        return core_pkg.load(pure=True)
    from core.core_twins import compiled_or_skip  # tests/core (a namespace package)

    return compiled_or_skip()
