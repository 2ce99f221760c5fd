"""In-memory Queen broker: the state model and rules of a real Queen server.

Pure logic, no I/O, an injectable clock (a callable returning epoch seconds).
The broker is generation-neutral: where the 0.7 and 0.15 servers differ it asks
its ``rules`` (``rules07.Rules07`` / ``rules15.Rules15``); the HTTP shapes live in
the same rules, used by ``app.py`` and ``admin.py``.

Model (see queen-http-api.md section 3): queues own partitions; a partition is an
append-only list of messages; every (partition, group) pair has a ``GroupState``
with a cursor (sequence number of the last consumed message), a lease and the
retry counter.  Acks move cursors; nothing is ever removed by consumption.

Read API for other modules (the 0.7 stream windows use it):

* ``queue_names() -> list[str]``
* ``queue_exists(name) -> bool``
* ``iter_messages(queue) -> Iterable[(partition_name, message_id, created_at_seconds, data)]``
  in push order (per partition order is kept; partitions are interleaved by push time)
* ``now() -> float``: the broker clock (strictly increasing)
* ``add_push_listener(callback)``: ``callback(queue_name)`` runs synchronously after
  every successful push (plain push and transaction push)
"""

from __future__ import annotations

import bisect
import heapq
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Set, Tuple, Union

from .model import (
    DEFAULT_OPTIONS,
    QUEUE_MODE,
    AckOutcome,
    BrokerError,
    Clock,
    DlqEntry,
    FakeClock,
    GroupState,
    Message,
    Partition,
    PopResult,
    PushOutcome,
    Queue,
    Subscription,
    Trace,
    is_uuid,
    parse_ts,
    uuid4,
    uuid7,
)
from .rules import Rules, rules_for

__all__ = ["QUEUE_MODE", "AckOutcome", "Broker", "BrokerError", "DlqEntry", "FakeClock",
           "GroupState", "Message", "Partition", "PopResult", "PushOutcome", "Queue", "Rules",
           "Subscription", "Trace", "is_uuid", "parse_ts", "uuid4", "uuid7"]

_BOOL_OPTIONS = {k for k, v in DEFAULT_OPTIONS.items() if isinstance(v, bool)}


class Broker:
    """The whole server state.  Not thread-safe: use it from one event loop.

    ``compat`` is a generation name ("0.7", "0.15") or a ``Rules`` object."""

    def __init__(self, compat: Union[str, Rules] = "0.7", clock: Optional[Clock] = None,
                 push_race: float = 0.0, lookup_lag: float = 0.0) -> None:
        self.rules: Rules = rules_for(compat) if isinstance(compat, str) else compat
        self.compat = self.rules.name
        # Opt-in real-server defects, for testing against them (docs/upstream.md):
        # push_race (0.7.5): a push stays uncommitted, unseen by pops, for that many
        # seconds unless another push to the partition is already pending, which then
        # commits at once and overtakes it; a group that reads the later one has its
        # cursor past the earlier one, whose messages it never gets.
        self.push_race = push_race if self.rules.loses_overlapping_pushes else 0.0
        self._racing: Dict[str, int] = {}  # partition id -> messages held uncommitted
        self._holding: List[Tuple[Partition, Message]] = []  # held by the current write
        # lookup_lag (0.15.1): the queue route finds partitions in a table updated after
        # the push answered; messages younger than this do not make a partition a
        # candidate there (the partition route sees them at once).
        self.lookup_lag = lookup_lag if self.rules.late_partition_lookup else 0.0
        self.clock: Clock = clock or time.time
        self._last = 0.0
        self._gseq = 0
        self.queues: Dict[str, Queue] = {}
        self.partitions: Dict[str, Partition] = {}
        self.leases: Dict[str, List[Tuple[Partition, str]]] = {}
        self.subscriptions: Dict[Tuple[str, str, str], Subscription] = {}
        self.dlq: List[DlqEntry] = []
        self.traces: List[Trace] = []
        self.maintenance = False
        self.pop_maintenance = False
        self.buffered: List[Dict[str, Any]] = []   # pushes held while in maintenance
        self._swept: Dict[str, float] = {}         # queue -> last maxWaitTimeSeconds sweep
        self.started = self.now()
        self.stats = {"push": 0, "pop": 0, "ack": 0}
        self._push_listeners: List[Callable[[str], None]] = []
        self._change_listeners: List[Callable[[str], None]] = []

    # ------------------------------------------------------------ read API / hooks

    def now(self) -> float:
        """Broker time: the clock, made strictly increasing (1 us steps)."""
        t = self.clock()
        if t <= self._last:
            t = self._last + 1e-6
        self._last = t
        return t

    def queue_names(self) -> List[str]:
        return list(self.queues)

    def queue_exists(self, name: str) -> bool:
        return name in self.queues

    def iter_messages(self, queue: str) -> Iterable[Tuple[str, str, float, Any]]:
        q = self.queues.get(queue)
        if q is None:
            return []
        # each partition is already in push order: merge them by global sequence
        streams = [[(m.gseq, p.name, m) for m in p.messages] for p in q.partitions.values()]
        return [(name, m.id, m.created, m.data)
                for _, name, m in heapq.merge(*streams, key=lambda r: r[0])]

    def add_push_listener(self, callback: Callable[[str], None]) -> None:
        self._push_listeners.append(callback)

    def add_change_listener(self, callback: Callable[[str], None]) -> None:
        """``callback(queue_name)`` after anything that may make messages available."""
        self._change_listeners.append(callback)

    def _changed(self, queue: str) -> None:
        for cb in self._change_listeners:
            cb(queue)

    def _pushed(self, queues: Iterable[str]) -> None:
        for name in queues:
            for cb in self._push_listeners:
                cb(name)
            self._changed(name)

    # ------------------------------------------------------------ queues

    def _new_queue(self, name: str) -> Queue:
        q = Queue(uuid4(), name, self.now())
        self.queues[name] = q
        return q

    def _partition(self, q: Queue, name: str) -> Partition:
        p = q.partitions.get(name)
        if p is None:
            p = Partition(uuid4(), name, q, self.now())
            q.partitions[name] = p
            self.partitions[p.id] = p
        return p

    def configure(self, name: str, namespace: Any, task: Any,
                  options: Optional[Dict[str, Any]]) -> Queue:
        """Create or fully replace a queue's configuration.  Raises BrokerError
        (with the server's text) for option values of the wrong type."""
        values = dict(DEFAULT_OPTIONS)
        if options is None and self.rules.max_size_without_options:
            values["maxSize"] = self.rules.max_size_without_options
        for key, value in (options or {}).items():
            if key not in DEFAULT_OPTIONS:
                continue
            if key in _BOOL_OPTIONS:
                if not isinstance(value, bool):
                    raise BrokerError(self.rules.type_error(value, "boolean"))
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                raise BrokerError(self.rules.type_error(value, "integer"))
            else:
                value = int(value)
            values[key] = value
        q = self.queues.get(name) or self._new_queue(name)
        q.options = values
        q.namespace = namespace if isinstance(namespace, str) else ""
        q.task = task if isinstance(task, str) else ""
        q.bare_config = not options and not q.namespace and not q.task
        self._partition(q, "Default")
        self._changed(name)
        return q

    def delete_queue(self, name: str) -> bool:
        q = self.queues.pop(name, None)
        if q is None:
            return False
        gone = set(q.partitions.values())
        for p in gone:
            self.partitions.pop(p.id, None)
            for group, st in p.states.items():
                if st.lease_id:
                    self._forget_lease(st.lease_id, p, group)
        self.dlq = [e for e in self.dlq if e.partition not in gone]
        self.traces = [t for t in self.traces if t.partition not in gone]
        self._changed(name)
        return True

    def new_pushed_queue(self, name: str) -> Queue:
        """A queue created by a push (not configure): the generation says whether it
        takes its namespace and task from a dotted name."""
        q = self._new_queue(name)
        if self.rules.auto_namespace:
            parts = name.split(".")
            q.namespace, q.task = parts[0], (parts[1] if len(parts) > 1 else "")
        self._partition(q, "Default")
        return q

    # ------------------------------------------------------------ push

    def set_maintenance(self, enabled: bool) -> None:
        """Push maintenance: pushes are buffered, then replayed in order when it ends."""
        self.maintenance = enabled
        if not enabled and self.buffered:
            items, self.buffered = self.buffered, []
            self.push(items)

    def buffer_push(self, items: List[Dict[str, Any]]) -> None:
        for item in items:
            if not item.get("transactionId"):
                item["transactionId"] = uuid7()
        self.buffered.extend(items)

    def push(self, items: List[Dict[str, Any]]) -> List[PushOutcome]:
        """Store validated items (dicts with queue, partition, payload, transactionId,
        traceId).  One result per item, in order."""
        now = self.now()
        out: List[PushOutcome] = []
        touched: Dict[str, None] = {}
        self._holding = []
        blocked = self._capacity_check(items) if self.rules.capacity_limited else {}
        for item in items:
            qname = item["queue"]
            txid = item.get("transactionId") or uuid7()
            trace_id = item.get("traceId")
            res = PushOutcome("queued", txid, qname, trace_id)
            out.append(res)
            q = self.queues.get(qname)
            if q is None:
                missing = self.rules.missing_queue_error(qname)
                if missing is not None:
                    res.status = "failed"
                    res.error = missing
                    continue
                q = self.new_pushed_queue(qname)
            if qname in blocked:
                res.status = "failed"
                res.error = blocked[qname]
                continue
            p = self._partition(q, item.get("partition") or "Default")
            existing = p.by_txid.get(txid)
            if existing is not None:
                res.status = "duplicate"
                res.message = existing
                res.partition = p
                continue
            res.message = self._append(p, txid, item.get("payload"), trace_id, now)
            res.partition = p
            touched[qname] = None
        self.stats["push"] += len(items)
        self._pushed(touched)
        return out

    def _append(self, p: Partition, txid: str, data: Any, trace_id: Optional[str],
                created: float) -> Message:
        self._gseq += 1
        last = p.messages[-1].created if p.messages else 0.0
        m = Message(p.next_seq, self._gseq, uuid7(), txid, data, trace_id, max(created, last))
        p.next_seq += 1
        p.messages.append(m)
        p.seqs.append(m.seq)
        p.by_txid[txid] = m
        if self.push_race and (not self._racing.get(p.id)
                               or any(hp is p for hp, _ in self._holding)):
            m.hidden = True
            self._racing[p.id] = self._racing.get(p.id, 0) + 1
            self._holding.append((p, m))
        return m

    def take_held(self) -> List[Tuple[Partition, Message]]:
        """What the last push/transaction left uncommitted (push_race); the HTTP layer
        commits it ``push_race`` seconds later with ``commit_held``."""
        held, self._holding = self._holding, []
        return held

    def commit_held(self, held: List[Tuple[Partition, Message]]) -> None:
        touched: Dict[str, None] = {}
        for p, m in held:
            m.hidden = False
            self._racing[p.id] -= 1
            touched[p.queue.name] = None
        self._pushed(touched)

    def _in_lookup(self, p: Partition, st: Optional[GroupState], now: float) -> bool:
        """lookup_lag: does the (late) partition lookup already show news for the group?"""
        known = now - self.lookup_lag
        cursor = st.cursor if st is not None else 0
        for m in reversed(p.messages):
            if m.created <= known:
                return m.seq > cursor
        return False

    def _capacity_check(self, items: List[Dict[str, Any]]) -> Dict[str, str]:
        """0.7 maxSize: a queue whose batch would overflow fails as a whole."""
        counts: Dict[str, int] = {}
        for item in items:
            counts[item["queue"]] = counts.get(item["queue"], 0) + 1
        blocked: Dict[str, str] = {}
        for name, n in counts.items():
            q = self.queues.get(name)
            if q is None or q.opt("maxSize") <= 0:
                continue
            depth = 0
            for p in q.partitions.values():
                st = p.states.get(QUEUE_MODE)
                depth += len(p.messages) - (p.after(st.cursor) if st else 0)
            if depth + n > q.opt("maxSize"):
                blocked[name] = (f"Queue '{name}' would exceed max capacity ({q.opt('maxSize')}). "
                                 f"Current: {depth}, Batch: {n}")
        return blocked

    # ------------------------------------------------------------ pop

    def _lease_seconds(self, q: Queue) -> float:
        return self.rules.lease_seconds(q.opt("leaseTime"))

    def _buffered(self, q: Queue, p: Partition, now: float) -> bool:
        """windowBuffer: the partition stays hidden until its newest message is W s old."""
        w = q.opt("windowBuffer")
        if w <= 0 or not p.messages:
            return False
        return bool(p.messages[-1].created > now - w)

    def _subscribe(self, queue: str, group: str, route_partition: Optional[str],
                   sub_mode: Optional[str], sub_from: Optional[str], now: float) -> None:
        """Record the group's subscription on its first pop of the queue (or, on the
        partition route, of the partition), whether or not anything is claimed."""
        if group == QUEUE_MODE:
            return
        key = (group, queue, route_partition or "")
        if key in self.subscriptions or (group, queue, "") in self.subscriptions:
            return
        mode, start = "all", None
        ts = parse_ts(sub_from) if sub_from not in (None, "", "now") else None
        if ts is not None:
            mode, start = "timestamp", ts
        elif sub_mode in self.rules.new_modes or sub_from == "now":
            mode, start = "new", now
        if mode != "all" or self.rules.records_all_subscriptions:
            self.subscriptions[key] = Subscription(mode, start, now)

    def _initial_cursor(self, p: Partition, group: str) -> int:
        if group == QUEUE_MODE:
            return 0
        qname = p.queue.name
        rec = self.subscriptions.get((group, qname, p.name)) or self.subscriptions.get(
            (group, qname, ""))
        if rec is None or rec.start is None or rec.mode == "all":
            return 0
        idx = bisect.bisect_left([m.created for m in p.messages], rec.start)
        return p.messages[idx - 1].seq if idx > 0 else 0

    def state(self, p: Partition, group: str) -> GroupState:
        st = p.states.get(group)
        if st is None:
            st = GroupState(self._initial_cursor(p, group))
            p.states[group] = st
        return st

    def _read(self, q: Queue, p: Partition, st: GroupState, limit: int,
              now: float) -> List[Message]:
        start = p.after(st.cursor)
        msgs = p.messages[start:start + limit]
        if self.push_race:  # uncommitted rows are invisible; the cursor may pass them
            msgs = [m for m in msgs if not m.hidden]
        delay = q.opt("delayedProcessing")
        if delay > 0:
            cut = now - delay
            for i, m in enumerate(msgs):
                if m.created > cut:
                    msgs = msgs[:i]
                    break
        max_wait = q.opt("maxWaitTimeSeconds")
        if max_wait > 0 and self.rules.max_wait_hides_reads:
            msgs = [m for m in msgs if m.created >= now - max_wait]
        return msgs

    def _claim(self, q: Queue, p: Partition, st: GroupState, group: str, lease_id: str,
               limit: int, auto_ack: bool, now: float) -> List[Message]:
        msgs = self._read(q, p, st, limit, now)
        if not msgs:
            return msgs
        if auto_ack:
            st.release()
            self.consume(p, st, msgs[-1].seq, now)
            st.batch_size = len(msgs)
            st.acked = len(msgs)
            return msgs
        st.lease_id = lease_id
        st.lease_expires = now + self._lease_seconds(q)
        st.batch_size = len(msgs)
        st.acked = 0
        st.batch_last = msgs[-1].seq
        self.leases.setdefault(lease_id, []).append((p, group))
        return msgs

    def consume(self, p: Partition, st: GroupState, seq: int, now: float) -> None:
        if seq > st.cursor:
            st.total_consumed += p.after(seq) - p.after(st.cursor)
        st.cursor = seq
        st.last_consumed_at = now

    def _sweep(self, q: Queue, now: float) -> None:
        """maxWaitTimeSeconds: like the server's 60 s background job, delete messages
        older than the limit that queue mode has not consumed (and that are not in a
        live lease), without a DLQ entry."""
        limit = q.opt("maxWaitTimeSeconds")
        if limit <= 0 or now - self._swept.get(q.name, 0.0) < 60.0:
            return
        self._swept[q.name] = now
        for p in q.partitions.values():
            st = p.states.get(QUEUE_MODE)
            floor = st.batch_last if st is not None and st.leased(now) else (
                st.cursor if st is not None else 0)
            old = [m for m in p.messages if m.created < now - limit and m.seq > floor]
            for m in old:
                self.delete_message(p.id, m.txid)

    def pop(self, queue: str, partition: Optional[str] = None, group: Optional[str] = None,
            batch: int = 1, auto_ack: bool = False, sub_mode: Optional[str] = None,
            sub_from: Optional[str] = None, partitions: int = 1) -> PopResult:
        """One pop attempt on the queue route (``partition`` None) or the partition route."""
        g = group or QUEUE_MODE
        now = self.now()
        q = self.queues.get(queue)
        if q is not None:
            self._sweep(q, now)
        if partition is not None:
            return self._pop_partition(q, partition, g, batch, auto_ack, sub_mode, sub_from, now)
        if q is None:
            return PopResult("none", None, g)
        at_claim = self.rules.subscribes_at_claim
        if not at_claim:
            self._subscribe(queue, g, None, sub_mode, sub_from, now)
        if batch < 0:
            return self._negative_batch(q, g)
        if batch == 0:
            return PopResult("none", q, g)
        cands: List[Tuple[Partition, Optional[GroupState]]] = []
        window = q.opt("windowBuffer")
        hidden_after = now - window  # windowBuffer: newest message must be older than this
        for p in q.partitions.values():
            # inlined GroupState.leased / Partition.has_after / _buffered: the hot loop
            st = p.states.get(g)
            seqs = p.seqs
            if not seqs:
                continue
            if st is not None and ((st.lease_id is not None and st.lease_expires > now)
                                   or seqs[-1] <= st.cursor):
                continue
            if window > 0 and p.messages[-1].created > hidden_after:
                continue
            if self.lookup_lag and not self._in_lookup(p, st, now):
                continue
            cands.append((p, st))
        if not cands:
            return PopResult("none", q, g)
        if at_claim:
            self._subscribe(queue, g, None, sub_mode, sub_from, now)
        rules = self.rules
        if len(cands) > 1:
            rules.order_candidates(cands)
        if self._lease_seconds(q) <= 0:
            return PopResult("none", q, g)
        res = PopResult("ok", q, g)
        res.auto_ack = auto_ack
        lease_id = uuid7()
        scan, want = rules.pop_plan(partitions)
        keep_empty = rules.empty_claim_counts
        remaining = batch
        for p, _ in cands[:scan]:
            st = self.state(p, g)
            msgs = self._claim(q, p, st, g, lease_id, remaining, auto_ack, now)
            if msgs or keep_empty:
                res.claimed.append(p)
                res.items.extend((p, m) for m in msgs)
                remaining -= len(msgs)
                if remaining <= 0 or len(res.claimed) >= want:
                    break
        if not res.items and not keep_empty:
            return PopResult("none", q, g)
        if not auto_ack:
            res.lease_id = lease_id
        self.stats["pop"] += len(res.items)
        return res

    def _negative_batch(self, q: Optional[Queue], g: str) -> PopResult:
        error = self.rules.negative_batch_error
        if error is None:
            return PopResult("none", q, g)
        res = PopResult("error", q, g)
        res.error = error
        return res

    def _pop_partition(self, q: Optional[Queue], name: str, g: str, batch: int, auto_ack: bool,
                       sub_mode: Optional[str], sub_from: Optional[str], now: float,
                       subscribe: bool = True) -> PopResult:
        p = q.partitions.get(name) if q is not None else None
        if q is None or p is None:
            return PopResult("partition_not_found", q, g)
        at_claim = self.rules.subscribes_at_claim
        if subscribe and not at_claim:
            self._subscribe(q.name, g, name, sub_mode, sub_from, now)
        if batch < 0:
            return self._negative_batch(q, g)
        st = p.states.get(g)
        if st is not None and st.leased(now):
            return PopResult("lease_held", q, g)
        if self._buffered(q, p, now):
            return PopResult("window_buffer", q, g)
        if subscribe and at_claim:
            self._subscribe(q.name, g, name, sub_mode, sub_from, now)
        keep_empty = self.rules.empty_claim_counts
        if (batch == 0 and not keep_empty) or self._lease_seconds(q) <= 0:
            return PopResult("none", q, g)
        st = self.state(p, g)
        res = PopResult("ok", q, g)
        res.auto_ack = auto_ack
        lease_id = uuid7()
        msgs = self._claim(q, p, st, g, lease_id, batch, auto_ack, now) if batch > 0 else []
        res.claimed.append(p)
        res.items = [(p, m) for m in msgs]
        res.lease_id = lease_id if not auto_ack else None
        if not msgs:
            if keep_empty:
                res.lease_id = lease_id  # 0.15 reports the empty claim
            else:
                res.lease_id = None
                res.status = "none"
        self.stats["pop"] += len(msgs)
        return res

    def pop_namespace(self, namespace: Optional[str], task: Optional[str],
                      group: Optional[str] = None, batch: int = 1,
                      auto_ack: bool = False) -> PopResult:
        """0.7 ``GET /api/v1/pop?namespace=&task=``: first matching partition wins."""
        g = group or QUEUE_MODE
        now = self.now()
        tried = 0
        for q in list(self.queues.values()):
            if namespace is not None and q.namespace != namespace:
                continue
            if task is not None and q.task != task:
                continue
            for p in list(q.partitions.values()):
                if self._buffered(q, p, now):
                    continue
                tried += 1
                if tried > 10:
                    return PopResult("none", None, g)
                res = self._pop_partition(q, p.name, g, batch, auto_ack, None, None, now,
                                          subscribe=False)
                if res.items:
                    return res
        return PopResult("none", None, g)

    def next_due(self, queue: Optional[str]) -> Optional[float]:
        """Earliest broker time at which a lease expiry, a delayed message or a
        window buffer may make messages of ``queue`` (None: any queue) available."""
        due: Optional[float] = None
        now = self.clock()
        queues = self.queues.values() if queue is None else [
            q for q in (self.queues.get(queue),) if q is not None]
        for q in queues:
            delay = q.opt("delayedProcessing")
            w = q.opt("windowBuffer")
            for p in q.partitions.values():
                if not p.messages:
                    continue
                times: List[float] = []
                for st in p.states.values():
                    if st.lease_id is not None and st.lease_expires > now:
                        times.append(st.lease_expires)
                if w > 0:
                    times.append(p.messages[-1].created + w)
                if delay > 0:
                    times.append(p.messages[-1].created + delay)
                for t in times:
                    if t > now and (due is None or t < due):
                        due = t
        return due

    # ------------------------------------------------------------ leases

    def _forget_lease(self, lease_id: str, p: Partition, group: str) -> None:
        holders = self.leases.get(lease_id)
        if holders is None:
            return
        holders[:] = [h for h in holders if not (h[0] is p and h[1] == group)]
        if not holders:
            del self.leases[lease_id]

    def release(self, p: Partition, group: str, st: GroupState) -> None:
        if st.lease_id is not None:
            self._forget_lease(st.lease_id, p, group)
        st.release()
        self._changed(p.queue.name)

    def _live_holders(self, lease_id: str, now: float) -> List[Tuple[Partition, str, GroupState]]:
        live = []
        for p, g in self.leases.get(lease_id, ()):
            st = p.states.get(g)
            if st is not None and st.lease_id == lease_id and st.lease_expires > now:
                live.append((p, g, st))
        return live

    def extend_lease(self, lease_id: str, seconds: float) -> Optional[float]:
        """New expiry (broker time) or None when the lease is unknown/expired/released."""
        now = self.now()
        live = self._live_holders(lease_id, now)
        if not live:
            self.leases.pop(lease_id, None)
            return None
        expiry = now
        for _, _, st in live:
            st.lease_expires = max(st.lease_expires, now + seconds)
            expiry = st.lease_expires
        return expiry

    # ------------------------------------------------------------ ack

    def find(self, partition_id: Any, txid: Any) -> Tuple[Optional[Partition], Optional[Message]]:
        p = self.partitions.get(partition_id) if isinstance(partition_id, str) else None
        if p is None or not isinstance(txid, str):
            return p, None
        return p, p.by_txid.get(txid)

    def lease_ok(self, st: Optional[GroupState], lease_id: Any, now: float) -> bool:
        if not lease_id:
            return True
        return st is not None and st.lease_id == lease_id and st.lease_expires > now

    def to_dlq(self, p: Partition, m: Message, group: str, error: Optional[str],
                retry_count: int, now: float) -> None:
        for e in self.dlq:
            if e.message is m and e.group == group:
                e.error, e.retry_count, e.moved_at = error, retry_count, now
                return
        self.dlq.append(DlqEntry(self.rules.dlq_entry_id(m), m, p, group, error,
                                 retry_count, now))

    def ack(self, txid: Any, partition_id: Any, status: Any = "completed",
            group: Optional[str] = None, lease_id: Any = None, error: Any = None) -> AckOutcome:
        """Single ack (``POST /api/v1/ack``): the generation's ack rules."""
        return self.rules.ack(self, txid, partition_id, status, group or QUEUE_MODE, lease_id,
                              error)

    def ack_batch(self, acks: List[Dict[str, Any]], group: Optional[str]) -> List[AckOutcome]:
        """``POST /api/v1/ack/batch``; items are validated dicts."""
        return self.rules.ack_batch(self, acks, group or QUEUE_MODE)

    # ------------------------------------------------------------ transactions

    def transaction(self, ops: List[Dict[str, Any]]) -> Dict[str, Any]:
        """Apply all operations atomically.  Returns facts for ``app.py``:
        ``{"success", "results": [...], "error"}``.  Operations are validated
        against a scratch copy first; nothing changes unless all succeed."""
        scratch = _Scratch(self)
        results: List[Dict[str, Any]] = []
        error: Optional[str] = None
        stop_at_error = self.rules.txn_stops_at_first_error
        for op in ops:
            kind = op.get("type") if isinstance(op, dict) else None
            if kind == "ack":
                r = scratch.ack(op)
                results.append(r)
                if not r["success"] and error is None:
                    error = "ACK operation failed: " + (r.get("error") or "")
                    if stop_at_error:
                        break
            elif kind == "push":
                rows, err, fatal = scratch.push(op.get("items"))
                if fatal:
                    return {"success": False, "results": results, "error": err, "fatal": err}
                results.append({"type": "push", "items": rows})
                if err is not None and error is None:
                    error = err
                    if stop_at_error:
                        break
            else:
                results.append({"type": "unknown", "kind": kind, "success": False,
                                "error": f"Unknown operation type: {kind}"})
                if error is None:
                    error = f"Unknown operation type: {kind}"
                if stop_at_error:
                    break
        if error is None:
            scratch.commit()
        return {"success": error is None, "results": results, "error": error}

    # ------------------------------------------------------------ DLQ, groups, traces

    def dlq_entries(self, queue: Optional[str] = None, group: Optional[str] = None,
                    partition: Optional[str] = None, since: Optional[float] = None,
                    until: Optional[float] = None) -> List[DlqEntry]:
        rows = []
        for e in self.dlq:
            if queue is not None and e.partition.queue.name != queue:
                continue
            if group is not None and e.group != group:
                continue
            if partition is not None and e.partition.name != partition:
                continue
            if since is not None and e.moved_at < since:
                continue
            if until is not None and e.moved_at > until:
                continue
            rows.append(e)
        rows.sort(key=lambda e: e.moved_at, reverse=True)
        return rows

    def delete_group(self, group: str, delete_metadata: bool = True,
                     queue: Optional[str] = None) -> int:
        """Drop the group's cursors/leases (on one queue or all); returns how many."""
        n = 0
        queues = self.queues.values() if queue is None else [
            q for q in (self.queues.get(queue),) if q is not None]
        for q in queues:
            for p in q.partitions.values():
                st = p.states.pop(group, None)
                if st is not None:
                    n += 1
                    if st.lease_id:
                        self._forget_lease(st.lease_id, p, group)
            self._changed(q.name)
        if delete_metadata:
            for key in [k for k in self.subscriptions
                        if k[0] == group and (queue is None or k[1] == queue)]:
                del self.subscriptions[key]
        return n

    def update_subscription(self, group: str, ts: float) -> int:
        n = 0
        for key, rec in self.subscriptions.items():
            if key[0] == group:
                rec.start = ts
                n += 1
        return n

    def seek(self, group: str, queue: str, to_end: bool, ts: Optional[float]) -> int:
        """0.15 seek: move the group's existing cursors on ``queue``, releasing leases."""
        q = self.queues.get(queue)
        if q is None:
            return 0
        n = 0
        for p in q.partitions.values():
            st = p.states.get(group)
            if st is None:
                continue
            n += 1
            if to_end:
                st.cursor = p.messages[-1].seq if p.messages else 0
            else:
                before = [m.seq for m in p.messages if ts is not None and m.created <= ts]
                st.cursor = before[-1] if before else 0
            self.release(p, group, st)
        return n

    def seek_partition(self, group: str, queue: str, partition: str) -> int:
        q = self.queues.get(queue)
        p = q.partitions.get(partition) if q is not None else None
        st = p.states.get(group) if p is not None else None
        if p is None or st is None:
            return 0
        st.cursor = p.messages[-1].seq if p.messages else 0
        self.release(p, group, st)
        return 1

    def record_trace(self, txid: Any, partition_id: Any, names: List[str], event_type: str,
                     data: Any, group: str) -> Optional[Trace]:
        p, m = self.find(partition_id, txid)
        if p is None or m is None:
            return None
        t = Trace(self.rules.trace_id(), m, p, group, sorted(set(names)),
                  event_type, data, self.now())
        self.traces.append(t)
        return t

    def traces_of(self, partition_id: str, txid: str) -> List[Trace]:
        return [t for t in self.traces if t.partition.id == partition_id
                and t.message.txid == txid]

    def traces_named(self, name: str) -> List[Trace]:
        return [t for t in self.traces if name in t.names]

    def trace_names(self) -> List[Dict[str, Any]]:
        names: Dict[str, Dict[str, Any]] = {}
        for t in self.traces:
            for n in t.names:
                row = names.setdefault(n, {"trace_name": n, "trace_count": 0, "messages": set(),
                                           "last_seen": t.created})
                row["trace_count"] += 1
                row["messages"].add(t.message.id)
                row["last_seen"] = max(row["last_seen"], t.created)
        rows = sorted(names.values(), key=lambda r: r["last_seen"], reverse=True)
        for r in rows:
            r["message_count"] = len(r.pop("messages"))
        return rows

    # ------------------------------------------------------------ message views

    def message_status(self, p: Partition, m: Message, now: float) -> str:
        if any(e.message is m for e in self.dlq):
            return "dead_letter"
        st = p.states.get(QUEUE_MODE)
        if st is None:
            return "pending"
        if st.cursor >= m.seq:
            return "completed"
        if st.leased(now) and m.seq <= st.batch_last:
            return "processing"
        return "pending"

    def delete_message(self, partition_id: str, txid: str) -> bool:
        p, m = self.find(partition_id, txid)
        if p is None or m is None:
            return False
        idx = p.messages.index(m)
        del p.messages[idx]
        del p.seqs[idx]
        del p.by_txid[txid]
        self.dlq = [e for e in self.dlq if e.message is not m]
        self.traces = [t for t in self.traces if t.message is not m]
        return True


class _Scratch:
    """Validates a transaction against the live state and applies it on commit."""

    def __init__(self, broker: Broker) -> None:
        self.b = broker
        self.acks: List[Tuple[Partition, Message, str, str, Any, GroupState]] = []
        self.pushes: List[Tuple[str, str, str, Any, Optional[str], str]] = []
        self.seen: Set[Tuple[str, str, str]] = set()
        self.index = 0

    def ack(self, op: Dict[str, Any]) -> Dict[str, Any]:
        b = self.b
        now = b.now()
        g = op.get("consumerGroup") or QUEUE_MODE
        status = op.get("status") or "completed"
        p, m = b.find(op.get("partitionId"), op.get("transactionId"))
        st = p.states.get(g) if p is not None else None
        r: Dict[str, Any] = {"type": "ack", "index": self.index, "transactionId":
                             op.get("transactionId"), "success": False, "error": None,
                             "dlq": False}
        self.index += 1
        r["error"] = b.rules.txn_ack_error(p is not None and m is not None, status,
                                           b.lease_ok(st, op.get("leaseId"), now), st is not None)
        if r["error"] is None:
            r["success"] = True
            r["dlq"] = status in ("failed", "dlq")
            if st is not None and p is not None and m is not None:
                self.acks.append((p, m, g, status, op.get("error"), st))
        return r

    def push(self, items: Any) -> Tuple[List[Dict[str, Any]], Optional[str], bool]:
        """Rows for the items, an error text, and whether the error is fatal (a
        malformed item: the real servers throw before touching the database)."""
        rows: List[Dict[str, Any]] = []
        rules = self.b.rules
        if not isinstance(items, list):
            return rows, "items array is required", True
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("queue"), str):
                bad = item.get("queue") if isinstance(item, dict) else item
                jtype = {bool: "boolean", list: "array", dict: "object"}.get(
                    type(bad), "null" if bad is None else "number")
                return rows, ("[json.exception.type_error.302] type must be string, but is "
                              f"{jtype}"), True
            qname: str = item["queue"]
            part, given = item.get("partition"), item.get("transactionId")
            pname: str = part if isinstance(part, str) and part else "Default"
            txid: str = given if isinstance(given, str) and given else rules.txn_item_id()
            payload = rules.txn_payload(item)
            trace: Optional[str] = item["traceId"] if is_uuid(item.get("traceId")) else (
                rules.txn_trace_id())
            mid = uuid7()
            row = {"index": self.index, "queue": qname, "partition": pname, "transactionId": txid,
                   "messageId": mid}
            self.index += 1
            rows.append(row)
            q = self.b.queues.get(qname)
            p = q.partitions.get(pname) if q is not None else None
            key = (qname, pname, txid)
            if (p is not None and txid in p.by_txid) or key in self.seen:
                return rows, ('duplicate key value violates unique constraint '
                              '"messages_partition_transaction_unique"'), False
            self.seen.add(key)
            self.pushes.append((qname, pname, txid, payload, trace, mid))
        return rows, None, False

    def commit(self) -> None:
        b = self.b
        now = b.now()
        b._holding = []
        for p, m, g, status, error, st in self.acks:
            if status in ("failed", "dlq"):
                b.to_dlq(p, m, g, error or "Transaction ack failed", st.retries, now)
            b.consume(p, st, m.seq, now)
            st.acked += 1
            if st.batch_size > 0 and st.acked >= st.batch_size:
                b.release(p, g, st)
        touched: Dict[str, None] = {}
        for qname, pname, txid, payload, trace, mid in self.pushes:
            q = b.queues.get(qname)
            if q is None:
                q = b.new_pushed_queue(qname)
            p = b._partition(q, pname)
            m = b._append(p, txid, payload, trace, now)
            m.id = mid
            touched[qname] = None
        b._pushed(touched)

