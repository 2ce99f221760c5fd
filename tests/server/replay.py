"""Replays a wire recording (/work/shared/wire-recordings) against an embedded server.

Each recorded step is sent as recorded (placeholders replaced by the ids seen so
far) and the answer is compared with the recording: status, the keys of every
object, and every value except ids and timestamps.  ``<uuid-N>`` placeholders are
bound to the real id on first sight and must stay consistent afterwards (one
placeholder = one id, and no id under two placeholders).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import httpx

from shared_paths import find_recordings as _find_recordings

RECORDINGS = _find_recordings()
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PLACEHOLDER = re.compile(r"<uuid-\d+>")


class Mismatch(AssertionError):
    pass


@dataclass
class StepPlan:
    """How to run one step: clock moves, substitutions and what to relax."""

    advance: float = 0.0                     # fake seconds to move the clock first
    ts: List[float] = field(default_factory=list)  # values for <ts> in the request, in order
    ignore: Set[str] = field(default_factory=set)   # dotted paths whose values are not compared
    unordered: bool = False                  # compare 'messages' as a multiset
    skip_reason: Optional[str] = None        # send, but do not compare at all
    timeout_ms: Optional[int] = None         # shorten a long poll that must time out


class Replayer:
    def __init__(self, url: str, advance: Callable[[float], None], now: Callable[[], float]):
        self.url = url
        self.advance = advance
        self.now = now
        self.ids: Dict[str, str] = {}
        self.rev: Dict[str, str] = {}
        self.client = httpx.Client(base_url=url, timeout=15.0)
        self.started = now()
        self.times: Dict[int, float] = {}

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------ substitution

    def _bind_or_make(self, ph: str) -> str:
        if ph not in self.ids:
            real = str(uuid.uuid4())
            self.ids[ph] = real
            self.rev[real] = ph
        return self.ids[ph]

    def subst(self, text: str, ts: List[float]) -> str:
        text = PLACEHOLDER.sub(lambda m: self._bind_or_make(m.group(0)), text)
        queue = list(ts)

        def ts_value(_: Any) -> str:
            t = queue.pop(0)
            return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"

        return re.sub(r"<ts>", ts_value, text)

    def subst_obj(self, obj: Any, ts: List[float]) -> Any:
        if isinstance(obj, str):
            return self.subst(obj, ts)
        if isinstance(obj, list):
            return [self.subst_obj(x, ts) for x in obj]
        if isinstance(obj, dict):
            return {k: self.subst_obj(v, ts) for k, v in obj.items()}
        return obj

    # ------------------------------------------------------------ sending

    def request(self, step: Dict[str, Any], plan: StepPlan) -> Tuple[Optional[int], Any, float]:
        path = self.subst(step["path"], plan.ts)
        if plan.timeout_ms is not None:
            path = re.sub(r"timeout=\d+", f"timeout={plan.timeout_ms}", path)
        headers: Dict[str, str] = {}
        note = step["note"]
        body = step["body"]
        content: Optional[bytes] = None
        if isinstance(body, str):
            content = body.encode()
            headers["Content-Type"] = "application/json"
        elif body is not None:
            if isinstance(body, dict) and isinstance(body.get("items"), str) \
                    and body["items"].startswith("<1000 items"):
                body = {"items": [{"queue": "push-big", "payload": {"i": i}} for i in range(1000)]}
            content = json.dumps(self.subst_obj(body, plan.ts)).encode()
            headers["Content-Type"] = "application/json"
        if "text/plain" in note:
            headers["Content-Type"] = "text/plain"
        elif "form-encoded" in note:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif "NO Content-Type" in note:
            headers.pop("Content-Type", None)
        if "Bearer" in note:
            headers["Authorization"] = "Bearer not-a-real-token"
        elif "Basic Authorization" in note:
            headers["Authorization"] = "Basic dXNlcjpwYXNz"
        t0 = time.monotonic()
        resp = self.client.request(step["method"], path, content=content, headers=headers)
        elapsed = (time.monotonic() - t0) * 1000
        text = resp.text
        try:
            parsed: Any = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return resp.status_code, parsed, elapsed

    # ------------------------------------------------------------ comparison

    def bind(self, ph: str, actual: Any, where: str) -> None:
        if not isinstance(actual, str) or not UUID_RE.match(actual):
            raise Mismatch(f"{where}: expected an id for {ph}, got {actual!r}")
        bound = self.ids.get(ph)
        if bound is None:
            other = self.rev.get(actual)
            if other is not None and other != ph:
                raise Mismatch(f"{where}: id {actual} already seen as {other}, now {ph}")
            self.ids[ph] = actual
            self.rev[actual] = ph
        elif bound != actual:
            raise Mismatch(f"{where}: {ph} was {bound}, now {actual}")

    def compare(self, exp: Any, act: Any, where: str, plan: StepPlan) -> None:
        if where in plan.ignore:
            return
        if isinstance(exp, str):
            self._compare_str(exp, act, where)
        elif isinstance(exp, dict):
            if not isinstance(act, dict):
                raise Mismatch(f"{where}: expected an object, got {act!r}")
            if set(exp) != set(act):
                raise Mismatch(f"{where}: keys differ: missing {sorted(set(exp) - set(act))}, "
                               f"extra {sorted(set(act) - set(exp))}")
            for k in exp:
                self.compare(exp[k], act[k], f"{where}.{k}", plan)
        elif isinstance(exp, list):
            if not isinstance(act, list) or len(exp) != len(act):
                raise Mismatch(f"{where}: expected a list of {len(exp)}, got {act!r}")
            if plan.unordered and where.endswith("messages"):
                key = lambda m: json.dumps(m.get("data"), sort_keys=True)  # noqa: E731
                exp, act = sorted(exp, key=key), sorted(act, key=key)
            for i, (e, a) in enumerate(zip(exp, act)):
                self.compare(e, a, f"{where}[{i}]", plan)
        else:
            if exp != act or type(exp) is not type(act) and not (
                    isinstance(exp, (int, float)) and isinstance(act, (int, float))
                    and not isinstance(exp, bool) and not isinstance(act, bool)):
                raise Mismatch(f"{where}: expected {exp!r}, got {act!r}")

    def _compare_str(self, exp: str, act: Any, where: str) -> None:
        if PLACEHOLDER.fullmatch(exp):
            self.bind(exp, act, where)
            return
        if exp in ("<ts>", "<worker-id>"):
            if not isinstance(act, str) or not act:
                raise Mismatch(f"{where}: expected a {exp}, got {act!r}")
            return
        if not isinstance(act, str):
            raise Mismatch(f"{where}: expected {exp!r}, got {act!r}")
        if exp.startswith("Invalid JSON: "):
            if not act.startswith("Invalid JSON: "):  # parser texts differ (nlohmann vs orjson)
                raise Mismatch(f"{where}: expected {exp!r}, got {act!r}")
            return
        if exp.startswith("ERROR:  "):  # PostgreSQL error: first line is the fact
            if act.split("\n")[0] != exp.split("\n")[0]:
                raise Mismatch(f"{where}: expected {exp!r}, got {act!r}")
            return
        if "<uuid-" in exp or "<ts>" in exp:
            pattern = re.escape(exp).replace(re.escape("<ts>"), ".+?")
            pattern = re.sub(r"<uuid\\-\d+>", "[0-9a-f-]{36}", pattern)
            if not re.fullmatch(pattern, act):
                raise Mismatch(f"{where}: expected {exp!r}, got {act!r}")
            return
        if exp != act:
            raise Mismatch(f"{where}: expected {exp!r}, got {act!r}")

    def compare_summary(self, exp: Dict[str, Any], act: Any, plan: StepPlan) -> None:
        if "length" in exp:  # push of 1000 items
            assert isinstance(act, list) and len(act) == exp["length"]
            counts: Dict[str, int] = {}
            for r in act:
                counts[r["status"]] = counts.get(r["status"], 0) + 1
            assert counts == exp["status_counts"]
            assert len({r["message_id"] for r in act}) == exp["distinct_message_ids"]
            assert sorted(act[0]) == exp["keys_of_first_item"]
            self.compare(exp["first_item"], act[0], "first_item", plan)
            self.compare(exp["last_item"], act[-1], "last_item", plan)
        else:  # pop of 1000 messages
            msgs = act["messages"]
            assert len(msgs) == exp["message_count"]
            assert msgs[0]["data"] == exp["first_data"] and msgs[-1]["data"] == exp["last_data"]
            order = [m["data"]["i"] for m in msgs]
            assert (order == sorted(order)) == exp["in_push_order"]
            assert sorted(act) == exp["top_level_keys"]


def load(version: str, name: str) -> List[Dict[str, Any]]:
    data: List[Dict[str, Any]] = json.loads((RECORDINGS / version / name).read_text())
    return data


def run(replayer: Replayer, steps: List[Dict[str, Any]], plans: Dict[int, StepPlan]) -> List[str]:
    """Replay all steps; returns the list of skipped-step descriptions."""
    skipped: List[str] = []
    i = 0
    while i < len(steps):
        step = steps[i]
        plan = plans.get(i, StepPlan())
        if plan.advance:
            replayer.advance(plan.advance)
        nxt = steps[i + 1] if i + 1 < len(steps) else None
        if nxt is not None and nxt["note"].startswith("Sent from a second connection"):
            # a long poll with a push landing while it waits
            box: Dict[str, Any] = {}

            def first(box: Dict[str, Any] = box, step: Dict[str, Any] = step,
                      plan: StepPlan = plan) -> None:
                box["r"] = replayer.request(step, plan)

            th = threading.Thread(target=first)
            th.start()
            time.sleep(0.3)
            second = replayer.request(nxt, plans.get(i + 1, StepPlan()))
            th.join(15)
            status, body, elapsed = box["r"]
            check(replayer, i, step, plan, status, body, skipped)
            assert elapsed < 2000, f"step {i}: long poll answered after {elapsed:.0f} ms"
            check(replayer, i + 1, nxt, plans.get(i + 1, StepPlan()), *second[:2], skipped)
            i += 2
            continue
        status, body, _ = replayer.request(step, plan)
        replayer.times[i] = replayer.now()
        check(replayer, i, step, plan, status, body, skipped)
        i += 1
    return skipped


def check(replayer: Replayer, i: int, step: Dict[str, Any], plan: StepPlan, status: Optional[int],
          body: Any, skipped: List[str]) -> None:
    if plan.skip_reason:
        skipped.append(f"{i}: {plan.skip_reason}")
        return
    where = f"step {i} ({step['method']} {step['path']})"
    if step["status"] != status:
        raise Mismatch(f"{where}: status {status}, recorded {step['status']}; body {body!r}")
    exp = step["response"]
    try:
        if isinstance(exp, dict) and "_summary" in exp:
            replayer.compare_summary(exp, body, plan)
        else:
            replayer.compare(exp, body, "body", plan)
    except AssertionError as exc:
        raise Mismatch(f"{where}: {exc}\n  recorded: {json.dumps(exp)[:600]}\n"
                       f"  actual:   {json.dumps(body)[:600]}") from None
