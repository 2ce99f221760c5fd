"""Golden replay of wire-recordings/*/streams.json against the embedded server.

Uses the replay harness of tests/server (placeholder binding, structural compare).
The fake clock recreates the recorded timing: the first push lands 1.5 s into a
2 s window, the "tick" push 3.6 s later (as in the notes), so exactly the same
windows become ready. Polls that time out are shortened to keep the test fast.
"""

from __future__ import annotations

import copy
import importlib.util
import math
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from queen.testing import FakeClock, start_server


def _load_replay() -> Any:
    path = Path(__file__).resolve().parents[1] / "server" / "replay.py"
    spec = importlib.util.spec_from_file_location("queen_tests_replay", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


replay = _load_replay()

SHORT_POLL_MS = 150
# 0.7.5 steps whose poll is recorded as timing out (answer null): shortened
EMPTY_POLLS_07 = (6, 8, 23, 27)
# 0.7.5 ack steps -> which 2 s window (0 = first) their windowId names
WINDOW_OF_ACK = {12: 0, 13: 0, 16: 1, 18: 1, 20: 0, 22: 1}


class _Plans:
    """Step plans, some computed from the clock during the run."""

    def __init__(self, rp: Any, clock: FakeClock, version: str) -> None:
        self.rp, self.clock, self.version = rp, clock, version
        self.start = 0.0  # start of the first window (set at step 7)

    def get(self, i: int, default: Any) -> Any:
        P = replay.StepPlan
        if self.version == "0.15.1":
            if i == 23:
                return P(skip_reason="streams v1 (/streams/v1/queries) is not part of the "
                                     "embedded server")
            if i == 14:  # seek (answered 404 anyway)
                return P(ts=[self.clock() - 600])
            return default
        if i == 7:  # land 1.5 s into an epoch-aligned 2 s window, like the recording
            now = self.clock()
            target = math.floor(now / 2) * 2 + 1.5
            if target <= now:
                target += 2
            self.start = target - 1.5
            return P(advance=target - now)
        if i == 9:
            return P(advance=3.6)
        if i in WINDOW_OF_ACK:  # the ack's windowId: <streamId>:<key>:<start>:<end>
            start = self.start + 2 * WINDOW_OF_ACK[i]
            return P(ts=[start, start + 2])
        if i == 26:  # "seek group 1 back to 10 minutes ago"
            return P(ts=[self.clock() - 600])
        return default


def _steps(version: str) -> List[Dict[str, Any]]:
    steps: List[Dict[str, Any]] = copy.deepcopy(replay.load(version, "streams.json"))
    if version == "0.7.5":
        for i in EMPTY_POLLS_07:
            assert steps[i]["response"] is None, f"step {i} is not an empty poll"
            steps[i]["body"]["timeout"] = SHORT_POLL_MS
    return steps


@pytest.mark.parametrize(("version", "compat"), [("0.7.5", "0.7"), ("0.15.1", "0.15")])
def test_streams_replay(version: str, compat: str) -> None:
    clock = FakeClock()
    with start_server(compat=compat, clock=clock) as srv:
        rp = replay.Replayer(srv.url, srv.advance, clock)
        try:
            plans = _Plans(rp, clock, version)
            skipped = replay.run(rp, _steps(version), plans)
        finally:
            rp.close()
    assert skipped == ([] if version == "0.7.5" else
                       ["23: streams v1 (/streams/v1/queries) is not part of the embedded server"])
