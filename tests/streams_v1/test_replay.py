"""Golden replay of ``0.15.1/streams_v1.json`` (the /streams/v1 protocol driven by
hand against real Queen 0.15.1) against the embedded server's 0.15 personality, and
the 0.7 personality answering those routes with the 404 page as 0.7.5 does.

Every step is compared (status, keys, values except ids/timestamps), with these
relaxations: none needed beyond the replayer's own (ids bound by placeholder,
``<ts>`` any timestamp, PostgreSQL errors by their first line).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from queen.testing import FakeClock, start_server
from server.replay import Mismatch, Replayer, load, run


def test_streams_v1_recording_replays_on_the_015_personality() -> None:
    clock = FakeClock()
    with start_server(compat="0.15", clock=clock) as srv:
        rp = Replayer(srv.url, srv.advance, clock)
        try:
            skipped = run(rp, load("0.15.1", "streams_v1.json"), {})
        finally:
            rp.close()
    assert skipped == []


def test_the_07_personality_has_no_streams_routes() -> None:
    with start_server(compat="0.7") as srv:
        for path in ("/streams/v1/queries", "/streams/v1/cycle", "/streams/v1/state/get"):
            r = httpx.post(srv.url + path, json={"name": "x"})
            assert r.status_code == 404
            assert "File Not Found" in r.text


def test_the_replay_notices_a_server_that_ignores_leases(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison is strict enough to catch a cycle that skips the lease check."""
    from queen.testing import streams_v1

    real = streams_v1._Plan.ack

    def lax(self: Any, ack: Any, release: Any) -> None:
        if isinstance(ack, dict):
            ack = {k: v for k, v in ack.items() if k != "leaseId"}
        real(self, ack, release)

    monkeypatch.setattr(streams_v1._Plan, "ack", lax)
    clock = FakeClock()
    with start_server(compat="0.15", clock=clock) as srv:
        rp = Replayer(srv.url, srv.advance, clock)
        try:
            with pytest.raises(Mismatch, match="Invalid or expired lease|success"):
                run(rp, load("0.15.1", "streams_v1.json"), {})
        finally:
            rp.close()
