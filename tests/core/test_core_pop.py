"""parse_pop on every recorded pop reply of Queen 0.7.5 and 0.15.1, and on edge shapes."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any, Dict, Optional
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from core_recordings import RECORDINGS, extract, load

STEPS = load()
NOTHING = {"no_available_partition", "lease_held", "partition_not_found"}
QM = "__QUEUE_MODE__"  # queen.wire.QUEUE_MODE, passed in by the wire


def step_id(step: Dict[str, Any]) -> str:
    return f"{step['version']}/{step['file']}:{step['path'][:70]}"


def test_fixture_has_every_shape() -> None:
    assert len(STEPS) > 150
    versions = {s["version"] for s in STEPS}
    assert versions == {"0.7.5", "0.15.1"}
    errors = {s["response"].get("error") for s in STEPS if isinstance(s["response"], dict)}
    assert NOTHING <= errors


@pytest.mark.skipif(not RECORDINGS.exists(), reason="wire recordings not on this machine")
def test_fixture_matches_the_recordings() -> None:
    assert extract(RECORDINGS) == STEPS


def group_of(path: str) -> Optional[str]:
    return parse_qs(urlsplit(path).query).get("consumerGroup", [None])[0]


@pytest.mark.parametrize("step", STEPS, ids=step_id)
def test_recorded_reply(core: SimpleNamespace, step: Dict[str, Any]) -> None:
    resp = step["response"]
    if resp is None:
        # 0.7.5 sends both an empty body and the text "null"
        assert core.parse_pop(b"", QM) == ([], None)
        assert core.parse_pop(b"null", QM) == ([], None)
        return
    if isinstance(resp, str):  # the uWebSockets HTML 404 page
        with pytest.raises(ValueError):
            core.parse_pop(resp.encode(), QM)
        return
    body = orjson.dumps(resp)
    messages, failure = core.parse_pop(body, QM)
    if "error" in resp:
        # the reply goes back to the wire, which knows what the error means
        assert messages == [] and failure == resp
        return
    assert failure is None
    raw = resp["messages"]
    assert len(messages) == len(raw)
    group = group_of(step["path"])
    for m, r in zip(messages, raw):
        for key in ("id", "transactionId", "partitionId", "partition", "data", "createdAt"):
            assert m[key] == r[key]
        assert m["queue"] == (r["queue"] if step["version"] == "0.7.5" else resp["queue"])
        assert m["queue"]
        if "/pop/queue/" in step["path"]:
            assert f"/pop/queue/{m['queue']}" in step["path"]
        assert m["consumerGroup"] == group
        assert m["leaseId"] == (r["leaseId"] or None)
        assert m["traceId"] == r["traceId"]
        assert m["retryCount"] == 0
        assert m["priority"] == 0
        assert m["producerSub"] is None
        assert "trace" not in m


def test_envelope_of_0_15_fills_queue_and_normalises_queue_mode(core: SimpleNamespace) -> None:
    body = orjson.dumps(
        {
            "consumerGroup": "__QUEUE_MODE__",
            "leaseId": "L",
            "messages": [
                {
                    "consumerGroup": "__QUEUE_MODE__",
                    "data": 1,
                    "id": "i",
                    "leaseId": "L",
                    "partition": "p",
                    "partitionId": "P",
                    "producerSub": "alice",
                    "traceId": None,
                    "transactionId": "t",
                },
            ],
            "partition": "p",
            "partitionId": "P",
            "partitionsClaimed": 1,
            "queue": "orders",
            "success": True,
        }
    )
    (m,), err = core.parse_pop(body, QM)
    assert err is None
    assert m["queue"] == "orders"
    assert m["consumerGroup"] is None
    assert m["producerSub"] == "alice"
    assert (m["retryCount"], m["priority"]) == (0, 0)


def test_missing_fields_come_from_the_envelope(core: SimpleNamespace) -> None:
    body = orjson.dumps(
        {
            "queue": "q",
            "consumerGroup": "g",
            "leaseId": "L",
            "partition": "p",
            "partitionId": "P",
            "messages": [{"id": "i", "transactionId": "t", "data": None}],
        }
    )
    (m,), _ = core.parse_pop(body, QM)
    assert m == {
        "id": "i",
        "transactionId": "t",
        "data": None,
        "queue": "q",
        "partition": "p",
        "partitionId": "P",
        "consumerGroup": "g",
        "leaseId": "L",
        "traceId": None,
        "retryCount": 0,
        "priority": 0,
        "producerSub": None,
    }


def test_auto_ack_lease_is_none(core: SimpleNamespace) -> None:
    body = orjson.dumps(
        {
            "queue": "q",
            "leaseId": "",
            "consumerGroup": "__QUEUE_MODE__",
            "messages": [{"id": "i", "leaseId": "", "consumerGroup": "__QUEUE_MODE__"}],
        }
    )
    (m,), _ = core.parse_pop(body, QM)
    assert m["leaseId"] is None


def test_reported_counts_are_kept(core: SimpleNamespace) -> None:
    body = orjson.dumps({"messages": [{"queue": "q", "retryCount": 2, "priority": 5}]})
    (m,), _ = core.parse_pop(body, QM)
    assert (m["retryCount"], m["priority"]) == (2, 5)


def test_queue_mode_marker_is_the_callers(core: SimpleNamespace) -> None:
    body = orjson.dumps({"consumerGroup": "none", "messages": [{"id": "a"}, {"id": "b",
                         "consumerGroup": "none"}, {"id": "c", "consumerGroup": QM}]})
    messages, _ = core.parse_pop(body, "none")
    assert [m["consumerGroup"] for m in messages] == [None, None, QM]


async def test_trace_calls_back_with_the_ids_of_the_normalised_message(
    core: SimpleNamespace,
) -> None:
    calls = []

    async def trace(ids: dict, event: dict) -> dict:
        calls.append((ids, event))
        return {"success": True, "n": len(calls)}

    body = orjson.dumps({"queue": "q", "partitionId": "P", "consumerGroup": QM, "messages": [
        {"id": "a", "transactionId": "ta", "leaseId": ""},
        {"id": "b", "transactionId": "tb", "partitionId": "P2", "consumerGroup": "g"}]})
    a, b = core.parse_pop(body, QM, trace)[0]
    assert callable(a["trace"]) and callable(b["trace"]) and calls == []
    assert await b["trace"]({"data": 1}) == {"success": True, "n": 1}
    assert await a["trace"]({"data": 2}) == {"success": True, "n": 2}
    assert calls == [
        ({"transactionId": "tb", "partitionId": "P2", "consumerGroup": "g"}, {"data": 1}),
        ({"transactionId": "ta", "partitionId": "P", "consumerGroup": None}, {"data": 2}),
    ]


def test_trace_keeps_no_reference_to_its_message(core: SimpleNamespace) -> None:
    import gc

    body = orjson.dumps({"messages": [{"id": "a", "queue": "q", "transactionId": "t"}]})
    (m,), _ = core.parse_pop(body, QM, lambda ids, event: None)
    # message -> trace, never trace -> message: no cycle for the garbage collector
    seen = gc.get_referents(m["trace"])
    seen += [x for r in seen if isinstance(r, dict) for x in gc.get_referents(r)]
    assert all(r is not m for r in seen)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b'{"messages": []}',
        b'{"success": true, "messages": []}',
        b'{"leaseId":null,"partition":"","partitionId":null,"messages":[],"success":true}',
        b"{}",
        bytearray(b"null"),
        memoryview(b'{"messages": []}'),
        "null",
    ],
)
def test_no_messages_shapes(core: SimpleNamespace, body: Any) -> None:
    assert core.parse_pop(body, QM) == ([], None)


@pytest.mark.parametrize(
    "body",
    [
        b'{"error":"no_available_partition","messages":[],"success":false}',
        b'{"error":"lease_held","messages":[],"success":false}',
        b'{"error": "Queue not found"}',
        b'{"error": {"code": 1, "a": [2]}, "messages": [{"id": 1}]}',
        b'{"error": 42}',
        b'{"error": ""}',
        b'{"success": false}',
        b'{"success": false, "messages": [{"id": 1}]}',
    ],
)
def test_failure_replies_go_back_to_the_caller(core: SimpleNamespace, body: bytes) -> None:
    # what an error means (nothing to deliver, or a failure) is the wire's decision
    assert core.parse_pop(body, QM) == ([], orjson.loads(body))


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body><h1>File Not Found</h1></body></html>",
        b"[1, 2]",
        b'"text"',
        b"12",
        b'{"messages": {"a": 1}}',
        b'{"messages": [1]}',
        b'{"messages": [{"id": 1}, null]}',
        b"{broken",
        b" ",
    ],
)
def test_bad_replies_are_value_errors(core: SimpleNamespace, body: bytes) -> None:
    with pytest.raises(ValueError):
        core.parse_pop(body, QM)


@pytest.mark.parametrize("body", [None, 12, {"messages": []}, ["x"]])
def test_body_must_be_bytes(core: SimpleNamespace, body: Any) -> None:
    with pytest.raises(TypeError):
        core.parse_pop(body, QM)


def test_large_reply(core: SimpleNamespace) -> None:
    raw = {
        "messages": [
            {
                "id": f"id-{i}",
                "transactionId": f"t{i}",
                "data": {"i": i, "s": "x" * (i % 7)},
                "leaseId": "L",
                "partition": "p",
                "partitionId": "P",
                "queue": "q",
                "consumerGroup": None,
                "createdAt": "2026-01-01T00:00:00Z",
                "priority": 0,
                "retryCount": 0,
                "traceId": None,
            }
            for i in range(500)
        ]
    }
    messages, err = core.parse_pop(orjson.dumps(raw), QM)
    assert err is None
    expected = copy.deepcopy(raw["messages"])
    for e in expected:
        e["producerSub"] = None
    assert messages == expected
