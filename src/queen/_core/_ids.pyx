# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Ids, compiled twin of ``_ids_py.py``: UUIDv7 generation and UUID text checks."""

import os

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.time cimport time_ns as _c_time_ns
from cpython.unicode cimport PyUnicode_1BYTE_KIND, PyUnicode_FromKindAndData
from libc.stdint cimport uint64_t

__all__ = ["uuid7", "is_uuid"]

# Same scheme as the pure twin: 42-bit counter (rand_a + top of rand_b), random
# restart on each new millisecond, 32 random tail bits; randomness from os.urandom.
cdef uint64_t _COUNTER_MAX = (1ULL << 42) - 1
cdef Py_ssize_t _RAND_CHUNK = 4096
cdef const char* _HEXD = b"0123456789abcdef"

cdef uint64_t _last_ms = 0
cdef uint64_t _counter = 0
cdef bytes _pool = b""
cdef Py_ssize_t _pos = 0
cdef object _urandom = os.urandom


cdef int _fill(Py_ssize_t need) except -1:
    global _pool, _pos
    while PyBytes_GET_SIZE(_pool) - _pos < need:
        _pool = _urandom(_RAND_CHUNK)
        _pos = 0
    return 0


cdef inline uint64_t _take(Py_ssize_t n) noexcept:
    # caller made sure n bytes are available
    global _pos
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(_pool) + _pos
    cdef uint64_t v = 0
    cdef Py_ssize_t i
    for i in range(n):
        v = (v << 8) | p[i]
    _pos += n
    return v


def _after_fork():
    # A child must not replay the parent's buffered randomness (duplicate ids).
    global _pool, _pos, _last_ms, _counter
    _pool = b""
    _pos = 0
    _last_ms = 0
    _counter = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


cdef inline void _hex(char* out, uint64_t v, int digits) noexcept:
    cdef int i
    for i in range(digits - 1, -1, -1):
        out[i] = _HEXD[v & 0xF]
        v >>= 4


cdef str c_uuid7():
    global _last_ms, _counter
    cdef char buf[36]
    cdef uint64_t ms, counter, tail, hi, lo
    _fill(10)  # may call Python; nothing below does, so the update is atomic under the GIL
    ms = <uint64_t>(_c_time_ns() // 1000000)
    if ms > _last_ms:
        _last_ms = ms
        _counter = _take(6) & 0x1FFFFFFFFFFULL
    else:
        _counter += 1
        if _counter > _COUNTER_MAX:
            _last_ms += 1
            _counter = _take(6) & 0x1FFFFFFFFFFULL
    counter = _counter
    tail = _take(4)
    hi = ((_last_ms & 0xFFFFFFFFFFFFULL) << 16) | (0x7ULL << 12) | (counter >> 30)
    lo = (0x2ULL << 62) | ((counter & 0x3FFFFFFFULL) << 32) | tail
    _hex(buf, hi >> 32, 8)
    buf[8] = b'-'
    _hex(buf + 9, (hi >> 16) & 0xFFFF, 4)
    buf[13] = b'-'
    _hex(buf + 14, hi & 0xFFFF, 4)
    buf[18] = b'-'
    _hex(buf + 19, lo >> 48, 4)
    buf[23] = b'-'
    _hex(buf + 24, lo & 0xFFFFFFFFFFFFULL, 12)
    return PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, buf, 36)


cdef bint c_is_uuid(object s) noexcept:
    if not isinstance(s, str) or len(<str>s) != 36:
        return False
    cdef str t = <str>s
    cdef Py_ssize_t i
    cdef Py_UCS4 ch
    for i in range(36):
        ch = t[i]
        if i == 8 or i == 13 or i == 18 or i == 23:
            if ch != u'-':
                return False
        elif not (
            (u'0' <= ch <= u'9') or (u'a' <= ch <= u'f') or (u'A' <= ch <= u'F')
        ):
            return False
    return True


def uuid7():
    """A fresh RFC 9562 UUIDv7 as canonical lowercase text, monotonic within the process."""
    return c_uuid7()


def is_uuid(s):
    """True for a canonical 8-4-4-4-12 hex UUID string (any case)."""
    return c_is_uuid(s)
