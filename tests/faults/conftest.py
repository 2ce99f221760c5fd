"""Fixtures of the fault suite: a fault proxy in front of the test server, and a
cluster of embedded fronts over one broker (both personalities)."""

from __future__ import annotations

import os
from typing import AsyncIterator

import pytest
from fault_proxy import FaultProxy

from queen.testing.cluster import Cluster, serve_cluster


def _compats() -> list[str]:
    raw = os.environ.get("QUEEN_TEST_COMPAT", "0.7,0.15")
    return [c.strip() for c in raw.split(",") if c.strip()]


@pytest.fixture
async def proxy(queen_url: str) -> AsyncIterator[FaultProxy]:
    """A fault proxy in front of the test server (embedded or QUEEN_URL)."""
    async with FaultProxy(queen_url) as p:
        yield p


@pytest.fixture(params=_compats())
async def cluster(request: pytest.FixtureRequest) -> AsyncIterator[Cluster]:
    """Three embedded fronts over one broker, in the test's loop."""
    if os.environ.get("QUEEN_URL"):
        pytest.skip("the cluster is embedded: it needs no QUEEN_URL")
    async with serve_cluster(3, compat=request.param) as c:
        yield c
