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
        assert core.parse_pop(b"") == ([], None)
        assert core.parse_pop(b"null") == ([], None)
        return
    if isinstance(resp, str):  # the uWebSockets HTML 404 page
        with pytest.raises(ValueError):
            core.parse_pop(resp.encode())
        return
    body = orjson.dumps(resp)
    messages, error = core.parse_pop(body)
    if "error" in resp:
        assert messages == []
        if resp["error"] in NOTHING:
            assert error is None
        else:
            assert error == resp["error"]
        return
    assert error is None
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
    (m,), err = core.parse_pop(body)
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
    (m,), _ = core.parse_pop(body)
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
    (m,), _ = core.parse_pop(body)
    assert m["leaseId"] is None


def test_reported_counts_are_kept(core: SimpleNamespace) -> None:
    body = orjson.dumps({"messages": [{"queue": "q", "retryCount": 2, "priority": 5}]})
    (m,), _ = core.parse_pop(body)
    assert (m["retryCount"], m["priority"]) == (2, 5)


def test_trace_factory_sees_the_normalised_message(core: SimpleNamespace) -> None:
    seen = []

    def factory(msg: dict) -> str:
        seen.append(dict(msg))
        return f"trace-of-{msg['id']}"

    body = orjson.dumps(
        {"messages": [{"id": "a", "queue": "q", "leaseId": ""}, {"id": "b", "queue": "q"}]}
    )
    messages, _ = core.parse_pop(body, factory)
    assert [m["trace"] for m in messages] == ["trace-of-a", "trace-of-b"]
    assert [s["id"] for s in seen] == ["a", "b"]
    assert seen[0]["leaseId"] is None and seen[0]["retryCount"] == 0


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b'{"messages": []}',
        b'{"success": true, "messages": []}',
        b'{"leaseId":null,"partition":"","partitionId":null,"messages":[],"success":true}',
        b'{"error":"no_available_partition","messages":[],"success":false}',
        b'{"error":"lease_held","messages":[],"success":false}',
        b'{"error":"partition_not_found","messages":[],"success":false}',
        b"{}",
        bytearray(b"null"),
        memoryview(b'{"messages": []}'),
        "null",
    ],
)
def test_no_messages_shapes(core: SimpleNamespace, body: Any) -> None:
    assert core.parse_pop(body) == ([], None)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b'{"error": "Queue not found"}', "Queue not found"),
        (
            b'{"error": "ERROR:  LIMIT must not be negative", "success": false}',
            "ERROR:  LIMIT must not be negative",
        ),
        (b'{"error": {"code": 1, "a": [2]}}', '{"a":[2],"code":1}'),
        (b'{"error": 42}', "42"),
        (
            b'{"success": false}',
            "pop failed: the server answered success=false without an error text",
        ),
    ],
)
def test_error_shapes(core: SimpleNamespace, body: bytes, text: str) -> None:
    assert core.parse_pop(body) == ([], text)


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
        core.parse_pop(body)


@pytest.mark.parametrize("body", [None, 12, {"messages": []}, ["x"]])
def test_body_must_be_bytes(core: SimpleNamespace, body: Any) -> None:
    with pytest.raises(TypeError):
        core.parse_pop(body)


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
    messages, err = core.parse_pop(orjson.dumps(raw))
    assert err is None
    expected = copy.deepcopy(raw["messages"])
    for e in expected:
        e["producerSub"] = None
    assert messages == expected
