"""``Stream``: the fluent, immutable pipeline builder of the 0.15 streams SDK.

Every method returns a new ``Stream`` with one operator appended; nothing talks to
the server until ``await stream.run(query_id=...)``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence

from ..errors import QueenValidationError
from .operators import (
    AggregateOperator,
    FilterOperator,
    FlatMapOperator,
    ForeachOperator,
    GateOperator,
    KeyByOperator,
    MapOperator,
    Operator,
    ReduceOperator,
    SinkOperator,
    StatelessOp,
    queue_name_of,
)
from .windows import (
    WindowCronOperator,
    WindowOperator,
    WindowSessionOperator,
    WindowSlidingOperator,
    WindowTumblingOperator,
    snake_options,
)

if TYPE_CHECKING:
    from .runner import Runner


@dataclass
class CompiledStages:
    """The chain split into the stages the runner executes, in this order."""

    pre: List[StatelessOp] = field(default_factory=list)
    key_by: Optional[KeyByOperator] = None
    window: Optional[WindowOperator] = None
    reducer: Optional[ReduceOperator] = None
    gate: Optional[GateOperator] = None
    post: List[StatelessOp] = field(default_factory=list)
    sink: Optional[Any] = None  # SinkOperator | ForeachOperator


@dataclass
class CompiledStream:
    source: Any
    source_options: Dict[str, Any]
    stages: CompiledStages
    operators: List[Operator]
    config_hash: str


def config_hash_of(operators: Sequence[Any]) -> str:
    """SHA-256 hex of the chain's structural shape, byte-compatible with upstream's
    SDKs: compact JSON of ``[{"kind": ..., **config}, ...]`` (Python number
    rendering, so ``60`` and ``60.0`` differ)."""
    parts = [{"kind": op.kind, **(op.config if isinstance(op.config, dict) else {})}
             for op in operators]
    payload = json.dumps(parts, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class Stream:
    """A streaming pipeline over a Queen 0.15 source queue.

    ``Stream.from_(queen.queue('orders')).key_by(...).window_tumbling(seconds=60)
    .aggregate({...}).to(queen.queue('totals'))``, then ``await stream.run(query_id=...)``.
    """

    def __init__(self, source: Any, operators: Optional[List[Operator]] = None,
                 source_options: Optional[Dict[str, Any]] = None) -> None:
        self._source = source
        self._operators: List[Operator] = list(operators or [])
        self._source_options = dict(source_options or {})

    # ------------------------------------------------------------ entry points

    @classmethod
    def from_(cls, queue_builder: Any, **options: Any) -> Stream:
        """A stream whose source is ``queue_builder`` (``queen.queue('name')``)."""
        return cls(queue_builder, [], options)

    @classmethod
    def from_queue(cls, queue_builder: Any, **options: Any) -> Stream:
        """Alias of :meth:`from_`."""
        return cls.from_(queue_builder, **options)

    def _extend(self, op: Operator) -> Stream:
        return Stream(self._source, [*self._operators, op], self._source_options)

    # ------------------------------------------------------------ operators

    def map(self, fn: Callable[..., Any]) -> Stream:
        """``fn(x, ctx)`` or ``fn(x)`` replaces the record's value (may be async)."""
        return self._extend(MapOperator(fn))

    def filter(self, predicate: Callable[..., Any]) -> Stream:
        """Keep records for which ``predicate(x, ctx)`` (or ``(x)``) is truthy."""
        return self._extend(FilterOperator(predicate))

    def flat_map(self, fn: Callable[..., Any]) -> Stream:
        """``fn`` returns a list: one record per element."""
        return self._extend(FlatMapOperator(fn))

    flatMap = flat_map

    def key_by(self, fn: Callable[[Any], Any]) -> Stream:
        """Key windows/gate state by ``str(fn(source_message))`` instead of the source
        partition id (keys stay scoped inside their source partition)."""
        return self._extend(KeyByOperator(fn))

    keyBy = key_by

    def window_tumbling(self, **opts: Any) -> Stream:
        """Fixed windows: ``seconds=``, ``grace_period=``, ``idle_flush_ms=``,
        ``event_time=``, ``allowed_lateness=``, ``on_late=``."""
        return self._extend(WindowTumblingOperator(**snake_options(opts)))

    def window_sliding(self, **opts: Any) -> Stream:
        """Overlapping windows: ``size=``, ``slide=`` (size a multiple of slide)."""
        return self._extend(WindowSlidingOperator(**snake_options(opts)))

    def window_session(self, **opts: Any) -> Stream:
        """Per-key sessions: ``gap=`` seconds of inactivity close a session."""
        return self._extend(WindowSessionOperator(**snake_options(opts)))

    def window_cron(self, **opts: Any) -> Stream:
        """UTC-aligned windows: ``every='second'|'minute'|'hour'|'day'|'week'``."""
        return self._extend(WindowCronOperator(**snake_options(opts)))

    windowTumbling = window_tumbling
    windowSliding = window_sliding
    windowSession = window_session
    windowCron = window_cron

    def reduce(self, fn: Callable[[Any, Any], Any], initial: Any = None) -> Stream:
        """Fold each (window, key): ``acc = fn(acc, value)`` from ``initial``."""
        return self._extend(ReduceOperator(fn, initial))

    def aggregate(self, extractors: Dict[str, Callable[[Any], Any]]) -> Stream:
        """Named statistics per (window, key): ``{"count": f, "sum": f, "min": f,
        "max": f, "avg": f, <other>: f}``; each ``f`` gets the record's value."""
        return self._extend(AggregateOperator(extractors))

    def gate(self, fn: Callable[..., Any]) -> Stream:
        """Allow/deny each message with per-key state ``ctx.state`` (rate limiters:
        ``token_bucket_gate``, ``sliding_window_gate``)."""
        return self._extend(GateOperator(fn))

    def to(self, sink_queue_builder: Any, partition: Any = None) -> Stream:
        """Push every emitted value to a queue, in the cycle that consumed its input.
        ``partition``: None = the source partition's name, a str, or ``fn(value)``."""
        return self._extend(SinkOperator(sink_queue_builder, partition=partition))

    def foreach(self, fn: Callable[..., Any]) -> Stream:
        """Run ``fn(value, ctx)`` for every emit before the cycle commits."""
        return self._extend(ForeachOperator(fn))

    # ------------------------------------------------------------ run

    async def run(self, query_id: Optional[str] = None, url: Optional[str] = None,
                  **opts: Any) -> Runner:
        """Register the query and start processing; returns the started runner
        (``await runner.stop()``, ``runner.metrics()``).

        The server is reached through the source's ``Queen`` client; ``url`` is
        accepted for upstream compatibility and not needed. Options (snake_case or
        camelCase): ``batch_size`` (200), ``max_partitions`` (4), ``max_wait_millis``
        (1000), ``subscription_mode``, ``subscription_from``, ``reset``,
        ``consumer_group`` (``streams.<query_id>``), ``on_error(err, ctx)``, ``logger``,
        ``concurrency`` (1: pop loops working on different partitions at once).
        """
        from .runner import Runner

        if not query_id:
            raise ValueError("run requires query_id=...")
        if not isinstance(query_id, str):
            raise QueenValidationError(f"query_id must be a str, got {query_id!r}")
        compiled = self._compile()
        host = getattr(self._source, "host", None)
        if host is None or not hasattr(host, "send") or not self.source_queue:
            raise QueenValidationError(
                "Stream.from_() needs a named queue of a queen.Queen client "
                "(Stream.from_(queen.queue('name'))) to reach the server")
        runner = Runner(compiled, host, query_id, url=url, **opts)
        await runner.start()
        return runner

    def _compile(self) -> CompiledStream:
        ops = self._operators
        n = len(ops)
        sink_at = next((i for i, op in enumerate(ops) if op.kind in ("sink", "foreach")), None)
        if sink_at is not None and sink_at != n - 1:
            raise ValueError("sink operators (.to / .foreach) must be the last in the chain; "
                             f"found {ops[sink_at].kind} at position {sink_at} of {n}")
        st = CompiledStages(sink=ops[sink_at] if sink_at is not None else None)
        phase = "pre"
        for op in ops[:sink_at] if sink_at is not None else ops:
            if isinstance(op, (MapOperator, FilterOperator, FlatMapOperator)):
                (st.pre if phase in ("pre", "keyed", "window") else st.post).append(op)
            elif isinstance(op, KeyByOperator):
                if st.key_by is not None:
                    raise ValueError("only one .key_by() per stream")
                if phase in ("reducer", "gate"):
                    raise ValueError(".key_by() must come before window/reduce/gate")
                st.key_by = op
                phase = "keyed" if phase == "pre" else phase
            elif isinstance(op, WindowOperator):
                if st.window is not None:
                    raise ValueError("only one window operator per stream")
                if phase == "reducer":
                    raise ValueError("window must come before reduce/aggregate")
                if st.gate is not None:
                    raise ValueError("window+reduce is incompatible with .gate() in the same stream")
                st.window = op
                phase = "window"
            elif isinstance(op, ReduceOperator):
                if st.reducer is not None:
                    raise ValueError("only one reduce/aggregate per stream")
                if st.window is None:
                    raise ValueError("reduce/aggregate requires a preceding window operator")
                if st.gate is not None:
                    raise ValueError("reduce/aggregate is incompatible with .gate() in the same "
                                     "stream")
                st.reducer = op
                phase = "reducer"
            elif isinstance(op, GateOperator):
                if st.gate is not None:
                    raise ValueError("only one .gate() per stream")
                if st.window is not None or st.reducer is not None:
                    raise ValueError(".gate() is incompatible with windowing/reduce in the same "
                                     "stream")
                st.gate = op
                phase = "gate"
            else:
                raise ValueError(f"unsupported operator: {getattr(op, 'kind', op)}")
        if isinstance(st.window, WindowSessionOperator) and st.reducer is None:
            # Upstream compiles this and then fails every cycle at run time.
            raise ValueError("window_session requires a downstream .reduce() or .aggregate()")
        return CompiledStream(self._source, self._source_options, st, list(ops),
                              config_hash_of(ops))

    @property
    def source_queue(self) -> str:
        """The source queue's name ("" when it has none)."""
        return queue_name_of(self._source)


__all__ = ["Stream", "CompiledStream", "CompiledStages", "config_hash_of"]
