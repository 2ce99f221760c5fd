# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Push encoding and buffering, compiled twin of ``_push_py.py``."""

import orjson

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItemWithError
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.object cimport PyObject
from cpython.time cimport monotonic as _c_monotonic
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.string cimport memcmp, memcpy

from ._ids cimport c_is_uuid, c_uuid7
from ._scan cimport F_STRING, Field, _field, _open, _sep, _ws

__all__ = ["encode_push_items", "join_items", "encode_push", "PushBuffer", "push_all_stored"]

MAX_TXID = 255  # the servers' transaction_id column; longer ones are never stored
cdef object _dumps = orjson.dumps
cdef double _INF = float("inf")
cdef object _JSONEncodeError = orjson.JSONEncodeError
cdef bytes _TXID_KEY = b',"transactionId":'
cdef bytes _TRACE_KEY = b',"traceId":"'


cdef _check_target(queue, partition):
    if not isinstance(queue, str):
        raise TypeError(f"queue must be a str, not {type(queue).__name__}")
    if not queue:
        raise ValueError("queue must be a non-empty str")
    if not isinstance(partition, str):
        raise TypeError(f"partition must be a str, not {type(partition).__name__}")
    if not partition:
        raise ValueError("partition must be a non-empty str")


def _check_finite(value, str where):
    """ValueError naming the first NaN/Infinity in ``value`` (JSON has no such number)."""
    cdef double d
    if type(value) is float:
        d = value
        if d != d or d == _INF or d == -_INF:
            raise ValueError(f"{where} is {value!r}: JSON has no NaN or Infinity (send null or a string)")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{where}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for n, v in enumerate(value):
            _check_finite(v, f"{where}[{n}]")
    elif isinstance(value, float):  # a float subclass
        _check_finite(float(value), where)


cdef inline char* _put(char* out, const char* src, Py_ssize_t n) noexcept:
    memcpy(out, src, n)
    return out + n


cdef bytes _item(bytes head, bytes body, str txid, bint quote_txid, object trace_id):
    """head + body + ,"transactionId":<txid> [+ ,"traceId":"<uuid>"] + }"""
    cdef Py_ssize_t tn = 0, trn = 0, size
    cdef const char* tp
    cdef const char* trp = NULL
    cdef bytes txid_json = None
    if quote_txid:
        # a generated UUIDv7: plain ASCII, nothing to escape
        tp = PyUnicode_AsUTF8AndSize(txid, &tn)
        size = tn + 2
    else:
        txid_json = <bytes>_dumps(txid)
        tp = PyBytes_AS_STRING(txid_json)
        tn = PyBytes_GET_SIZE(txid_json)
        size = tn
    if trace_id is not None:
        trp = PyUnicode_AsUTF8AndSize(trace_id, &trn)
        size += PyBytes_GET_SIZE(_TRACE_KEY) + trn + 1
    size += PyBytes_GET_SIZE(head) + PyBytes_GET_SIZE(body) + PyBytes_GET_SIZE(_TXID_KEY) + 1
    cdef bytes out = PyBytes_FromStringAndSize(NULL, size)
    cdef char* p = PyBytes_AS_STRING(out)
    p = _put(p, PyBytes_AS_STRING(head), PyBytes_GET_SIZE(head))
    p = _put(p, PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body))
    p = _put(p, PyBytes_AS_STRING(_TXID_KEY), PyBytes_GET_SIZE(_TXID_KEY))
    if quote_txid:
        p[0] = b'"'
        p = _put(p + 1, tp, tn)
        p[0] = b'"'
        p += 1
    else:
        p = _put(p, tp, tn)
    if trp != NULL:
        p = _put(p, PyBytes_AS_STRING(_TRACE_KEY), PyBytes_GET_SIZE(_TRACE_KEY))
        p = _put(p, trp, trn)
        p[0] = b'"'
        p += 1
    p[0] = b'}'
    return out


# (queue, partition) -> b'{"queue":..,"partition":..,"payload":' (producers reuse a few)
cdef dict _HEADS = {}
cdef Py_ssize_t _HEADS_SIZE = 1024


cdef object _last_queue = None, _last_partition = None
cdef bytes _last_head = None


cdef bytes _head(queue, partition):
    global _last_queue, _last_partition, _last_head
    if queue is _last_queue and partition is _last_partition:  # the same objects again
        return _last_head
    cdef object key = (queue, partition)
    cdef PyObject* found = NULL
    if type(queue) is str and type(partition) is str:
        found = PyDict_GetItemWithError(_HEADS, key)
        if found != NULL:
            _last_queue, _last_partition, _last_head = queue, partition, <bytes>found
            return <bytes>found
    _check_target(queue, partition)
    cdef bytes head
    try:
        head = <bytes>_dumps({"queue": queue, "partition": partition})
        head = head[:PyBytes_GET_SIZE(head) - 1] + b',"payload":'
    except _JSONEncodeError as e:
        raise TypeError(f"queue/partition are not valid text: {e}") from None
    if type(queue) is str and type(partition) is str:
        if len(_HEADS) >= _HEADS_SIZE:
            _HEADS.clear()
        _HEADS[key] = head
        _last_queue, _last_partition, _last_head = queue, partition, head
    return head


def encode_push_items(queue, partition, messages):
    """One JSON push item per message, plus the transactionIds used (same order).

    payload = ``data``, else ``payload``, else the whole message; transactionId = the
    message's own (non-empty str; absent or None: a fresh UUIDv7); traceId only when
    it is a UUID. Errors: TypeError (non-dict message, bad types, non-JSON data),
    ValueError (empty queue/partition/transactionId, a transactionId over MAX_TXID
    characters, NaN or Infinity anywhere in the data).
    """
    cdef bytes head = _head(queue, partition)
    cdef list fragments = []
    cdef list txids = []
    cdef list items = messages if type(messages) is list else list(messages)
    cdef Py_ssize_t i, n = PyList_GET_SIZE(items)
    cdef object m, payload, txid
    cdef PyObject* found
    cdef bytes body
    cdef bint generated
    for i in range(n):
        m = <object>PyList_GET_ITEM(items, i)
        if not isinstance(m, dict):
            raise TypeError(f"message {i} must be a dict, not {type(m).__name__}")
        found = PyDict_GetItemWithError(m, "data")
        if found == NULL:
            found = PyDict_GetItemWithError(m, "payload")
        payload = m if found == NULL else <object>found
        found = PyDict_GetItemWithError(m, "transactionId")
        generated = found == NULL or <object>found is None
        if generated:
            txid = c_uuid7()
        else:
            txid = <object>found
            if not isinstance(txid, str):
                raise TypeError(
                    f"message {i}: transactionId must be a str, not {type(txid).__name__}"
                )
            if not txid:
                raise ValueError(f"message {i}: transactionId must not be empty")
            if len(<str>txid) > 255:
                raise ValueError(f"message {i}: transactionId is longer than 255 characters")
        try:
            body = <bytes>_dumps(payload)
            fragment = _item(head, body, txid, generated, _trace(m))
        except _JSONEncodeError as e:
            raise TypeError(f"message {i}: data is not JSON serialisable: {e}") from None
        if b"null" in body:  # orjson writes NaN/Infinity as null: find out which it was
            _check_finite(payload, f"message {i}: data")
        fragments.append(fragment)
        txids.append(txid)
    return fragments, txids


cdef inline object _trace(dict m):
    cdef PyObject* found = PyDict_GetItemWithError(m, "traceId")
    if found != NULL and c_is_uuid(<object>found):
        return <object>found
    return None


def join_items(fragments):
    """The push request body ``{"items":[f1,f2,...]}`` from encoded items."""
    if type(fragments) is not list:
        return b'{"items":[' + b",".join(fragments) + b"]}"
    cdef list frags = <list>fragments
    cdef Py_ssize_t i, n = PyList_GET_SIZE(frags), size = 12
    cdef object f
    for i in range(n):
        f = <object>PyList_GET_ITEM(frags, i)
        if type(f) is not bytes:
            return b'{"items":[' + b",".join(frags) + b"]}"
        size += PyBytes_GET_SIZE(f) + 1
    if n:
        size -= 1
    cdef bytes out = PyBytes_FromStringAndSize(NULL, size)
    cdef char* p = PyBytes_AS_STRING(out)
    p = _put(p, b'{"items":[', 10)
    for i in range(n):
        f = <object>PyList_GET_ITEM(frags, i)
        if i:
            p[0] = b','
            p += 1
        p = _put(p, PyBytes_AS_STRING(f), PyBytes_GET_SIZE(f))
    p[0] = b']'
    p[1] = b'}'
    return out


def encode_push(queue, partition, messages):
    """``join_items(encode_push_items(...))``: a whole push body and its transactionIds."""
    fragments, txids = encode_push_items(queue, partition, messages)
    return join_items(fragments), txids


cdef class PushBuffer:
    """Encoded push items waiting to be sent for one queue/partition.

    ``append`` reports when ``max_count`` is reached; ``due(now)`` reports when the oldest
    item has waited ``max_millis`` (``now`` from ``time.monotonic()``).
    """

    cdef public Py_ssize_t max_count
    cdef public double max_millis
    cdef list _fragments
    cdef list _txids
    cdef double _first_at

    def __init__(self, max_count, max_millis):
        if not isinstance(max_count, int) or isinstance(max_count, bool):
            raise TypeError(f"max_count must be an int, not {type(max_count).__name__}")
        if not isinstance(max_millis, (int, float)) or isinstance(max_millis, bool):
            raise TypeError(f"max_millis must be a number, not {type(max_millis).__name__}")
        if max_count < 1:
            raise ValueError(f"max_count must be >= 1, got {max_count}")
        if not max_millis >= 0:
            raise ValueError(f"max_millis must be >= 0, got {max_millis}")
        self.max_count = max_count
        self.max_millis = float(max_millis)
        self._fragments = []
        self._txids = []
        self._first_at = 0.0

    def append(self, fragments, txids):
        """Add encoded items; True when the buffer holds ``max_count`` or more."""
        cdef bint lists = type(fragments) is list and type(txids) is list
        cdef Py_ssize_t nf, nt
        if lists:
            nf = PyList_GET_SIZE(fragments)
            nt = PyList_GET_SIZE(txids)
        else:
            nf = len(fragments)
            nt = len(txids)
        if nf != nt:
            raise ValueError(f"append() got {nf} fragments but {nt} transactionIds")
        if nf and PyList_GET_SIZE(self._fragments) == 0:
            self._first_at = _c_monotonic()
        if lists and nf == 1:
            self._fragments.append(<object>PyList_GET_ITEM(fragments, 0))
            self._txids.append(<object>PyList_GET_ITEM(txids, 0))
        else:
            self._fragments.extend(fragments)
            self._txids.extend(txids)
        return PyList_GET_SIZE(self._fragments) >= self.max_count

    def take(self):
        """Everything buffered (oldest first); the buffer is empty afterwards."""
        out = (self._fragments, self._txids)
        self._fragments = []
        self._txids = []
        self._first_at = 0.0
        return out

    @property
    def count(self):
        return PyList_GET_SIZE(self._fragments)

    @property
    def first_at(self):
        return self._first_at

    def due(self, double now):
        """True when items are buffered and the oldest has waited ``max_millis``."""
        return PyList_GET_SIZE(self._fragments) > 0 and now >= self._first_at + self.max_millis / 1000.0

    def __len__(self):
        return PyList_GET_SIZE(self._fragments)

    def __repr__(self):
        return f"PushBuffer(count={len(self._fragments)}, max_count={self.max_count}, max_millis={self.max_millis})"


# ---------------------------------------------------------------- push replies
# True only for a push reply checked completely (a subset of JSON, see _scan.pxd) whose
# objects all carry a stored status; anything else is False (the caller parses).


cdef bint _all_stored(const unsigned char* p, Py_ssize_t n, Py_ssize_t* objects) noexcept nogil:
    cdef Py_ssize_t i = 0
    cdef int r, o, status
    cdef Field f
    r = _open(p, &i, n, 91, 93)
    while r == 1:
        o = _open(p, &i, n, 123, 125)
        if o < 0:
            return False
        status = -1
        while o == 1:
            i = _field(p, i, n, &f)
            if i < 0:
                return False
            if f.kn == 6 and memcmp(p + f.ks, b"status", 6) == 0:
                status = f.kind == F_STRING and f.vn > 0 and not (
                    f.vn == 6 and memcmp(p + f.vs, b"failed", 6) == 0)
            o = _sep(p, &i, n, 125)
        if o < 0 or status != 1:
            return False
        objects[0] += 1
        r = _sep(p, &i, n, 93)
    return r == 0 and _ws(p, i, n) == n


def push_all_stored(body, count):
    """True when ``body`` is a push reply (in the subset above) of exactly ``count``
    objects whose last ``status`` is a non-empty string other than ``failed``."""
    if type(body) is not bytes:
        return False
    cdef Py_ssize_t objects = 0
    cdef bytes b = <bytes>body
    if not _all_stored(<const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b), &objects):
        return False
    return objects == count
