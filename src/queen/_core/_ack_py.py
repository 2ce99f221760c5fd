"""Acknowledgement batches, pure-Python twin of ``_ack.pyx``."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import orjson

__all__ = ["ack_items", "ack_results", "ack_results_015", "ack_reply_015"]


def ack_items(
    messages: Sequence[Any], status: str, error: Any
) -> Optional[Tuple[List[Dict[str, Any]], List[Any]]]:
    """The wire items of one ack call, and each message's ``consumerGroup``.

    Item: ``{"transactionId", "partitionId", "status"[, "leaseId"][, "error"]}``;
    ``leaseId`` only when a non-empty str; ``error`` = ``str(m["_error"] or error)``
    unless that is None. Returns None (the caller's general path decides) when a
    message is not a dict, carries ``_status``, or lacks a non-empty str
    ``transactionId``/``partitionId``.
    """
    if type(status) is not str:
        raise TypeError(f"status must be a str, not {type(status).__name__}")
    items: List[Dict[str, Any]] = []
    groups: List[Any] = []
    for m in messages:
        if type(m) is not dict or "_status" in m:
            return None
        txid = m.get("transactionId")
        pid = m.get("partitionId")
        if type(txid) is not str or type(pid) is not str or not txid or not pid:
            return None
        item: Dict[str, Any] = {"transactionId": txid, "partitionId": pid, "status": status}
        lease = m.get("leaseId")
        if type(lease) is str and lease:
            item["leaseId"] = lease
        err = m.get("_error") or error
        if err is not None:
            item["error"] = str(err)
        items.append(item)
        groups.append(m.get("consumerGroup"))
    return items, groups


def ack_results(
    results: Sequence[Any], items: Sequence[Mapping[str, Any]]
) -> List[Dict[str, Any]]:
    """Per-item outcomes of a 0.7 batch ack reply (``results`` of ``{"results": [...]}``),
    one per item in order: ``{"transactionId", "partitionId", "success", "status",
    "error", "dlq"}``. A missing or non-dict result counts as rejected."""
    out: List[Dict[str, Any]] = []
    n = len(results)
    for i, item in enumerate(items):
        r = results[i] if i < n else None
        if type(r) is not dict:
            r = {}
        if r.get("success"):
            status = str(r.get("message") or item["status"])
            out.append({"transactionId": item["transactionId"],
                        "partitionId": item["partitionId"], "success": True,
                        "status": status, "error": None, "dlq": status == "failed_dlq"})
        else:
            error = str(r.get("error") or r.get("message") or "acknowledgement rejected")
            out.append({"transactionId": item["transactionId"],
                        "partitionId": item["partitionId"], "success": False,
                        "status": item["status"], "error": error, "dlq": None})
    return out


def ack_results_015(
    results: Sequence[Any], items: Sequence[Mapping[str, Any]]
) -> List[Dict[str, Any]]:
    """Per-item outcomes of a 0.15 ack reply (an array of ``{"success", "dlq"?, "error"?}``),
    one per item in order, in the shape of ``ack_results``. A missing or non-dict result
    counts as rejected. A failed item the server kept for a retry reads ``failed_retry``,
    one it moved to the DLQ ``failed_dlq``; ``dlq`` is the server's flag (None when absent)."""
    out: List[Dict[str, Any]] = []
    n = len(results)
    for i, item in enumerate(items):
        r = results[i] if i < n else None
        if not isinstance(r, dict):
            r = {}
        ok = bool(r.get("success"))
        dlq = r.get("dlq")
        sent = item["status"]
        err = r.get("error")
        if not ok:
            status = sent
            if not err:
                err = "acknowledgement rejected"
        elif dlq:
            status = "failed_dlq"
        elif sent == "failed":
            status = "failed_retry"
        else:
            status = sent
        out.append({"transactionId": item["transactionId"],
                    "partitionId": item["partitionId"], "success": ok,
                    "status": status, "error": err, "dlq": None if dlq is None else bool(dlq)})
    return out


def ack_reply_015(body: Any, items: Sequence[Mapping[str, Any]]) -> Optional[List[Dict[str, Any]]]:
    """``ack_results_015`` straight from the raw reply bytes; None (the caller decodes the
    reply itself) when ``body`` is not bytes holding a JSON array. The compiled twin scans
    the bytes without building the reply's objects and also answers None outside its
    checked JSON subset; here orjson reads it."""
    if type(body) is not bytes:
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not list:
        return None
    return ack_results_015(data, list(items))

