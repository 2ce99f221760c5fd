"""get_path / window_filter / window_group_by / window_aggregate, against both twins."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest

import queen._core as core_pkg

MSG = {
    "id": "m1",
    "data": {
        "user": {"id": 7, "name": None},
        "items": [{"sku": "a"}, {"sku": "b"}],
        "flag": False,
        "": "empty key",
    },
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("id", "m1"),
        ("data.user.id", 7),
        ("data.user.name", None),
        ("data.items.0.sku", "a"),
        ("data.items.1", {"sku": "b"}),
        ("data.flag", False),
        ("data.", "empty key"),
    ],
)
def test_get_path_found(core: SimpleNamespace, path: str, expected: Any) -> None:
    assert core.get_path(MSG, path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "nope",
        "data.user.email",
        "data.items.2",
        "data.items.-1",
        "data.items.+1",
        "data.items. 1",
        "data.items.x",
        "data.items.99999999999999999999999",
        "data.items.\u0661",  # Arabic-Indic digit one: isdigit() but not an index
        "id.length",
        "data.user.id.x",
        "",
        "data..user",
    ],
)
def test_get_path_missing(core: SimpleNamespace, path: str) -> None:
    assert core.get_path(MSG, path) is core.MISSING


def test_get_path_on_lists_and_scalars(core: SimpleNamespace) -> None:
    assert core.get_path([10, 20], "1") == 20
    assert core.get_path([10, 20], "01") == 20
    assert core.get_path(5, "a") is core.MISSING
    assert core.get_path(("t",), "0") is core.MISSING  # only lists are indexable
    assert core.get_path({"a": {"1": "k"}}, "a.1") == "k"


def test_missing_is_one_shared_falsy_sentinel(core: SimpleNamespace) -> None:
    assert core.MISSING is core_pkg.MISSING
    assert not core.MISSING
    assert repr(core.MISSING) == "MISSING"


def test_get_path_needs_a_str(core: SimpleNamespace) -> None:
    with pytest.raises(TypeError):
        core.get_path(MSG, ["data"])


def test_filter(core: SimpleNamespace) -> None:
    msgs = [{"v": v} for v in (5, 150, 0, 101, 100)]
    assert core.window_filter(msgs, lambda m: m["v"] > 100) == [{"v": 150}, {"v": 101}]
    kept = core.window_filter(msgs, lambda m: m["v"])  # truthiness, not `is True`
    assert [m["v"] for m in kept] == [5, 150, 101, 100]
    assert core.window_filter([], lambda m: True) == []
    assert core.window_filter(iter(msgs), lambda m: [] if m["v"] else [1]) == [{"v": 0}]
    assert core.window_filter(msgs, lambda m: True)[0] is msgs[0]


def test_filter_errors(core: SimpleNamespace) -> None:
    with pytest.raises(TypeError):
        core.window_filter([{}], "not callable")

    def boom(m: Any) -> bool:
        raise KeyError("x")

    with pytest.raises(KeyError):  # the user's exception is not swallowed
        core.window_filter([{}], boom)


def test_group_by_keeps_first_seen_order(core: SimpleNamespace) -> None:
    msgs = [{"data": {"u": u}} for u in ("b", "a", "b", "c", "a")]
    groups = core.window_group_by(msgs, "data.u")
    assert list(groups) == ["b", "a", "c"]
    assert groups["b"] == [msgs[0], msgs[2]]
    assert groups["b"][0] is msgs[0]


def test_group_by_missing_and_unhashable(core: SimpleNamespace) -> None:
    msgs = [
        {"data": {"k": {"b": 1, "a": [1, {"z": 0, "y": 2}]}}},
        {"data": {"k": {"a": [1, {"y": 2, "z": 0}], "b": 1}}},
        {"data": {}},
        {"data": {"k": None}},
        {"data": {"k": [3, "x"]}},
        {"other": 1},
    ]
    groups = core.window_group_by(msgs, "data.k")
    assert list(groups) == ['{"a":[1,{"y":2,"z":0}],"b":1}', None, '[3,"x"]']
    assert groups['{"a":[1,{"y":2,"z":0}],"b":1}'] == msgs[:2]
    assert groups[None] == [msgs[2], msgs[3], msgs[5]]


def test_group_by_numbers_and_bools(core: SimpleNamespace) -> None:
    msgs = [{"k": 1}, {"k": 1.0}, {"k": True}, {"k": 2}, {"k": "1"}]
    groups = core.window_group_by(msgs, "k")
    # dict-key semantics: 1 == 1.0 == True share a group (first key seen wins)
    assert list(groups) == [1, 2, "1"]
    assert type(list(groups)[0]) is int
    assert len(groups[1]) == 3


def test_group_by_errors(core: SimpleNamespace) -> None:
    with pytest.raises(TypeError):
        core.window_group_by([{}], None)
    with pytest.raises(TypeError):
        core.window_group_by([{"k": [{1, 2}]}], "k")  # unhashable and not JSON


SPEC = {
    "count": True,
    "sum": ["data.amount"],
    "avg": ["data.amount"],
    "min": ["data.price"],
    "max": ["data.price"],
}


def test_aggregate_basic(core: SimpleNamespace) -> None:
    msgs = [
        {"data": {"amount": 10, "price": 3.5}},
        {"data": {"amount": 2.5, "price": -1}},
        {"data": {"amount": True, "price": "7"}},  # bool and str are skipped
        {"data": {"price": None}},
        {"data": {"amount": 7}},
    ]
    assert core.window_aggregate(msgs, SPEC) == {
        "count": 5,
        "sum": {"data.amount": 19.5},
        "avg": {"data.amount": 6.5},
        "min": {"data.price": -1},
        "max": {"data.price": 3.5},
    }


def test_aggregate_of_nothing(core: SimpleNamespace) -> None:
    assert core.window_aggregate([], SPEC) == {
        "count": 0,
        "sum": {"data.amount": 0},
        "avg": {"data.amount": None},
        "min": {"data.price": None},
        "max": {"data.price": None},
    }
    only_junk = [{"data": {"amount": "x", "price": [1]}}, {"data": {"amount": False}}]
    result = core.window_aggregate(only_junk, SPEC)
    assert result["sum"] == {"data.amount": 0} and type(result["sum"]["data.amount"]) is int
    assert result["avg"] == {"data.amount": None}


def test_aggregate_only_requested_keys(core: SimpleNamespace) -> None:
    msgs = [{"v": 1}, {"v": 2}]
    assert core.window_aggregate(msgs, {"count": True}) == {"count": 2}
    assert core.window_aggregate(msgs, {"count": False, "max": ["v"]}) == {"max": {"v": 2}}
    assert core.window_aggregate(msgs, {"sum": "v"}) == {"sum": {"v": 3}}
    assert core.window_aggregate(msgs, {"sum": None, "min": ()}) == {"min": {}}
    assert core.window_aggregate(msgs, {}) == {}
    assert list(core.window_aggregate(msgs, {"max": ["v"], "count": 1, "sum": ["v"]})) == [
        "count",
        "sum",
        "max",
    ]


def test_aggregate_int_sums_are_exact_and_stay_int(core: SimpleNamespace) -> None:
    big = [{"v": 2**62}, {"v": 2**62}, {"v": 2**62}, {"v": 2**70}, {"v": -(2**70)}, {"v": 1}]
    result = core.window_aggregate(big, {"sum": ["v"], "avg": ["v"], "min": ["v"], "max": ["v"]})
    assert result["sum"]["v"] == 3 * 2**62 + 1
    assert type(result["sum"]["v"]) is int
    assert result["avg"]["v"] == (3 * 2**62 + 1) / 6
    assert result["min"]["v"] == -(2**70) and result["max"]["v"] == 2**70


def test_aggregate_min_max_mixed_and_close_values(core: SimpleNamespace) -> None:
    # 2**53 + 1 is not a double: the comparison must still be exact
    msgs = [{"v": 2**53 + 1}, {"v": float(2**53)}, {"v": 2**53 + 2}, {"v": 0.5}, {"v": 1}]
    result = core.window_aggregate(msgs, {"min": ["v"], "max": ["v"]})
    assert result == {"min": {"v": 0.5}, "max": {"v": 2**53 + 2}}
    ties = core.window_aggregate([{"v": 1}, {"v": 1.0}], {"min": ["v"], "max": ["v"]})
    assert type(ties["min"]["v"]) is int and type(ties["max"]["v"]) is int  # first one wins


def test_aggregate_nan_and_inf(core: SimpleNamespace) -> None:
    msgs = [{"v": 1.0}, {"v": math.inf}, {"v": 2}]
    result = core.window_aggregate(msgs, {"sum": ["v"], "max": ["v"]})
    assert result == {"sum": {"v": math.inf}, "max": {"v": math.inf}}
    nan = core.window_aggregate([{"v": math.nan}, {"v": 1.0}], {"sum": ["v"], "avg": ["v"]})
    assert math.isnan(nan["sum"]["v"]) and math.isnan(nan["avg"]["v"])
    huge = core.window_aggregate([{"v": 0.5}, {"v": 10**400}], {"sum": ["v"]})
    assert huge == {"sum": {"v": math.inf}}


def test_aggregate_several_paths_and_lists(core: SimpleNamespace) -> None:
    msgs = [{"data": {"a": i, "b": [i * 10]}} for i in range(1, 5)]
    spec = {"sum": ["data.a", "data.b.0"], "avg": ["data.b.0"]}
    assert core.window_aggregate(msgs, spec) == {
        "sum": {"data.a": 10, "data.b.0": 100},
        "avg": {"data.b.0": 25.0},
    }
    assert core.window_aggregate(iter(msgs), {"count": 1}) == {"count": 4}


@pytest.mark.parametrize(
    ("spec", "exc"),
    [
        (["count"], TypeError),
        ({"median": ["v"]}, ValueError),
        ({"sum": 5}, TypeError),
        ({"sum": [1]}, TypeError),
        ({"sum": {"v": 1}}, TypeError),
    ],
)
def test_aggregate_spec_errors(core: SimpleNamespace, spec: Any, exc: type) -> None:
    with pytest.raises(exc):
        core.window_aggregate([{"v": 1}], spec)


def test_group_by_key_for_ints_beyond_64_bits(core: SimpleNamespace) -> None:
    # JSON from a server may carry integers orjson cannot encode; grouping must not fail
    big = 2**70
    groups = core.window_group_by([{"k": {"x": big}}, {"k": {"x": big}}, {"k": {"x": 1}}], "k")
    assert groups == {
        f'{{"x":{big}}}': [{"k": {"x": big}}, {"k": {"x": big}}],
        '{"x":1}': [{"k": {"x": 1}}],
    }
