"""Randomised agreement between the compiled and the pure twin of every kernel."""

from __future__ import annotations

import json
import re
import time
from types import SimpleNamespace
from typing import Any, Callable, Tuple

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

Twins = Tuple[SimpleNamespace, SimpleNamespace]
SETTINGS = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


QUEUE_MODE = "__QUEUE_MODE__"


def outcome(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return ("ok", fn(*args))
    except Exception as e:  # both twins must fail the same way
        return ("error", type(e), str(e))


# --- values --------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.text(max_size=8)
)
json_like = st.recursive(
    scalars,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=4), c, max_size=4),
    max_leaves=12,
)
uuids = st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())
odd_values = (
    json_like
    | uuids
    | st.integers()
    | st.sampled_from(["", "\ud800", b"bytes", {1, 2}, (1, 2), {3: "int key"}])
)


# --- ids ---------------------------------------------------------------------------------


@SETTINGS
@given(
    s=uuids
    | st.text(alphabet="0123456789abcdefABCDEFxg-\u0661", min_size=34, max_size=38)
    | st.text()
    | st.integers()
    | st.none()
)
def test_is_uuid(twins: Twins, s: Any) -> None:
    compiled, pure = twins
    assert compiled.is_uuid(s) is pure.is_uuid(s)


UUID7_SHAPE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@SETTINGS
@given(order=st.lists(st.booleans(), min_size=1, max_size=200))
def test_uuid7_interleaved(twins: Twins, order: list) -> None:
    """Random interleavings of both twins: same shape, each twin's ids increasing,
    timestamps from the same clock."""
    compiled, pure = twins
    before = time.time_ns() // 1_000_000
    got: dict = {True: [], False: []}
    for use_compiled in order:
        got[use_compiled].append((compiled if use_compiled else pure).uuid7())
    after = time.time_ns() // 1_000_000
    for ids in got.values():
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        for s in ids:
            assert UUID7_SHAPE.match(s)
            assert before <= int(s[:8] + s[9:13], 16) <= after + 1


# --- ring --------------------------------------------------------------------------------


@SETTINGS
@given(s=st.text() | st.binary() | st.integers())
def test_fnv1a32(twins: Twins, s: Any) -> None:
    compiled, pure = twins
    assert outcome(compiled.fnv1a32, s) == outcome(pure.fnv1a32, s)


@SETTINGS
@given(h=st.integers(min_value=-5, max_value=2**32 + 5) | st.floats() | st.booleans())
def test_mix32(twins: Twins, h: Any) -> None:
    compiled, pure = twins
    assert outcome(compiled.mix32, h) == outcome(pure.mix32, h)


@SETTINGS
@given(
    nodes=st.lists(st.text(max_size=12), max_size=6),
    vnodes=st.integers(min_value=1, max_value=40),
    keys=st.lists(st.text(max_size=20), min_size=1, max_size=30),
    skip_mask=st.lists(st.booleans(), max_size=6),
)
def test_ring_lookup(twins: Twins, nodes: list, vnodes: int, keys: list, skip_mask: list) -> None:
    compiled, pure = twins
    a, b = compiled.HashRing(nodes, vnodes), pure.HashRing(nodes, vnodes)
    assert a.nodes == b.nodes and len(a) == len(b) and repr(a) == repr(b)
    skip = {n for n, s in zip(a.nodes, skip_mask) if s}
    for key in keys:
        assert a.lookup(key) == b.lookup(key)
        assert a.lookup(key, skip) == b.lookup(key, skip)


@SETTINGS
@given(nodes=st.lists(odd_values, max_size=3) | st.text(), vnodes=odd_values)
def test_ring_errors(twins: Twins, nodes: Any, vnodes: Any) -> None:
    compiled, pure = twins
    a = outcome(compiled.HashRing, nodes, vnodes)
    b = outcome(pure.HashRing, nodes, vnodes)
    assert a[0] == b[0]
    if a[0] == "error":
        assert a == b


# --- push --------------------------------------------------------------------------------

message = st.dictionaries(
    st.sampled_from(["data", "payload", "transactionId", "traceId", "x", "y"]),
    odd_values,
    max_size=5,
)


def normalise(messages: list, result: Any) -> Any:
    """Replace generated (random) transactionIds so both twins' results compare."""
    if result[0] != "ok":
        return result
    fragments, txids = result[1]
    fragments, txids = list(fragments), list(txids)
    for i, m in enumerate(messages):
        if m.get("transactionId") is None:
            fragments[i] = fragments[i].replace(txids[i].encode(), b"GENERATED")
            txids[i] = "GENERATED"
    return ("ok", fragments, txids)


@SETTINGS
@given(
    queue=st.text(max_size=6) | st.none(),
    partition=st.text(max_size=6),
    messages=st.lists(message | odd_values, max_size=6),
)
def test_encode_push_items(twins: Twins, queue: Any, partition: str, messages: list) -> None:
    compiled, pure = twins
    a = outcome(compiled.encode_push_items, queue, partition, messages)
    b = outcome(pure.encode_push_items, queue, partition, messages)
    assert normalise(messages, a) == normalise(messages, b)
    if a[0] == "ok":
        for fragment in a[1][0]:
            orjson.loads(fragment)  # every fragment is valid JSON


@SETTINGS
@given(fragments=st.lists(st.binary(max_size=8) | st.text(max_size=3), max_size=5))
def test_join_items(twins: Twins, fragments: list) -> None:
    compiled, pure = twins
    a, b = outcome(compiled.join_items, fragments), outcome(pure.join_items, fragments)
    assert a[0] == b[0]
    if a[0] == "ok":
        assert a == b
    else:
        assert a[1] is b[1]


ops = st.lists(
    st.tuples(st.sampled_from(["append", "take", "due"]), st.integers(min_value=0, max_value=4)),
    max_size=20,
)


@SETTINGS
@given(max_count=st.integers(min_value=1, max_value=6), ops=ops)
def test_push_buffer(twins: Twins, max_count: int, ops: list) -> None:
    compiled, pure = twins
    a, b = compiled.PushBuffer(max_count, 1e9), pure.PushBuffer(max_count, 1e9)
    seq = 0
    for op, n in ops:
        if op == "append":
            frags = [f"f{seq + i}".encode() for i in range(n)]
            txids = [f"t{seq + i}" for i in range(n)]
            seq += n
            assert a.append(frags, txids) is b.append(frags, txids)
        elif op == "take":
            assert a.take() == b.take()
        else:
            assert a.due(1e12) is b.due(1e12)
        assert a.count == b.count == len(a) == len(b)
        assert (a.first_at == 0.0) is (b.first_at == 0.0)


# --- pop ---------------------------------------------------------------------------------

text_or_none = st.none() | st.text(max_size=5)
pop_message = st.fixed_dictionaries(
    {},
    optional={
        "id": text_or_none,
        "transactionId": text_or_none,
        "queue": text_or_none,
        "partition": text_or_none,
        "partitionId": text_or_none,
        "consumerGroup": st.sampled_from([None, "__QUEUE_MODE__", "g", ""]) | json_like,
        "leaseId": st.sampled_from([None, "", "L"]) | json_like,
        "traceId": text_or_none,
        "retryCount": st.none() | st.integers(0, 5),
        "priority": st.none() | st.integers(0, 5),
        "producerSub": text_or_none,
        "data": json_like,
    },
)
pop_doc = st.fixed_dictionaries(
    {},
    optional={
        "messages": st.lists(pop_message, max_size=4) | json_like,
        "queue": text_or_none,
        "consumerGroup": st.sampled_from([None, "__QUEUE_MODE__", "g"]),
        "leaseId": st.sampled_from([None, "", "L"]),
        "partition": st.sampled_from([None, "", "p"]),
        "partitionId": text_or_none,
        "partitionsClaimed": st.integers(0, 3),
        "success": st.none() | st.booleans(),
        "error": st.none()
        | st.sampled_from(["no_available_partition", "lease_held", "partition_not_found", "boom"])
        | json_like,
    },
)


@SETTINGS
@given(doc=pop_doc | json_like, with_trace=st.booleans())
def test_parse_pop(twins: Twins, doc: Any, with_trace: bool) -> None:
    compiled, pure = twins
    try:
        body = orjson.dumps(doc)
    except orjson.JSONEncodeError:
        return
    trace = (lambda ids, event: (ids, event)) if with_trace else None
    a = outcome(compiled.parse_pop, body, QUEUE_MODE, trace)
    b = outcome(pure.parse_pop, body, QUEUE_MODE, trace)
    assert traced(a) == traced(b)


def traced(result: Any) -> Any:
    """A parse_pop outcome with each message's trace callable replaced by what it sends."""
    if result[0] == "ok":
        for m in result[1][0]:
            if "trace" in m:
                m["trace"] = m["trace"]({"data": 1})
    return result


@SETTINGS
@given(body=st.binary(max_size=30) | st.text(max_size=10) | st.none() | st.integers())
def test_parse_pop_raw(twins: Twins, body: Any) -> None:
    compiled, pure = twins
    assert (outcome(compiled.parse_pop, body, QUEUE_MODE)
            == outcome(pure.parse_pop, body, QUEUE_MODE))


# --- window ------------------------------------------------------------------------------

numbers = (
    st.integers(min_value=-(2**64), max_value=2**64)
    | st.integers()
    | st.floats()
    | st.sampled_from([2**53, 2**53 + 1, -(2**53) - 1, 0.0, -0.0])
)
leaf = numbers | st.booleans() | st.none() | st.text(max_size=2)
field = st.recursive(
    leaf,
    lambda c: (
        st.lists(c, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "0", "1"]), c, max_size=3)
    ),
    max_leaves=8,
)
window_messages = st.lists(
    st.dictionaries(st.sampled_from(["data", "id"]), field, max_size=2) | field, max_size=25
)
paths = st.sampled_from(
    ["data", "data.a", "data.b", "data.0", "data.a.0", "data.a.b", "data.1", "id", "", "data..a"]
)


@SETTINGS
@given(messages=window_messages, path=paths)
def test_get_path(twins: Twins, messages: list, path: str) -> None:
    compiled, pure = twins
    for m in messages:
        assert compiled.get_path(m, path) is pure.get_path(m, path) or repr(
            compiled.get_path(m, path)
        ) == repr(pure.get_path(m, path))


@SETTINGS
@given(messages=window_messages, path=paths)
def test_group_by(twins: Twins, messages: list, path: str) -> None:
    compiled, pure = twins

    def shape(r: Any) -> Any:
        if r[0] != "ok":
            return r
        return [(repr(k), [id(m) for m in v]) for k, v in r[1].items()]

    a = outcome(compiled.window_group_by, messages, path)
    b = outcome(pure.window_group_by, messages, path)
    assert shape(a) == shape(b)


@SETTINGS
@given(messages=window_messages, path=paths)
def test_filter(twins: Twins, messages: list, path: str) -> None:
    compiled, pure = twins

    def pred(m: Any) -> Any:
        return pure.get_path(m, path)

    assert [id(m) for m in compiled.window_filter(messages, pred)] == [
        id(m) for m in pure.window_filter(messages, pred)
    ]


spec = st.fixed_dictionaries(
    {},
    optional={
        "count": st.booleans() | st.integers(0, 1),
        "sum": st.lists(paths, max_size=3) | paths,
        "avg": st.lists(paths, max_size=3),
        "min": st.lists(paths, max_size=3),
        "max": st.lists(paths, max_size=3) | st.none(),
    },
)


@SETTINGS
@given(messages=window_messages, spec=spec)
def test_aggregate(twins: Twins, messages: list, spec: dict) -> None:
    compiled, pure = twins
    a = outcome(compiled.window_aggregate, messages, spec)
    b = outcome(pure.window_aggregate, messages, spec)
    # repr: also tells 1 from 1.0 and keeps key order; nan == nan there
    assert repr(a) == repr(b)


@SETTINGS
@given(spec=st.dictionaries(st.text(max_size=5), odd_values, max_size=3) | odd_values)
def test_aggregate_bad_specs(twins: Twins, spec: Any) -> None:
    compiled, pure = twins
    a = outcome(compiled.window_aggregate, [{"v": 1}], spec)
    b = outcome(pure.window_aggregate, [{"v": 1}], spec)
    assert repr(a) == repr(b)


# --- ack -----------------------------------------------------------------------------

ack_message = st.fixed_dictionaries(
    {"transactionId": st.sampled_from(["t1", "t2", ""]) | odd_values,
     "partitionId": st.sampled_from(["p1", "p2", ""]) | odd_values},
    optional={"leaseId": st.sampled_from(["L", ""]) | odd_values,
              "consumerGroup": st.sampled_from([None, "g"]) | odd_values,
              "_error": st.sampled_from([None, "", "why"]) | odd_values,
              "_status": st.sampled_from([None, "failed"])},
)


@SETTINGS
@given(
    messages=st.lists(ack_message | odd_values, max_size=6),
    status=st.sampled_from(["completed", "failed"]) | odd_values,
    error=st.sampled_from([None, "", "boom"]) | odd_values,
)
def test_ack_items(twins: Twins, messages: list, status: Any, error: Any) -> None:
    compiled, pure = twins
    a = outcome(compiled.ack_items, messages, status, error)
    b = outcome(pure.ack_items, messages, status, error)
    assert a == b


ack_result = st.fixed_dictionaries(
    {}, optional={"success": st.booleans() | odd_values, "message": st.sampled_from(
        ["completed", "failed_dlq", ""]) | odd_values, "error": odd_values},
)


@SETTINGS
@given(
    results=st.lists(ack_result | odd_values, max_size=6),
    statuses=st.lists(st.sampled_from(["completed", "failed"]), max_size=6),
)
def test_ack_results(twins: Twins, results: list, statuses: list) -> None:
    compiled, pure = twins
    items = [{"transactionId": f"t{i}", "partitionId": "p", "status": s}
             for i, s in enumerate(statuses)]
    assert outcome(compiled.ack_results, results, items) == outcome(pure.ack_results, results, items)


ack_result_015 = st.fixed_dictionaries(
    {}, optional={"success": st.booleans() | odd_values, "dlq": st.booleans() | odd_values,
                  "error": st.sampled_from([None, "", "lease expired"]) | odd_values},
)


@SETTINGS
@given(
    results=st.lists(ack_result_015 | odd_values, max_size=6),
    statuses=st.lists(st.sampled_from(["completed", "failed", "dlq", "retry"]), max_size=6),
)
def test_ack_results_015(twins: Twins, results: list, statuses: list) -> None:
    compiled, pure = twins
    items = [{"transactionId": f"t{i}", "partitionId": "p", "status": s}
             for i, s in enumerate(statuses)]
    a = outcome(compiled.ack_results_015, results, items)
    assert a == outcome(pure.ack_results_015, results, items)
    assert a[0] == "ok" and len(a[1]) == len(items)
    # from the bytes: the compiled scanner either agrees or leaves the reply to the parse
    for indent in (False, True):
        try:
            body = json.dumps(results, indent=2 if indent else None).encode()
        except (TypeError, ValueError):
            return
        c, p = compiled.ack_reply_015(body, items), pure.ack_reply_015(body, items)
        assert c is None or c == p
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:  # e.g. integers beyond 64 bits: the caller's problem
            parsed = None
        assert p == (None if parsed is None else pure.ack_results_015(parsed, items))


# --- push replies --------------------------------------------------------------------

reply_values = (
    st.sampled_from(["queued", "duplicate", "failed", "", "buffered", "st\\"])
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans() | st.none() | st.text(max_size=3) | st.lists(st.integers(), max_size=2)
)
reply_items = st.dictionaries(
    st.sampled_from(["status", "message_id", "error", "st\u00e4tus", "index"]), reply_values,
    max_size=4,
) | st.integers() | st.none()


def _stored_by_parse(body: bytes, count: int) -> bool:
    """What the general path (orjson + the rules of wire.parse_push_failures) says."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(data, list) and len(data) == count and all(
        isinstance(it, dict) and it.get("status") and it.get("status") != "failed"
        for it in data)


@SETTINGS
@given(items=st.lists(reply_items, max_size=5), extra=st.integers(min_value=-1, max_value=1),
       indent=st.booleans(), cut=st.integers(min_value=0, max_value=3))
def test_push_all_stored(twins: Twins, items: list, extra: int, indent: bool, cut: int) -> None:
    compiled, pure = twins
    # the stdlib writes what orjson will not (integers beyond 64 bits) and non-ASCII text
    body = json.dumps(items, ensure_ascii=False, indent=2 if indent else None).encode()
    if cut:
        body = body[:-cut]  # broken JSON as well
    count = len(items) + extra
    a, b = compiled.push_all_stored(body, count), pure.push_all_stored(body, count)
    # never claims more than the full parse finds; the compiled scanner may leave a
    # stored reply outside its JSON subset to that parse (False), orjson never does
    assert b is (_stored_by_parse(body, count) and all(
        type(it["status"]) is str for it in orjson.loads(body)))
    assert a is False or b is True


ack_reply_item_015 = st.fixed_dictionaries(
    {"success": st.booleans() | st.none()},
    optional={"dlq": st.booleans() | st.none(), "index": st.integers(-5, 10**6),
              "error": st.none() | st.sampled_from(["", "Invalid or expired lease", "é", "a\"b"]),
              "leaseReleased": st.booleans(), "partitionName": st.none() | st.text(max_size=4),
              "queueName": st.sampled_from(["q", "ack-main"]), "transactionId": uuids},
)


@SETTINGS
@given(results=st.lists(ack_reply_item_015, max_size=6),
       statuses=st.lists(st.sampled_from(["completed", "failed", "dlq"]), max_size=6),
       indent=st.booleans())
def test_ack_reply_015_reads_real_shapes_like_the_parse(
    twins: Twins, results: list, statuses: list, indent: bool
) -> None:
    compiled, pure = twins
    items = [{"transactionId": f"t{i}", "partitionId": "p", "status": s}
             for i, s in enumerate(statuses)]
    body = json.dumps(results, indent=2 if indent else None).encode()
    expected = pure.ack_results_015(orjson.loads(body), items)
    assert pure.ack_reply_015(body, items) == expected
    got = compiled.ack_reply_015(body, items)
    assert got == expected or (got is None and "\\" in body.decode())  # escapes: parse it
