"""Golden replays: every recorded scenario of the real Queen 0.7.5 and 0.15.1 servers
(except streams.json, owned by the stream-window helper) against a fresh embedded
server of the matching personality with a fake clock.

Sleeps described in the notes are emulated by advancing the fake clock; long polls
that the recording shows timing out are shortened (the timeout itself is real time).

Steps that are not compared, and why (SKIPS below, per version/file/step):
* defects of the real servers that the embedded server deliberately does not copy
  (listed in docs/embedded-server.md): 0.15.1 hanging on an empty batch ack,
  0.15.1 losing a failed item of a mixed batch ack, 0.7.5 answering ``buffered`` and
  storing nothing for a duplicate transactionId inside one request, 0.7.5/0.15.1
  parking a push with a non-UUID traceId in a failover file;
* 0.15.1 dashboard statistics, which come from a periodically refreshed table (the
  recording shows zeros right after a push); ours are live, so those numbers differ.
Relaxed comparisons: message order across partitions of a multi-partition pop
(0.15 ``partitions=3`` has no defined order).
"""

from __future__ import annotations

from typing import Dict

import pytest

from queen.testing import FakeClock, start_server

from .replay import Mismatch, Replayer, StepPlan, load, run

SCENARIOS = ["configure.json", "push.json", "pop.json", "ack.json", "leases.json",
             "consumer_groups.json", "transaction.json", "traces.json", "errors.json"]
VERSIONS = {"0.7.5": "0.7", "0.15.1": "0.15"}

STATS_015 = "0.15.1 dashboard stats come from a periodically refreshed table; ours are live"


def plans_for(version: str, name: str, rp: Replayer) -> Dict[int, StepPlan]:
    """Clock moves, timestamps and relaxations per step (indexes as recorded)."""
    v15 = version == "0.15.1"
    P = StepPlan
    plans: Dict[int, StepPlan] = {}
    if name == "push.json":
        plans[8] = P(advance=2.0)
        if v15:
            plans[26] = P(ignore={"body.partitions[0].stats", "body.totals",
                                  "body.partitions[0].newestMessage",
                                  "body.partitions[0].oldestMessage"})
        else:
            plans[6] = P(skip_reason="defect not copied: 0.7.5 answers 'buffered' and stores "
                                     "nothing for a duplicate transactionId inside one request")
            plans[8] = P(advance=2.0, skip_reason="follows from step 6: the first copy of "
                                                  "custom-tx-2 is stored here")
            plans[12] = P(skip_reason="defect not copied: 0.7.5 parks a non-UUID traceId push "
                                      "in its failover file ('buffered'); we answer 'failed'")
    elif name == "pop.json":
        plans.update({3: P(timeout_ms=300), 41: P(timeout_ms=300),
                      51: P(advance=1.0), 52: P(advance=1.8), 56: P(advance=1.0),
                      58: P(advance=1.3), 59: P(advance=1.3), 63: P(advance=2.5)})
        if v15:
            plans[28] = P(unordered=True, ignore={"body.partition", "body.partitionId"})
    elif name == "ack.json":
        plans.update({12: P(advance=1.5), 17: P(advance=1.5), 39: P(advance=3.0)})
        for i in (48, 53, 59, 76, 81):
            plans[i] = P(timeout_ms=300)
        start = rp.started
        plans[63] = P(ts=[start - 60, rp.now() + 3600])
        plans[64] = P(ts=[rp.now() + 3600 + 600])
        if v15:
            plans[17] = P(advance=1.5, skip_reason="defect not copied: 0.15.1 loses the failed "
                          "item of [completed, failed, completed]; we redeliver it")
            plans[18] = P(skip_reason="follows from step 17 (message is pending, not completed)")
            plans[20] = P(skip_reason="defect not copied: 0.15.1 never answers an empty batch "
                                      "ack; we answer []")
    elif name == "leases.json":
        plans.update({4: P(advance=3.0), 13: P(advance=3.0), 14: P(advance=3.0)})
    elif name == "consumer_groups.json":
        plans[26] = P(advance=1.5)
        plans[35] = P()
        plans[41] = P()
    elif name == "errors.json":
        if v15:
            plans[21] = P(ignore={"body.partitions[0].stats", "body.totals",
                                  "body.partitions[0].newestMessage",
                                  "body.partitions[0].oldestMessage"})
    return plans


class Dyn:
    """Plans whose timestamps depend on times seen during the run."""

    def __init__(self, rp: Replayer, base: Dict[int, StepPlan], name: str) -> None:
        self.rp, self.base, self.name = rp, base, name

    def get(self, i: int, default: StepPlan) -> StepPlan:
        plan = self.base.get(i, default)
        if self.name == "consumer_groups.json":
            if i == 27:  # the cut lies between the pushes of steps 25 and 26
                plan.ts = [self.rp.times[25] + 0.75]
            elif i in (35, 41):  # ~5 s before the scenario began
                plan.ts = [self.rp.started - 5]
        if self.name == "ack.json" and i in (63, 64):
            now = self.rp.now()
            plan.ts = [self.rp.started - 60, now + 60] if i == 63 else [now + 3600]
        return plan


CASES = [(v, n) for v in VERSIONS for n in SCENARIOS]


@pytest.mark.parametrize(("version", "name"), CASES, ids=[f"{v}-{n[:-5]}" for v, n in CASES])
def test_replay(version: str, name: str) -> None:
    clock = FakeClock()
    with start_server(compat=VERSIONS[version], clock=clock) as srv:
        rp = Replayer(srv.url, srv.advance, clock)
        try:
            plans = Dyn(rp, plans_for(version, name, rp), name)
            skipped = run(rp, load(version, name), plans)  # type: ignore[arg-type]
        finally:
            rp.close()
    # only the steps listed above with a reason may go uncompared
    listed = {i for i, p in plans.base.items() if p.skip_reason}
    assert {int(s.split(":")[0]) for s in skipped} == listed


@pytest.mark.parametrize(("version", "compat"), [("0.7.5", "0.15"), ("0.15.1", "0.7")])
def test_replay_detects_the_wrong_personality(version: str, compat: str) -> None:
    """The comparison is strict enough to tell the generations apart."""
    clock = FakeClock()
    with start_server(compat=compat, clock=clock) as srv:
        rp = Replayer(srv.url, srv.advance, clock)
        try:
            with pytest.raises(Mismatch):
                run(rp, load(version, "ack.json"), Dyn(rp, plans_for(version, "ack.json", rp),
                                                       "ack.json"))  # type: ignore[arg-type]
        finally:
            rp.close()
