"""ack_items / ack_results, against both twins."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Dict

import pytest


def msg(i: int = 0, **extra: Any) -> Dict[str, Any]:
    m: Dict[str, Any] = {"transactionId": f"t{i}", "partitionId": f"p{i}", "leaseId": f"L{i}",
                         "consumerGroup": None, "data": {"i": i}}
    m.update(extra)
    return m


def test_items_and_groups(core: SimpleNamespace) -> None:
    items, groups = core.ack_items([msg(0), msg(1, consumerGroup="g", leaseId="")],
                                   "completed", None)
    assert items == [
        {"transactionId": "t0", "partitionId": "p0", "status": "completed", "leaseId": "L0"},
        {"transactionId": "t1", "partitionId": "p1", "status": "completed"},
    ]
    assert list(items[0]) == ["transactionId", "partitionId", "status", "leaseId"]
    assert groups == [None, "g"]


def test_error_text(core: SimpleNamespace) -> None:
    items, _ = core.ack_items([msg(0), msg(1, _error="own"), msg(2, _error="")], "failed", 42)
    assert [it["error"] for it in items] == ["42", "own", "42"]
    items, _ = core.ack_items([msg(0, _error=""), msg(1)], "failed", None)
    assert all("error" not in it for it in items)
    items, _ = core.ack_items([msg(0)], "failed", "")
    assert items[0]["error"] == ""  # a given (empty) text is kept


@pytest.mark.parametrize("bad", [
    msg(0, _status="failed"), msg(0, _status=None), {"partitionId": "p"},
    msg(0, transactionId=""), msg(0, partitionId=7), "not a message", None,
])
def test_general_path_needed(core: SimpleNamespace, bad: Any) -> None:
    assert core.ack_items([msg(1), bad], "completed", None) is None


def test_any_iterable_and_bad_status(core: SimpleNamespace) -> None:
    items, groups = core.ack_items((m for m in [msg(0)]), "completed", None)
    assert len(items) == len(groups) == 1
    assert core.ack_items([], "completed", None) == ([], [])
    with pytest.raises(TypeError):
        core.ack_items([msg(0)], True, None)
    with pytest.raises(TypeError):
        core.ack_items(5, "completed", None)


def test_results(core: SimpleNamespace) -> None:
    items, _ = core.ack_items([msg(0), msg(1), msg(2), msg(3), msg(4)], "failed", None)
    results = [
        {"success": True, "message": "failed_dlq"},
        {"success": True},
        {"success": False, "error": "lease expired"},
        "not a dict",
    ]
    out = core.ack_results(results, items)
    assert out == [
        {"transactionId": "t0", "partitionId": "p0", "success": True, "status": "failed_dlq",
         "error": None, "dlq": True},
        {"transactionId": "t1", "partitionId": "p1", "success": True, "status": "failed",
         "error": None, "dlq": False},
        {"transactionId": "t2", "partitionId": "p2", "success": False, "status": "failed",
         "error": "lease expired", "dlq": None},
        {"transactionId": "t3", "partitionId": "p3", "success": False, "status": "failed",
         "error": "acknowledgement rejected", "dlq": None},
        {"transactionId": "t4", "partitionId": "p4", "success": False, "status": "failed",
         "error": "acknowledgement rejected", "dlq": None},  # no result at all
    ]
    assert core.ack_results([{"success": 0, "message": "why"}], items[:1])[0]["error"] == "why"
    assert core.ack_results([], []) == []


def test_results_015(core: SimpleNamespace) -> None:
    items, _ = core.ack_items([msg(i) for i in range(6)], "failed", None)
    items[0]["status"] = items[5]["status"] = "completed"
    results = [
        {"success": True, "error": None},                  # completed
        {"success": True, "dlq": False},                   # failed, kept for a retry
        {"success": True, "dlq": True},                    # failed, moved to the DLQ
        {"success": False, "error": "invalid_lease"},
        {"success": False},                                # rejected without a reason
        # no result at all for the last item
    ]
    assert core.ack_results_015(results, items) == [
        {"transactionId": "t0", "partitionId": "p0", "success": True, "status": "completed",
         "error": None, "dlq": None},
        {"transactionId": "t1", "partitionId": "p1", "success": True, "status": "failed_retry",
         "error": None, "dlq": False},
        {"transactionId": "t2", "partitionId": "p2", "success": True, "status": "failed_dlq",
         "error": None, "dlq": True},
        {"transactionId": "t3", "partitionId": "p3", "success": False, "status": "failed",
         "error": "invalid_lease", "dlq": None},
        {"transactionId": "t4", "partitionId": "p4", "success": False, "status": "failed",
         "error": "acknowledgement rejected", "dlq": None},
        {"transactionId": "t5", "partitionId": "p5", "success": False, "status": "completed",
         "error": "acknowledgement rejected", "dlq": None},
    ]
    assert core.ack_results_015(["x"], items[:1])[0]["success"] is False  # not an object
    assert core.ack_results_015([], []) == []


RECORDED_015 = (  # the shape of a 0.15.1 batch ack reply (wire recordings, ack.json)
    b'[{"dlq": false, "error": null, "index": 0, "leaseReleased": false, "partitionName": '
    b'"mixed", "queueName": "ack-main", "success": true, "transactionId": "t0"}, '
    b'{"dlq":true,"error":null,"index":1,"leaseReleased":true,"partitionName":"mixed",'
    b'"queueName":"ack-main","success":true,"transactionId":"t1"},\n'
    b' {"dlq": false, "error": "Invalid or expired lease", "index": 2, "leaseReleased": false,'
    b' "partitionName": null, "queueName": null, "success": false, "transactionId": "t2"}]'
)


def test_reply_015_from_bytes_equals_the_parsed_path(core: SimpleNamespace) -> None:
    import orjson

    items, _ = core.ack_items([msg(i) for i in range(4)], "failed", None)
    expected = core.ack_results_015(orjson.loads(RECORDED_015), items)
    assert core.ack_reply_015(RECORDED_015, items) == expected
    assert [r["status"] for r in expected] == ["failed_retry", "failed_dlq", "failed", "failed"]
    assert expected[2]["error"] == "Invalid or expired lease"
    assert expected[3]["error"] == "acknowledgement rejected"  # no result for it
    assert core.ack_reply_015(b"[]", []) == []


@pytest.mark.parametrize("body", [
    b'{"error": "x"}', b"null", b"", b"[1", b'[{"success": true}] x', "[]", None,
])
def test_reply_015_declines_what_is_not_an_array(core: SimpleNamespace, body: Any) -> None:
    assert core.ack_reply_015(body, []) is None


@pytest.mark.parametrize("body", [
    b'[{"success": 1}]', b'[{"success": true, "dlq": "yes"}]', b'[{"success": true, "x": 1.5}]',
    b'[{"success": false, "error": {"code": 1}}]', b'[{"success": true, "q": "\\u00e9"}]', b"[1]",
])
def test_reply_015_outside_the_scanner_subset(core: SimpleNamespace, body: bytes) -> None:
    import orjson

    items, _ = core.ack_items([msg(0)], "completed", None)
    got = core.ack_reply_015(body, items)
    if core.compiled:
        assert got is None  # the caller parses the reply
    else:
        assert got == core.ack_results_015(orjson.loads(body), items)
