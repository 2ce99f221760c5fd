"""Operator classes behind the ``Stream`` methods (not meant for direct use).

Each operator carries ``kind`` and the ``config`` entries that feed the chain's
config_hash (same keys and order as upstream). The work itself is done by the
runner, per partition batch, with the ``_core`` streams kernel.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from .._core import agg_update, ms_iso, sink_items
from .windows import (
    WindowCronOperator,
    WindowOperator,
    WindowSessionOperator,
    WindowSlidingOperator,
    WindowTumblingOperator,
    iso_to_ms,
)

SEP = "\x1f"
RESERVED_AGGREGATE_FIELDS = ["count", "sum", "min", "max", "avg"]
AVG_HELPERS = ("__avg_sum", "__avg_count")

# codes shared with the kernel (queen._core._streams*: AGG_*)
_AGG_CODES = {"count": 0, "sum": 1, "min": 2, "max": 3, "avg": 4}
_AGG_OTHER = 5


# ---------------------------------------------------------------- callables


def is_async(fn: Any) -> bool:
    """Whether calling ``fn`` yields a coroutine (async def, or an object whose
    ``__call__`` is one)."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(type(fn), "__call__", None))  # noqa: B004 - the method, not callability


def _arity(fn: Callable[..., Any]) -> Optional[int]:
    """2 when ``fn`` takes (x, ctx), 1 when it takes only (x), None when unknown."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    n = 0
    for p in sig.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            return 2
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            n += 1
    return 2 if n >= 2 else 1


async def resolve(value: Any) -> Any:
    """Await ``value`` if it is awaitable (every user callback may be sync or async)."""
    if hasattr(value, "__await__"):
        return await value
    return value


class _UserFn:
    """A user callback called as ``fn(x, ctx)`` or ``fn(x)``. Upstream tries two
    arguments and retries with one on any TypeError (calling a failing function
    twice); we read the signature once and fall back to that only when it cannot
    be read."""

    __slots__ = ("fn", "arity")

    def __init__(self, fn: Any, what: str) -> None:
        if not callable(fn):
            raise TypeError(f"{what} requires a callable")
        self.fn = fn
        self.arity = _arity(fn)

    def __call__(self, x: Any, ctx: Any) -> Any:
        if self.arity == 2:
            return self.fn(x, ctx)
        if self.arity == 1:
            return self.fn(x)
        try:
            return self.fn(x, ctx)
        except TypeError:
            return self.fn(x)


# ---------------------------------------------------------------- stateless


class _Stateless:
    kind = ""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.call = _UserFn(fn, f"{self.kind}(fn)")
        self.config: Dict[str, Any] = {}


class MapOperator(_Stateless):
    """``value := fn(x, ctx)``."""

    kind = "map"


class FilterOperator(_Stateless):
    """Keep the record when ``predicate(x, ctx)`` is truthy."""

    kind = "filter"


class FlatMapOperator(_Stateless):
    """One record per element of the list ``fn(x, ctx)`` returns."""

    kind = "flatMap"


class KeyByOperator:
    """The record's key becomes ``str(fn(source_message))``."""

    kind = "keyBy"

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        if not callable(fn):
            raise TypeError("key_by(fn) requires a callable")
        self.fn = fn
        self.config: Dict[str, Any] = {}


StatelessOp = Union[MapOperator, FilterOperator, FlatMapOperator]


# ---------------------------------------------------------------- reduce / aggregate


class ReduceOperator:
    """Per (window, key) fold ``acc = fn(acc, value)`` starting from ``initial``."""

    kind = "reduce"
    agg: Optional[Tuple[Tuple[str, ...], Tuple[int, ...], Tuple[Callable[[Any], Any], ...]]] = None

    def __init__(self, fn: Callable[[Any, Any], Any], initial: Any = None) -> None:
        if not callable(fn):
            raise TypeError("reduce(fn) requires a callable")
        self.fn = fn
        self.initial = initial
        self.is_async = is_async(fn)
        self.config: Dict[str, Any] = {"hasInitial": initial is not None}

    def make_initial(self, session: bool = False) -> Any:
        """A fresh accumulator: scalars as given, containers deep-copied per window
        (None stays None, except for sessions, where it starts at 0 as upstream's)."""
        init = self.initial
        if init is None:
            return 0 if session else None
        if isinstance(init, (int, float, str, bool)):
            return init
        return copy.deepcopy(init)

    def finish(self, acc: Any) -> Any:
        """The value a closed window emits."""
        return acc

    async def step(self, acc: Any, value: Any) -> Any:
        """One fold step, awaiting an async reducer."""
        return await resolve(self.fn(acc, value))


class AggregateOperator(ReduceOperator):
    """Named statistics per window: ``count``, ``sum``, ``min``, ``max``, ``avg``;
    any other name is a running total."""

    kind = "aggregate"

    def __init__(self, extractors: Dict[str, Callable[[Any], Any]]) -> None:
        if not isinstance(extractors, dict):
            raise TypeError("aggregate requires a dict of named extractors")
        for name, fn in extractors.items():
            if not callable(fn):
                raise TypeError(f"aggregate.{name} must be callable")
        if not extractors:
            raise ValueError("aggregate requires at least one extractor")
        self.fields: List[str] = list(extractors)
        initial: Dict[str, Any] = {}
        for name in self.fields:
            if name in ("min", "max"):
                initial[name] = None
            elif name == "avg":
                initial["__avg_sum"] = 0
                initial["__avg_count"] = 0
                initial["avg"] = 0
            else:
                initial[name] = 0
        self._extractors = list(extractors.values())
        super().__init__(self._fold_async, initial)
        self.is_async = any(is_async(f) for f in self._extractors)
        self.agg = (tuple(self.fields),
                    tuple(_AGG_CODES.get(n, _AGG_OTHER) for n in self.fields),
                    tuple(self._extractors))
        self._has_avg = "avg" in self.fields
        self.config = {"fields": list(self.fields)}

    def make_initial(self, session: bool = False) -> Any:
        return dict(self.initial)

    def finish(self, acc: Any) -> Any:
        # Upstream leaks its avg helper fields into every emit; users asked for avg.
        if self._has_avg and isinstance(acc, dict) and AVG_HELPERS[0] in acc:
            return {k: v for k, v in acc.items() if k not in AVG_HELPERS}
        return acc

    async def _fold_async(self, acc: Any, value: Any) -> Dict[str, Any]:
        """The aggregate step with async extractors: await them, then fold."""
        assert self.agg is not None
        names, codes, _ = self.agg
        values = [await resolve(f(value)) for f in self._extractors]
        plain = tuple(_const(v) for v in values)
        return agg_update(acc, (names, codes, plain), value)  # type: ignore[no-any-return]


def _const(v: Any) -> Callable[[Any], Any]:
    return lambda _m: v


# ---------------------------------------------------------------- gate


class GateOperator:
    """Per-message allow/deny with per-key state (see ``helpers``)."""

    kind = "gate"

    def __init__(self, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise TypeError(".gate(fn) requires a callable")
        self.fn = fn
        self.config: Dict[str, Any] = {}

    async def evaluate(self, value: Any, ctx: Any) -> bool:
        out = await resolve(self.fn(value, ctx))
        if out is True or out is False:
            return out
        if isinstance(out, dict) and isinstance(out.get("allow"), bool):
            return bool(out["allow"])
        raise TypeError(".gate(fn) must return bool or {'allow': bool}")


# ---------------------------------------------------------------- terminals


def queue_name_of(target: Any) -> str:
    """The queue name of a queue builder, an object with ``name``/``queue_name`` or a
    dict with ``queueName``/``queue_name``/``name``; "" when there is none."""
    if target is None:
        return ""
    for attr in ("_queue_name", "queue_name", "name"):
        v = getattr(target, attr, None)
        if isinstance(v, str) and v:
            return v
    if isinstance(target, dict):
        for key in ("queueName", "queue_name", "name"):
            v = target.get(key)
            if isinstance(v, str) and v:
                return v
    return ""


class SinkOperator:
    """Terminal ``.to(queue)``: each emitted value is pushed in the same cycle."""

    kind = "sink"

    def __init__(self, queue_builder: Any, partition: Any = None) -> None:
        self.queue_builder = queue_builder
        self.queue_name = queue_name_of(queue_builder)
        if not self.queue_name:
            raise ValueError("Could not extract queue name from sink target. "
                             "Pass either a queen.queue('name') builder or {'queueName': 'name'}.")
        self.partition_resolver = partition
        self.config: Dict[str, Any] = {"kind": "sink", "queue": self.queue_name}

    def build_push_items(self, values: Sequence[Any], source_partition: Optional[str]
                         ) -> List[Dict[str, Any]]:
        resolver = self.partition_resolver
        if resolver is None or isinstance(resolver, str):
            part = resolver if isinstance(resolver, str) else (source_partition or "Default")
            return sink_items(self.queue_name, part, values)  # type: ignore[no-any-return]
        items: List[Dict[str, Any]] = []
        for v in values:
            items.extend(sink_items(self.queue_name, str(resolver(v)), [v]))
        return items


class ForeachOperator:
    """Terminal side effect, run before the cycle commits (at-least-once)."""

    kind = "foreach"

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.call = _UserFn(fn, "foreach(fn)")
        self.config: Dict[str, Any] = {"kind": "foreach"}

    async def run_effects(self, entries: Sequence[Tuple[Any, Any]]) -> None:
        for value, ctx in entries:
            await resolve(self.call(value, ctx))


# ---------------------------------------------------------------- state keys


def state_key_for(operator_tag: str, window_key: str, user_key: Optional[str] = None) -> str:
    """``<tag>\\x1f<windowKey>[\\x1f<userKey>]``."""
    if user_key is None:
        return f"{operator_tag}{SEP}{window_key}"
    return f"{operator_tag}{SEP}{window_key}{SEP}{user_key}"


def parse_state_key(state_key: Any) -> Optional[Dict[str, str]]:
    """3 parts: tag, windowKey, userKey; 2 parts: the legacy (windowKey, userKey)."""
    if not isinstance(state_key, str):
        return None
    parts = state_key.split(SEP)
    if len(parts) == 3:
        return {"operatorTag": parts[0], "windowKey": parts[1], "userKey": parts[2]}
    if len(parts) == 2:
        return {"operatorTag": "", "windowKey": parts[0], "userKey": parts[1]}
    return None


Operator = Union[MapOperator, FilterOperator, FlatMapOperator, KeyByOperator, WindowOperator,
                 ReduceOperator, GateOperator, SinkOperator, ForeachOperator]

__all__ = [
    "MapOperator", "FilterOperator", "FlatMapOperator", "KeyByOperator",
    "WindowTumblingOperator", "WindowSlidingOperator", "WindowSessionOperator",
    "WindowCronOperator", "ReduceOperator", "AggregateOperator", "RESERVED_AGGREGATE_FIELDS",
    "SinkOperator", "ForeachOperator", "GateOperator", "state_key_for", "parse_state_key",
    "queue_name_of", "iso_to_ms", "ms_iso",
]
