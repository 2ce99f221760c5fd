"""The HTTP/1.1 backends: transport tests that use the ``http1_backend`` fixture run
once per backend."""

from typing import Iterator

import pytest

from queen.http import transport as transport_module

BACKENDS = ["httptools", "aiohttp"] if transport_module.H1Backend is not None else ["aiohttp"]


@pytest.fixture(params=BACKENDS)
def http1_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv(transport_module.BACKEND_ENV, request.param)
    assert transport_module.http1_backend() == request.param
    yield request.param
