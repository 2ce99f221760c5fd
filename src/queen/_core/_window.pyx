# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Window kernels, compiled twin of ``_window_py.py``: path lookup, filter, group_by
and aggregate over lists of message dicts."""

from collections.abc import Mapping

import json

import orjson

from cpython.dict cimport PyDict_GetItemWithError
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject, PyObject_Hash, PyObject_IsTrue
from libc.limits cimport LLONG_MAX, LLONG_MIN


cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX

from ._sentinel import MISSING

__all__ = ["MISSING", "get_path", "window_filter", "window_group_by", "window_aggregate"]

cdef object _MISSING = MISSING
cdef object _dumps = orjson.dumps
cdef object _OPT_SORT_KEYS = orjson.OPT_SORT_KEYS
cdef tuple _STATS = ("sum", "avg", "min", "max")
# ints up to 2**53 convert to double exactly, so comparing the doubles is exact
cdef long long _EXACT = 1LL << 53


cdef class _Path:
    """A dot path split once: its parts and, per part, the list index it spells (or -1)."""

    cdef list parts
    cdef Py_ssize_t* idx
    cdef Py_ssize_t n

    def __cinit__(self, path):
        if not isinstance(path, str):
            raise TypeError(f"path must be a str, not {type(path).__name__}")
        self.parts = (<str>path).split(".")
        self.n = len(self.parts)
        self.idx = <Py_ssize_t*>PyMem_Malloc(self.n * sizeof(Py_ssize_t))
        if self.idx == NULL:
            raise MemoryError()
        cdef Py_ssize_t k
        cdef str part
        for k in range(self.n):
            part = <str>self.parts[k]
            if part.isdigit() and part.isascii():
                # beyond any list length when it does not fit a Py_ssize_t
                self.idx[k] = int(part) if len(part) < 18 else PY_SSIZE_T_MAX
            else:
                self.idx[k] = -1

    def __dealloc__(self):
        PyMem_Free(self.idx)


cdef object _walk(object obj, _Path path):
    cdef Py_ssize_t k, i
    cdef PyObject* found
    for k in range(path.n):
        if isinstance(obj, dict):
            found = PyDict_GetItemWithError(obj, <object>PyList_GET_ITEM(path.parts, k))
            if found == NULL:
                return _MISSING
            obj = <object>found
        elif isinstance(obj, list):
            i = path.idx[k]
            if i < 0 or i >= PyList_GET_SIZE(obj):
                return _MISSING
            obj = <object>PyList_GET_ITEM(obj, i)
        else:
            return _MISSING
    return obj


def get_path(obj, path):
    """Value at a dot path (``"data.user.id"``, ``"data.items.0"``), or ``MISSING``."""
    return _walk(obj, _Path(path))


def window_filter(messages, predicate):
    """The messages for which ``predicate(message)`` is truthy, in order."""
    if not callable(predicate):
        raise TypeError(f"predicate must be callable, not {type(predicate).__name__}")
    cdef list out = []
    for m in messages:
        if PyObject_IsTrue(predicate(m)):
            out.append(m)
    return out


cdef object _group_key(object value):
    if value is _MISSING:
        return None
    try:
        PyObject_Hash(value)
    except TypeError:
        try:
            return _dumps(value, option=_OPT_SORT_KEYS).decode()
        except TypeError:
            # orjson refuses ints beyond 64 bits; the stdlib writes the same compact text
            return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return value


def window_group_by(messages, path):
    """Messages grouped by the value at ``path``: missing -> None, unhashable (dict,
    list) -> its sorted-keys JSON text. Groups keep first-seen order."""
    cdef _Path p = _Path(path)
    cdef dict groups = {}
    cdef PyObject* bucket
    for m in messages:
        key = _group_key(_walk(m, p))
        bucket = PyDict_GetItemWithError(groups, key)
        if bucket == NULL:
            groups[key] = [m]
        else:
            (<list>bucket).append(m)
    return groups


cdef list _paths(spec, str name):
    value = spec[name]
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"aggregate '{name}' must be a list of paths, not {type(value).__name__}")
    for p in value:
        if not isinstance(p, str):
            raise TypeError(f"aggregate '{name}' paths must be str, not {type(p).__name__}")
    return list(value)


cdef class _Stat:
    """Running numbers of one path; same arithmetic as the pure twin's ``_Stat``: ints
    summed exactly (C long long, spilling into a Python int), floats in a double."""

    cdef Py_ssize_t n
    cdef long long isum
    cdef object ibig
    cdef double fsum
    cdef bint floats
    cdef object lo, hi
    cdef double lo_d, hi_d
    cdef bint lo_exact, hi_exact

    def __cinit__(self):
        self.ibig = 0
        self.lo = _MISSING
        self.hi = _MISSING

    cdef int add(self, object v) except -1:
        cdef double d = 0.0
        cdef long long x
        cdef int overflow = 0
        cdef bint exact
        if isinstance(v, float):
            d = PyFloat_AS_DOUBLE(v)
            self.fsum += d
            self.floats = True
            exact = True
        elif isinstance(v, int) and not isinstance(v, bool):
            x = PyLong_AsLongLongAndOverflow(v, &overflow)
            if overflow:
                self.ibig = self.ibig + int(v)
                exact = False
            else:
                if (x > 0 and self.isum > LLONG_MAX - x) or (x < 0 and self.isum < LLONG_MIN - x):
                    self.ibig = self.ibig + self.isum
                    self.isum = x
                else:
                    self.isum += x
                exact = -_EXACT <= x <= _EXACT
                d = <double>x
        else:
            return 0
        self.n += 1
        if self.lo is _MISSING:
            self.lo = self.hi = v
            self.lo_d = self.hi_d = d
            self.lo_exact = self.hi_exact = exact
            return 0
        cdef bint lower, higher
        if exact and self.lo_exact:
            lower = d < self.lo_d
        else:
            lower = v < self.lo
        if lower:
            self.lo = v
            self.lo_d = d
            self.lo_exact = exact
            return 0
        if exact and self.hi_exact:
            higher = d > self.hi_d
        else:
            higher = v > self.hi
        if higher:
            self.hi = v
            self.hi_d = d
            self.hi_exact = exact
        return 0

    cdef object int_total(self):
        return self.ibig + self.isum

    cdef object total(self):
        cdef object isum = self.int_total()
        if not self.floats:
            return isum
        try:
            return self.fsum + isum
        except OverflowError:
            return float("inf") if isum > 0 else float("-inf")

    cdef object average(self):
        if self.n == 0:
            return None
        try:
            return (self.total() if self.floats else self.int_total()) / self.n
        except OverflowError:  # an int sum beyond any float
            return float("inf") if self.int_total() > 0 else float("-inf")


def window_aggregate(messages, spec):
    """Count/sum/avg/min/max over numeric values (int/float, not bool) at dot paths.

    ``spec``: ``count`` (truthy) and ``sum``/``avg``/``min``/``max`` (lists of paths).
    Missing and non-numeric values are skipped; sum of nothing is 0, avg/min/max None.
    """
    if not isinstance(spec, Mapping):
        raise TypeError(f"aggregate spec must be a dict, not {type(spec).__name__}")
    for name in spec:
        if name != "count" and name not in _STATS:
            raise ValueError(f"unknown aggregate {name!r}: use count, sum, avg, min or max")
    cdef dict wanted = {}
    for name in _STATS:
        if spec.get(name) is not None:
            wanted[name] = _paths(spec, name)
    cdef list paths = []
    for ps in wanted.values():
        for p in ps:
            if p not in paths:
                paths.append(p)
    cdef Py_ssize_t k, npaths = len(paths)
    cdef list stats = [_Stat() for _ in range(npaths)]
    cdef list splits = [_Path(p) for p in paths]
    cdef Py_ssize_t count = 0, i, nmsg
    cdef object m
    cdef list items
    if type(messages) is list:
        items = <list>messages
    else:
        items = list(messages)
    nmsg = PyList_GET_SIZE(items)
    for i in range(nmsg):
        m = <object>PyList_GET_ITEM(items, i)
        count += 1
        for k in range(npaths):
            (<_Stat>PyList_GET_ITEM(stats, k)).add(
                _walk(m, <_Path>PyList_GET_ITEM(splits, k))
            )
    cdef dict by_path = dict(zip(paths, stats))
    cdef dict result = {}
    cdef _Stat st
    if spec.get("count"):
        result["count"] = count
    for name, ps in wanted.items():
        part = {}
        for p in ps:
            st = <_Stat>by_path[p]
            if name == "sum":
                part[p] = st.total()
            elif name == "avg":
                part[p] = st.average()
            elif name == "min":
                part[p] = None if st.lo is _MISSING else st.lo
            else:
                part[p] = None if st.hi is _MISSING else st.hi
        result[name] = part
    return result
