"""What a cycle computes, apart from talking to the server: pre-window operators,
seeding accumulators from stored rows, async folds, sessions, and the ``ctx`` of
post-window operators. The per-message folds of fixed windows are in the ``_core``
kernel (``fold_windows``/``close_windows``).
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import orjson

from .. import _core
from .operators import (
    FilterOperator,
    FlatMapOperator,
    MapOperator,
    StatelessOp,
    parse_state_key,
    resolve,
)
from .windows import WindowSessionOperator


def now_ms() -> int:
    return time.time_ns() // 1_000_000

async def apply_pre(op: StatelessOp, recs: List[List[Any]]) -> List[List[Any]]:
    call = op.call
    out: List[List[Any]] = []
    if isinstance(op, MapOperator):
        for r in recs:
            v = call(r[1], None)
            if hasattr(v, "__await__"):
                v = await v
            out.append([r[0], v, v, r[3], r[4]])
    elif isinstance(op, FilterOperator):
        for r in recs:
            keep = call(r[1], None)
            if hasattr(keep, "__await__"):
                keep = await keep
            if keep:
                out.append(r)
    elif isinstance(op, FlatMapOperator):
        for r in recs:
            vs = await resolve(call(r[1], None))
            if not isinstance(vs, list):
                raise TypeError(f"flat_map fn must return a list (got {type(vs).__name__})")
            out.extend([r[0], v, v, r[3], r[4]] for v in vs)
    return out


def emit_ctx(e: Dict[str, Any], pid: str, pname: Optional[str]) -> Dict[str, Any]:
    return {"partition": pname, "partitionId": pid, "key": e.get("key"),
            "windowKey": e.get("windowKey"), "windowStart": e.get("windowStart"),
            "windowEnd": e.get("windowEnd")}


def clone(v: Any) -> Any:
    if isinstance(v, (dict, list)):
        return orjson.loads(orjson.dumps(v))
    return v


def seed(loaded: Dict[str, Any], tag: str) -> Dict[str, List[Any]]:
    """Accumulator entries of this window operator from the stored rows."""
    accs: Dict[str, List[Any]] = {}
    for sk, value in loaded.items():
        parts = parse_state_key(sk)
        if parts is None or parts["operatorTag"].startswith("__"):
            continue
        if tag and parts["operatorTag"] != tag:
            continue
        isdict = isinstance(value, dict)
        ws = value.get("windowStart") if isdict else None
        if not isinstance(ws, (int, float)):
            ws = _core.iso_ms(parts["windowKey"]) or 0
        we = value.get("windowEnd") if isdict else None
        if not isinstance(we, (int, float)):
            we = ws
        acc = value.get("acc") if isdict and value.get("acc") is not None else value
        accs[sk] = [parts["userKey"], ws, we, parts["windowKey"], acc, False, True]
    return accs


def no_awaitables(accs: Dict[str, List[Any]]) -> None:
    for e in accs.values():
        acc = e[4]
        if e[5] and hasattr(acc, "__await__"):
            if hasattr(acc, "close"):
                acc.close()
            raise TypeError("the reduce function returned an awaitable: declare it with "
                            "async def so the SDK awaits it")


async def fold_async(accs: Dict[str, List[Any]], items: Sequence[Tuple[str, int, Any]],
                      w: Any, red: Any, watermark: Optional[int]) -> Tuple[int, Optional[int]]:
    """``fold_windows`` for async reducers/extractors (awaited one by one, in order)."""
    dropped = 0
    max_ts: Optional[int] = None
    for key, ts, value in items:
        max_ts = ts if max_ts is None or ts > max_ts else max_ts
        if watermark is not None and ts < watermark and w.drop_late:
            dropped += 1
            continue
        for start in _core.window_starts(ts, w.size_ms, w.slide_ms, w.offset_ms):
            wkey = _core.ms_iso(start)
            sk = _core.state_key(w.operator_tag, wkey, key)
            e = accs.get(sk)
            if e is None:
                e = accs[sk] = [key, start, start + w.size_ms, wkey, red.make_initial(),
                                False, False]
            e[4] = await red.step(e[4], value)
            e[5] = True
    return dropped, max_ts


async def run_sessions(w: WindowSessionOperator, red: Any, loaded: Dict[str, Any],
                        items: Sequence[Tuple[str, int, Any]], now: Optional[float]
                        ) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Session bookkeeping: extend, close on a gap, close idle sessions at ``now``."""
    prefix = w.open_prefix
    sessions: Dict[str, Dict[str, Any]] = {}
    for sk, v in loaded.items():
        if not sk.startswith(prefix) or sk.count("\x1f") != 2:
            continue
        isdict = isinstance(v, dict)
        start = v.get("sessionStart") if isdict else None
        last = v.get("lastEventTime") if isdict else None
        sessions[sk[len(prefix):]] = {
            "acc": v.get("acc") if isdict and v.get("acc") is not None
            else red.make_initial(session=True),
            "start": start if isinstance(start, (int, float)) else None,
            "last": last if isinstance(last, (int, float)) else None,
            "dirty": False, "seeded": True, "closed": False}
    emits: List[Dict[str, Any]] = []

    def emit(key: str, s: Dict[str, Any]) -> None:
        emits.append({"key": key, "windowStart": s["start"], "windowEnd": s["last"] + w.gap_ms,
                      "windowKey": _core.ms_iso(s["start"]), "value": red.finish(s["acc"])})

    for key, ts, value in items:
        s = sessions.get(key)
        if s is None or s["last"] is None:
            seeded = s["seeded"] if s is not None else False
            s = sessions[key] = {"acc": red.make_initial(session=True), "start": ts,
                                 "last": ts, "dirty": True, "seeded": seeded, "closed": False}
        elif s["last"] + w.gap_ms >= ts:
            if ts >= s["last"]:
                s["last"] = ts
            s["dirty"] = True
        else:
            emit(key, s)
            s = sessions[key] = {"acc": red.make_initial(session=True), "start": ts,
                                 "last": ts, "dirty": True, "seeded": s["seeded"],
                                 "closed": False}
        s["acc"] = await red.step(s["acc"], value)
    ref = now if now is not None else now_ms()
    for key, s in sessions.items():
        if s["last"] is not None and s["last"] + w.gap_ms + w.grace_period_ms <= ref:
            emit(key, s)
            s["closed"] = True
    ops: List[Dict[str, Any]] = []
    for key, s in sessions.items():
        sk = w.open_session_state_key(key)
        if s["closed"]:
            if s["seeded"]:
                ops.append({"type": "delete", "key": sk})
        elif s["dirty"]:
            ops.append({"type": "upsert", "key": sk, "value": {
                "acc": s["acc"], "sessionStart": s["start"], "lastEventTime": s["last"]}})
    return ops, emits


__all__ = ["apply_pre", "emit_ctx", "clone", "seed", "no_awaitables", "fold_async", "run_sessions", "now_ms"]
