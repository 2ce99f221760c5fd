"""The streams kernel (``_core/_streams.pyx`` and its pure twin): every test runs on
both twins, plus randomized agreement between them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List, Tuple

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import queen._core as core_pkg

WEEK = 7 * 86_400_000
AGG = (("count", "sum", "min", "max", "avg", "other"), (0, 1, 2, 3, 4, 5),
       tuple((lambda v: v.get("x")) for _ in range(6)))


def _dt_ms(text: str) -> int:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return round(dt.timestamp() * 1000 - dt.microsecond / 1000) + dt.microsecond // 1000


@pytest.mark.parametrize("text", [
    "2026-01-01T10:00:00.000Z", "2026-12-05T19:28:01.123456Z", "2026-12-05T19:28:01Z",
    "2026-12-05 19:28:01.5+00", "2024-02-29T23:59:59.999+02:00", "1969-12-31T23:59:59.001Z",
    "2026-06-01T00:00:00.1-05:30",
])
def test_iso_ms_reads_server_and_user_timestamps(kernel: Any, text: str) -> None:
    assert kernel.iso_ms(text) == _dt_ms(text)


@pytest.mark.parametrize("bad", [None, 5, "", "yesterday", "2026-13-01T00:00:00Z",
                                 "2026-01-01T25:00:00Z", "2026-01-01", "2026-01-01T00:00:00Zjunk"])
def test_iso_ms_gives_none_for_what_it_cannot_read(kernel: Any, bad: Any) -> None:
    assert kernel.iso_ms(bad) is None


def test_ms_iso_is_js_to_iso_string(kernel: Any) -> None:
    assert kernel.ms_iso(0) == "1970-01-01T00:00:00.000Z"
    assert kernel.ms_iso(1767261600123) == "2026-01-01T10:00:00.123Z"
    assert kernel.ms_iso(-1000) == "1969-12-31T23:59:59.000Z"


def test_window_starts(kernel: Any) -> None:
    assert kernel.window_starts(1999, 1000, 1000, 0) == [1000]
    assert kernel.window_starts(1500, 2000, 1000, 0) == [1000, 0]
    assert kernel.window_starts(-1, 1000, 1000, 0) == [-1000]
    monday = 4 * 86_400_000  # 1970-01-05, a Monday
    ts = monday + 3 * WEEK + 12345
    assert kernel.window_starts(ts, WEEK, WEEK, monday) == [monday + 3 * WEEK]


def test_state_key(kernel: Any) -> None:
    assert kernel.state_key("tumb:2", "2026-01-01T10:00:00.000Z", "p") == \
        "tumb:2\x1f2026-01-01T10:00:00.000Z\x1fp"


def test_split_partitions_groups_and_sorts(kernel: Any) -> None:
    def msg(pid: str, ts: str, mid: str) -> Dict[str, Any]:
        return {"partitionId": pid, "partition": pid.upper(), "leaseId": "L", "id": mid,
                "createdAt": ts, "transactionId": mid}
    msgs = [msg("b", "2026-01-01T00:00:02Z", "1"), msg("a", "2026-01-01T00:00:03Z", "3"),
            msg("b", "2026-01-01T00:00:01Z", "2"), msg("a", "2026-01-01T00:00:03Z", "2"),
            {"id": "x", "createdAt": "bad"}]
    groups = kernel.split_partitions(msgs, "g")
    assert [(g[0], g[1], g[2], g[3]) for g in groups] == [
        ("b", "B", "L", "g"), ("a", "A", "L", "g"), ("unknown", None, None, "g")]
    assert [m["id"] for m in groups[0][4]] == ["2", "1"]
    assert [m["id"] for m in groups[1][4]] == ["2", "3"]
    assert groups[2][5] == [0]
    assert groups[0][5] == [_dt_ms("2026-01-01T00:00:01Z"), _dt_ms("2026-01-01T00:00:02Z")]


def test_agg_update(kernel: Any) -> None:
    acc = {"count": 0, "sum": 0, "min": None, "max": None, "__avg_sum": 0, "__avg_count": 0,
           "avg": 0}
    for x in (3, True, "no", 1.5, None):
        acc = kernel.agg_update(acc, AGG, {"x": x})
    assert acc == {"count": 3 + 1.5 + 3, "sum": 4.5, "min": 1.5, "max": 3, "__avg_sum": 4.5,
                   "__avg_count": 2, "avg": 2.25, "other": 4.5}


def test_agg_update_rejects_an_awaitable(kernel: Any) -> None:
    async def coro(v: Any) -> int:
        return 1
    spec = (("sum",), (1,), (coro,))
    with pytest.raises(TypeError, match="async def"):
        kernel.agg_update({}, spec, {})


def _fold(kernel: Any, items: List[Tuple[str, int, Any]], seeded: Dict[str, Any],
          watermark: Any = None, reducer: bool = False) -> Any:
    accs = {k: list(v) for k, v in seeded.items()}
    fn = (lambda a, v: a + v["x"]) if reducer else None
    init = (lambda: 0) if reducer else (lambda: {"count": 0})
    agg = None if reducer else (("count", "sum"), (0, 1), (lambda v: 1, lambda v: v["x"]))
    res = kernel.fold_windows(accs, items, "tumb:1", 1000, 1000, 0, fn, init, agg, watermark,
                              True)
    ops, emits = kernel.close_windows(accs, 2500, 0, None)
    return res, accs, ops, emits


def test_fold_and_close(kernel: Any) -> None:
    seeded = {"tumb:1\x1f1970-01-01T00:00:00.000Z\x1fk": ["k", 0, 1000, "1970-01-01T00:00:00.000Z",
                                                         {"count": 5, "sum": 50}, False, True],
              "tumb:1\x1f1970-01-01T00:00:03.000Z\x1fk": ["k", 3000, 4000, "x", {}, False, True]}
    items = [("k", 100, {"x": 1}), ("k", 1500, {"x": 2}), ("j", 2100, {"x": 3}),
             ("k", 50, {"x": 100})]
    (dropped, max_ts), accs, ops, emits = _fold(kernel, items, seeded, watermark=60)
    assert (dropped, max_ts) == (1, 2100)  # ts 50 < watermark 60: late, dropped
    assert emits == [
        {"key": "k", "windowStart": 0, "windowEnd": 1000,
         "windowKey": "1970-01-01T00:00:00.000Z", "value": {"count": 6, "sum": 51}},
        {"key": "k", "windowStart": 1000, "windowEnd": 2000,
         "windowKey": "1970-01-01T00:00:01.000Z", "value": {"count": 1, "sum": 2}}]
    assert ops == [
        {"type": "delete", "key": "tumb:1\x1f1970-01-01T00:00:00.000Z\x1fk"},
        {"type": "upsert", "key": "tumb:1\x1f1970-01-01T00:00:02.000Z\x1fj",
         "value": {"acc": {"count": 1, "sum": 3}, "windowStart": 2000, "windowEnd": 3000}}]


def test_fold_with_a_reduce_function(kernel: Any) -> None:
    (dropped, _), accs, ops, emits = _fold(kernel, [("k", 10, {"x": 4}), ("k", 20, {"x": 5})],
                                           {}, reducer=True)
    assert dropped == 0 and [e["value"] for e in emits] == [9] and ops == []


def test_close_windows_without_a_clock_only_upserts(kernel: Any) -> None:
    accs = {"s": ["k", 0, 1000, "w", 1, True, False]}
    ops, emits = kernel.close_windows(accs, None, 0, None)
    assert emits == [] and ops[0]["type"] == "upsert"


def test_sink_items_and_cycle_encoding(kernel: Any) -> None:
    assert kernel.sink_items("q", "p", [{"a": 1}, 5]) == [
        {"queue": "q", "partition": "p", "payload": {"a": 1}},
        {"queue": "q", "partition": "p", "payload": {"value": 5}}]
    body = kernel.encode_cycle("Q", "P", "G", [], [], None, True)
    assert body == (b'{"query_id":"Q","partition_id":"P","consumer_group":"G","state_ops":[],'
                    b'"push_items":[],"ack":null,"release_lease":true}')


# ---------------------------------------------------------------- agreement

_items = st.lists(st.tuples(st.sampled_from(["a", "b", "c"]),
                            st.integers(min_value=-5000, max_value=20000),
                            st.fixed_dictionaries({"x": st.one_of(
                                st.integers(-100, 100), st.floats(-10, 10), st.none(),
                                st.booleans())})), max_size=40)


@settings(max_examples=60, deadline=None)
@given(items=_items, size=st.sampled_from([1000, 2000, 3000]),
       slide=st.sampled_from([1000, 500]), clock=st.one_of(st.none(), st.integers(-1000, 25000)),
       wm=st.one_of(st.none(), st.integers(-1000, 10000)))
def test_twins_agree_on_fold_and_close(items: List[Any], size: int, slide: int, clock: Any,
                                       wm: Any) -> None:
    try:
        compiled = core_pkg.load(pure=False)
    except ImportError:
        pytest.skip("compiled core not built")
    pure = core_pkg.load(pure=True)
    spec = (("count", "sum", "min", "max", "avg", "z"), (0, 1, 2, 3, 4, 5),
            tuple((lambda v: v["x"]) for _ in range(6)))
    out = []
    for k in (compiled, pure):
        accs: Dict[str, Any] = {}
        res = k.fold_windows(accs, items, "slide:x", size, slide, 0, None, dict, spec, wm, True)
        ops, emits = k.close_windows(accs, clock, 100, None)
        out.append((res, orjson.dumps(ops), orjson.dumps(emits)))
    assert out[0] == out[1]


@settings(max_examples=100, deadline=None)
@given(ms=st.integers(min_value=-10**12, max_value=4 * 10**12))
def test_twins_agree_on_timestamps(ms: int) -> None:
    try:
        compiled = core_pkg.load(pure=False)
    except ImportError:
        pytest.skip("compiled core not built")
    pure = core_pkg.load(pure=True)
    text = pure.ms_iso(ms)
    assert compiled.ms_iso(ms) == text
    assert compiled.iso_ms(text) == pure.iso_ms(text) == ms


_near_iso = st.builds(
    lambda y, mo, d, h, mi, s, frac, tz: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"
                                         f"{frac}{tz}",
    st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 25),
    st.integers(0, 61), st.integers(0, 61), st.sampled_from(["", ".", ".5", ".123456", ",12"]),
    st.sampled_from(["", "Z", "z", "+00", "+05:30", "-0800", "+1", "Zx", " "]))


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(_near_iso, st.text(max_size=30)))
def test_twins_agree_on_any_text(text: str) -> None:
    try:
        compiled = core_pkg.load(pure=False)
    except ImportError:
        pytest.skip("compiled core not built")
    assert compiled.iso_ms(text) == core_pkg.load(pure=True).iso_ms(text)
