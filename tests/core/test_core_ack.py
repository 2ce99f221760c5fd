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
