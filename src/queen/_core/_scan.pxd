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


# ---- arrays of flat objects: [{"key": value, ...}, ...]
# Both scanners walk a reply as
#     r = _open(p, &i, n, 91, 93)                  # '[' ... ']'
#     while r == 1:
#         o = _open(p, &i, n, 123, 125)            # '{' ... '}'
#         while o == 1:
#             i = _field(p, i, n, &f)              # "key": value -> f
#             o = _sep(p, &i, n, 125)
#         r = _sep(p, &i, n, 93)
# stopping at the first negative answer (outside the subset: the caller parses).

cdef enum:
    F_STRING, F_TRUE, F_FALSE, F_NULL, F_INT


cdef struct Field:
    Py_ssize_t ks, kn  # the key's text (inside its quotes)
    Py_ssize_t vs, vn  # a string value's text (inside its quotes)
    int kind


cdef inline int _open(const unsigned char* p, Py_ssize_t* i, Py_ssize_t n,
                      unsigned char opening, unsigned char closing) noexcept nogil:
    """At `opening` (after blanks): 1 when members follow (i at the first), 0 when it closes
    at once (i after it), -1 when `opening` is not there."""
    cdef Py_ssize_t j = _ws(p, i[0], n)
    if j >= n or p[j] != opening:
        return -1
    j = _ws(p, j + 1, n)
    if j < n and p[j] == closing:
        i[0] = j + 1
        return 0
    i[0] = j
    return 1


cdef inline int _sep(const unsigned char* p, Py_ssize_t* i, Py_ssize_t n,
                     unsigned char closing) noexcept nogil:
    """After a member: 1 at a ',' (i at the next member), 0 at `closing` (i after it), -1
    otherwise."""
    cdef Py_ssize_t j = _ws(p, i[0], n)
    if j < n and p[j] == 44:
        i[0] = _ws(p, j + 1, n)
        return 1
    if j < n and p[j] == closing:
        i[0] = j + 1
        return 0
    return -1


cdef inline Py_ssize_t _field(const unsigned char* p, Py_ssize_t i, Py_ssize_t n,
                              Field* f) noexcept nogil:
    """`"key": value` with a flat value, into `f`; the index after the value, or -1."""
    cdef unsigned char c
    if i >= n or p[i] != 34:
        return -1
    f.ks = i + 1
    i = _string(p, i, n)
    if i < 0:
        return -1
    f.kn = i - 1 - f.ks
    i = _ws(p, i, n)
    if i >= n or p[i] != 58:
        return -1
    i = _ws(p, i + 1, n)
    if i >= n:
        return -1
    c = p[i]
    if c == 34:
        f.kind = F_STRING
        f.vs = i + 1
        i = _string(p, i, n)
        f.vn = i - 1 - f.vs
        return i
    if c == 116:
        f.kind = F_TRUE
        return _literal(p, i, n, b"true", 4)
    if c == 102:
        f.kind = F_FALSE
        return _literal(p, i, n, b"false", 5)
    if c == 110:
        f.kind = F_NULL
        return _literal(p, i, n, b"null", 4)
    if c == 45 or _is_digit(c):
        f.kind = F_INT
        return _integer(p, i, n)
    return -1
