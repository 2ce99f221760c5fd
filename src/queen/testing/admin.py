"""Admin and read routes of the embedded server: resources, status, messages,
consumer groups, trace reads, health, metrics and maintenance.

``register(app, server)`` adds them to an app made by ``app.make_app``; the reply
shapes that differ between generations come from ``server.rules`` and routes a
generation lacks (``Rules.features``) are simply not added (404 page).
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

from aiohttp import web

from .app import CORS, V1, BadRequest, QueenServer, q_int, q_str
from .model import QUEUE_MODE, Message, Partition, Queue, Trace, iso_ms, parse_ts
from .rules import GROUP_SEEK, POP_MAINTENANCE, PROMETHEUS, consumed_by

_STAT_KEYS = ("total", "pending", "processing", "completed", "failed", "deadLetter")


class Admin:
    """Handlers bound to one server (its broker and rules)."""

    def __init__(self, server: QueenServer) -> None:
        self.server = server
        self.b = server.b
        self.rules = server.rules
        self.json = server.json

    # ---- queue statistics

    def _stats(self, p: Partition, now: float) -> Dict[str, int]:
        st = p.states.get(QUEUE_MODE)
        dead = {e.message.id for e in self.b.dlq if e.partition is p and e.group == QUEUE_MODE}
        completed = processing = 0
        for m in p.messages:
            if m.id in dead:
                continue
            if st is not None and st.cursor >= m.seq:
                completed += 1
            elif st is not None and st.leased(now) and m.seq <= st.batch_last:
                processing += 1
        total = len(p.messages)
        return {"total": total, "pending": total - completed - processing - len(dead),
                "processing": processing, "completed": completed, "failed": 0,
                "deadLetter": len(dead)}

    def _sum(self, rows: List[Dict[str, int]]) -> Dict[str, int]:
        return {k: sum(r[k] for r in rows) for k in _STAT_KEYS}

    # ---- resources / status

    async def delete_queue(self, request: web.Request) -> web.Response:
        name = request.match_info["queue"]
        existed = self.b.delete_queue(name)
        return self.json({"deleted": True, "queue": name, "existed": existed})

    async def queue_detail(self, request: web.Request) -> web.Response:
        q = self.b.queues.get(request.match_info["queue"])
        if q is None:
            return self.json({"error": "Queue not found"})
        now = self.b.now()
        ts = self.rules.ts
        parts = []
        for p in q.partitions.values():
            parts.append({"id": p.id, "name": p.name, "createdAt": ts(p.created),
                          "stats": self._stats(p, now),
                          "oldestMessage": ts(p.messages[0].created) if p.messages else None,
                          "newestMessage": ts(p.messages[-1].created) if p.messages
                          else None})
        return self.json({"id": q.id, "name": q.name, "namespace": q.namespace, "task": q.task,
                          "createdAt": ts(q.created), "partitions": parts,
                          "totals": self._sum([self._stats(p, now) for p in q.partitions.values()])})

    async def queue_list(self, request: web.Request) -> web.Response:
        now = self.b.now()
        rows = []
        for q in self.b.queues.values():
            tot = self._sum([self._stats(p, now) for p in q.partitions.values()])
            rows.append({"id": q.id, "name": q.name, "namespace": q.namespace, "task": q.task,
                         "createdAt": self.rules.ts(q.created), "partitions": len(q.partitions),
                         "messages": {"total": tot["total"], "pending": tot["pending"],
                                      "processing": tot["processing"]}})
        return self.json({"queues": rows})

    async def queue_status(self, request: web.Request) -> web.Response:
        q = self.b.queues.get(request.match_info["queue"])
        if q is None:
            return self.json({"error": "Queue not found"})
        now = self.b.now()
        rules = self.rules
        parts = []
        consumed = 0
        for p in q.partitions.values():
            st = p.states.get(QUEUE_MODE)
            total_consumed = st.total_consumed if st else 0
            consumed += total_consumed
            row: Dict[str, Any] = {"id": p.id, "name": p.name, "createdAt": rules.ts(p.created),
                                   "cursor": {"totalConsumed": total_consumed,
                                              "batchesConsumed": 0}}
            rules.status_partition(row, self._stats(p, now), p, st)
            parts.append(row)
        config: Dict[str, Any] = {"leaseTime": q.opt("leaseTime"), "retryLimit": q.opt("retryLimit"),
                                  "ttl": q.opt("ttl"), "maxQueueSize": q.opt("maxSize")}
        rules.status_config(q, config)
        out: Dict[str, Any] = {
            "queue": {"id": q.id, "name": q.name, "namespace": q.namespace, "task": q.task,
                      "priority": q.opt("priority"), "config": config,
                      "createdAt": rules.ts(q.created)},
            "partitions": parts}
        rules.status_totals(out, self._sum([self._stats(p, now) for p in q.partitions.values()]),
                            len(parts), consumed)
        return self.json(out)

    async def overview(self, request: web.Request) -> web.Response:
        now = self.b.now()
        rows = [self._stats(p, now) for q in self.b.queues.values() for p in q.partitions.values()]
        return self.json({"queues": len(self.b.queues), "partitions": len(rows),
                          "namespaces": len({q.namespace for q in self.b.queues.values()}),
                          "tasks": len({q.task for q in self.b.queues.values()}),
                          "messages": self._sum(rows)})

    async def namespaces(self, request: web.Request) -> web.Response:
        key = "task" if request.path.endswith("/tasks") else "namespace"
        groups: Dict[str, Dict[str, Any]] = {}
        for q in self.b.queues.values():
            name = q.task if key == "task" else q.namespace
            if not name:
                continue
            row = groups.setdefault(name, {key: name, "queues": 0, "partitions": 0})
            row["queues"] += 1
            row["partitions"] += len(q.partitions)
        return self.json({key + "s" if key == "task" else "namespaces": list(groups.values())})

    # ---- messages

    def _mode(self, q: Queue) -> Dict[str, Any]:
        groups = {g for p in q.partitions.values() for g in p.states if g != QUEUE_MODE}
        has_qm = any(QUEUE_MODE in p.states for p in q.partitions.values()) or not groups
        kind = "hybrid" if groups and has_qm else ("bus" if groups else "queue")
        return {"hasQueueMode": has_qm, "busGroupsCount": len(groups), "type": kind}

    async def message_get(self, request: web.Request) -> web.Response:
        p, m = self.b.find(request.match_info["pid"], request.match_info["tid"])
        if p is None or m is None:
            return self.json({"error": "Message not found"})
        now = self.b.now()
        ts = self.rules.ts
        q = p.queue
        status = self.b.message_status(p, m, now)
        st = p.states.get(QUEUE_MODE)
        lease_exp = ts(st.lease_expires) if status == "processing" and st else None
        dlq = [e for e in self.b.dlq if e.message is m]
        out: Dict[str, Any] = {
            "id": m.id, "transactionId": m.txid, "partitionId": p.id,
            "queuePath": f"{q.name}/{p.name}", "queue": q.name, "partition": p.name,
            "namespace": q.namespace, "task": q.task, "status": status, "payload": m.data,
            "traceId": m.trace_id, "createdAt": ts(m.created),
            "errorMessage": dlq[0].error if dlq else None,
            "retryCount": dlq[0].retry_count if dlq else None, "leaseExpiresAt": lease_exp,
            "queueConfig": {k: q.opt(k) for k in ("leaseTime", "retryLimit", "retryDelay", "ttl",
                                                  "priority")},
            "mode": self._mode(q)}
        self.rules.message_detail(out, p, m, status, now)
        return self.json(out)

    async def message_delete(self, request: web.Request) -> web.Response:
        pid, tid = request.match_info["pid"], request.match_info["tid"]
        ok = self.b.delete_message(pid, tid)
        return self.json(self.rules.message_deleted(ok, pid, tid))

    def _message_row(self, q: Queue, p: Partition, m: Message, s: str,
                     lease_expires: Optional[float]) -> Dict[str, Any]:
        ts = self.rules.ts
        row = {"id": m.id, "transactionId": m.txid, "partitionId": p.id,
               "queuePath": f"{q.name}/{p.name}", "queue": q.name,
               "partition": p.name, "namespace": q.namespace, "task": q.task,
               "status": s, "queueStatus": s, "busStatus": consumed_by(p, m),
               "traceId": m.trace_id, "queuePriority": q.opt("priority"),
               "createdAt": ts(m.created),
               "leaseExpiresAt": ts(lease_expires) if s == "processing" else None}
        self.rules.message_row(row, m)
        return row

    async def message_list(self, request: web.Request) -> web.Response:
        queue, pname = q_str(request, "queue"), q_str(request, "partition")
        ns, task, status = q_str(request, "ns"), q_str(request, "task"), q_str(request, "status")
        limit, offset = q_int(request, "limit", 200), q_int(request, "offset", 0)
        now = self.b.now()
        rows = []
        mode: Dict[str, Any] = {"hasQueueMode": True, "busGroupsCount": 0, "type": "queue"}
        for q in self.b.queues.values():
            if (queue and q.name != queue) or (ns and q.namespace != ns) or (
                    task and q.task != task):
                continue
            if queue:
                mode = self._mode(q)
            for p in q.partitions.values():
                if pname and p.name != pname:
                    continue
                st = p.states.get(QUEUE_MODE)
                for m in p.messages:
                    s = self.b.message_status(p, m, now)
                    if status and s != status:
                        continue
                    rows.append((m.gseq, self._message_row(
                        q, p, m, s, st.lease_expires if st else None)))
        rows.sort(key=lambda r: r[0], reverse=True)
        return self.json({"messages": [r for _, r in rows[offset:offset + limit]], "mode": mode})

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
        ts = parse_ts(ts_text) if not to_end else None
        n = self.b.seek(group, queue, to_end, ts)
        return self.json({"success": True, "consumerGroup": group, "queueName": queue,
                          "seekToEnd": to_end, "targetTimestamp": iso_ms(ts),
                          "partitionsUpdated": n})

    async def group_seek_partition(self, request: web.Request) -> web.Response:
        mi = request.match_info
        n = self.b.seek_partition(mi["group"], mi["queue"], mi["partition"])
        return self.json({"success": True, "consumerGroup": mi["group"], "queueName": mi["queue"],
                          "partitionName": mi["partition"], "partitionsUpdated": n})

    async def group_detail(self, request: web.Request) -> web.Response:
        group = request.match_info["group"]
        now = self.b.now()
        out: Dict[str, Any] = {}
        for q in self.b.queues.values():
            rows = []
            for p in q.partitions.values():
                st = p.states.get(group)
                if st is None:
                    continue
                lag = len(p.messages) - p.after(st.cursor)
                pending = p.messages[p.after(st.cursor)] if p.after(st.cursor) < len(
                    p.messages) else None
                rows.append({"partition": p.name, "totalConsumed": st.total_consumed,
                             "lastConsumedAt": self.rules.ts(st.last_consumed_at),
                             "leaseActive": st.leased(now), "offsetLag": lag,
                             "timeLagSeconds": int(now - pending.created) if pending else 0,
                             "workerId": None})
            if rows:
                out[q.name] = {"partitions": rows}
        return self.json(out)

    async def group_list(self, request: web.Request) -> web.Response:
        groups: Dict[str, Dict[str, Any]] = {}
        for q in self.b.queues.values():
            for p in q.partitions.values():
                for g, st in p.states.items():
                    if g == QUEUE_MODE:
                        continue
                    row = groups.setdefault(g, {"name": g, "queues": [], "topics": [],
                                                "members": 0, "totalLag": 0, "state": "Stable"})
                    if q.name not in row["queues"]:
                        row["queues"].append(q.name)
                        row["topics"].append(q.name)
                    row["totalLag"] += len(p.messages) - p.after(st.cursor)
        return self.json(list(groups.values()))

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
        return self.json(self.rules.health())

    async def metrics(self, request: web.Request) -> web.Response:
        uptime = time.time() - self.server.started
        requests = self.server.requests
        total = sum(len(p.messages) for p in self.b.partitions.values())
        return self.json({
            "uptime": int(uptime),
            "requests": {"total": requests, "rate": requests / uptime if uptime else 0},
            "messages": {"total": total, "rate": total / uptime if uptime else 0},
            "database": {"poolSize": 0, "idleConnections": 0, "waitingRequests": 0},
            "memory": {"rss": 0, "heapTotal": 0, "heapUsed": 0, "external": 0},
            "cpu": {"user": 0, "system": 0}})

    async def prometheus(self, request: web.Request) -> web.Response:
        total = sum(len(p.messages) for p in self.b.partitions.values())
        text = (f"# TYPE queen_requests_total counter\nqueen_requests_total "
                f"{self.server.requests}\n"
                f"# TYPE queen_messages_total counter\nqueen_messages_total {total}\n")
        return web.Response(text=text, content_type="text/plain", headers=CORS)

    async def maintenance_get(self, request: web.Request) -> web.Response:
        out: Dict[str, Any] = {"maintenanceMode": self.b.maintenance,
                               "bufferedMessages": len(self.b.buffered),
                               "bufferHealthy": True, "bufferStats": {"pending": 0, "failed": 0}}
        self.rules.maintenance(out, self.b.pop_maintenance)
        return self.json(out)

    async def maintenance_set(self, request: web.Request) -> web.Response:
        body = await self.server.body(request)
        if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
            raise BadRequest("enabled (boolean) is required")
        enabled: bool = body["enabled"]
        if request.path.endswith("/pop"):
            self.b.pop_maintenance = enabled
            return self.json({"popMaintenanceMode": enabled, "message": "Pop maintenance mode "
                              + ("enabled" if enabled else "disabled")})
        self.b.set_maintenance(enabled)
        return self.json({"maintenanceMode": enabled, "bufferedMessages": len(self.b.buffered),
                          "bufferHealthy": True, "message": "Maintenance mode " +
                          ("enabled" if enabled else "disabled")})

    async def maintenance_pop_get(self, request: web.Request) -> web.Response:
        return self.json({"popMaintenanceMode": self.b.pop_maintenance})


def register(app: web.Application, server: QueenServer) -> Admin:
    """Add the admin and read routes the server's generation has; returns the handlers."""
    a = Admin(server)
    features = server.rules.features
    r = app.router

    def get(path: str, handler: Any) -> None:
        r.add_get(path, handler, allow_head=False)

    r.add_delete(V1 + "/resources/queues/{queue}", a.delete_queue)
    get(V1 + "/resources/queues", a.queue_list)
    get(V1 + "/resources/queues/{queue}", a.queue_detail)
    get(V1 + "/resources/overview", a.overview)
    get(V1 + "/resources/namespaces", a.namespaces)
    get(V1 + "/resources/tasks", a.namespaces)
    get(V1 + "/status/queues/{queue}", a.queue_status)
    get(V1 + "/status/queues", a.queue_list)
    get(V1 + "/status", a.overview)
    get(V1 + "/consumer-groups", a.group_list)
    get(V1 + "/consumer-groups/lagging", a.group_list)
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
