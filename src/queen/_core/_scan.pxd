# cython: language_level=3
# Byte scanning of JSON replies in a checked subset (shared by _push.pyx and _ack.pyx):
# ASCII strings without escapes, integers of at most 18 digits (no floats), true, false,
# null. Each helper returns the index after what it read, or -1 when the input leaves the
# subset (the caller then hands the reply to the full parser).

from libc.string cimport memcmp


cdef inline bint _is_ws(unsigned char c) noexcept nogil:
    return c == 32 or c == 9 or c == 10 or c == 13


cdef inline bint _is_digit(unsigned char c) noexcept nogil:
    return 48 <= c <= 57


cdef inline Py_ssize_t _ws(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    while i < n and _is_ws(p[i]):
        i += 1
    return i


cdef inline Py_ssize_t _string(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    cdef unsigned char c
    i += 1
    while i < n:
        c = p[i]
        if c == 34:
            return i + 1
        if c == 92 or c < 32 or c >= 128:
            return -1
        i += 1
    return -1


cdef inline Py_ssize_t _integer(const unsigned char* p, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t start
    if p[i] == 45:
        i += 1
    if i >= n or not _is_digit(p[i]):
        return -1
    if p[i] == 48:
        i += 1
    else:
        start = i
        while i < n and _is_digit(p[i]):
            i += 1
        if i - start > 18:
            return -1
    if i < n and (p[i] == 46 or p[i] == 69 or p[i] == 101):
        return -1
    return i


cdef inline Py_ssize_t _literal(const unsigned char* p, Py_ssize_t i, Py_ssize_t n,
                                const char* word, Py_ssize_t wn) noexcept nogil:
    if i + wn <= n and memcmp(p + i, word, wn) == 0:
        return i + wn
    return -1
