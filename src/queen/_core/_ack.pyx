# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Acknowledgement batches, compiled twin of ``_ack_py.py``.

Most of the work is building one small dict per message. A copy of a template dict
with the keys already in place (a block copy in CPython) plus value replacements is
cheaper than inserting into an empty dict, which grows and rehashes on the way.
"""

from cpython.dict cimport PyDict_Copy, PyDict_GetItemWithError, PyDict_SetItem
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.object cimport PyObject

__all__ = ["ack_items", "ack_results", "ack_results_015"]

cdef dict _ITEM = {"transactionId": None, "partitionId": None, "status": None}
cdef dict _RESULT = {"transactionId": None, "partitionId": None, "success": None,
                     "status": None, "error": None, "dlq": None}
cdef str _REJECTED = "acknowledgement rejected"


cdef inline object _get(dict d, object key):
    cdef PyObject* found = PyDict_GetItemWithError(d, key)
    return None if found == NULL else <object>found


cdef inline dict _result(dict item, object success, object status, object error, object dlq):
    cdef dict out = PyDict_Copy(_RESULT)
    PyDict_SetItem(out, "transactionId", item["transactionId"])
    PyDict_SetItem(out, "partitionId", item["partitionId"])
    PyDict_SetItem(out, "success", success)
    PyDict_SetItem(out, "status", status)
    if error is not None:
        PyDict_SetItem(out, "error", error)
    if dlq is not None:
        PyDict_SetItem(out, "dlq", dlq)
    return out


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
        item = PyDict_Copy(_ITEM)
        PyDict_SetItem(item, "transactionId", txid)
        PyDict_SetItem(item, "partitionId", pid)
        PyDict_SetItem(item, "status", status)
        lease = _get(d, "leaseId")
        if type(lease) is str and lease:
            PyDict_SetItem(item, "leaseId", lease)
        err = _get(d, "_error") or error
        if err is not None:
            PyDict_SetItem(item, "error", str(err))
        items.append(item)
        groups.append(_get(d, "consumerGroup"))
    return items, groups


def ack_results(results, items):
    """Per-item outcomes of a 0.7 batch ack reply (``results`` of ``{"results": [...]}``),
    one per item in order: ``{"transactionId", "partitionId", "success", "status",
    "error", "dlq"}``. A missing or non-dict result counts as rejected."""
    cdef list out = []
    cdef Py_ssize_t i = 0, n = len(results)
    cdef object r, status
    cdef dict rd
    for item in items:
        r = results[i] if i < n else None
        i += 1
        if type(r) is not dict:
            r = {}
        rd = <dict>r
        if _get(rd, "success"):
            status = str(_get(rd, "message") or item["status"])
            out.append(_result(item, True, status, None, status == "failed_dlq"))
        else:
            error = str(_get(rd, "error") or _get(rd, "message") or _REJECTED)
            out.append(_result(item, False, item["status"], error, None))
    return out


def ack_results_015(results, items):
    """Per-item outcomes of a 0.15 ack reply; see ``_ack_py.ack_results_015``."""
    cdef list out = []
    cdef Py_ssize_t i = 0, n = len(results)
    cdef object r, dlq, sent, err, status
    cdef dict rd
    cdef bint ok
    for item in items:
        r = results[i] if i < n else None
        i += 1
        if not isinstance(r, dict):
            r = {}
        rd = <dict>r
        ok = bool(_get(rd, "success"))
        dlq = _get(rd, "dlq")
        sent = item["status"]
        err = _get(rd, "error")
        if not ok:
            status = sent
            if not err:
                err = _REJECTED
        elif dlq:
            status = "failed_dlq"
        elif sent == "failed":
            status = "failed_retry"
        else:
            status = sent
        out.append(_result(item, ok, status, err, None if dlq is None else bool(dlq)))
    return out
