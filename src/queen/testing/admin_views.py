"""The admin and read views of the embedded server, as plain data: what each admin
route answers on 0.7 and on 0.15, computed from the broker's live state.

Kept apart from the HTTP layer (``admin.py`` wraps these in routes) so the shapes can
be read, and tested, next to the wire recordings they copy (``admin.json`` of 0.7.5
and 0.15.1). Numbers a real server takes from its process or its database (CPU,
pools, table statistics) are zeros here; every key is present.

How the real servers count "pending" differs by view and generation (observed):

* 0.15 counts a message as completed once *any* consumer has consumed it, and
  "pending" includes the processing ones;
* 0.7 counts queue-mode consumption only. Its ``resources/queues/{q}`` counts pending
  only in partitions that queue mode has read, its queue list / namespaces / tasks
  only in partitions that *some* consumer has read, and ``status/queues`` everywhere.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from .model import QUEUE_MODE, iso_ms, parse_ts

iso = iso_ms  # ISO 8601 with milliseconds: what both generations use in these fields


def uuid_error(value: str) -> str:
    """PostgreSQL's text for a partition id that is not a UUID."""
    return (f'ERROR:  invalid input syntax for type uuid: "{value}"\n'
            "CONTEXT:  unnamed portal parameter $1 = '...'\n")

STAT_KEYS = ("total", "pending", "processing", "completed", "failed", "deadLetter")
MODE = Tuple[str, ...]

# which rule a view counts with (see the module docstring)
DETAIL, LISTED, STATUS, ANY = "detail", "listed", "status", "any"


_FAMILIES = """
queen_uptime_seconds:gauge
queen_cpu_user_microseconds_total:counter
queen_cpu_system_microseconds_total:counter
queen_process_resident_memory_bytes:gauge
queen_process_virtual_memory_bytes:gauge
queen_db_pool_size:gauge
queen_db_pool_idle:gauge
queen_db_pool_active:gauge
queen_threadpool_size:gauge
queen_threadpool_queue_size:gauge
queen_response_registry_size:gauge
queen_file_buffer_pending:gauge
queen_file_buffer_failed:gauge
queen_file_buffer_db_healthy:gauge
queen_maintenance_mode_enabled:gauge
queen_sidecar_op_count:gauge:x
queen_sidecar_op_latency_microseconds:gauge:x
queen_sidecar_op_items:gauge:x
queen_queue_backoff_groups:gauge
queen_queue_backoff_queues:gauge
queen_queue_backoff_avg_interval_milliseconds:gauge
queen_shared_state_enabled:gauge
queen_cluster_push_requests_total:counter
queen_cluster_pop_requests_total:counter
queen_cluster_ack_requests_total:counter
queen_cluster_transactions_total:counter
queen_cluster_push_messages_total:counter
queen_cluster_pop_messages_total:counter
queen_cluster_ack_messages_total:counter
queen_cluster_ack_total:counter
queen_cluster_db_errors_total:counter
queen_cluster_dlq_total:counter
queen_queue_pop_messages_per_minute:gauge:queue
queen_queue_pop_lag_milliseconds:gauge:queue
queen_queue_push_requests_per_minute:gauge:queue
queen_queue_push_messages_per_minute:gauge:queue
queen_queue_pop_empty_per_minute:gauge:queue
queen_queue_ack_per_minute:gauge:queue
queen_queue_transactions_per_minute:gauge:queue
queen_queue_parked_consumers:gauge:queue
queen_queue_metrics_age_seconds:gauge:queue
queen_worker_event_loop_lag_milliseconds:gauge:x
queen_worker_free_slots:gauge:x
queen_worker_db_connections:gauge:x
queen_worker_job_queue_size:gauge:x
queen_worker_backoff_size:gauge:x
queen_worker_jobs_done_per_minute:gauge:x
queen_worker_requests_per_minute:gauge:x
queen_worker_messages_per_minute:gauge:x
queen_worker_ack_per_minute:gauge:x
queen_worker_lag_milliseconds:gauge:x
queen_worker_db_errors_per_minute:gauge:x
queen_worker_dlq_per_minute:gauge:x
queen_worker_metrics_age_seconds:gauge:x
queen_dlq_depth:gauge
queen_dlq_depth_by_queue:gauge:queue
"""


def _families() -> List[Tuple[str, str, Optional[str]]]:
    """(name, type, labels) of the real 0.15.1 families, in its order. labels: None = one
    unlabelled sample, "queue" = one per queue, "" = per worker/op (none here)."""
    out: List[Tuple[str, str, Optional[str]]] = []
    for line in _FAMILIES.split():
        name, kind, *labels = line.split(":")
        out.append((name, kind, None if not labels else ("queue" if labels[0] == "queue"
                                                         else "")))
    return out


PROMETHEUS_FAMILIES = _families()


class AdminViews:
    """Admin answers of one broker. Generation-neutral: what differs is a class
    attribute or a hook method, filled in by ``admin07.Views07`` / ``admin15.Views15``
    (the broker's rules name the class: ``rules.admin_views``)."""

    # --- what differs, as data (the hooks below are the shapes)
    counts_any_consumer = False        # completed once any consumer consumed it
    pending_has_processing = False     # "pending" includes the processing messages
    listed_pending_without_processing = False  # ...except in the queue/namespace lists
    status_ignores_filters = False     # status filters do not narrow the totals
    named_subscriptions = False        # group list rows carry the subscription
    empty_as_null = False              # an empty lagging list / unknown group is null
    stoi_status = 200                  # HTTP status of the minLagSeconds=abc error
    server_name = "C++ Queen Server (Acceptor/Worker)"

    def __init__(self, broker: Any) -> None:
        self.b = broker
        self.ts: Callable[[Optional[float]], Optional[str]] = broker.rules.ts

    # ------------------------------------------------------------ counting

    def _dead(self, p: Any, group: Optional[str] = QUEUE_MODE) -> set:  # type: ignore[type-arg]
        return {e.message.id for e in self.b.dlq if e.partition is p
                and (group is None or e.group == group)}

    def stats(self, p: Any, now: float, rule: str) -> Dict[str, int]:
        """The six counters of one partition under a counting rule."""
        if self.counts_any_consumer:
            rule = ANY
        total = len(p.messages)
        if rule == ANY:
            states = list(p.states.values())
            dead = self._dead(p, None)
            cursor = max((st.cursor for st in states), default=0)
            leased = [st for st in states if st.leased(now)]
            completed = processing = 0
            for m in p.messages:
                if m.id in dead:
                    continue
                if m.seq <= cursor:
                    completed += 1
                elif any(st.cursor < m.seq <= st.batch_last for st in leased):
                    processing += 1
            pending = total - completed - len(dead)
            if not self.pending_has_processing:
                pending -= processing
            return {"total": total, "pending": pending, "processing": processing,
                    "completed": completed, "failed": 0, "deadLetter": len(dead)}
        st = p.states.get(QUEUE_MODE)
        # 0.7's status views count a dead letter as completed (its cursor moved past it)
        dead = set() if rule == STATUS else self._dead(p)
        completed = processing = 0
        for m in p.messages:
            if m.id in dead or st is None:
                continue
            if st.cursor >= m.seq:
                completed += 1
            elif st.leased(now) and m.seq <= st.batch_last:
                processing += 1
        pending = total - completed - processing - len(dead)
        if (rule == DETAIL and st is None) or (rule == LISTED and not p.states):
            pending = 0
        return {"total": total, "pending": pending, "processing": processing,
                "completed": completed, "failed": 0, "deadLetter": len(dead)}

    @staticmethod
    def total(rows: Iterable[Dict[str, int]]) -> Dict[str, int]:
        out = dict.fromkeys(STAT_KEYS, 0)
        for r in rows:
            for k in STAT_KEYS:
                out[k] += r[k]
        return out

    def queue_stats(self, q: Any, now: float, rule: str) -> Dict[str, int]:
        return self.total(self.stats(p, now, rule) for p in q.partitions.values())

    def _listed(self, q: Any, now: float) -> Dict[str, int]:
        """Counts of the queue list and the namespace/task lists (0.15: pending there
        leaves the processing ones out, unlike its other views)."""
        tot = self.queue_stats(q, now, LISTED)
        if self.listed_pending_without_processing:
            tot["pending"] -= tot["processing"]
        return tot

    def _blank(self, value: Optional[str]) -> Optional[str]:
        """An unset namespace/task in the list views ("" as stored; 0.7 sends null)."""
        return value

    def sorted_queues(self) -> List[Any]:
        return sorted(self.b.queues.values(), key=lambda q: q.name)

    # ------------------------------------------------------------ resources

    def queue_list(self, now: float) -> Dict[str, Any]:
        rows = []
        for q in self.sorted_queues():
            tot = self._listed(q, now)
            rows.append({"id": q.id, "name": q.name, "namespace": self._blank(q.namespace),
                         "task": self._blank(q.task), "createdAt": self.ts(q.created),
                         "partitions": len(q.partitions),
                         "messages": {k: tot[k] for k in ("total", "pending", "processing")}})
        return {"queues": rows}

    def queue_detail(self, q: Any, now: float) -> Dict[str, Any]:
        parts = []
        for p in q.partitions.values():
            parts.append({"id": p.id, "name": p.name, "createdAt": self.ts(p.created),
                          "stats": self.stats(p, now, DETAIL),
                          "oldestMessage": self._oldest(p, now),
                          "newestMessage": self.ts(p.messages[-1].created) if p.messages
                          else None})
        return {"id": q.id, "name": q.name, "namespace": q.namespace,  # "" here, null in lists
                "task": q.task, "createdAt": self.ts(q.created), "partitions": parts,
                "totals": self.queue_stats(q, now, DETAIL)}

    def _oldest(self, p: Any, now: float) -> Optional[str]:
        if not p.messages:
            return None
        return self.ts(p.messages[0].created)

    def groupings(self, key: str, now: float) -> Dict[str, Any]:
        """``{namespaces: [...]}`` or ``{tasks: [...]}``."""
        rows: Dict[str, Dict[str, Any]] = {}
        for q in self.sorted_queues():
            name = q.task if key == "task" else q.namespace
            if not name:
                continue
            row = rows.setdefault(name, {key: name, "queues": 0, "partitions": 0,
                                         "messages": {"total": 0, "pending": 0}})
            tot = self._listed(q, now)
            row["queues"] += 1
            row["partitions"] += len(q.partitions)
            row["messages"]["total"] += tot["total"]
            row["messages"]["pending"] += tot["pending"]
        return {key + "s": [rows[k] for k in sorted(rows)]}

    def _lags(self, now: float) -> List[Tuple[int, float]]:
        out = []
        for p in self.b.partitions.values():
            for st in p.states.values():
                i = p.after(st.cursor)
                if i < len(p.messages):
                    out.append((len(p.messages) - i, now - p.messages[i].created))
        return out

    @staticmethod
    def _figures(values: List[float]) -> Dict[str, int]:
        if not values:
            return {"avg": 0, "median": 0, "min": 0, "max": 0}
        values = sorted(values)
        return {"avg": int(sum(values) / len(values)), "median": int(values[len(values) // 2]),
                "min": int(values[0]), "max": int(values[-1])}

    def overview(self, now: float) -> Dict[str, Any]:
        queues = list(self.b.queues.values())
        rows = [self.stats(p, now, ANY) for q in queues for p in q.partitions.values()]
        lags = self._lags(now)
        out: Dict[str, Any] = {
            "queues": len(queues), "partitions": len(rows),
            "namespaces": len({q.namespace for q in queues if q.namespace}),
            "tasks": len({q.task for q in queues if q.task}),
            "messages": self.total(rows),
            "lag": {"time": self._figures([t for _, t in lags]),
                    "offset": self._figures([float(n) for n, _ in lags])},
            "timestamp": iso(now)}
        self.overview_extra(out)
        return out

    def overview_extra(self, out: Dict[str, Any]) -> None:
        """Keys one generation adds to the overview."""

    # ------------------------------------------------------------ messages

    @staticmethod
    def bus(p: Any, m: Any) -> Dict[str, int]:
        named = [st for g, st in p.states.items() if g != QUEUE_MODE]
        return {"consumedBy": sum(1 for st in named if st.cursor >= m.seq),
                "totalGroups": len(named)}

    def mode(self, partitions: Iterable[Any]) -> Dict[str, Any]:
        """Who consumes the partitions: queue mode, bus (groups), both, or nobody."""
        groups: set = set()  # type: ignore[type-arg]
        has_qm = False
        for p in partitions:
            for g in p.states:
                if g == QUEUE_MODE:
                    has_qm = True
                else:
                    groups.add(g)
        kind = ("hybrid" if has_qm else "bus") if groups else ("queue" if has_qm else "none")
        return {"hasQueueMode": has_qm, "busGroupsCount": len(groups), "type": kind}

    def message_status(self, p: Any, m: Any, now: float) -> Tuple[str, str]:
        """(status, queueStatus): a message every consumer group has consumed is
        ``completed`` even while queue mode has not read it."""
        queue_status: str = self.b.message_status(p, m, now)
        bus = self.bus(p, m)
        if queue_status != "dead_letter" and bus["totalGroups"] and \
                bus["consumedBy"] == bus["totalGroups"]:
            return "completed", queue_status
        return queue_status, queue_status

    def _row(self, q: Any, p: Any, m: Any, now: float) -> Dict[str, Any]:
        status, queue_status = self.message_status(p, m, now)
        st = p.states.get(QUEUE_MODE)
        row = {"id": m.id, "transactionId": m.txid, "partitionId": p.id,
               "queuePath": f"{q.name}/{p.name}", "queue": q.name, "partition": p.name,
               "namespace": q.namespace, "task": q.task, "status": status,
               "queueStatus": queue_status, "busStatus": self.bus(p, m),
               "traceId": m.trace_id, "queuePriority": q.opt("priority"),
               "createdAt": self.ts(m.created),
               "leaseExpiresAt": self.ts(st.lease_expires)
               if queue_status == "processing" and st else None}
        self.message_row_extra(row, m)
        return row

    def message_row_extra(self, row: Dict[str, Any], m: Any) -> None:
        """Keys one generation adds to a message row."""

    def message_list(self, query: Dict[str, Optional[str]], limit: int, offset: int,
                     now: float) -> Dict[str, Any]:
        """``GET /messages``: newest first; ``mode`` over the queue (or the server)."""
        lo = self.pg_time(query.get("from"), now) if query.get("from") else None
        hi = self.pg_time(query.get("to"), now) if query.get("to") else None
        queue, pname = query.get("queue"), query.get("partition")
        rows = []
        seen = []
        for q in self._selected({"queue": queue, "namespace": query.get("ns"),
                                 "task": query.get("task")}):
            for p in q.partitions.values():
                in_range = [m for m in p.messages if (lo is None or m.created >= lo)
                            and (hi is None or m.created <= hi)]
                if in_range:
                    seen.append(p)  # the mode covers the queue, whatever the partition
                if pname and p.name != pname:
                    continue
                for m in in_range:
                    row = self._row(q, p, m, now)
                    if query.get("status") and row["status"] != query.get("status"):
                        continue
                    rows.append((m.gseq, row))
        rows.sort(key=lambda r: r[0], reverse=True)
        scope = seen if queue else [p for q in self.b.queues.values()
                                    for p in q.partitions.values()]
        return {"messages": [r for _, r in rows[offset:offset + limit]], "mode": self.mode(scope)}

    def bad_uuid(self, value: str) -> Dict[str, Any]:
        """PostgreSQL's answer to a partition id that is not a UUID (HTTP 200)."""
        return {"error": uuid_error(value)}

    def message_detail(self, p: Any, m: Any, now: float) -> Dict[str, Any]:
        q = p.queue
        out = self._row(q, p, m, now)
        del out["queuePriority"]
        dlq = [e for e in self.b.dlq if e.message is m]
        out.update({"payload": m.data, "errorMessage": dlq[0].error if dlq else None,
                    "retryCount": dlq[0].retry_count if dlq else None,
                    "queueConfig": {k: q.opt(k) for k in ("leaseTime", "retryLimit",
                                                          "retryDelay", "ttl", "priority")},
                    "mode": self.mode([p])})
        self.detail_extra(out, p, m, now)
        return out

    def detail_extra(self, out: Dict[str, Any], p: Any, m: Any, now: float) -> None:
        """How one generation's message detail differs from its list rows."""

    # ------------------------------------------------------------ status

    def _selected(self, query: Dict[str, Optional[str]]) -> List[Any]:
        queue, ns, task = query.get("queue"), query.get("namespace"), query.get("task")
        return [q for q in self.sorted_queues()
                if (not queue or q.name == queue) and (not ns or q.namespace == ns)
                and (not task or q.task == task)]

    def _range(self, query: Dict[str, Optional[str]], now: float) -> Dict[str, Any]:
        return {"from": query.get("from") or iso(now - 3600), "to": query.get("to") or iso(now)}

    def status(self, query: Dict[str, Optional[str]], now: float) -> Dict[str, Any]:
        chosen = self._selected(query)
        counted = list(self.b.queues.values()) if self.status_ignores_filters else chosen
        rows = [self.stats(p, now, ANY) for q in counted for p in q.partitions.values()]
        messages: Dict[str, Any] = self.total(rows)
        parts = [p for q in chosen for p in q.partitions.values()]
        leased = [(p, st) for p in parts for st in p.states.values() if st.leased(now)]
        dead = [e for e in self.b.dlq
                if self.status_ignores_filters or e.partition.queue in chosen]
        errors: Dict[str, int] = {}
        for e in dead:
            errors[e.error or ""] = errors.get(e.error or "", 0) + 1
        point: Dict[str, Any] = {"timestamp": iso(now - now % 60), "ingested": 0,
                                 "ingestedPerSecond": 0.0, "processed": 0,
                                 "processedPerSecond": 0.0}
        out: Dict[str, Any] = {
            "timeRange": self._range(query, now), "bucketMinutes": 1, "pointCount": 1,
            "messages": messages, "throughput": [point],
            "queues": [{"id": q.id, "name": q.name, "namespace": self._blank(q.namespace),
                        "task": self._blank(q.task), "partitions": len(q.partitions),
                        "totalConsumed": sum(st.total_consumed for p in q.partitions.values()
                                             for st in p.states.values())}
                       for q in chosen],
            "leases": {"active": len(leased), "partitionsWithLeases": len({id(p) for p, _ in leased}),
                       "totalAcked": 0, "totalBatchSize": sum(st.batch_size for _, st in leased)},
            "deadLetterQueue": {
                "totalMessages": len(dead),
                "affectedPartitions": 0,
                "topErrors": [{"error": k, "count": v} for k, v in sorted(
                    errors.items(), key=lambda kv: -kv[1])][:10]}}
        self.status_extra(out, messages, point, len(dead))
        return out

    def status_extra(self, out: Dict[str, Any], messages: Dict[str, Any],
                     point: Dict[str, Any], dead: int) -> None:
        """What one generation adds to (or changes in) the dashboard."""

    def _worker_row(self) -> Dict[str, Any]:
        return {"workerId": "0", "hostname": "localhost", "avgEventLoopLagMs": 0,
                "maxEventLoopLagMs": 0, "freeSlots": 5, "dbConnections": 5, "jobQueueSize": 0,
                "messagesProcessed": sum(len(p.messages) for p in self.b.partitions.values())}

    def status_queues(self, query: Dict[str, Optional[str]], limit: int, offset: int,
                      now: float) -> Dict[str, Any]:
        chosen = self._selected({"namespace": query.get("namespace"),
                                 "task": query.get("task")})
        rows = []
        for q in chosen:
            tot = self.queue_stats(q, now, STATUS)
            row: Dict[str, Any] = {"id": q.id, "name": q.name, "namespace": q.namespace,
                                   "task": q.task, "createdAt": self.ts(q.created),
                                   "partitions": len(q.partitions)}
            self.status_queue_row(row, q, tot)
            rows.append(row)
        page = rows[offset:offset + limit]
        out: Dict[str, Any] = {"queues": page, "pagination": {"limit": limit, "offset": offset}}
        self.status_queues_extra(out, query, now)
        return out

    def status_queues_extra(self, out: Dict[str, Any], query: Dict[str, Optional[str]],
                            now: float) -> None:
        """What one generation adds to the status/queues page."""

    def queue_status(self, q: Any, now: float) -> Dict[str, Any]:
        parts = []
        consumed = 0
        for p in q.partitions.values():
            stats = self.stats(p, now, STATUS)
            total_consumed, last = self.consumption(p)
            consumed += total_consumed
            cursor: Dict[str, Any] = {"totalConsumed": total_consumed, "batchesConsumed": 0}
            row: Dict[str, Any] = {"id": p.id, "name": p.name, "createdAt": self.ts(p.created),
                                   "cursor": cursor}
            self.status_partition(row, p, stats, last)
            parts.append(row)
        config: Dict[str, Any] = {"leaseTime": q.opt("leaseTime"), "retryLimit": q.opt("retryLimit"),
                                  "ttl": q.opt("ttl"), "maxQueueSize": q.opt("maxSize")}
        self.status_config(config, q)
        out: Dict[str, Any] = {
            "queue": {"id": q.id, "name": q.name, "namespace": q.namespace, "task": q.task,
                      "priority": q.opt("priority"), "config": config,
                      "createdAt": self.ts(q.created)},
            "partitions": parts}
        self.status_totals(out, self.queue_stats(q, now, STATUS), consumed)
        return out

    def consumption(self, p: Any) -> Tuple[int, Optional[float]]:
        """(messages consumed, when last) of a partition in the status views."""
        st = p.states.get(QUEUE_MODE)
        return (st.total_consumed, st.last_consumed_at) if st else (0, None)

    def status_config(self, config: Dict[str, Any], q: Any) -> None:
        """Options one generation adds to a queue's status config."""

    def queue_messages(self, q: Any, query: Dict[str, Optional[str]], limit: int, offset: int,
                       now: float) -> Any:
        """``GET /status/queues/{q}/messages``: newest first."""
        rows = []
        for p in q.partitions.values():
            if query.get("partition") and p.name != query.get("partition"):
                continue
            for m in p.messages:
                status = self.b.message_status(p, m, now)  # queue mode's view
                if query.get("status") and status != query.get("status"):
                    continue
                rows.append((self.message_order(p, m), p, m, status))
        rows.sort(key=lambda r: r[0], reverse=True)
        return self.queue_messages_reply(q, rows, query, limit, offset, now)

    def message_order(self, p: Any, m: Any) -> Tuple[float, ...]:
        """Sort key of the status view's messages (descending): newest first."""
        return (m.gseq,)

    def analytics(self, query: Dict[str, Optional[str]], now: float) -> Dict[str, Any]:
        chosen = self._selected(query)
        interval = query.get("interval") or "hour"
        span = {"minute": 60, "hour": 3600, "day": 86400}.get(interval, 3600)
        rng = self._range(query, now)
        msgs = [m for q in chosen for p in q.partitions.values() for m in p.messages]
        return self.analytics_reply(chosen, msgs, interval, span, rng, now)

    # ------------------------------------------------------------ process metrics (zeros)

    def buffers(self) -> Dict[str, Any]:
        return {"dbHealthy": True, "failed": 0, "pending": len(self.b.buffered), "worker": 0}

    @staticmethod
    def _agg() -> Dict[str, float]:
        return {"avg": 0.0, "last": 0, "max": 0, "min": 0}

    def system_metrics(self, query: Dict[str, Optional[str]], now: float, port: int
                       ) -> Dict[str, Any]:
        a = self._agg
        metrics: Dict[str, Any] = {
            "cpu": {"system_us": a(), "user_us": a()},
            "database": {"pool_active": a(), "pool_idle": a(), "pool_size": a()},
            "memory": {"rss_bytes": a(), "virtual_bytes": a()},
            "registries": {"response": a()},
            "threadpool": {"db": {"pool_size": a(), "queue_size": a()},
                           "system": {"pool_size": a(), "queue_size": a()}}}
        self.system_metrics_extra(metrics)
        point = {"timestamp": iso(now - now % 60), "sampleCount": 1, "metrics": metrics}
        return {"timeRange": self._range(query, now), "bucketMinutes": 1, "pointCount": 1,
                "replicaCount": 1,
                "replicas": [{"hostname": "localhost", "port": port, "workerId": "0",
                              "timeSeries": [point]}]}

    def worker_metrics(self, query: Dict[str, Optional[str]], now: float) -> Dict[str, Any]:
        s = self.b.stats
        point: Dict[str, Any] = dict.fromkeys((
            "ackFailed", "ackMessages", "ackRequests", "ackSuccess", "avgEventLoopLagMs",
            "avgFreeSlots", "avgJobQueueSize", "avgLagMs", "backoffSize", "dbConnections",
            "dbErrors", "dlqCount", "jobsDone", "lagCount", "maxEventLoopLagMs",
            "maxJobQueueSize", "maxLagMs", "minFreeSlots", "popMessages", "popRequests",
            "pushMessages", "pushRequests"), 0)
        point.update({"ackPerSecond": 0.0, "popPerSecond": 0.0, "pushPerSecond": 0.0,
                      "timestamp": iso(now - now % 60)})
        worker = {**self._worker_row(), "backoffSize": 0, "lastSeen": iso(now)}
        worker.pop("freeSlots")
        worker["freeSlots"] = 5
        pending = sum(self.stats(p, now, ANY)["pending"] for p in self.b.partitions.values())
        return {
            "timeRange": self._range(query, now), "bucketMinutes": 1, "pointCount": 1,
            "summary": {"pendingMessages": pending, "totalAckFailed": 0,
                        "totalAckMessages": s.get("ack", 0), "totalAckRequests": s.get("ack", 0),
                        "totalDbErrors": 0, "totalDlq": len(self.b.dlq),
                        "totalPopMessages": s.get("pop", 0), "totalPopRequests": s.get("pop", 0),
                        "totalPushMessages": s.get("push", 0),
                        "totalPushRequests": s.get("push", 0)},
            "timeSeries": [point],
            "queues": [{"queueName": q.name, "popCount": 0, "avgLagMs": 0, "maxLagMs": 0}
                       for q in self.sorted_queues()],
            "workers": [worker]}

    def queue_lag(self, query: Dict[str, Optional[str]], now: float) -> List[Dict[str, Any]]:
        return [{"queueName": q.name, "bucketTime": iso(now - now % 60), "popCount": 0,
                 "avgLagMs": 0, "maxLagMs": 0} for q in self._selected(query)]

    def queue_ops(self, query: Dict[str, Optional[str]], now: float) -> Dict[str, Any]:
        chosen = self._selected(query)
        zero = dict.fromkeys(("ackFailed", "ackRequests", "ackSuccess", "avgLagMs", "maxLagMs",
                              "partitionsDeleted", "popEmpty", "popMessages", "pushMessages",
                              "pushRequests", "transactions"), 0)
        return {"timeRange": self._range(query, now), "bucketMinutes": 1,
                "queues": [q.name for q in chosen],
                "series": [{**zero, "queueName": q.name, "bucket": iso(now - now % 60),
                            "ackPerSecond": 0.0, "emptyPerSecond": 0.0, "parkedCount": 0.0,
                            "popPerSecond": 0.0, "pushPerSecond": 0.0, "partitionCount": None,
                            "partitionsCreated": len(q.partitions)} for q in chosen]}

    def parked_replicas(self, query: Dict[str, Optional[str]], now: float) -> Dict[str, Any]:
        return {"timeRange": self._range(query, now), "bucketMinutes": 1, "replicas": [],
                "series": []}

    def retention(self, query: Dict[str, Optional[str]], now: float) -> Dict[str, Any]:
        return {"timeRange": self._range(query, now), "bucketMinutes": 1, "series": [],
                "totals": dict.fromkeys(("completedRetentionMsgs", "eventCount",
                                         "evictionMsgs", "retentionMsgs", "totalMsgs"), 0)}

    def postgres_stats(self, now: float) -> Dict[str, Any]:
        hit = {"cacheHits": 0, "diskReads": 0, "hitRatio": 100.0}
        return {"timestamp": iso(now), "database": "embedded", "activeQueries": [],
                "autovacuumStatus": [], "bufferUsage": [], "deadTuples": [], "hotUpdates": [],
                "indexCache": [], "tableCache": [], "tableSizes": [],
                "bufferConfig": {"sharedBuffers": "0", "sharedBuffersSize": "0 MB"},
                "cacheSummary": {"indexes": dict(hit), "tables": dict(hit)},
                "databaseCache": {"database": "embedded", "cacheHits": 0, "diskReads": 0,
                                  "cacheHitRatio": 100.0}}

    def refresh(self) -> Dict[str, Any]:
        """``POST /stats/refresh`` (0.15): our statistics are live; report the sizes."""
        queues = list(self.b.queues.values())
        return {"queue": {"queuesUpdated": len(queues)},
                "partition": {"dirtyPartitionsScanned": len(self.b.partitions),
                              "newPartitions": 0, "partitionsSkippedByWatermark": 0,
                              "partitionsUpdated": len(self.b.partitions)},
                "namespace": {"namespacesUpdated": len({q.namespace for q in queues
                                                        if q.namespace})},
                "task": {"tasksUpdated": len({q.task for q in queues if q.task})},
                "system": {"systemUpdated": 1}, "cleanup": {"orphanedDeleted": 0}}

    def health(self, port: int) -> Dict[str, Any]:
        out: Dict[str, Any] = {"status": "healthy", "database": "connected",
                               "server": self.server_name, "worker_id": 0, "version": "1.0.0"}
        self.health_extra(out, port)
        return out

    def health_extra(self, out: Dict[str, Any], port: int) -> None:
        """What one generation adds to the health answer."""

    def message_deleted(self, ok: bool, pid: str, tid: str) -> Dict[str, Any]:
        """0.7.5 reports "deleted" whether or not the message was there."""
        return {"success": True, "message": "Message deleted successfully",
                "partitionId": pid, "transactionId": tid}

    def metrics(self) -> Dict[str, Any]:
        """``GET /metrics``: a stub on both real servers (zeros but the pool)."""
        return {"uptime": 0, "requests": {"total": 0, "rate": 0},
                "messages": {"total": 0, "rate": 0},
                "database": {"poolSize": 1, "idleConnections": 1, "waitingRequests": 0},
                "memory": {"rss": 0, "heapTotal": 0, "heapUsed": 0, "external": 0,
                           "arrayBuffers": 0},
                "cpu": {"user": 0, "system": 0}}

    def prometheus(self, uptime: float) -> str:
        """``GET /metrics/prometheus`` (0.15): the 56 families the real server sends, in
        its order; per-queue families get one sample per queue (and label value)."""
        lines: List[str] = []
        names = [q.name for q in self.sorted_queues()]
        depth: Dict[str, int] = {}
        for e in self.b.dlq:
            depth[e.partition.queue.name] = depth.get(e.partition.queue.name, 0) + 1
        values = {"queen_uptime_seconds": int(uptime),
                  "queen_maintenance_mode_enabled": int(bool(self.b.maintenance)),
                  "queen_file_buffer_pending": len(self.b.buffered),
                  "queen_file_buffer_db_healthy": 1, "queen_dlq_depth": len(self.b.dlq)}
        for name, kind, labels in PROMETHEUS_FAMILIES:
            lines.append(f"# HELP {name} {name.replace('queen_', '').replace('_', ' ')}.")
            lines.append(f"# TYPE {name} {kind}")
            if name == "queen_uptime_seconds":
                lines[-2] = "# HELP queen_uptime_seconds Seconds since the queen process started."
            if labels is None:
                lines.append(f"{name} {values.get(name, 0)}")
            elif name == "queen_dlq_depth_by_queue":
                lines.extend(f'{name}{{queue="{q}"}} {n}' for q, n in sorted(depth.items()))
            elif labels == "queue":
                for q in names:
                    extra = [""]
                    if name == "queen_queue_pop_lag_milliseconds":
                        extra = [',stat="avg"', ',stat="max"']
                    elif name == "queen_queue_ack_per_minute":
                        extra = [',result="success"', ',result="failed"']
                    lines.extend(f'{name}{{queue="{q}"{e}}} 0' for e in extra)
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------ consumer groups

    def _unread(self, p: Any, st: Any) -> Tuple[int, Optional[Any]]:
        i = p.after(st.cursor)
        return len(p.messages) - i, (p.messages[i] if i < len(p.messages) else None)

    def group_list(self, now: float) -> List[Dict[str, Any]]:
        rows: Dict[Tuple[str, str], Dict[str, Any]] = {}
        for q in self.sorted_queues():
            for p in q.partitions.values():
                for g, st in p.states.items():
                    row = rows.get((g, q.name))
                    if row is None:
                        sub = self.b.subscriptions.get((g, q.name, p.name)) or next(
                            (s for (sg, sq, _), s in self.b.subscriptions.items()
                             if sg == g and sq == q.name), None)
                        named = g != QUEUE_MODE and self.named_subscriptions
                        row = rows[(g, q.name)] = {
                            "name": g, "queueName": q.name, "topics": [q.name], "members": 1,
                            "state": "Stable", "totalLag": 0, "maxTimeLag": 0,
                            "subscriptionMode": (sub.mode if sub else "all") if named else None,
                            "subscriptionTimestamp": self.ts(
                                sub.start if sub and sub.start else 0.0) if named else None,
                            "subscriptionCreatedAt": self.ts(
                                sub.created if sub else p.created) if named else None,
                            "_lagging": 0}
                    lag, oldest = self._unread(p, st)
                    row["totalLag"] += lag
                    if oldest is not None:
                        row["_lagging"] += 1
                        row["maxTimeLag"] = max(row["maxTimeLag"], int(now - oldest.created))
        out = []
        for _key, row in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            self.group_row_extra(row, row.pop("_lagging"))
            out.append(row)
        return out

    def group_row_extra(self, row: Dict[str, Any], lagging_partitions: int) -> None:
        """How one generation reports a group row's lag."""

    def lagging(self, min_lag: int, now: float) -> Optional[List[Dict[str, Any]]]:
        rows = []
        for q in self.sorted_queues():
            for p in q.partitions.values():
                for g, st in p.states.items():
                    lag, oldest = self._unread(p, st)
                    if oldest is None:
                        continue
                    seconds = int(now - oldest.created)
                    if seconds <= min_lag:
                        continue
                    rows.append({"consumer_group": g, "queue_name": q.name,
                                 "partition_name": p.name, "partition_id": p.id,
                                 "worker_id": st.lease_id if st.leased(now) else None,
                                 "offset_lag": lag, "time_lag_seconds": seconds,
                                 "lag_hours": round(seconds / 3600, 2),
                                 "oldest_unconsumed_at": self.ts(oldest.created),
                                 "last_consumed_at": self.ts(st.last_consumed_at)})
        rows.sort(key=lambda r: (-r["time_lag_seconds"], r["queue_name"], r["partition_name"]))
        if not rows and self.empty_as_null:
            return None
        return rows

    def group_detail(self, group: str, now: float) -> Optional[Dict[str, Any]]:
        out: Dict[str, Any] = {}
        for q in self.b.queues.values():
            rows = []
            for p in q.partitions.values():
                st = p.states.get(group)
                if st is None:
                    continue
                lag, oldest = self._unread(p, st)
                leased = st.leased(now)
                rows.append({"partition": p.name, "totalConsumed": st.total_consumed,
                             "lastConsumedAt": self.ts(st.last_consumed_at),
                             "leaseActive": leased, "offsetLag": lag,
                             "timeLagSeconds": int(now - oldest.created) if oldest else 0,
                             "workerId": st.lease_id if leased else None})
            if rows:
                out[q.name] = {"partitions": rows}
        if not out and self.empty_as_null:
            return None
        return out

    def seek_partition(self, group: str, queue: str, partition: str, now: float
                       ) -> Dict[str, Any]:
        q = self.b.queues.get(queue)
        p = q.partitions.get(partition) if q is not None else None
        if p is None:
            return {"success": False, "error": "Partition not found"}
        updated = self.b.seek_partition(group, queue, partition) > 0
        if updated:  # 0.15.1 stamps the moved cursor as consumed now
            p.states[group].last_consumed_at = now
        moved = p.messages[-1].created if p.messages else now
        return {"success": True, "consumerGroup": group, "queueName": queue,
                "partitionName": partition, "updated": updated, "cursorMovedTo": iso(moved)}

    def pg_time(self, text: Any, now: float) -> Optional[float]:
        """A timestamp as PostgreSQL casts it: ISO/Postgres text or a special literal."""
        if not isinstance(text, str):
            return None
        day = now - now % 86400
        special = {"now": now, "today": day, "yesterday": day - 86400,
                   "tomorrow": day + 86400, "epoch": 0.0}
        if text.strip().lower() in special:
            return special[text.strip().lower()]
        parsed: Optional[float] = parse_ts(text)
        return parsed

    # ------------------------------------------------------------ system

    def shared_state(self, port: int) -> Dict[str, Any]:
        return {"enabled": False, "running": False, "maintenance_mode": bool(self.b.maintenance),
                "pop_maintenance_mode": bool(self.b.pop_maintenance),
                "queue_config_cache": {"hit_rate": 1.0, "hits": 0, "misses": 0,
                                       "size": len(self.b.queues)},
                "server_health": dict.fromkeys((
                    "heartbeats_received", "restarts_detected", "servers_alive", "servers_dead",
                    "servers_tracked"), 0),
                "server_id": f"localhost:{port}"}

    def maintenance(self) -> Dict[str, Any]:
        n = len(self.b.buffered)
        out: Dict[str, Any] = {
            "maintenanceMode": bool(self.b.maintenance), "bufferedMessages": n,
            "bufferHealthy": True,
            "bufferStats": {"dbHealthy": True, "failedCount": 0, "pendingCount": n,
                            "failedFiles": {"count": 0, "failoverCount": 0, "qos0Count": 0,
                                            "totalBytes": 0, "totalMB": 0.0}}}
        self.maintenance_extra(out)
        return out

    def maintenance_extra(self, out: Dict[str, Any]) -> None:
        """What one generation adds to the maintenance status."""

    def maintenance_set(self, enabled: bool, buffered_before: int) -> Dict[str, Any]:
        text = ("Maintenance mode ENABLED. All PUSHes routing to file buffer." if enabled else
                "Maintenance mode DISABLED. Background processor will drain buffer to DB.")
        return {"maintenanceMode": enabled, "bufferedMessages": buffered_before,
                "bufferHealthy": True, "message": text}

    def pop_maintenance(self, changed: Optional[bool] = None) -> Dict[str, Any]:
        on = bool(self.b.pop_maintenance)
        if changed is None:
            text = ("Pop maintenance mode is ON. All POP operations return empty arrays." if on
                    else "Pop maintenance mode is OFF. Normal operation.")
        elif changed:
            text = "Pop maintenance mode ENABLED. All POP operations will return empty arrays."
        else:
            text = "Pop maintenance mode DISABLED. Normal operation resumed."
        return {"popMaintenanceMode": on, "message": text}

    # ------------------------------------------------------------ the shapes that differ
    # (filled in by admin07.Views07 and admin15.Views15)

    def status_queue_row(self, row: Dict[str, Any], q: Any, tot: Dict[str, int]) -> None:
        """A queue's counters in status/queues."""
        raise NotImplementedError

    def status_partition(self, row: Dict[str, Any], p: Any, stats: Dict[str, int],
                         last: Optional[float]) -> None:
        """A partition row of a queue's status view."""
        raise NotImplementedError

    def status_totals(self, out: Dict[str, Any], tot: Dict[str, int], consumed: int) -> None:
        """The totals of a queue's status view."""
        raise NotImplementedError

    def queue_messages_reply(self, q: Any, rows: List[Tuple[Any, Any, Any, str]],
                             query: Dict[str, Optional[str]], limit: int, offset: int,
                             now: float) -> Any:
        """``status/queues/{q}/messages`` from the sorted (key, partition, message,
        status) rows."""
        raise NotImplementedError

    def analytics_reply(self, chosen: List[Any], msgs: List[Any], interval: str, span: int,
                        rng: Dict[str, Any], now: float) -> Dict[str, Any]:
        """``status/analytics``: the two generations answer entirely different shapes."""
        raise NotImplementedError

    def system_metrics_extra(self, metrics: Dict[str, Any]) -> None:
        """The metric groups one generation adds to a system-metrics point."""
        raise NotImplementedError


__all__ = ["AdminViews", "uuid_error"]
