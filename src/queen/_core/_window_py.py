"""Window kernels, pure-Python twin of ``_window.pyx``: path lookup, filter, group_by
and aggregate over lists of message dicts."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple, Union

import orjson

from ._sentinel import MISSING

__all__ = ["MISSING", "get_path", "window_filter", "window_group_by", "window_aggregate"]

_STATS = ("sum", "avg", "min", "max")


def _split(path: Any) -> Tuple[str, ...]:
    if not isinstance(path, str):
        raise TypeError(f"path must be a str, not {type(path).__name__}")
    return tuple(path.split("."))


def _walk(obj: Any, parts: Tuple[str, ...]) -> Any:
    for part in parts:
        if isinstance(obj, dict):
            obj = obj.get(part, MISSING)
            if obj is MISSING:
                return MISSING
        elif isinstance(obj, list):
            # Only plain non-negative decimal indices ("items.0"), never "-1" or "+1".
            if not (part.isdigit() and part.isascii()):
                return MISSING
            i = int(part)
            if i >= len(obj):
                return MISSING
            obj = obj[i]
        else:
            return MISSING
    return obj


def get_path(obj: Any, path: str) -> Any:
    """Value at a dot path (``"data.user.id"``, ``"data.items.0"``), or ``MISSING``."""
    return _walk(obj, _split(path))


def window_filter(messages: Sequence[Any], predicate: Callable[[Any], Any]) -> List[Any]:
    """The messages for which ``predicate(message)`` is truthy, in order."""
    if not callable(predicate):
        raise TypeError(f"predicate must be callable, not {type(predicate).__name__}")
    return [m for m in messages if predicate(m)]


def _group_key(value: Any) -> Any:
    if value is MISSING:
        return None
    try:
        hash(value)
    except TypeError:
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:
            # orjson refuses ints beyond 64 bits; the stdlib writes the same compact text
            return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return value


def window_group_by(messages: Sequence[Any], path: str) -> Dict[Any, List[Any]]:
    """Messages grouped by the value at ``path``: missing -> None, unhashable (dict,
    list) -> its sorted-keys JSON text. Groups keep first-seen order."""
    parts = _split(path)
    groups: Dict[Any, List[Any]] = {}
    for m in messages:
        key = _group_key(_walk(m, parts))
        bucket = groups.get(key)
        if bucket is None:
            groups[key] = [m]
        else:
            bucket.append(m)
    return groups


def _paths(spec: Mapping[str, Any], name: str) -> List[str]:
    value = spec[name]
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"aggregate '{name}' must be a list of paths, not {type(value).__name__}")
    for p in value:
        if not isinstance(p, str):
            raise TypeError(f"aggregate '{name}' paths must be str, not {type(p).__name__}")
    return list(value)


class _Stat:
    """Running numbers of one path. Ints are summed exactly and floats in a double,
    left to right; the two are combined once at the end (both twins do the same)."""

    __slots__ = ("n", "isum", "fsum", "floats", "lo", "hi")

    def __init__(self) -> None:
        self.n = 0
        self.isum = 0
        self.fsum = 0.0
        self.floats = False
        self.lo: Any = MISSING
        self.hi: Any = MISSING

    def add(self, v: Any) -> None:
        if isinstance(v, float):
            self.fsum += float(v)
            self.floats = True
        elif isinstance(v, int) and not isinstance(v, bool):
            self.isum += int(v)
        else:
            return
        self.n += 1
        if self.lo is MISSING:
            self.lo = self.hi = v
        elif v < self.lo:
            self.lo = v
        elif v > self.hi:
            self.hi = v

    def total(self) -> Union[int, float]:
        if not self.floats:
            return self.isum
        try:
            return self.fsum + self.isum
        except OverflowError:
            return float("inf") if self.isum > 0 else float("-inf")

    def average(self) -> Union[int, float, None]:
        if self.n == 0:
            return None
        try:
            return (self.total() if self.floats else self.isum) / self.n
        except OverflowError:  # an int sum beyond any float
            return float("inf") if self.isum > 0 else float("-inf")


def window_aggregate(messages: Sequence[Any], spec: Mapping[str, Any]) -> Dict[str, Any]:
    """Count/sum/avg/min/max over numeric values (int/float, not bool) at dot paths.

    ``spec``: ``count`` (truthy) and ``sum``/``avg``/``min``/``max`` (lists of paths).
    Missing and non-numeric values are skipped; sum of nothing is 0, avg/min/max None.
    """
    if not isinstance(spec, Mapping):
        raise TypeError(f"aggregate spec must be a dict, not {type(spec).__name__}")
    for name in spec:
        if name != "count" and name not in _STATS:
            raise ValueError(f"unknown aggregate {name!r}: use count, sum, avg, min or max")
    wanted: Dict[str, List[str]] = {}
    for name in _STATS:
        if spec.get(name) is not None:
            wanted[name] = _paths(spec, name)
    paths: List[str] = []
    for ps in wanted.values():
        for p in ps:
            if p not in paths:
                paths.append(p)
    stats = [_Stat() for _ in paths]
    splits = [_split(p) for p in paths]
    count = 0
    for m in messages:
        count += 1
        for parts, st in zip(splits, stats):
            st.add(_walk(m, parts))
    by_path = dict(zip(paths, stats))
    result: Dict[str, Any] = {}
    if spec.get("count"):
        result["count"] = count
    for name, ps in wanted.items():
        if name == "sum":
            result[name] = {p: by_path[p].total() for p in ps}
        elif name == "avg":
            result[name] = {p: by_path[p].average() for p in ps}
        elif name == "min":
            result[name] = {p: None if by_path[p].lo is MISSING else by_path[p].lo for p in ps}
        else:
            result[name] = {p: None if by_path[p].hi is MISSING else by_path[p].hi for p in ps}
    return result
