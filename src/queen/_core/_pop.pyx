# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Pop reply parsing, compiled twin of ``_pop_py.py`` (see that module for the shapes)."""

import orjson

from cpython.dict cimport PyDict_GetItemWithError, PyDict_SetItem
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.object cimport PyObject

__all__ = ["parse_pop"]

cdef object _loads = orjson.loads
cdef object _JSONDecodeError = orjson.JSONDecodeError


cdef inline object _get(dict d, str key):
    cdef PyObject* v = PyDict_GetItemWithError(d, key)
    return None if v == NULL else <object>v


cdef class _Trace:
    """``message["trace"]``: ``trace(event)`` -> ``fn({"transactionId", "partitionId",
    "consumerGroup"}, event)``. Keeps the ids, not the message (no reference cycle)."""

    cdef object fn, txid, pid, group

    def __call__(self, event):
        return self.fn({"transactionId": self.txid, "partitionId": self.pid,
                        "consumerGroup": self.group}, event)

    def __repr__(self):
        return f"<trace of {self.txid!r}>"


cdef inline _Trace _new_trace(object fn, object txid, object pid, object group):
    cdef _Trace t = _Trace.__new__(_Trace)
    t.fn = fn
    t.txid = txid
    t.pid = pid
    t.group = group
    return t


def parse_pop(body, str queue_mode, trace=None):
    """``(messages, failure)`` from a raw pop reply; see ``_pop_py.parse_pop``."""
    if not isinstance(body, (bytes, bytearray, memoryview, str)):
        raise TypeError(f"parse_pop() needs bytes, not {type(body).__name__}")
    if not body:
        return [], None
    try:
        doc = _loads(body)
    except _JSONDecodeError as e:
        raise ValueError(f"pop reply is not JSON: {e}") from None
    if doc is None:
        return [], None
    if not isinstance(doc, dict):
        raise ValueError(f"pop reply must be a JSON object, not {type(doc).__name__}")
    cdef dict env = <dict>doc
    if _get(env, "error") is not None or _get(env, "success") is False:
        return [], env
    raw = _get(env, "messages")
    if raw is None:
        return [], None
    if not isinstance(raw, list):
        raise ValueError(f"pop reply 'messages' must be a list, not {type(raw).__name__}")
    cdef list msgs = <list>raw
    cdef object env_queue = _get(env, "queue")
    cdef object env_group = _get(env, "consumerGroup")
    cdef object env_lease = _get(env, "leaseId")
    cdef object env_partition = _get(env, "partition")
    cdef object env_partition_id = _get(env, "partitionId")
    cdef bint has_partition = bool(env_partition)
    cdef bint tracing = trace is not None
    if isinstance(env_lease, str) and not <str>env_lease:
        env_lease = None
    cdef Py_ssize_t i, n = PyList_GET_SIZE(msgs)
    cdef object item, group, lease
    cdef dict m
    cdef PyObject* found
    for i in range(n):
        item = <object>PyList_GET_ITEM(msgs, i)
        if type(item) is not dict:
            raise ValueError(f"pop reply messages must be objects, not {type(item).__name__}")
        m = <dict>item
        if _get(m, "queue") is None:
            PyDict_SetItem(m, "queue", env_queue)
        if has_partition and _get(m, "partition") is None:
            PyDict_SetItem(m, "partition", env_partition)
        if env_partition_id is not None and _get(m, "partitionId") is None:
            PyDict_SetItem(m, "partitionId", env_partition_id)
        # Only write what changes: same result as the pure twin, fewer dict writes.
        found = PyDict_GetItemWithError(m, "consumerGroup")
        if found == NULL:
            group = env_group
            if group == queue_mode:
                group = None
            PyDict_SetItem(m, "consumerGroup", group)
        else:
            group = <object>found
            if group == queue_mode:
                group = None
                PyDict_SetItem(m, "consumerGroup", None)
        found = PyDict_GetItemWithError(m, "leaseId")
        lease = None if found == NULL else <object>found
        if lease is None or (isinstance(lease, str) and not <str>lease):
            PyDict_SetItem(m, "leaseId", env_lease)
        if PyDict_GetItemWithError(m, "traceId") == NULL:
            PyDict_SetItem(m, "traceId", None)
        if _get(m, "retryCount") is None:
            PyDict_SetItem(m, "retryCount", 0)
        if _get(m, "priority") is None:
            PyDict_SetItem(m, "priority", 0)
        if PyDict_GetItemWithError(m, "producerSub") == NULL:
            PyDict_SetItem(m, "producerSub", None)
        if tracing:
            PyDict_SetItem(m, "trace", _new_trace(trace, _get(m, "transactionId"),
                                                  _get(m, "partitionId"), group))
    return msgs, None
