"""``queen.admin``: the administrative and observability API under upstream 2.6.0's
method names (``get_overview``, ``list_queues``, ``seek_consumer_group`` ...), so code
written for upstream's ``Admin`` runs unchanged, on both server generations.

Every call goes through the client's seam (``Host.send``) with a request built by
``wire.admin``; bad arguments raise ``QueenValidationError`` before anything is sent.
Differences from upstream, all deliberate (docs/admin.md lists them per method):

* results are normalised across 0.7 and 0.15 (see ``wire/admin.py``) and typed
  (``queen.admin_types``); "not found" is ``None``, other server errors raise
  ``QueenHTTPError`` instead of coming back as ``{"error": ...}`` dicts;
* a route the server lacks raises ``QueenServerFeatureError`` (also a
  ``NotImplementedError`` for the routes no generation has), or is emulated from
  routes that exist: ``get_queue_depth``, ``get_partitions``;
* ``metrics()`` returns the JSON the server sends (as upstream's does in practice);
  ``metrics_text()`` is the Prometheus text; maintenance switches are here too.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, cast

from . import log
from .admin_types import (
    ConsumerGroupSummary,
    DeleteMessageResult,
    GroupQueue,
    GroupQueueDeleted,
    HealthInfo,
    LaggingPartition,
    MaintenanceStatus,
    MessageCounts,
    MessageDetail,
    MessageList,
    MessageTraces,
    MetricsInfo,
    NamespaceList,
    Overview,
    PartitionInfo,
    PartitionList,
    QueueDepth,
    QueueInfo,
    QueueList,
    QueueStatsPage,
    RefreshResult,
    SeekResult,
    TaskList,
    TraceNamePage,
    TracePage,
)
from .errors import QueenServerFeatureError, QueenValidationError
from .seam import Host
from .wire import GEN_07, Reply, Request
from .wire import admin as w
from .wire.base import check_name

_SEEK_KEYS = frozenset({"toEnd", "timestamp", "partition"})


class AdminFeatureError(QueenServerFeatureError, NotImplementedError):
    """A route that no supported server generation has (upstream raises
    ``NotImplementedError`` for some of them: both ``except`` clauses catch it)."""


def _unfinished(stats: MessageCounts) -> int:
    return max(0, stats.get("total", 0) - stats.get("completed", 0) - stats.get("deadLetter", 0))


class Admin:
    """Administrative calls on a running Queen: ``queen.admin.list_queues()``.

    One instance per client (``Queen.admin``); it keeps no state of its own."""

    def __init__(self, host: Host) -> None:
        self._host = host

    async def _send(self, what: str, request: Request) -> Reply:
        if log.enabled():
            log.info(f"Admin.{what}", {"method": request.method, "path": request.path})
        return await self._host.send(request)

    async def _gen(self) -> str:
        return await self._host.generation()

    # ------------------------------------------------------------ resources

    async def get_overview(self) -> Overview:
        """Server-wide counts: queues, partitions, namespaces, tasks, messages, lag."""
        reply = await self._send("get_overview", w.overview())
        return cast(Overview, w.parse_object(reply, "overview"))

    async def get_namespaces(self) -> NamespaceList:
        """``{'namespaces': [{namespace, queues, partitions, messages}]}``."""
        reply = await self._send("get_namespaces", w.namespaces())
        return cast(NamespaceList, w.parse_list_in(reply, "namespaces", "namespaces"))

    async def get_tasks(self) -> TaskList:
        """``{'tasks': [{task, queues, partitions, messages}]}``."""
        reply = await self._send("get_tasks", w.tasks())
        return cast(TaskList, w.parse_list_in(reply, "tasks", "tasks"))

    async def list_queues(self, **filters: Any) -> QueueList:
        """``{'queues': [...]}``. Accepts upstream's ``limit``, ``offset``, ``search``,
        ``namespace``, ``task`` (the servers ignore them all: every queue comes back)."""
        reply = await self._send("list_queues", w.queues(filters))
        return cast(QueueList, w.parse_list_in(reply, "queues", "queue list"))

    async def get_queue(self, name: str) -> Optional[QueueInfo]:
        """One queue with its partitions and their message counts; None if unknown."""
        reply = await self._send("get_queue", w.queue(name))
        return cast(Optional[QueueInfo], w.parse_queue(reply))

    async def get_queue_depth(self, name: str, group: Optional[str] = None) -> Optional[QueueDepth]:
        """Backlog per partition, emulated (no server has upstream's ``/depth`` route).

        Without ``group``: messages not yet completed nor dead-lettered (total -
        completed - deadLetter) from ``get_queue``, plus the server's own ``pending``
        and ``processing`` totals (0.7.5 counts as pending only partitions someone has
        consumed from; 0.15.1 counts processing messages as pending too). With ``group``: that group's offset lag per partition
        (``get_consumer_group``); partitions the group never read count in full.
        None if the queue does not exist. On 0.15 the counts come from periodic
        statistics (``refresh_consumer_stats()`` brings them up to date)."""
        if group is not None:
            check_name("consumer group", group)
        info = await self.get_queue(name)
        if info is None:
            return None
        parts: Dict[str, int] = {}
        totals: Dict[str, int] = {}
        for p in info.get("partitions", []):
            stats = p.get("stats", {})
            parts[p["name"]] = _unfinished(stats)
            if group is not None:
                parts[p["name"]] = stats.get("total", 0)
        if group is not None:
            detail = await self.get_consumer_group(group) or {}
            for r in detail.get(name, {}).get("partitions", []):
                if r.get("partition") in parts:
                    parts[r["partition"]] = r.get("offsetLag", 0)
        else:
            totals = info.get("totals", {})  # type: ignore[assignment]
        return {"queue": name, "group": group, "depth": sum(parts.values()),
                "pending": totals.get("pending", 0), "processing": totals.get("processing", 0),
                "partitions": parts}

    async def clear_queue(self, name: str, partition: Optional[str] = None) -> Dict[str, Any]:
        """Always raises: no Queen server has a route that clears a queue."""
        check_name("queue name", name)
        raise AdminFeatureError(
            "clear_queue", None,
            "no Queen server has a route that clears a queue; skip a group's backlog with "
            "seek_consumer_group(group, queue, {'toEnd': True}), or drop the queue with "
            "queen.queue(name).delete()")

    async def get_partitions(self, **filters: Any) -> PartitionList:
        """``{'partitions': [...]}``, emulated from the queue views (no server has
        ``/resources/partitions``). ``queue=`` narrows to one queue (one request);
        without it every queue is read (one request per queue). ``limit``/``offset``
        page the result."""
        unknown = set(filters) - {"queue", "limit", "offset"}
        if unknown:
            raise QueenValidationError(
                f"get_partitions takes queue, limit, offset; not {', '.join(sorted(unknown))}")
        page = w.params({k: v for k, v in filters.items() if k != "queue"},
                        frozenset({"limit", "offset"}), "get_partitions")
        names: List[str]
        if filters.get("queue") is not None:
            names = [check_name("queue name", filters["queue"])]
        else:
            names = [q["name"] for q in (await self.list_queues()).get("queues", [])]
        rows: List[PartitionInfo] = []
        for qname in names:
            info = await self.get_queue(qname)
            for p in (info or {}).get("partitions", []):
                rows.append(cast(PartitionInfo, {"queue": qname, **p}))
        opts = dict(page)
        offset = opts.get("offset", 0)
        limit = opts.get("limit")
        return {"partitions": rows[offset:None if limit is None else offset + limit]}

    # ------------------------------------------------------------ messages

    async def list_messages(self, **filters: Any) -> MessageList:
        """Messages (without payloads), newest first: ``queue``, ``partition``, ``ns``
        (or ``namespace``), ``task``, ``status`` (pending, processing, completed,
        failed, dead_letter), ``from``/``from_``, ``to``, ``limit`` (200), ``offset``."""
        reply = await self._send("list_messages", w.messages(filters))
        return cast(MessageList, w.parse_messages(reply))

    async def get_message(self, partition_id: str, transaction_id: str) -> Optional[MessageDetail]:
        """One message with its payload and status; None if there is no such message."""
        reply = await self._send("get_message", w.message(partition_id, transaction_id))
        return cast(Optional[MessageDetail], w.parse_message(reply))

    async def delete_message(self, partition_id: str, transaction_id: str) -> DeleteMessageResult:
        """Delete one message. ``success`` is False when it was not there (0.7 says
        "deleted" regardless: the client asks first there)."""
        req = w.delete_message(partition_id, transaction_id)
        if await self._gen() == GEN_07 and await self.get_message(
                partition_id, transaction_id) is None:
            return {"success": False, "message": "Message not found",
                    "partitionId": partition_id, "transactionId": transaction_id}
        reply = await self._send("delete_message", req)
        return cast(DeleteMessageResult,
                    w.parse_delete_message(reply, partition_id, transaction_id))

    async def retry_message(self, partition_id: str, transaction_id: str) -> Dict[str, Any]:
        """Always raises: no Queen server has the message retry route."""
        w.message(partition_id, transaction_id)  # argument checks
        raise AdminFeatureError(
            "retry_message", None,
            "no Queen server registers POST /api/v1/messages/:p/:t/retry; a failed message "
            "is redelivered by the server itself (retryLimit), a dead letter can be pushed "
            "again with queen.queue(name).push(...)")

    async def move_message_to_dlq(self, partition_id: str, transaction_id: str) -> Dict[str, Any]:
        """Always raises: no server dead-letters a message by its address."""
        w.message(partition_id, transaction_id)
        raise AdminFeatureError(
            "move_message_to_dlq", None,
            "no Queen server moves a message to the DLQ by its address; pop it and ack it "
            "with status 'dlq' (0.15) or 'failed' past its retryLimit while holding the lease")

    # ------------------------------------------------------------ traces

    async def get_traces_by_name(self, trace_name: str, **filters: Any) -> TracePage:
        """``{'traces', 'total', 'count', 'limit', 'offset'}`` (``limit`` 100)."""
        gen = await self._gen()
        reply = await self._send("get_traces_by_name", w.traces_by_name(trace_name, filters, gen))
        return cast(TracePage, w.parse_trace_page(reply, "traces", filters, 100))

    async def get_trace_names(self, **filters: Any) -> TraceNamePage:
        """``{'trace_names', 'total', 'count', 'limit', 'offset'}`` (``limit`` 50)."""
        gen = await self._gen()
        reply = await self._send("get_trace_names", w.trace_names(filters, gen))
        return cast(TraceNamePage, w.parse_trace_page(reply, "trace_names", filters, 50))

    async def get_traces_for_message(self, partition_id: str, transaction_id: str) -> MessageTraces:
        """``{'traces', 'count'}``: every trace event recorded on one message."""
        reply = await self._send("get_traces_for_message",
                                 w.traces_of(partition_id, transaction_id))
        return cast(MessageTraces, w.parse_message_traces(reply))

    # ------------------------------------------------------------ status / analytics

    async def get_status(self, **filters: Any) -> Dict[str, Any]:
        """The dashboard: ``queue``, ``namespace``, ``task``, ``from``, ``to``. On 0.15
        the filters do not narrow the ``messages`` totals (server-wide)."""
        reply = await self._send("get_status", w.status(filters))
        return w.parse_object(reply, "status")

    async def get_queue_stats(self, **filters: Any) -> QueueStatsPage:
        """Queues with message counts: ``namespace``, ``task``, ``from``, ``to``,
        ``limit`` (100), ``offset``."""
        reply = await self._send("get_queue_stats", w.queue_stats(filters))
        return cast(QueueStatsPage, w.parse_queue_stats(reply))

    async def get_queue_detail(self, name: str, **filters: Any) -> Optional[Dict[str, Any]]:
        """One queue's configuration, partitions, cursors and totals; None if unknown."""
        reply = await self._send("get_queue_detail", w.queue_detail(name, filters))
        return w.parse_queue_detail(reply)

    async def get_analytics(self, **filters: Any) -> Dict[str, Any]:
        """Time series: ``queue``, ``namespace``, ``task``, ``from``, ``to``,
        ``interval``. The shapes differ by generation (docs/admin.md)."""
        reply = await self._send("get_analytics", w.analytics(filters))
        return w.parse_object(reply, "analytics")

    async def get_system_metrics(self, **filters: Any) -> Dict[str, Any]:
        """Per-replica CPU/memory/pool series: ``from``, ``to``, ``hostname``, ``workerId``."""
        reply = await self._send("get_system_metrics", w.system_metrics(filters))
        return w.parse_object(reply, "system metrics", await self._gen())

    async def get_worker_metrics(self, **filters: Any) -> Dict[str, Any]:
        """Per-worker push/pop/ack series (0.15 only): ``from``, ``to``, ``hostname``,
        ``workerId``."""
        reply = await self._send("get_worker_metrics", w.worker_metrics(filters))
        return w.parse_object(reply, "worker metrics (/api/v1/analytics/worker-metrics)",
                              await self._gen())

    # ------------------------------------------------------------ consumer groups

    async def list_consumer_groups(self) -> List[ConsumerGroupSummary]:
        """One row per (group, queue), queue-mode consumers as ``__QUEUE_MODE__``."""
        reply = await self._send("list_consumer_groups", w.consumer_groups())
        return cast(List[ConsumerGroupSummary], w.parse_groups(reply))

    async def refresh_consumer_stats(self) -> RefreshResult:
        """Recompute 0.15's periodic statistics now (every dashboard view, not only the
        consumer ones). 0.7 computes its views live: ``{'refreshed': False}``."""
        if await self._gen() == GEN_07:
            return {"refreshed": False}
        reply = await self._send("refresh_consumer_stats", w.stats_refresh())
        out = cast(RefreshResult, w.parse_object(reply, "stats refresh", await self._gen()))
        out["refreshed"] = True
        return out

    async def get_consumer_group(self, name: str) -> Optional[Dict[str, GroupQueue]]:
        """``{queue: {'partitions': [...]}}`` for each queue the group reads; None if
        the group has no position anywhere."""
        reply = await self._send("get_consumer_group", w.consumer_group(name))
        return cast(Optional[Dict[str, GroupQueue]], w.parse_group(reply))

    async def get_lagging_consumers(self, min_lag_seconds: int = 60) -> List[LaggingPartition]:
        """Partitions whose oldest unconsumed message is older than ``min_lag_seconds``
        (``[]`` when none, on both generations)."""
        reply = await self._send("get_lagging_consumers", w.lagging(min_lag_seconds))
        return cast(List[LaggingPartition], w.parse_lagging(reply))

    async def delete_consumer_group_for_queue(
        self, consumer_group: str, queue_name: str, delete_metadata: bool = True
    ) -> GroupQueueDeleted:
        """Forget the group's positions on one queue (0.15; on 0.7 use
        ``queen.delete_consumer_group``, which covers every queue)."""
        req = w.delete_group_for_queue(consumer_group, queue_name, delete_metadata)
        gen = await self._gen()
        if gen == GEN_07:
            raise QueenServerFeatureError(
                "deleting a consumer group for one queue", gen,
                "queen.delete_consumer_group(group) removes the group from every queue")
        reply = await self._send("delete_consumer_group_for_queue", req)
        return cast(GroupQueueDeleted, w.parse_object(reply, "consumer group delete", gen))

    async def seek_consumer_group(
        self, consumer_group: str, queue_name: str,
        options: Optional[Mapping[str, Any]] = None,
    ) -> SeekResult:
        """Move a group's position on a queue (0.15): ``{'toEnd': True}`` skips the
        backlog of every partition the group has read; ``{'timestamp': t}`` (datetime
        or text, PostgreSQL literals too) replays from that time; ``{'partition': p}``
        moves one partition to its end (``toEnd`` implied)."""
        opts = dict(options or {})
        unknown = set(opts) - _SEEK_KEYS
        if unknown:
            raise QueenValidationError(
                f"seek options are toEnd, timestamp and partition; not {', '.join(sorted(unknown))}")
        to_end = opts.get("toEnd", False)
        if not isinstance(to_end, bool):
            raise QueenValidationError(f"seek option toEnd must be True or False, got {to_end!r}")
        ts = opts.get("timestamp")
        text = None if ts is None else w.time_text(ts, "seek timestamp")
        partition = opts.get("partition")
        if partition is not None:
            if text is not None:
                raise QueenValidationError(
                    "a partition seek moves to the end only: drop the timestamp")
            req = w.seek_partition(consumer_group, queue_name, partition)
        else:
            req = w.seek(consumer_group, queue_name, to_end, text)
        gen = await self._gen()
        if gen == GEN_07:
            raise QueenServerFeatureError(
                "consumer group seek", gen,
                "0.7 can only move a group's subscription time for partitions it has not "
                "read: queen.update_consumer_group_timestamp(group, timestamp)")
        reply = await self._send("seek_consumer_group", req)
        return cast(SeekResult, w.parse_seek(reply, gen, partition))

    # ------------------------------------------------------------ system

    async def health(self) -> HealthInfo:
        """``GET /health``: status, database, server, version (+ 0.15's shared state)."""
        reply = await self._send("health", Request("GET", "/health"))
        return cast(HealthInfo, w.parse_object(reply, "health"))

    async def metrics(self) -> MetricsInfo:
        """``GET /metrics``: the JSON the servers send (mostly a stub on both: zeros
        except the database pool)."""
        reply = await self._send("metrics", w.metrics())
        return cast(MetricsInfo, w.parse_object(reply, "metrics"))

    async def metrics_text(self) -> str:
        """The Prometheus exposition text (``/metrics/prometheus``, 0.15 only)."""
        reply = await self._send("metrics_text", w.prometheus())
        return w.parse_prometheus(reply, await self._gen())

    async def get_maintenance_mode(self) -> MaintenanceStatus:
        """Whether pushes go to the server's file buffer, and how many wait there."""
        reply = await self._send("get_maintenance_mode", w.maintenance(pop=False))
        return cast(MaintenanceStatus, w.parse_object(reply, "maintenance mode"))

    async def set_maintenance_mode(self, enabled: bool) -> MaintenanceStatus:
        """Push maintenance on/off: while on, pushes answer ``buffered`` and are stored
        when it is switched off again."""
        reply = await self._send("set_maintenance_mode", w.set_maintenance(enabled, pop=False))
        return cast(MaintenanceStatus, w.parse_object(reply, "maintenance mode"))

    async def get_pop_maintenance_mode(self) -> MaintenanceStatus:
        """Whether pops are paused (0.15 only)."""
        reply = await self._send("get_pop_maintenance_mode", w.maintenance(pop=True))
        return cast(MaintenanceStatus, w.parse_object(
            reply, "pop maintenance mode", await self._gen()))

    async def set_pop_maintenance_mode(self, enabled: bool) -> MaintenanceStatus:
        """Pop maintenance on/off (0.15 only): while on, every pop answers empty."""
        reply = await self._send("set_pop_maintenance_mode", w.set_maintenance(enabled, pop=True))
        return cast(MaintenanceStatus, w.parse_object(
            reply, "pop maintenance mode", await self._gen()))


__all__ = ["Admin", "AdminFeatureError"]
