"""Window against both core twins (the compiled one is skipped when not built)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Dict, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import queen._core
import queen.stream.window as window_mod
from queen.errors import QueenValidationError
from queen.stream import Window


@pytest.fixture(params=["pure", "compiled"])
def core(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    try:
        twin = queen._core.load(pure=request.param == "pure")
    except ImportError:
        pytest.skip("compiled core not built")
    monkeypatch.setattr(window_mod, "_core", twin)
    return twin


def msg(i: int, **data: Any) -> Dict[str, Any]:
    return {"id": f"m{i}", "created_at": "2026-01-01 00:00:00+00", "data": data}


def make(messages: List[Dict[str, Any]]) -> Window:
    return Window.from_wire({
        "id": "s:k:a:b", "leaseId": "L", "key": "k", "start": "a", "end": "b",
        "messages": messages,
    })


MESSAGES = [
    msg(1, userId="u1", value=150, amount=10.5, duration=3, price=9, status="active"),
    msg(2, userId="u2", value=50, amount=2, duration=5, price=4, status="idle"),
    msg(3, userId="u1", value=300, amount="n/a", price=12.5, status="active"),
    msg(4, value=120, amount=True, duration=None, price=-1, status="active"),
    {"id": "m5", "created_at": "x", "data": None},
]


def test_from_wire_fields(core: SimpleNamespace) -> None:
    w = make(MESSAGES)
    assert (w.id, w.key, w.start, w.end, w.lease_id) == ("s:k:a:b", "k", "a", "b", "L")
    assert w.size() == w.original_size() == len(w) == 5


def test_filter_is_chainable_and_reset_restores(core: SimpleNamespace) -> None:
    w = make(MESSAGES)
    out = w.filter(lambda m: m["data"] is not None).filter(lambda m: m["data"]["value"] > 100)
    assert out is w
    assert [m["id"] for m in w.messages] == ["m1", "m3", "m4"]
    assert w.size() == 3 and w.original_size() == 5
    assert w.reset() is w
    assert w.size() == 5


def test_filter_then_group_by_uses_current_view(core: SimpleNamespace) -> None:
    w = make(MESSAGES).filter(lambda m: m["data"] is not None and m["data"]["status"] == "active")
    groups = w.group_by("data.userId")
    assert list(groups) == ["u1", None]  # first-seen order; missing path -> None
    assert [m["id"] for m in groups["u1"]] == ["m1", "m3"]
    assert [m["id"] for m in groups[None]] == ["m4"]


def test_group_by_unhashable_and_list_index(core: SimpleNamespace) -> None:
    w = make([msg(1, tags=["a", "b"], who={"b": 1, "a": 2}), msg(2, tags=["a"], who={"a": 2, "b": 1})])
    assert list(w.group_by("data.tags.0")) == ["a"]
    groups = w.group_by("data.who")
    assert len(groups) == 1 and len(next(iter(groups.values()))) == 2


def test_aggregate_guide_shape_skips_missing_and_non_numeric(core: SimpleNamespace) -> None:
    w = make(MESSAGES)
    stats = w.aggregate({
        "count": True,
        "sum": ["data.amount"],
        "avg": ["data.duration"],
        "min": ["data.price"],
        "max": ["data.price"],
    })
    # amount: 10.5 + 2 ("n/a", True, missing and a null data skipped)
    assert stats == {
        "count": 5,
        "sum": {"data.amount": 12.5},
        "avg": {"data.duration": 4.0},
        "min": {"data.price": -1},
        "max": {"data.price": 12.5},
    }


def test_aggregate_of_nothing(core: SimpleNamespace) -> None:
    w = make(MESSAGES).filter(lambda m: False)
    stats = w.aggregate({"count": True, "sum": ["data.x"], "avg": ["data.x"],
                         "min": ["data.x"], "max": ["data.x"]})
    assert stats == {"count": 0, "sum": {"data.x": 0}, "avg": {"data.x": None},
                     "min": {"data.x": None}, "max": {"data.x": None}}
    assert make([]).aggregate({"count": True}) == {"count": 0}


def test_aggregate_only_requested_keys(core: SimpleNamespace) -> None:
    assert make(MESSAGES).aggregate({"sum": ["data.value"]}) == {"sum": {"data.value": 620}}


def test_bad_aggregate_spec_is_validation_error(core: SimpleNamespace) -> None:
    w = make(MESSAGES)
    with pytest.raises(QueenValidationError):
        w.aggregate({"median": ["data.value"]})
    with pytest.raises(QueenValidationError):
        w.aggregate({"sum": [1]})
    with pytest.raises(QueenValidationError):
        w.group_by(3)  # type: ignore[arg-type]
    with pytest.raises(QueenValidationError):
        w.filter("data.value")  # type: ignore[arg-type]


def test_predicate_errors_propagate(core: SimpleNamespace) -> None:
    with pytest.raises(KeyError):
        make([msg(1)]).filter(lambda m: m["data"]["missing"])


def test_mutating_view_does_not_touch_original(core: SimpleNamespace) -> None:
    w = make(MESSAGES)
    w.messages.clear()
    assert w.size() == 0 and w.original_size() == 5
    assert w.reset().size() == 5


def test_from_wire_rejects_non_list_messages() -> None:
    with pytest.raises(QueenValidationError):
        Window.from_wire({"messages": {"a": 1}})
    assert Window.from_wire({"messages": None}).size() == 0


# -- property: aggregate never crashes and agrees with a plain reference ------

_values = st.one_of(
    st.none(), st.booleans(), st.text(max_size=3),
    st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False),
    st.lists(st.integers(0, 9), max_size=2),
    # group keys of dicts are their JSON text (orjson): ints beyond 64 bits cannot be keys
    st.dictionaries(st.sampled_from("xy"), st.integers(-2**63, 2**63 - 1)),
)
_data = st.one_of(st.none(), st.integers(), st.dictionaries(st.sampled_from(["a", "b"]), _values))
_messages = st.lists(st.builds(lambda d: {"id": "m", "data": d}, _data), max_size=30)


def _numbers(messages: List[Dict[str, Any]], key: str) -> List[Any]:
    out = []
    for m in messages:
        data = m["data"]
        v = data.get(key) if isinstance(data, dict) else None
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(v)
    return out


@pytest.mark.parametrize("pure", [True, False])
@settings(max_examples=60, deadline=None)
@given(messages=_messages)
def test_aggregate_matches_reference(pure: bool, messages: List[Dict[str, Any]]) -> None:
    try:
        twin = queen._core.load(pure=pure)
    except ImportError:
        pytest.skip("compiled core not built")
    original = window_mod._core
    window_mod._core = twin  # hypothesis and function-scoped monkeypatch do not mix
    try:
        w = make(messages)
        paths = ["data.a", "data.b", "data.a.x", "data.zzz"]
        stats = w.aggregate({"count": True, "sum": paths, "avg": paths, "min": paths,
                             "max": paths})
        groups = w.group_by("data.a")
    finally:
        window_mod._core = original
    assert stats["count"] == len(messages)
    assert sum(len(g) for g in groups.values()) == len(messages)
    for key in ("a", "b"):
        nums = _numbers(messages, key)
        path = f"data.{key}"
        assert stats["sum"][path] == pytest.approx(sum(nums), rel=1e-9, abs=1e-6)
        assert stats["min"][path] == (min(nums) if nums else None)
        assert stats["max"][path] == (max(nums) if nums else None)
        if nums:
            assert stats["avg"][path] == pytest.approx(sum(nums) / len(nums), rel=1e-9, abs=1e-6)
        else:
            assert stats["avg"][path] is None
    assert stats["sum"]["data.zzz"] == 0 and stats["avg"]["data.zzz"] is None
