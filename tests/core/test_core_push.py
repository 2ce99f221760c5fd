"""encode_push_items / join_items / encode_push / PushBuffer, against both twins."""

from __future__ import annotations

import time
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

TRACE = "6f1c9a2e-1b7d-4c3e-8a9f-0d1e2f3a4b5c"


def items(core: SimpleNamespace, messages: list, queue: str = "orders", partition: str = "Default"):
    fragments, txids = core.encode_push_items(queue, partition, messages)
    assert len(fragments) == len(txids) == len(messages)
    assert all(type(f) is bytes for f in fragments)
    return [orjson.loads(f) for f in fragments], txids


def test_item_shape_and_key_order(core: SimpleNamespace) -> None:
    decoded, txids = items(core, [{"data": {"a": 1}, "transactionId": "t-1", "traceId": TRACE}])
    assert list(decoded[0]) == ["queue", "partition", "payload", "transactionId", "traceId"]
    assert decoded[0] == {
        "queue": "orders",
        "partition": "Default",
        "payload": {"a": 1},
        "transactionId": "t-1",
        "traceId": TRACE,
    }
    assert txids == ["t-1"]


@pytest.mark.parametrize(
    ("message", "payload"),
    [
        ({"data": {"x": 1}, "payload": "ignored"}, {"x": 1}),
        ({"data": None}, None),
        ({"data": 0}, 0),
        ({"data": False}, False),
        ({"data": [1, "two", None]}, [1, "two", None]),
        ({"data": "text"}, "text"),
        ({"payload": {"p": 2}}, {"p": 2}),
        ({"payload": None}, None),
        ({"orderId": 7, "amount": 9.5}, {"orderId": 7, "amount": 9.5}),
        ({}, {}),
        ({"transactionId": "t", "k": 1}, {"transactionId": "t", "k": 1}),
    ],
)
def test_payload_rules(core: SimpleNamespace, message: dict, payload: Any) -> None:
    decoded, _ = items(core, [message])
    assert decoded[0]["payload"] == payload


def test_generated_transaction_ids_are_fresh_uuid7(core: SimpleNamespace) -> None:
    decoded, txids = items(core, [{"data": i} for i in range(50)] + [{"transactionId": None}])
    assert len(set(txids)) == 51
    assert txids == sorted(txids)  # monotonic
    for d, t in zip(decoded, txids):
        assert d["transactionId"] == t
        assert core.is_uuid(t) and t[14] == "7"


def test_custom_transaction_id_is_kept_verbatim(core: SimpleNamespace) -> None:
    tx = 'order-12345 "quoted" \\ back \u00e9\U0001f600\n'
    decoded, txids = items(core, [{"data": 1, "transactionId": tx}])
    assert txids == [tx]
    assert decoded[0]["transactionId"] == tx


@pytest.mark.parametrize("bad", [123, b"bytes", ["t"], True])
def test_transaction_id_must_be_a_str(core: SimpleNamespace, bad: Any) -> None:
    with pytest.raises(TypeError, match="message 0: transactionId"):
        core.encode_push_items("q", "Default", [{"data": 1, "transactionId": bad}])


def test_transaction_id_must_not_be_empty(core: SimpleNamespace) -> None:
    with pytest.raises(ValueError, match="message 1: transactionId"):
        core.encode_push_items("q", "Default", [{"data": 1}, {"data": 2, "transactionId": ""}])


@pytest.mark.parametrize(
    ("trace", "kept"),
    [
        (TRACE, True),
        (TRACE.upper(), True),
        ("not-a-uuid", False),
        ("", False),
        (None, False),
        (42, False),
        (TRACE + " ", False),
    ],
)
def test_trace_id_only_when_it_is_a_uuid(core: SimpleNamespace, trace: Any, kept: bool) -> None:
    decoded, _ = items(core, [{"data": 1, "traceId": trace}])
    if kept:
        assert decoded[0]["traceId"] == trace
    else:
        assert "traceId" not in decoded[0]


def test_unicode_and_nested_data_round_trip(core: SimpleNamespace) -> None:
    data = {
        "name": "Zoë \u65e5\u672c \U0001f680",
        "nested": {"list": [1, 2.5, None, True, {"deep": ["x", {"y": -1}]}], "empty": {}},
        "escapes": 'quote " backslash \\ newline \n tab \t nul \x00',
        "big": 2**63 - 1,
        "neg": -(2**63),
    }
    decoded, _ = items(core, [{"data": data}], queue='q\u00fc"e', partition="p/\u65e5")
    assert decoded[0]["payload"] == data
    assert decoded[0]["queue"] == 'q\u00fc"e'
    assert decoded[0]["partition"] == "p/\u65e5"


def test_fragments_are_compact_json(core: SimpleNamespace) -> None:
    fragments, _ = core.encode_push_items("q", "P", [{"data": {"a": [1, 2]}, "transactionId": "t"}])
    assert fragments == [b'{"queue":"q","partition":"P","payload":{"a":[1,2]},"transactionId":"t"}']


@pytest.mark.parametrize("bad", [["not", "a", "dict"], "text", None, 5])
def test_message_must_be_a_dict(core: SimpleNamespace, bad: Any) -> None:
    with pytest.raises(TypeError, match="message 1 must be a dict"):
        core.encode_push_items("q", "Default", [{"data": 1}, bad])


@pytest.mark.parametrize(
    "data",
    [{1, 2}, object(), Decimal("1.5"), {"k": b"bytes"}, {1: "int key"}, 2**64, {"x": {3j}}],
)
def test_non_json_data_is_a_type_error(core: SimpleNamespace, data: Any) -> None:
    with pytest.raises(TypeError, match="message 0: data is not JSON serialisable"):
        core.encode_push_items("q", "Default", [{"data": data}])


def test_surrogates_are_a_type_error(core: SimpleNamespace) -> None:
    with pytest.raises(TypeError):
        core.encode_push_items("q", "Default", [{"data": "\ud800"}])
    with pytest.raises(TypeError):
        core.encode_push_items("q", "Default", [{"data": 1, "transactionId": "\udfff"}])
    with pytest.raises(TypeError):
        core.encode_push_items("\ud800", "Default", [])


@pytest.mark.parametrize(
    ("queue", "partition", "exc"),
    [
        (None, "Default", TypeError),
        ("", "Default", ValueError),
        ("q", 3, TypeError),
        ("q", "", ValueError),
    ],
)
def test_queue_and_partition_checks(
    core: SimpleNamespace, queue: Any, partition: Any, exc: type
) -> None:
    with pytest.raises(exc):
        core.encode_push_items(queue, partition, [{"data": 1}])


def test_messages_may_be_any_iterable(core: SimpleNamespace) -> None:
    msgs = ({"data": i, "transactionId": f"t{i}"} for i in range(3))
    fragments, txids = core.encode_push_items("q", "Default", msgs)
    assert txids == ["t0", "t1", "t2"]
    assert core.encode_push_items("q", "Default", ()) == ([], [])


def test_join_items(core: SimpleNamespace) -> None:
    assert core.join_items([]) == b'{"items":[]}'
    assert core.join_items([b'{"a":1}']) == b'{"items":[{"a":1}]}'
    assert core.join_items([b'{"a":1}', b'{"b":2}']) == b'{"items":[{"a":1},{"b":2}]}'
    assert core.join_items((b"1", bytearray(b"2"))) == b'{"items":[1,2]}'
    assert core.join_items([b"1", bytearray(b"2")]) == b'{"items":[1,2]}'
    with pytest.raises(TypeError):
        core.join_items(["str"])


def test_encode_push_is_a_whole_body(core: SimpleNamespace) -> None:
    msgs = [{"data": {"i": i}} for i in range(5)] + [{"data": 1, "transactionId": "mine"}]
    body, txids = core.encode_push("events", "p1", msgs)
    doc = orjson.loads(body)
    assert list(doc) == ["items"]
    assert [it["transactionId"] for it in doc["items"]] == txids
    assert txids[-1] == "mine"
    assert [it["payload"] for it in doc["items"][:5]] == [{"i": i} for i in range(5)]
    assert all(it["queue"] == "events" and it["partition"] == "p1" for it in doc["items"])


# --- PushBuffer ---------------------------------------------------------------


def test_buffer_counts_and_reports_full(core: SimpleNamespace) -> None:
    buf = core.PushBuffer(3, 1000)
    assert buf.count == 0 and len(buf) == 0 and buf.first_at == 0.0
    assert buf.append([b"a"], ["ta"]) is False
    assert buf.append([b"b"], ["tb"]) is False
    assert buf.count == 2
    assert buf.append([b"c", b"d"], ("tc", "td")) is True
    assert buf.count == 4
    assert buf.take() == ([b"a", b"b", b"c", b"d"], ["ta", "tb", "tc", "td"])
    assert buf.count == 0 and buf.first_at == 0.0
    assert buf.take() == ([], [])


def test_buffer_first_at_is_the_oldest_item(core: SimpleNamespace) -> None:
    buf = core.PushBuffer(100, 50)
    assert buf.append([], []) is False
    assert buf.first_at == 0.0
    before = time.monotonic()
    buf.append([b"a"], ["t"])
    after = time.monotonic()
    first = buf.first_at
    assert before <= first <= after
    buf.append([b"b"], ["u"])
    assert buf.first_at == first


def test_buffer_due(core: SimpleNamespace) -> None:
    buf = core.PushBuffer(100, 50)
    assert buf.due(time.monotonic() + 1000) is False  # empty is never due
    buf.append([b"a"], ["t"])
    first = buf.first_at
    assert buf.due(first) is False
    assert buf.due(first + 0.049) is False
    assert buf.due(first + 0.050) is True
    assert buf.due(first + 10) is True
    buf.take()
    assert buf.due(first + 10) is False


def test_buffer_zero_millis_is_due_at_once(core: SimpleNamespace) -> None:
    buf = core.PushBuffer(10, 0)
    buf.append([b"a"], ["t"])
    assert buf.due(buf.first_at) is True


def test_buffer_take_hands_over_the_lists(core: SimpleNamespace) -> None:
    buf = core.PushBuffer(10, 10)
    buf.append([b"a"], ["t"])
    frags, txids = buf.take()
    buf.append([b"b"], ["u"])
    assert frags == [b"a"] and txids == ["t"]  # not aliased with the new contents


def test_buffer_attributes(core: SimpleNamespace) -> None:
    buf = core.PushBuffer(5, 250)
    assert buf.max_count == 5 and buf.max_millis == 250.0
    assert isinstance(buf.max_millis, float)
    assert "PushBuffer" in repr(buf)


def test_buffer_mismatched_append(core: SimpleNamespace) -> None:
    buf = core.PushBuffer(5, 10)
    with pytest.raises(ValueError):
        buf.append([b"a", b"b"], ["t"])
    assert buf.count == 0


@pytest.mark.parametrize(
    ("args", "exc"),
    [
        ((0, 10), ValueError),
        ((-1, 10), ValueError),
        ((1, -1), ValueError),
        ((1, float("nan")), ValueError),
        ((1.5, 10), TypeError),
        ((True, 10), TypeError),
        ((1, "10"), TypeError),
        ((1, None), TypeError),
    ],
)
def test_buffer_validation(core: SimpleNamespace, args: tuple, exc: type) -> None:
    with pytest.raises(exc):
        core.PushBuffer(*args)


# ------------------------------------------------------------------ push_all_stored

PARSE = object()  # a stored reply the compiled scanner leaves to the full parse (False)


@pytest.mark.parametrize(("body", "count", "expected"), [
    (b'[{"status":"queued","message_id":"m","transaction_id":"t"}]', 1, True),
    (b' [ {"index" : 0, "status" : "duplicate", "trace_id" : null, "n": -12} ,\n'
     b'{"status":"buffered","ok":true,"no":false} ] ', 2, True),
    (b"[]", 0, True),
    (b"[]", 1, False),
    (b'[{"status":"queued"}]', 2, False),                      # an item without result
    (b'[{"status":"failed","error":"full"}]', 1, False),
    (b'[{"status":""}]', 1, False),
    (b'[{"status":null}]', 1, False),
    (b'[{"status":1}]', 1, False),                             # not provably stored
    (b'[{"queue":"q"}]', 1, False),                            # no status at all
    (b'[{"status":"failed","status":"queued"}]', 1, True),     # the last one counts
    (b'[{"status":"queued","status":"failed"}]', 1, False),
    (b'[{"status":"queued","x":{"status":"queued"}}]', 1, PARSE),  # nesting: parse it
    (b'[{"status":"queued","x":[1]}]', 1, PARSE),
    (b'[{"status":"qu\\u0065ued"}]', 1, PARSE),                # escapes: parse it
    (b'[{"status":"queued","q":"\xc3\xa9"}]', 1, PARSE),       # non-ASCII: parse it
    (b'[{"status":"queued","n":1.5}]', 1, PARSE),              # floats: parse it
    (b'[{"status":"queued","n":1234567890123456789}]', 1, PARSE),  # beyond 18 digits
    (b'[{"status":"queued","n":012}]', 1, False),              # not JSON
    (b'[{"status":"queued"},]', 1, False),
    (b'[{"status":"queued",}]', 1, False),
    (b'[{"status":"queued"}', 1, False),
    (b'[{"status":"queued"}] x', 1, False),
    (b'[{"status":"queued","t":tru}]', 1, False),
    (b'{"error":"no such queue"}', 1, False),
    (b"", 0, False),
    ('[{"status":"queued"}]', 1, False),                       # str, not bytes
    (b'[{"status":"queued"}]', 1.0, True),
])
def test_push_all_stored(core: SimpleNamespace, body: Any, count: Any, expected: Any) -> None:
    if expected is PARSE:  # outside the compiled scanner's subset; orjson reads it
        expected = not core.compiled
    assert core.push_all_stored(body, count) is expected
