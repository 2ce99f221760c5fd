"""Admin and read routes of the embedded server: resources, status, analytics,
messages, consumer groups, trace reads, health, metrics and maintenance.

``register(app, server)`` adds them to an app made by ``app.make_app``. The answers
come from the generation's admin views (``server.rules.admin_views``: ``admin07`` /
``admin15`` over the neutral ``admin_views``), faithful to the recorded admin
conversations of real 0.7.5 and 0.15.1 servers (``admin.json``); routes a generation
lacks (``Rules.features``) are simply not added (404 page).
"""

from __future__ import annotations

import time
from typing import Any, Dict, Optional

from aiohttp import web

from .app import _INT_RE, CORS, V1, BadRequest, Handler, QueenServer, q_int, q_str, s_int
from .model import Trace, is_uuid, iso_ms, parse_ts
from .rules import (
    GROUP_SEEK,
    POP_MAINTENANCE,
    PROMETHEUS,
    QUEUE_ANALYTICS,
    SHARED_STATE,
    STATS_REFRESH,
)

_FILTERS = ("queue", "namespace", "task", "from", "to", "interval", "partition", "status")


class Admin:
    """Handlers bound to one server (its broker, rules and admin views)."""

    def __init__(self, server: QueenServer) -> None:
        self.server = server
        self.b = server.b
        self.rules = server.rules
        self.json = server.json
        self.views = server.rules.admin_views(server.b)

    def _filters(self, request: web.Request) -> Dict[str, Optional[str]]:
        return {k: q_str(request, k) for k in _FILTERS}

    def filtered(self, view: str) -> Handler:
        """A route answering ``views.<view>(filters, now)``."""
        async def handler(request: web.Request) -> web.Response:
            return self.json(getattr(self.views, view)(self._filters(request), self.b.now()))
        return handler

    def plain(self, view: str) -> Handler:
        """A route answering ``views.<view>(now)``."""
        async def handler(request: web.Request) -> web.Response:
            return self.json(getattr(self.views, view)(self.b.now()))
        return handler

    @staticmethod
    def _port(request: web.Request) -> int:
        return request.url.port or 0

    # ---- resources / status

    async def delete_queue(self, request: web.Request) -> web.Response:
        name = request.match_info["queue"]
        existed = self.b.delete_queue(name)
        return self.json({"deleted": True, "queue": name, "existed": existed})

    async def queue_detail(self, request: web.Request) -> web.Response:
        q = self.b.queues.get(request.match_info["queue"])
        if q is None:
            return self.json({"error": "Queue not found"})
        return self.json(self.views.queue_detail(q, self.b.now()))

    async def queue_status(self, request: web.Request) -> web.Response:
        q = self.b.queues.get(request.match_info["queue"])
        if q is None:
            return self.json({"error": "Queue not found"})
        return self.json(self.views.queue_status(q, self.b.now()))

    async def queue_messages(self, request: web.Request) -> web.Response:
        q = self.b.queues.get(request.match_info["queue"])
        if q is None:
            return self.json({"error": "Queue not found"})
        return self.json(self.views.queue_messages(
            q, self._filters(request), q_int(request, "limit", 50), q_int(request, "offset", 0),
            self.b.now()))

    async def status_queues(self, request: web.Request) -> web.Response:
        return self.json(self.views.status_queues(
            self._filters(request), q_int(request, "limit", 100), q_int(request, "offset", 0),
            self.b.now()))

    async def namespaces(self, request: web.Request) -> web.Response:
        key = "task" if request.path.endswith("/tasks") else "namespace"
        return self.json(self.views.groupings(key, self.b.now()))

    async def stats_refresh(self, request: web.Request) -> web.Response:
        return self.json(self.views.refresh())

    async def buffers(self, request: web.Request) -> web.Response:
        return self.json(self.views.buffers())

    async def system_metrics(self, request: web.Request) -> web.Response:
        return self.json(self.views.system_metrics(self._filters(request), self.b.now(),
                                                   self._port(request)))

    async def shared_state(self, request: web.Request) -> web.Response:
        return self.json(self.views.shared_state(self._port(request)))

    async def postgres_stats(self, request: web.Request) -> web.Response:
        return self.json(self.views.postgres_stats(self.b.now()))

    # ---- messages

    async def message_get(self, request: web.Request) -> web.Response:
        pid = request.match_info["pid"]
        if not is_uuid(pid):
            return self.json(self.views.bad_uuid(pid))
        p, m = self.b.find(pid, request.match_info["tid"])
        if p is None or m is None:
            return self.json({"error": "Message not found"})
        return self.json(self.views.message_detail(p, m, self.b.now()))

    async def message_delete(self, request: web.Request) -> web.Response:
        pid, tid = request.match_info["pid"], request.match_info["tid"]
        ok = self.b.delete_message(pid, tid)
        return self.json(self.views.message_deleted(ok, pid, tid))

    async def message_list(self, request: web.Request) -> web.Response:
        query = {k: q_str(request, k) for k in ("queue", "partition", "ns", "task", "status",
                                                 "from", "to")}
        return self.json(self.views.message_list(query, q_int(request, "limit", 200),
                                                  q_int(request, "offset", 0), self.b.now()))

    # ---- consumer groups

    async def group_delete(self, request: web.Request) -> web.Response:
        group = request.match_info["group"]
        queue = request.match_info.get("queue")
        meta = request.query.get("deleteMetadata", "true") in ("true", "1")
        n = self.b.delete_group(group, meta, queue)
        out: Dict[str, Any] = {"success": True, "consumerGroup": group, "metadataDeleted": meta}
        self.rules.group_deleted(out, n, queue)
        return self.json(out)

    async def group_subscription(self, request: web.Request) -> web.Response:
        group = request.match_info["group"]
        body = await self.server.body(request)
        ts_text = body.get("subscriptionTimestamp") if isinstance(body, dict) else None
        if not ts_text:
            raise BadRequest("Missing subscriptionTimestamp in request body")
        ts = parse_ts(ts_text)
        if ts is None:
            return self.json(self.rules.subscription_error(
                f'invalid input syntax for type timestamp with time zone: "{ts_text}"'))
        n = self.b.update_subscription(group, ts)
        return self.json(self.rules.subscription_updated(group, ts_text, n))

    async def group_seek(self, request: web.Request) -> web.Response:
        group, queue = request.match_info["group"], request.match_info["queue"]
        body = await self.server.body(request)
        to_end = isinstance(body, dict) and body.get("toEnd") is True
        ts_text = body.get("timestamp") if isinstance(body, dict) else None
        if not to_end and not ts_text:
            raise BadRequest("Must specify either 'toEnd': true or 'timestamp'")
        ts = None if to_end else self.views.pg_time(ts_text, self.b.now())
        if not to_end and ts is None:  # PostgreSQL could not cast it (200 on 0.15)
            return self.json({"success": False, "error": (
                f'ERROR:  invalid input syntax for type timestamp with time zone: "{ts_text}"\n'
                "CONTEXT:  unnamed portal parameter $3 = '...'\n")})
        n = self.b.seek(group, queue, to_end, ts)
        return self.json({"success": True, "consumerGroup": group, "queueName": queue,
                          "seekToEnd": to_end, "targetTimestamp": iso_ms(ts),
                          "partitionsUpdated": n})

    async def group_seek_partition(self, request: web.Request) -> web.Response:
        mi = request.match_info
        return self.json(self.views.seek_partition(mi["group"], mi["queue"], mi["partition"],
                                                   self.b.now()))

    async def group_detail(self, request: web.Request) -> web.Response:
        return self.json(self.views.group_detail(request.match_info["group"], self.b.now()))

    async def lagging(self, request: web.Request) -> web.Response:
        raw = request.query.get("minLagSeconds")
        if raw is not None and not _INT_RE.match(raw):  # std::stoi threw
            return self.json({"error": "stoi"}, self.views.stoi_status)
        return self.json(self.views.lagging(s_int(raw, 3600), self.b.now()))

    # ---- trace reads

    def _trace_row(self, t: Trace, full: bool) -> Dict[str, Any]:
        row = {"id": t.id, "event_type": t.event_type, "data": t.data,
               "consumer_group": t.group, "worker_id": "0", "created_at": self.rules.ts(t.created),
               "trace_names": list(t.names)}
        if full:
            row.update({"transaction_id": t.message.txid, "partition_id": t.partition.id,
                        "queue_name": t.partition.queue.name, "partition_name": t.partition.name,
                        "message_payload": t.message.data})
        return row

    def _full_row(self, t: Trace) -> Dict[str, Any]:
        return self._trace_row(t, True)

    async def traces_of(self, request: web.Request) -> web.Response:
        rows = [self._trace_row(t, False) for t in self.b.traces_of(
            request.match_info["pid"], request.match_info["tid"])]
        return self.json(self.rules.traces_of_reply(rows))

    async def traces_by_name(self, request: web.Request) -> web.Response:
        limit, offset = q_int(request, "limit", 100), q_int(request, "offset", 0)
        return self.json(self.rules.traces_by_name_reply(
            self.b.traces_named(request.match_info["name"]), limit, offset, self._full_row))

    async def trace_names(self, request: web.Request) -> web.Response:
        limit, offset = q_int(request, "limit", 50), q_int(request, "offset", 0)
        rows = self.b.trace_names()
        for r in rows:
            r["last_seen"] = self.rules.ts(r["last_seen"])
        return self.json(self.rules.trace_names_reply(rows, limit, offset))

    # ---- health / metrics / maintenance

    async def health(self, request: web.Request) -> web.Response:
        return self.json(self.views.health(self._port(request)))

    async def metrics(self, request: web.Request) -> web.Response:
        return self.json(self.views.metrics())

    async def prometheus(self, request: web.Request) -> web.Response:
        return web.Response(text=self.views.prometheus(time.time() - self.server.started),
                            content_type="text/plain", charset="utf-8", headers=CORS)

    async def maintenance_get(self, request: web.Request) -> web.Response:
        return self.json(self.views.maintenance())

    async def maintenance_set(self, request: web.Request) -> web.Response:
        body = await self.server.body(request)
        if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
            raise BadRequest("enabled (boolean) is required")
        enabled: bool = body["enabled"]
        if request.path.endswith("/pop"):
            self.b.pop_maintenance = enabled
            return self.json(self.views.pop_maintenance(enabled))
        before = len(self.b.buffered)
        self.b.set_maintenance(enabled)
        return self.json(self.views.maintenance_set(enabled, before))

    async def maintenance_pop_get(self, request: web.Request) -> web.Response:
        return self.json(self.views.pop_maintenance())


def register(app: web.Application, server: QueenServer) -> Admin:
    """Add the admin and read routes the server's generation has; returns the handlers."""
    a = Admin(server)
    features = server.rules.features
    r = app.router

    def get(path: str, handler: Any) -> None:
        r.add_get(path, handler, allow_head=False)

    r.add_delete(V1 + "/resources/queues/{queue}", a.delete_queue)
    get(V1 + "/resources/queues", a.plain("queue_list"))
    get(V1 + "/resources/queues/{queue}", a.queue_detail)
    get(V1 + "/resources/overview", a.plain("overview"))
    get(V1 + "/resources/namespaces", a.namespaces)
    get(V1 + "/resources/tasks", a.namespaces)
    get(V1 + "/status", a.filtered("status"))
    get(V1 + "/status/queues", a.status_queues)
    get(V1 + "/status/queues/{queue}", a.queue_status)
    get(V1 + "/status/queues/{queue}/messages", a.queue_messages)
    get(V1 + "/status/analytics", a.filtered("analytics"))
    get(V1 + "/status/buffers", a.buffers)
    get(V1 + "/analytics/system-metrics", a.system_metrics)
    if STATS_REFRESH in features:
        r.add_post(V1 + "/stats/refresh", a.stats_refresh)
    if QUEUE_ANALYTICS in features:
        get(V1 + "/analytics/worker-metrics", a.filtered("worker_metrics"))
        get(V1 + "/analytics/queue-lag", a.filtered("queue_lag"))
        get(V1 + "/analytics/queue-ops", a.filtered("queue_ops"))
        get(V1 + "/analytics/queue-parked-replicas", a.filtered("parked_replicas"))
        get(V1 + "/analytics/retention", a.filtered("retention"))
        get(V1 + "/analytics/postgres-stats", a.postgres_stats)
    if SHARED_STATE in features:
        get(V1 + "/system/shared-state", a.shared_state)
    get(V1 + "/consumer-groups", a.plain("group_list"))
    get(V1 + "/consumer-groups/lagging", a.lagging)
    get(V1 + "/consumer-groups/{group}", a.group_detail)
    r.add_delete(V1 + "/consumer-groups/{group}", a.group_delete)
    r.add_post(V1 + "/consumer-groups/{group}/subscription", a.group_subscription)
    if GROUP_SEEK in features:
        r.add_delete(V1 + "/consumer-groups/{group}/queues/{queue}", a.group_delete)
        r.add_post(V1 + "/consumer-groups/{group}/queues/{queue}/seek", a.group_seek)
        r.add_post(V1 + "/consumer-groups/{group}/queues/{queue}/partitions/{partition}/seek",
                   a.group_seek_partition)
    get(V1 + "/traces/names", a.trace_names)
    get(V1 + "/traces/by-name/{name}", a.traces_by_name)
    get(V1 + "/traces/{pid}/{tid}", a.traces_of)
    get(V1 + "/messages", a.message_list)
    get(V1 + "/messages/{pid}/{tid}", a.message_get)
    r.add_delete(V1 + "/messages/{pid}/{tid}", a.message_delete)
    get("/health", a.health)
    get("/metrics", a.metrics)
    get(V1 + "/system/maintenance", a.maintenance_get)
    r.add_post(V1 + "/system/maintenance", a.maintenance_set)
    if PROMETHEUS in features:
        get("/metrics/prometheus", a.prometheus)
    if POP_MAINTENANCE in features:
        get(V1 + "/system/maintenance/pop", a.maintenance_pop_get)
        r.add_post(V1 + "/system/maintenance/pop", a.maintenance_set)
    return a
