"""encode_push_items refuses what the servers would store wrongly or never: NaN and
±Infinity (orjson writes them as null) and transactionIds over 255 characters.
Both twins, plus a randomized agreement test."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize("message, where", [
    ({"data": math.nan}, "message 0: data is nan"),
    ({"data": {"price": math.inf}}, "message 0: data['price'] is inf"),
    ({"data": {"a": [1, 2, {"b": -math.inf}]}}, "message 0: data['a'][2]['b'] is -inf"),
    ({"payload": (1.5, math.nan)}, "message 0: data[1] is nan"),
    ({"no": {"data": {"key": math.nan}}}, "message 0: data['no']['data']['key'] is nan"),
])
def test_non_finite_numbers_are_refused_with_their_place(
    core: SimpleNamespace, message: Any, where: str
) -> None:
    with pytest.raises(ValueError) as info:
        core.encode_push_items("q", "p", [message])
    assert str(info.value).startswith(where)


def test_null_itself_is_fine(core: SimpleNamespace) -> None:
    fragments, _ = core.encode_push_items("q", "p", [{"data": {"a": None, "b": [None, 1.5]}}])
    assert b'"payload":{"a":null,"b":[null,1.5]}' in fragments[0]


def test_transaction_id_length(core: SimpleNamespace) -> None:
    core.encode_push_items("q", "p", [{"data": 1, "transactionId": "x" * 255}])
    with pytest.raises(ValueError, match="longer than 255"):
        core.encode_push_items("q", "p", [{"data": 1}, {"data": 2, "transactionId": "é" * 256}])


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats(allow_nan=True, allow_infinity=True),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=JSONISH)
def test_twins_agree_on_non_finite(twins: Tuple[SimpleNamespace, SimpleNamespace], data: Any) -> None:
    outcomes = []
    for twin in twins:
        try:
            fragments, _ = twin.encode_push_items("q", "p", [{"data": data, "transactionId": "t"}])
            outcomes.append(fragments)
        except ValueError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]
