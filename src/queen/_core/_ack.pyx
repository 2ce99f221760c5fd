# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Acknowledgement batches, compiled twin of ``_ack_py.py``."""

from cpython.dict cimport PyDict_GetItemWithError
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.object cimport PyObject

__all__ = ["ack_items", "ack_results"]


cdef inline object _get(dict d, object key):
    cdef PyObject* found = PyDict_GetItemWithError(d, key)
    return None if found == NULL else <object>found


def ack_items(messages, status, error):
    """The wire items of one ack call, and each message's ``consumerGroup``.

    Item: ``{"transactionId", "partitionId", "status"[, "leaseId"][, "error"]}``;
    ``leaseId`` only when a non-empty str; ``error`` = ``str(m["_error"] or error)``
    unless that is None. Returns None (the caller's general path decides) when a
    message is not a dict, carries ``_status``, or lacks a non-empty str
    ``transactionId``/``partitionId``.
    """
    if type(status) is not str:
        raise TypeError(f"status must be a str, not {type(status).__name__}")
    cdef list msgs = messages if type(messages) is list else list(messages)
    cdef Py_ssize_t i, n = PyList_GET_SIZE(msgs)
    cdef list items = []
    cdef list groups = []
    cdef object m, txid, pid, lease, err
    cdef dict d, item
    for i in range(n):
        m = <object>PyList_GET_ITEM(msgs, i)
        if type(m) is not dict:
            return None
        d = <dict>m
        if PyDict_GetItemWithError(d, "_status") != NULL:
            return None
        txid = _get(d, "transactionId")
        pid = _get(d, "partitionId")
        if type(txid) is not str or type(pid) is not str or not txid or not pid:
            return None
        item = {"transactionId": txid, "partitionId": pid, "status": status}
        lease = _get(d, "leaseId")
        if type(lease) is str and lease:
            item["leaseId"] = lease
        err = _get(d, "_error") or error
        if err is not None:
            item["error"] = str(err)
        items.append(item)
        groups.append(_get(d, "consumerGroup"))
    return items, groups


def ack_results(results, items):
    """Per-item outcomes of a 0.7 batch ack reply (``results`` of ``{"results": [...]}``),
    one per item in order: ``{"transactionId", "partitionId", "success", "status",
    "error", "dlq"}``. A missing or non-dict result counts as rejected."""
    cdef list out = []
    cdef Py_ssize_t i = 0, n = len(results)
    cdef object r, item, status
    cdef dict rd
    for item in items:
        r = results[i] if i < n else None
        i += 1
        if type(r) is not dict:
            r = {}
        rd = <dict>r
        if _get(rd, "success"):
            status = str(_get(rd, "message") or item["status"])
            out.append({"transactionId": item["transactionId"],
                        "partitionId": item["partitionId"], "success": True,
                        "status": status, "error": None, "dlq": status == "failed_dlq"})
        else:
            error = str(_get(rd, "error") or _get(rd, "message") or "acknowledgement rejected")
            out.append({"transactionId": item["transactionId"],
                        "partitionId": item["partitionId"], "success": False,
                        "status": item["status"], "error": error, "dlq": None})
    return out
