"""Window against both core twins (the compiled one is skipped when not built)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Dict, List

import pytest

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
