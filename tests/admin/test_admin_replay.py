"""Golden replay of ``admin.json`` (every read/admin route, recorded on real Queen 0.7.5
and 0.15.1) against a fresh embedded server of each personality with a fake clock.

Compared strictly: status codes, the keys of every object and every value except ids
and timestamps. Relaxed, per step and with the reason (``PLANS``):

* ``shape``: server-wide or process figures (everyone's data on the shared recording
  server: totals, CPU, pools, time series) -- keys and list element shapes only;
* values of 0.15.1's periodically refreshed statistics after the data changed since
  the refresh (ours are live);
* a few timing effects (the 0.15.1 file buffer drains in the background).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Optional, Set

import pytest

from queen.testing import FakeClock, start_server
from server.replay import Mismatch, Replayer, StepPlan, load, run

VERSIONS = {"0.7.5": "0.7", "0.15.1": "0.15"}
SERVER_WIDE = "server-wide figures of a shared server: compared by shape"
LAG_SECONDS = "lag in seconds depends on when the recorder ran the step"
STALE = ("0.15.1 counts from statistics refreshed at step 20, before step 43 deleted a "
         "message; ours are live")


@dataclass
class AdminPlan(StepPlan):
    shape: Set[str] = field(default_factory=set)   # paths compared by keys/shape only
    sort_by: Optional[List[str]] = None            # a top-level list compared sorted
    why: str = ""


CUT = re.compile(r"long lists cut to their first 3 items: ([^;)]*)")


def cut_paths(note: str) -> List[re.Pattern[str]]:
    """The lists the recorder cut to 3 items (named in the step's note), as path patterns."""
    m = CUT.search(note)
    if not m:
        return []
    out = []
    for raw in m.group(1).split(", "):
        path = "body" + raw.strip()[1:]
        out.append(re.compile(re.escape(path).replace(re.escape("[]"), r"\[\d+\]") + "$"))
    return out


def _under(where: str, path: str) -> bool:
    """``where`` is ``path`` or inside it; ``[*]`` in ``path`` matches any index."""
    pattern = re.escape(path).replace(re.escape("[*]"), r"\[\d+\]")
    return re.match(pattern + r"($|[.\[])", where) is not None


class AdminReplayer(Replayer):
    cut: List[re.Pattern[str]] = []

    def request(self, step: Dict[str, Any], plan: StepPlan) -> Any:
        self.cut = cut_paths(step["note"])
        return super().request(step, plan)

    def compare(self, exp: Any, act: Any, where: str, plan: StepPlan) -> None:
        if isinstance(exp, list) and isinstance(act, list) and len(exp) == 3 \
                and any(c.match(where) for c in self.cut):
            if len(act) < 3:
                raise Mismatch(f"{where}: expected at least 3 items, got {act!r}")
            act = act[:3]  # the recording kept the first 3
        if isinstance(plan, AdminPlan):
            if any(_under(where, p) for p in plan.shape):
                return self._shape(exp, act, where)
            if plan.sort_by and where == "body" and isinstance(exp, list) \
                    and isinstance(act, list):
                def key(r: Any) -> str:
                    return json.dumps([r.get(k) for k in plan.sort_by or []])
                exp, act = sorted(exp, key=key), sorted(act, key=key)
                if len(exp) != len(act):
                    raise Mismatch(f"{where}: expected {len(exp)} rows, got {len(act)}")
                for i, (e, a) in enumerate(zip(exp, act)):
                    super().compare(e, a, f"{where}[{i}]", plan)
                return None
        super().compare(exp, act, where, plan)
        return None

    def _compare_str(self, exp: str, act: Any, where: str) -> None:
        if exp == "<worker-id>" and isinstance(act, int) and not isinstance(act, bool):
            return  # real servers send a number there too (the recorder wrote text)
        super()._compare_str(exp, act, where)

    def compare_summary(self, exp: Dict[str, Any], act: Any, plan: StepPlan) -> None:
        """The recorder summarised the Prometheus text: same families in the same order,
        the same first lines (but the uptime value), and a sample line for every one
        it kept that names this run's queues (values aside)."""
        if not str(exp.get("_summary", "")).startswith("Prometheus"):
            return super().compare_summary(exp, act, plan)
        assert isinstance(act, str), act
        lines = act.splitlines()
        families = [ln[len("# TYPE "):] for ln in lines if ln.startswith("# TYPE ")]
        assert families == exp["metric_families"]
        assert lines[:2] == exp["first_lines"][:2]
        samples = {ln.rsplit(" ", 1)[0] for ln in lines if not ln.startswith("#")}
        for want in exp["sample_lines_naming_this_run"]:
            assert want.rsplit(" ", 1)[0] in samples, want
        return None

    def _shape(self, exp: Any, act: Any, where: str) -> None:
        if isinstance(exp, dict):
            if not isinstance(act, dict) or set(exp) != set(act):
                raise Mismatch(f"{where}: keys differ: expected {sorted(exp)}, got "
                               f"{sorted(act) if isinstance(act, dict) else act!r}")
            for k in exp:
                self._shape(exp[k], act[k], f"{where}.{k}")
        elif isinstance(exp, list):
            if not isinstance(act, list):
                raise Mismatch(f"{where}: expected a list, got {act!r}")
            if exp and act:
                for i, a in enumerate(act):
                    self._shape(exp[0], a, f"{where}[{i}]")
        elif isinstance(exp, str) and exp.startswith("<"):
            return  # a placeholder the recorder wrote (<ts>, <worker-id>, <uuid-N>)
        elif exp is not None and act is not None and type(exp) is not type(act) and not (
                isinstance(exp, (int, float)) and isinstance(act, (int, float))
                and not isinstance(exp, bool) and not isinstance(act, bool)):
            raise Mismatch(f"{where}: expected a {type(exp).__name__}, got {act!r}")


def plans_for(version: str) -> Dict[int, AdminPlan]:
    v15 = version == "0.15.1"
    P = AdminPlan
    plans: Dict[int, AdminPlan] = {
        21: P(advance=2.0),
        26: P(shape={"body"}, why=SERVER_WIDE),
        46: P(shape={"body"} if v15 else {"body.throughput", "body.queues[*].totalConsumed"},
              why=SERVER_WIDE),
        47: P(shape={"body"} if v15 else {"body.throughput", "body.queues[*].totalConsumed"},
              why=SERVER_WIDE),
        48: P(shape={"body"}, why=SERVER_WIDE),
        55: P(shape={"body"}, why=SERVER_WIDE),
        56: P(shape={"body"}, why=SERVER_WIDE),
        57: P(shape={"body"}, why=SERVER_WIDE),
        58: P(shape={"body"}, why=SERVER_WIDE),
        59: P(shape={"body"} if v15 else set(), why=SERVER_WIDE),
        60: P(shape={"body"} if v15 else set(), why=SERVER_WIDE),
        61: P(shape={"body"} if v15 else set(), why=SERVER_WIDE),
        62: P(shape={"body"} if v15 else set(), why=SERVER_WIDE),
        63: P(shape={"body"} if v15 else set(), why=SERVER_WIDE),
        64: P(shape={"body"} if v15 else set(), why=SERVER_WIDE),
        65: P(shape={"body"} if v15 else set(), why=SERVER_WIDE),
        66: P(shape={"body[*].maxTimeLag", "body[*].state"},
              why="lag in seconds; 0.15.1 called the queue-mode consumer of one queue 'Dead'"),
        67: P(sort_by=["consumer_group", "partition_name"],
              shape={"body[*].time_lag_seconds"}, why=LAG_SECONDS),
        53: P(shape={"body.messages[*].age", "body.timeRange"}, why="ages in real seconds"),
        54: P(shape={"body.messages[*].age", "body.timeRange"}, why="ages in real seconds"),
        70: P(shape={"body.adm-orders.partitions[*].timeLagSeconds"}, why=LAG_SECONDS),
        81: P(shape={"body.adm-orders.partitions[*].timeLagSeconds"}, why=LAG_SECONDS),
        83: P(shape={"body.adm-orders.partitions[*].timeLagSeconds"}, why=LAG_SECONDS),
        100: P(shape={"body.bufferStats.pendingCount", "body.bufferedMessages"},
               why="the real servers drain their file buffer in the background, ours at once"),
        90: P(shape={"body.shared_state.queue_config_cache", "body.shared_state.server_id"},
              why="process figures"),
        91: P(shape={"body.database"}, why="the real database pool"),
        113: P(shape={"body.queue_config_cache", "body.server_id"}, why="process figures"),
    }
    if v15:
        plans[20] = P(shape={"body"}, why=SERVER_WIDE)
        for i in (35, 36):  # without a queue filter the mode counts every group there
            plans[i] = P(shape={"body.mode"}, why=SERVER_WIDE)
        for i in (49, 50):
            plans[i] = P(shape={"body.queues"}, why=STALE)
        plans[51] = P(shape={"body.partitions", "body.totals"}, why=STALE)
    return plans


class Timed(dict):  # type: ignore[type-arg]
    """Plans whose request timestamps depend on the run's clock."""

    def __init__(self, rp: Replayer, base: Dict[int, AdminPlan]) -> None:
        super().__init__(base)
        self.rp = rp

    def get(self, i: int, default: Any = None) -> Any:
        plan = super().get(i, default)
        if i in (38, 55):  # from/to around the test
            plan = replace(plan or AdminPlan(), ts=[self.rp.started - 60, self.rp.now() + 60])
        elif i == 39:  # from in the future
            plan = AdminPlan(ts=[self.rp.now() + 3600])
        elif i == 74:  # 1 s before the first push
            plan = AdminPlan(ts=[self.rp.started - 1])
        return plan


CASES = list(VERSIONS)


@pytest.mark.parametrize("version", CASES)
def test_admin_replay(version: str) -> None:
    clock = FakeClock()
    with start_server(compat=VERSIONS[version], clock=clock) as srv:
        rp = AdminReplayer(srv.url, srv.advance, clock)
        try:
            skipped = run(rp, load(version, "admin.json"), Timed(rp, plans_for(version)))
        finally:
            rp.close()
    assert skipped == []


@pytest.mark.parametrize(("version", "compat"), [("0.7.5", "0.15"), ("0.15.1", "0.7")])
def test_admin_replay_detects_the_wrong_personality(version: str, compat: str) -> None:
    """The comparison is strict enough to tell the generations apart."""
    clock = FakeClock()
    with start_server(compat=compat, clock=clock) as srv:
        rp = AdminReplayer(srv.url, srv.advance, clock)
        try:
            with pytest.raises(Mismatch):
                run(rp, load(version, "admin.json"), Timed(rp, plans_for(version)))
        finally:
            rp.close()
