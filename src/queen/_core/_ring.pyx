# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Consistent hashing, compiled twin of ``_ring_py.py``: FNV-1a and a virtual-node ring."""

from cpython.list cimport PyList_GET_ITEM
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdint cimport uint32_t

__all__ = ["fnv1a32", "mix32", "HashRing"]

MAX_VNODES = 100_000  # per node; far beyond any useful ring


cdef inline uint32_t _fnv(const unsigned char* p, Py_ssize_t n) noexcept nogil:
    cdef uint32_t h = 0x811C9DC5
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ p[i]) * 0x01000193
    return h


cdef inline uint32_t _fnv_str(object s) except? 0xFFFFFFFF:
    cdef Py_ssize_t n = 0
    cdef const char* p
    if not isinstance(s, str):
        raise TypeError(f"fnv1a32() needs a str, not {type(s).__name__}")
    p = PyUnicode_AsUTF8AndSize(s, &n)
    return _fnv(<const unsigned char*>p, n)


cdef inline uint32_t _mix(uint32_t h) noexcept nogil:
    h ^= h >> 16
    h *= <uint32_t>0x85EBCA6BU
    h ^= h >> 13
    h *= <uint32_t>0xC2B2AE35U
    h ^= h >> 16
    return h


def mix32(h):
    """MurmurHash3's 32-bit finaliser: spreads FNV-1a values of similar strings
    ("node#1", "node#2", ...) over the whole ring, which plain FNV-1a does not."""
    if not isinstance(h, int) or isinstance(h, bool):
        raise TypeError(f"mix32() needs an int, not {type(h).__name__}")
    if not 0 <= h <= 0xFFFFFFFF:
        raise ValueError(f"mix32() needs a 32-bit unsigned int, got {h}")
    return _mix(<uint32_t>h)


def fnv1a32(s):
    """32-bit FNV-1a over the UTF-8 bytes of ``s``."""
    return _fnv_str(s)


cdef class HashRing:
    """Nodes placed on a 32-bit ring at ``vnodes`` points each, vnode ``i`` of node ``n``
    at ``mix32(fnv1a32(f"{n}#{i}"))``.

    ``lookup(key)`` walks clockwise from ``mix32(fnv1a32(key))`` to the first point whose
    node is not in ``skip``. Points that collide are ordered by node order, then index.
    """

    cdef tuple _nodes
    cdef int _vnodes
    cdef uint32_t* _points
    cdef list _owners
    cdef Py_ssize_t _n

    def __cinit__(self):
        self._points = NULL
        self._n = 0

    def __init__(self, nodes, vnodes=128):
        if isinstance(nodes, str):
            raise TypeError("HashRing() needs an iterable of node names, not a str")
        if not isinstance(vnodes, int) or isinstance(vnodes, bool):
            raise TypeError(f"vnodes must be an int, not {type(vnodes).__name__}")
        if not 1 <= vnodes <= MAX_VNODES:
            raise ValueError(f"vnodes must be between 1 and {MAX_VNODES}, got {vnodes}")
        cdef list unique = []
        for n in nodes:
            if not isinstance(n, str):
                raise TypeError(f"node names must be str, not {type(n).__name__}")
            if n not in unique:
                unique.append(n)
        placed = sorted(
            [(_mix(_fnv_str(f"{n}#{i}")), k, i) for k, n in enumerate(unique) for i in range(vnodes)]
        )
        cdef Py_ssize_t count = len(placed)
        cdef uint32_t* points = <uint32_t*>PyMem_Malloc(max(count, 1) * sizeof(uint32_t))
        if points == NULL:
            raise MemoryError()
        cdef Py_ssize_t j
        for j in range(count):
            points[j] = placed[j][0]
        PyMem_Free(self._points)
        self._points = points
        self._n = count
        self._nodes = tuple(unique)
        self._vnodes = vnodes
        self._owners = [unique[p[1]] for p in placed]

    def __dealloc__(self):
        PyMem_Free(self._points)

    @property
    def nodes(self):
        return self._nodes

    @property
    def vnodes(self):
        return self._vnodes

    def __len__(self):
        return len(self._nodes)

    def __repr__(self):
        return f"HashRing({list(self._nodes)!r}, vnodes={self._vnodes})"

    def lookup(self, key, skip=()):
        """The node owning ``key``, skipping nodes in ``skip``; None if none is left."""
        cdef uint32_t h = _mix(_fnv_str(key))
        cdef Py_ssize_t n = self._n
        if n == 0:
            return None
        # lower bound: first point >= h
        cdef Py_ssize_t lo = 0, hi = n, mid
        cdef uint32_t* pts = self._points
        while lo < hi:
            mid = (lo + hi) >> 1
            if pts[mid] < h:
                lo = mid + 1
            else:
                hi = mid
        if lo == n:
            lo = 0
        if not skip:
            return <object>PyList_GET_ITEM(self._owners, lo)
        for node in self._nodes:
            if node not in skip:
                break
        else:
            return None
        cdef Py_ssize_t step
        cdef object owner
        for step in range(n):
            owner = <object>PyList_GET_ITEM(self._owners, (lo + step) % n)
            if owner not in skip:
                return owner
        return None
