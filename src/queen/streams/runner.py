"""The runner: pop the source, run one cycle per source partition, idle-flush ripe
windows. Every server call goes through the client seam (``queen.seam.Host``) with
requests and parsers from ``queen.wire.streams``.

A cycle commits, in one server transaction, the partition's state changes, its sink
pushes and the ack of its last message. When a cycle fails (a callback raised, the
server refused it, the transport gave up) nothing of it was stored, and the runner
gives the partition back at once (a ``retry`` ack: lease released, nothing
consumed) so the same messages come again and are recomputed from the stored state.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .. import _core
from .. import log as qlog
from ..errors import QueenError, QueenHTTPError, QueenServerFeatureError, QueenValidationError
from ..seam import Host
from ..wire import streams as wire
from .compute import (
    apply_pre,
    clone,
    emit_ctx,
    fold_async,
    no_awaitables,
    now_ms,
    run_sessions,
    seed,
)
from .errors import (
    StreamsConfigHashMismatch,
    StreamsCycleFailed,
    StreamsHttpError,
    StreamsRegisterFailed,
    StreamsStateGetFailed,
)
from .operators import (
    FilterOperator,
    MapOperator,
    parse_state_key,
    queue_name_of,
    resolve,
)
from .stream import CompiledStream
from .windows import WindowSessionOperator, event_time_ms

WATERMARK_KEY = "__wm__"
_RECENT_MS = 5 * 60 * 1000
_IDLE_SLEEP = 0.1
_POP_ERROR_SLEEP = 0.5
_MAX_BACKOFF = 5.0
_HINT = ("\n\nHint: pass reset=True to Stream.run(...) to wipe the existing stream state "
         "for this query_id, or pick a new query_id.")

_std_log = logging.getLogger("queen.streams")


class _Phase(Exception):
    """An error raised in a named phase (``gate-eval``...), reported under it."""

    def __init__(self, phase: str, err: BaseException) -> None:
        super().__init__(str(err))
        self.phase = phase
        self.err = err


class _DefaultLogger:
    """info -> the client's debug log (``QUEEN_CLIENT_LOG``); warnings and errors
    also -> stdlib logging (``queen.streams``), so they are never silent."""

    def info(self, msg: str, ctx: Any = None) -> None:
        qlog.info(f"Streams.{msg}", ctx)

    def warn(self, msg: str, ctx: Any = None) -> None:
        qlog.warn(f"Streams.{msg}", ctx)
        _std_log.warning("%s %s", msg, ctx if ctx is not None else "")

    def error(self, msg: str, ctx: Any = None) -> None:
        qlog.error(f"Streams.{msg}", ctx)
        _std_log.error("%s %s", msg, ctx if ctx is not None else "")


class GateContext:
    """What a gate callback sees: ``state`` (this key's mutable dict), the cycle's
    ``stream_time_ms``, ``partition_id``, ``partition`` and ``key``."""

    __slots__ = ("state", "stream_time_ms", "partition_id", "partition", "key",
                 "streamTimeMs", "partitionId")

    def __init__(self, state: Dict[str, Any], stream_time_ms: int, partition_id: str,
                 partition: Optional[str], key: str) -> None:
        self.state = state
        self.stream_time_ms = self.streamTimeMs = stream_time_ms
        self.partition_id = self.partitionId = partition_id
        self.partition = partition
        self.key = key


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


_KNOWN = {"batchSize", "maxPartitions", "maxWaitMillis", "subscriptionMode",
          "subscriptionFrom", "reset", "consumerGroup", "onError", "bearerToken", "logger",
          "conflation", "concurrency"}


class Runner:
    """A running query. ``await stop()`` ends it; ``metrics()`` reports counters."""

    def __init__(self, stream: CompiledStream, host: Host, query_id: str,
                 url: Optional[str] = None, **opts: Any) -> None:
        o = {_camel(k): v for k, v in opts.items()}
        self.stream = stream
        self.host = host
        self.url = url
        self.query_id = query_id
        self.batch_size = int(o.get("batchSize") or 200)
        self.max_partitions = int(o.get("maxPartitions") or 4)
        wait = o.get("maxWaitMillis")
        self.max_wait_millis = int(wait) if wait is not None else 1000
        self.subscription_mode: Optional[str] = o.get("subscriptionMode")
        self.subscription_from: Optional[str] = o.get("subscriptionFrom")
        self.reset = bool(o.get("reset"))
        self.consumer_group: str = o.get("consumerGroup") or wire.group_for(query_id)
        self.on_error: Optional[Callable[[BaseException, Dict[str, Any]], Any]] = o.get("onError")
        self.logger: Any = o.get("logger") or _DefaultLogger()
        self.concurrency = int(o.get("concurrency") or 1)
        if (self.batch_size < 1 or self.max_partitions < 1 or self.max_wait_millis < 0
                or self.concurrency < 1):
            raise QueenValidationError("batch_size, max_partitions and concurrency must be >= 1 "
                                       "and max_wait_millis >= 0")
        if o.get("conflation"):
            raise QueenServerFeatureError("conflation", None,
                                          "it needs a Queen broker >= 1.1.0 (0.15.1 has none)")
        unknown = sorted(set(o) - _KNOWN)
        if unknown:
            self.logger.warn("unknown run() options ignored", {"options": unknown})
        self.source_queue = queue_name_of(stream.source)
        sink = stream.stages.sink
        self.sink_queue = sink.queue_name if sink is not None and sink.kind == "sink" else None
        self.server_query_id: Optional[str] = None
        self._gen: Optional[str] = None
        self._stopped = False
        self._stop_event = asyncio.Event()
        self._loop_tasks: List[asyncio.Task[None]] = []
        self._flush_task: Optional[asyncio.Task[None]] = None
        self._recent: Dict[str, Tuple[Optional[str], int]] = {}
        self._locks: Dict[str, asyncio.Lock] = {}
        self._watermarks: Dict[str, float] = {}
        # windowEnd of every stored window row per partition as of our last commit
        # (absent = unknown): the idle flush asks the server only when one is ripe.
        self._ends: Dict[str, List[int]] = {}
        self._next_ends: Dict[str, List[int]] = {}
        self._stats: Dict[str, Any] = {
            "cyclesTotal": 0, "flushCyclesTotal": 0, "messagesTotal": 0, "pushItemsTotal": 0,
            "stateOpsTotal": 0, "lateEventsTotal": 0, "errorsTotal": 0, "lastCycleAt": None,
            "lastFlushAt": None, "lastError": None}

    # ------------------------------------------------------------ public

    async def start(self) -> Runner:
        """Register the query (raising on failure), then start the loops."""
        self._gen = await self.host.generation()
        st = self.stream.stages
        reply = await self.host.send(wire.register(
            self.query_id, self.source_queue, self.stream.config_hash, self.reset,
            self.sink_queue))
        try:
            res = wire.parse_register(reply, self._gen)
        except QueenServerFeatureError:
            raise
        except QueenHTTPError as e:
            raise StreamsHttpError(e.message, status=e.status, body=e.body, method=e.method,
                                   url=e.url) from None
        if not res["ok"]:
            text = str(res["error"] or "register failed")
            if text.startswith("config_hash mismatch"):
                raise StreamsConfigHashMismatch(text + _HINT, res)
            raise StreamsRegisterFailed(text, res)
        self.server_query_id = res["query_id"]
        self.logger.info("query registered", {"queryId": self.query_id,
                                              "server_id": self.server_query_id,
                                              "fresh": res["fresh"], "didReset": res["reset"]})
        if st.key_by is not None:
            self.logger.warn(
                ".key_by() is set: keys are scoped inside each source partition; a key "
                "seen in two partitions has two independent windows/buckets")
        if st.window is not None and st.window.idle_flush_ms > 0:
            self._flush_task = asyncio.ensure_future(self._flush_loop(st.window.idle_flush_ms))
        # Several pop loops overlap one partition's commit with other partitions' pops;
        # a partition stays leased until its cycle commits, so its order is kept.
        self._loop_tasks = [asyncio.ensure_future(self._loop()) for _ in range(self.concurrency)]
        return self

    async def stop(self) -> None:
        """Stop after the current step. A long poll in flight is awaited (up to
        ``max_wait_millis``); messages it brings are given back at once."""
        self._stopped = True
        self._stop_event.set()
        if self._flush_task is not None:
            self._flush_task.cancel()
            await asyncio.gather(self._flush_task, return_exceptions=True)
        if self._loop_tasks:
            await asyncio.gather(*self._loop_tasks, return_exceptions=True)

    def metrics(self) -> Dict[str, Any]:
        """Counters (upstream's names) plus ``queryId`` and ``serverQueryId``."""
        return {**self._stats, "queryId": self.query_id, "serverQueryId": self.server_query_id}

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._loop_tasks)

    # ------------------------------------------------------------ plumbing

    def _report(self, err: BaseException, ctx: Dict[str, Any]) -> None:
        self._stats["errorsTotal"] += 1
        text = str(err) or type(err).__name__
        self._stats["lastError"] = text
        self.logger.error(f"{ctx.get('phase')} failed",
                          {"queryId": self.query_id, **ctx, "error": text})
        if self.on_error is not None:
            try:
                self.on_error(err, ctx)
            except Exception as hook_err:  # noqa: BLE001 - the hook must not stop the runner
                self.logger.error("on_error hook raised", {"error": repr(hook_err)})

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop_event.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _state(self, pid: str, **filters: Any) -> Dict[str, Any]:
        assert self.server_query_id is not None
        reply = await self.host.send(wire.state_get(self.server_query_id, pid, **filters))
        ok, err, rows = wire.parse_state_get(reply, self._gen)
        if not ok:
            raise StreamsStateGetFailed(str(err or "state.get failed"), rows)
        return rows

    async def _commit(self, pid: str, group: str, ops: Sequence[Any], items: Sequence[Any],
                      ack: Optional[Dict[str, Any]], release: bool = True) -> Any:
        assert self.server_query_id is not None
        self._stats["stateOpsTotal"] += len(ops)
        self._stats["pushItemsTotal"] += len(items)
        reply = await self.host.send(
            wire.cycle(self.server_query_id, pid, group, ops, items, ack, release))
        ok, err, body = wire.parse_cycle(reply, self._gen)
        if not ok:
            raise StreamsCycleFailed(str(err or "cycle commit failed"), body)
        return body

    def _lock(self, pid: str) -> asyncio.Lock:
        lock = self._locks.get(pid)
        if lock is None:
            lock = self._locks[pid] = asyncio.Lock()
        return lock

    def _touch(self, pid: str, name: Optional[str]) -> None:
        now = now_ms()
        self._recent[pid] = (name, now)
        for old, (_, at) in list(self._recent.items()):
            if at < now - _RECENT_MS:
                del self._recent[old]
                lock = self._locks.get(old)
                if lock is not None and not lock.locked():
                    del self._locks[old]

    # ------------------------------------------------------------ main loop

    async def _pop(self) -> List[Dict[str, Any]]:
        reply = await self.host.send(wire.source_pop(
            self.source_queue, self.consumer_group, self.batch_size, self.max_wait_millis,
            self.max_partitions, self.subscription_mode, self.subscription_from))
        return wire.parse_source_pop(reply, self._gen)

    async def _loop(self) -> None:
        failures = pop_failures = 0
        while not self._stopped:
            if self.host.closed:
                self._report(QueenError("the Queen client was closed; the stream stops"),
                             {"phase": "pop"})
                break
            try:
                messages = await self._pop()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - reported, then polled again
                if self._stopped:
                    break
                self._report(err, {"phase": "pop"})
                pop_failures += 1  # a server that is down: 0.5 s, 1 s, 2 s ... 5 s apart
                await self._pause(min(_MAX_BACKOFF, _POP_ERROR_SLEEP * 2 ** min(pop_failures - 1, 4)))
                continue
            pop_failures = 0
            groups = _core.split_partitions(messages, self.consumer_group)
            if self._stopped:
                await asyncio.gather(*(self._give_back(g) for g in groups))
                break
            if not groups:
                await self._pause(_IDLE_SLEEP)
                continue
            results = await asyncio.gather(*(self._run_group(g) for g in groups))
            if all(results):
                failures = 0
            else:
                failures += 1  # a failing partition comes back at once: don't spin
                await self._pause(min(_MAX_BACKOFF, 0.1 * 2 ** min(failures, 6)))
        self.logger.info("loop stopped", {"queryId": self.query_id, "stats": self._stats})

    async def _run_group(self, g: Tuple[Any, ...]) -> bool:
        pid, pname, lease, group, msgs, created = g
        self._touch(pid, pname)
        async with self._lock(pid):
            try:
                await self._cycle(pid, pname, lease, group, msgs, created)
            except Exception as err:  # noqa: BLE001 - reported; the partition comes again
                self._ends.pop(pid, None)
                self._next_ends.pop(pid, None)
                if isinstance(err, _Phase):
                    self._report(err.err, {"phase": err.phase, "partition": pid})
                else:
                    self._report(err, {"phase": "cycle", "partition": pid})
                await self._give_back(g)
                return False
        self._stats["cyclesTotal"] += 1
        self._stats["messagesTotal"] += len(msgs)
        self._stats["lastCycleAt"] = _now_iso()
        return True

    async def _give_back(self, g: Tuple[Any, ...]) -> None:
        """Release a partition's lease without consuming (its messages come again)."""
        msgs = g[4]
        if not msgs or self.host.closed:
            return
        first = dict(msgs[0])
        first.setdefault("leaseId", g[2])
        try:
            ok = wire.parse_release(await self.host.send(wire.release(first, g[3])))
        except Exception as err:  # noqa: BLE001 - the lease then simply expires
            self.logger.warn("lease release failed; messages return after lease expiry",
                             {"partition": g[0], "error": str(err)})
            return
        if not ok:
            self.logger.info("lease not released (already gone)", {"partition": g[0]})

    # ------------------------------------------------------------ one cycle

    async def _pre(self, msgs: Sequence[Dict[str, Any]], created: Sequence[int], pid: str
                   ) -> List[List[Any]]:
        """Records ``[source msg, current, value, key, created_ms]`` after the
        pre-window operators and key_by. Each operator sees the previous one's
        output (the first sees the source message); the value starts as the payload."""
        recs = [[m, m, m.get("data"), m.get("partitionId") or pid, c]
                for m, c in zip(msgs, created)]
        for op in self.stream.stages.pre:
            recs = await apply_pre(op, recs)
        kb = self.stream.stages.key_by
        if kb is not None:
            fn = kb.fn
            for r in recs:
                k = fn(r[0])
                if type(k) is not str:  # the usual key needs no further look
                    if hasattr(k, "__await__"):
                        k = await k
                    k = str(k)
                r[3] = k
        return recs

    async def _cycle(self, pid: str, pname: Optional[str], lease: Optional[str], group: str,
                     msgs: List[Dict[str, Any]], created: List[int]) -> None:
        st = self.stream.stages
        recs = await self._pre(msgs, created, pid)
        if st.gate is not None:
            await self._gate_cycle(pid, pname, lease, group, recs)
            return
        ops: List[Dict[str, Any]] = []
        if st.window is None:
            emits = [{"key": r[3], "value": r[2]} for r in recs]
        elif isinstance(st.window, WindowSessionOperator):
            ops, emits = await self._session(pid, recs)
        else:
            ops, emits = await self._windows(pid, recs, max(created) if created else None)
        emits = await self._post(emits, pid, pname)
        items = await self._terminal(emits, pid, pname)
        ack = wire.cycle_ack(msgs[-1], lease, len(msgs))
        await self._commit(pid, group, ops, items, ack)
        ends = self._next_ends.pop(pid, None)
        if ends is not None:
            self._ends[pid] = ends

    async def _timestamps(self, pid: str, recs: Sequence[List[Any]]
                          ) -> List[Tuple[str, int, Any]]:
        """``(key, ts, value)`` per record; records without a usable time are reported
        (phase ``window-apply``) and skipped (their message is still consumed)."""
        w = self.stream.stages.window
        assert w is not None
        fn = w.event_time_fn
        out: List[Tuple[str, int, Any]] = []
        for r in recs:
            value = r[2] if r[2] is not None else r[0]
            if fn is None:  # created_ms is 0 only when createdAt was unreadable (or 1970)
                ts: Optional[int] = r[4] if r[4] or r[0].get("createdAt") else None
            else:
                try:
                    raw = fn(r[0])
                    if hasattr(raw, "__await__"):
                        raw = await raw
                except Exception as err:  # noqa: BLE001 - one bad record must not stop all
                    self._report(RuntimeError(f"eventTime extractor threw: {err}"),
                                 {"phase": "window-apply", "partition": pid})
                    continue
                ts = event_time_ms(raw)
            if ts is None:
                self._report(w.no_time(), {"phase": "window-apply", "partition": pid})
                continue
            out.append((r[3], ts, value))
        return out

    def _load_watermark(self, pid: str, loaded: Dict[str, Any]) -> Optional[float]:
        row = loaded.get(WATERMARK_KEY)
        if isinstance(row, dict) and isinstance(row.get("eventTimeMs"), (int, float)):
            self._watermarks[pid] = row["eventTimeMs"]
        return self._watermarks.get(pid)

    def _advance_watermark(self, pid: str, max_ts: Optional[int]) -> Optional[float]:
        w = self.stream.stages.window
        assert w is not None
        old = self._watermarks.get(pid)
        if max_ts is not None:
            cand = max_ts - w.allowed_lateness_ms
            if old is None or cand > old:
                self._watermarks[pid] = cand
        return self._watermarks.get(pid)

    async def _windows(self, pid: str, recs: Sequence[List[Any]], batch_clock: Optional[int]
                       ) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        st = self.stream.stages
        w = st.window
        red = st.reducer
        assert w is not None
        items = await self._timestamps(pid, recs)
        if red is None:  # a window without reducer annotates and passes records on
            emits = []
            for key, ts, value in items:
                for start in _core.window_starts(ts, w.size_ms, w.slide_ms, w.offset_ms):
                    emits.append({"key": key, "windowStart": start,
                                  "windowEnd": start + w.size_ms,
                                  "windowKey": _core.ms_iso(start), "value": value})
            return [], emits
        loaded = await self._state(pid)
        wm = self._load_watermark(pid, loaded) if w.event_time_fn else None
        accs = seed(loaded, w.operator_tag)
        late_wm = int(wm) if wm is not None else None
        if red.is_async:
            dropped, max_ts = await fold_async(accs, items, w, red, late_wm)
        else:
            dropped, max_ts = _core.fold_windows(
                accs, items, w.operator_tag, w.size_ms, w.slide_ms, w.offset_ms,
                None if red.agg is not None else red.fn, red.make_initial, red.agg, late_wm,
                w.drop_late)
            no_awaitables(accs)
        self._stats["lateEventsTotal"] += dropped
        if w.event_time_fn:
            clock = self._advance_watermark(pid, max_ts)
        else:
            clock = batch_clock
        ops, emits = _core.close_windows(accs, clock, w.grace_period_ms, red.finish)
        grace = w.grace_period_ms
        self._next_ends[pid] = sorted(e[2] for e in accs.values()
                                      if clock is None or e[2] + grace > clock)
        if w.event_time_fn and clock is not None:
            ops.append({"type": "upsert", "key": WATERMARK_KEY, "value": {"eventTimeMs": clock}})
        return ops, emits

    async def _session(self, pid: str, recs: Sequence[List[Any]]
                       ) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        w = self.stream.stages.window
        red = self.stream.stages.reducer
        assert isinstance(w, WindowSessionOperator) and red is not None
        items = await self._timestamps(pid, recs)
        loaded = await self._state(pid)
        wm = self._load_watermark(pid, loaded) if w.event_time_fn else None
        kept = []
        max_ts: Optional[int] = None
        dropped = 0
        for key, ts, value in items:
            if w.event_time_fn:
                max_ts = ts if max_ts is None or ts > max_ts else max_ts
                if wm is not None and ts < wm and w.drop_late:
                    dropped += 1
                    continue
            kept.append((key, ts, value))
        self._stats["lateEventsTotal"] += dropped
        if w.event_time_fn:
            now = self._advance_watermark(pid, max_ts)
        else:
            now = now_ms()
        ops, emits = await run_sessions(w, red, loaded, kept, now)
        if w.event_time_fn and now is not None:
            ops.append({"type": "upsert", "key": WATERMARK_KEY, "value": {"eventTimeMs": now}})
        return ops, emits

    async def _post(self, emits: List[Dict[str, Any]], pid: str, pname: Optional[str]
                    ) -> List[Dict[str, Any]]:
        for op in self.stream.stages.post:
            nxt: List[Dict[str, Any]] = []
            for e in emits:
                ctx = emit_ctx(e, pid, pname)
                v = e["value"]
                out = await resolve(op.call(v, ctx))
                if isinstance(op, MapOperator):
                    nxt.append({**e, "value": v if out is None else out})
                elif isinstance(op, FilterOperator):
                    if out:
                        nxt.append(e)
                else:
                    if not isinstance(out, list):
                        raise TypeError(
                            f"flat_map fn must return a list (got {type(out).__name__})")
                    nxt.extend({**e, "value": v if x is None else x} for x in out)
            emits = nxt
        return emits

    async def _terminal(self, emits: List[Dict[str, Any]], pid: str, pname: Optional[str]
                        ) -> List[Dict[str, Any]]:
        sink = self.stream.stages.sink
        if sink is None or not emits:
            return []
        if sink.kind == "sink":
            return sink.build_push_items([e["value"] for e in emits], pname)  # type: ignore
        await sink.run_effects([(e["value"], emit_ctx(e, pid, pname)) for e in emits])
        return []

    # ------------------------------------------------------------ gate

    async def _gate_cycle(self, pid: str, pname: Optional[str], lease: Optional[str],
                          group: str, recs: Sequence[List[Any]]) -> None:
        gate = self.stream.stages.gate
        assert gate is not None
        loaded = await self._state(pid)
        live: Dict[str, Any] = {}
        touched: Dict[str, None] = {}
        now = now_ms()
        allowed: List[List[Any]] = []
        denied_at = -1
        for i, r in enumerate(recs):
            key = r[3]
            if key not in live:
                stored = loaded.get(key)
                live[key] = clone(stored) if stored is not None else {}
            ctx = GateContext(live[key], now, pid, pname, key)
            try:
                ok = await gate.evaluate(r[2], ctx)
            except Exception as err:  # noqa: BLE001 - reported as gate-eval by the caller
                raise _Phase("gate-eval", err) from err
            if not ok:
                denied_at = i
                break
            touched[key] = None
            allowed.append(r)
        if not allowed:
            # Nothing is sent: the partition stays leased and the batch returns after
            # the lease expires (the gate's back-pressure).
            self._stats["gateDenialsTotal"] = self._stats.get("gateDenialsTotal", 0) + len(recs)
            return
        ops = [{"type": "upsert", "key": k, "value": live[k]} for k in touched]
        emits = await self._post([{"key": r[3], "value": r[2]} for r in allowed], pid, pname)
        items = await self._terminal(emits, pid, pname)
        last = allowed[-1][0]
        ack = wire.cycle_ack(last, lease, len(allowed))
        partial = denied_at >= 0
        await self._commit(pid, group, ops, items, ack, release=not partial)
        if partial:
            self._stats["gateDenialsTotal"] = (self._stats.get("gateDenialsTotal", 0)
                                               + len(recs) - len(allowed))
        self._stats["gateAllowsTotal"] = self._stats.get("gateAllowsTotal", 0) + len(allowed)

    # ------------------------------------------------------------ idle flush

    async def _flush_loop(self, interval_ms: int) -> None:
        while not self._stopped:
            await self._pause(interval_ms / 1000.0)
            if self._stopped:
                break
            try:
                await self._flush_tick()
            except Exception as err:  # noqa: BLE001 - reported; the timer goes on
                self._report(err, {"phase": "flush-tick"})

    async def _flush_tick(self) -> None:
        for pid, (pname, _) in list(self._recent.items()):
            if self._stopped:
                break
            try:
                async with self._lock(pid):
                    await self._flush_partition(pid, pname)
            except Exception as err:  # noqa: BLE001 - reported; other partitions go on
                self._report(err, {"phase": "flush", "partition": pid})
        self._stats["lastFlushAt"] = _now_iso()

    async def _flush_partition(self, pid: str, pname: Optional[str]) -> None:
        st = self.stream.stages
        w = st.window
        assert w is not None
        clock = self._watermarks.get(pid) if w.event_time_fn else now_ms()
        if clock is None:
            return
        if isinstance(w, WindowSessionOperator):
            loaded = await self._state(pid)
            assert st.reducer is not None
            ops, emits = await run_sessions(w, st.reducer, loaded, [], clock)
            if not emits:
                return
        else:
            ripe = int(clock - w.grace_period_ms)
            known = self._ends.get(pid)
            if ripe < 0 or st.reducer is None or (known is not None and (
                    not known or known[0] > ripe)):
                return  # nothing stored, or nothing we stored is ripe yet
            rows = await self._state(pid, key_prefix=w.operator_tag + "\x1f",
                                     ripe_at_or_before=ripe)
            finish = st.reducer.finish
            ops, emits = [], []
            for key, value in rows.items():
                parts = parse_state_key(key)
                if parts is None or parts["operatorTag"] != w.operator_tag:
                    continue
                isdict = isinstance(value, dict)
                acc = value.get("acc") if isdict and value.get("acc") is not None else value
                ws = value.get("windowStart") if isdict else None
                emits.append({"key": parts["userKey"],
                              "windowStart": ws if ws is not None
                              else _core.iso_ms(parts["windowKey"]) or 0,
                              "windowEnd": value.get("windowEnd") if isdict else None,
                              "windowKey": parts["windowKey"],
                              "value": finish(acc)})
                ops.append({"type": "delete", "key": key})
            if not emits:
                return
        emits = await self._post(emits, pid, pname)
        items = await self._terminal(emits, pid, pname)
        self._stats["flushCyclesTotal"] += 1
        await self._commit(pid, self.consumer_group, ops, items, None)
        if not isinstance(w, WindowSessionOperator) and pid in self._ends:
            self._ends[pid] = [e for e in self._ends[pid] if e > ripe]


__all__ = ["Runner", "GateContext"]
