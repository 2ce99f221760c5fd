# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Acknowledgement batches, compiled twin of ``_ack_py.py``.

Most of the work is building one small dict per message. A copy of a template dict
with the keys already in place (a block copy in CPython) plus value replacements is
cheaper than inserting into an empty dict, which grows and rehashes on the way.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Copy, PyDict_GetItemWithError, PyDict_SetItem
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.object cimport PyObject
from cpython.unicode cimport PyUnicode_DecodeASCII
from libc.string cimport memcmp

from ._scan cimport F_FALSE, F_NULL, F_STRING, F_TRUE, Field, _field, _open, _sep, _ws

__all__ = ["ack_items", "ack_results", "ack_results_015", "ack_reply_015"]

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


cdef dict _one_015(object item, bint ok, object dlq, object err):
    sent = item["status"]
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
    return _result(item, ok, status, err, None if dlq is None else bool(dlq))


def ack_results_015(results, items):
    """Per-item outcomes of a 0.15 ack reply; see ``_ack_py.ack_results_015``."""
    cdef list out = []
    cdef Py_ssize_t i = 0, n = len(results)
    cdef object r
    cdef dict rd
    for item in items:
        r = results[i] if i < n else None
        i += 1
        if not isinstance(r, dict):
            r = {}
        rd = <dict>r
        out.append(_one_015(item, bool(_get(rd, "success")), _get(rd, "dlq"), _get(rd, "error")))
    return out


# keys of a 0.15 ack result the scanner reads
cdef enum:
    K_OTHER, K_SUCCESS, K_DLQ, K_ERROR


cdef inline int _key(const unsigned char* k, Py_ssize_t n) noexcept nogil:
    if n == 7 and memcmp(k, b"success", 7) == 0:
        return K_SUCCESS
    if n == 3 and memcmp(k, b"dlq", 3) == 0:
        return K_DLQ
    if n == 5 and memcmp(k, b"error", 5) == 0:
        return K_ERROR
    return K_OTHER


def ack_reply_015(body, items):
    """``ack_results_015`` straight from the raw reply bytes, without building the reply's
    objects; None (the caller decodes and calls ``ack_results_015``) for a body that is not
    an array of flat objects in the checked JSON subset of _scan.pxd, or whose
    ``success``/``dlq`` is not true/false/null or ``error`` not a string/null."""
    if type(body) is not bytes:
        return None
    cdef bytes b = <bytes>body
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(b)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
    cdef list its = items if type(items) is list else list(items)
    cdef Py_ssize_t k = 0, m = PyList_GET_SIZE(its), i = 0, es = 0, el
    cdef int r, o, key, success, dlq
    cdef Field f
    cdef list out = []
    r = _open(p, &i, n, 91, 93)
    while r == 1:
        o = _open(p, &i, n, 123, 125)
        if o < 0:
            return None
        success, dlq, el = 0, -1, -1  # false, absent (None), absent (None)
        while o == 1:
            i = _field(p, i, n, &f)
            if i < 0:
                return None
            key = _key(p + f.ks, f.kn)
            if key == K_SUCCESS:
                if f.kind != F_TRUE and f.kind != F_FALSE and f.kind != F_NULL:
                    return None
                success = f.kind == F_TRUE
            elif key == K_DLQ:
                if f.kind != F_TRUE and f.kind != F_FALSE and f.kind != F_NULL:
                    return None
                dlq = -1 if f.kind == F_NULL else f.kind == F_TRUE
            elif key == K_ERROR:
                if f.kind == F_STRING:
                    es, el = f.vs, f.vn
                elif f.kind == F_NULL:
                    el = -1
                else:
                    return None
            o = _sep(p, &i, n, 125)
        if o < 0:
            return None
        if k < m:
            out.append(_one_015(
                <object>PyList_GET_ITEM(its, k), success, None if dlq < 0 else dlq == 1,
                None if el < 0 else PyUnicode_DecodeASCII(<const char*>p + es, el, NULL)))
        k += 1
        r = _sep(p, &i, n, 93)
    if r < 0 or _ws(p, i, n) != n:
        return None
    while k < m:  # no result for these items: rejected
        out.append(_one_015(<object>PyList_GET_ITEM(its, k), False, None, None))
        k += 1
    return out
