"""The admin views of Queen 0.15.1 (see ``admin_views.AdminViews``): what its admin
and read routes answer where 0.7.5 differs (wire recordings, ``0.15.1/admin.json``)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .admin_views import AdminViews, iso, uuid_error


class Views15(AdminViews):
    counts_any_consumer = True
    pending_has_processing = True
    listed_pending_without_processing = True
    status_ignores_filters = True
    empty_as_null = True
    stoi_status = 500                  # the one real 500 of 0.15.1's admin routes
    server_name = "C++ Queen Server (libqueen)"

    def health_extra(self, out: Dict[str, Any], port: int) -> None:
        out["shared_state"] = self.shared_state(port)
        out["queen"] = {"worker_id": 0, "status": "active"}

    def message_deleted(self, ok: bool, pid: str, tid: str) -> Dict[str, Any]:
        return {"success": ok, "partitionId": pid, "transactionId": tid,
                "message": "Message deleted successfully" if ok else "Message not found"}

    def bad_uuid(self, value: str) -> Dict[str, Any]:
        return {"error": uuid_error(value), "success": False}

    def overview_extra(self, out: Dict[str, Any]) -> None:
        out["throughput"] = {"ingestedPerSecond": 0.0, "processedPerSecond": 0.0}
        out["statsAge"] = 0

    def message_row_extra(self, row: Dict[str, Any], m: Any) -> None:
        row["producerSub"] = m.producer_sub

    def detail_extra(self, out: Dict[str, Any], p: Any, m: Any, now: float) -> None:
        del out["busStatus"], out["queueStatus"]
        out["isEncrypted"] = False
        out["mode"]["consumedByGroups"] = self.bus(p, m)["consumedBy"]
        out["consumerGroups"] = [
            {"name": g, "consumed": st.cursor >= m.seq,
             "leaseExpiresAt": self.ts(st.lease_expires) if st.leased(now)
             and st.cursor < m.seq <= st.batch_last else None}
            for g, st in p.states.items()]

    def status_extra(self, out: Dict[str, Any], messages: Dict[str, Any],
                     point: Dict[str, Any], dead: int) -> None:
        s = self.b.stats
        messages["requests"] = {k: s.get(k, 0) for k in ("push", "pop", "ack")}
        messages["batchEfficiency"] = {"push": 0.0, "pop": 0.0, "ack": 0.0}
        point.update(dict.fromkeys((
            "avgEventLoopLagMs", "dbErrors", "dbPoolActive", "dbPoolIdle", "dbPoolSize",
            "dlqCount", "maxEventLoopLagMs", "minFreeSlots", "queenCpuSysPct",
            "queenCpuUserPct", "queenRssMb")))
        point.update({"ackFailed": 0, "avgLagMs": 0, "maxLagMs": 0, "popMessages": 0,
                      "popPerSecond": 0.0})
        out["deadLetterQueue"]["topErrors"] = []
        out["errors"] = {"ackFailed": 0, "dbErrors": 0, "dlqMessages": dead}
        out["workers"] = [self._worker_row()]
        out["statsAge"] = 0

    def status_queue_row(self, row: Dict[str, Any], q: Any, tot: Dict[str, int]) -> None:
        row["messages"] = {k: tot[k] for k in ("total", "pending", "processing")}

    def consumption(self, p: Any) -> Tuple[int, Optional[float]]:
        states = list(p.states.values())  # any consumer's progress
        return (max((s.total_consumed for s in states), default=0),
                max((s.last_consumed_at for s in states if s.last_consumed_at), default=None))

    def status_partition(self, row: Dict[str, Any], p: Any, stats: Dict[str, int],
                         last: Optional[float]) -> None:
        row["messages"] = stats
        row["stats"] = stats
        row["lastActivity"] = self.ts(last)
        row["oldestMessage"] = self.ts(p.messages[0].created) if p.messages else None
        row["newestMessage"] = self.ts(p.messages[-1].created) if p.messages else None

    def status_config(self, config: Dict[str, Any], q: Any) -> None:
        config["retryDelay"] = q.opt("retryDelay")
        config["deadLetterQueue"] = q.opt("deadLetterQueue")

    def status_totals(self, out: Dict[str, Any], tot: Dict[str, int], consumed: int) -> None:
        out["totals"] = {**tot, "messages": tot}

    def queue_messages_reply(self, q: Any, rows: List[Tuple[Any, Any, Any, str]],
                             query: Dict[str, Optional[str]], limit: int, offset: int,
                             now: float) -> Any:
        if offset > 0:  # sic: 0.15.1 answers any offset with this
            return {"success": True, "value": None}
        return [{"id": m.id, "transactionId": m.txid, "partition": p.name,
                 "partitionId": p.id, "queue": q.name, "queuePath": f"{q.name}/{p.name}",
                 "status": status, "createdAt": self.ts(m.created)}
                for _, p, m, status in rows[:limit]]

    def analytics_reply(self, chosen: List[Any], msgs: List[Any], interval: str, span: int,
                        rng: Dict[str, Any], now: float) -> Dict[str, Any]:
        start = now - now % span
        return {"from": rng["from"], "to": rng["to"], "interval": interval,
                "dataPoints": [{"timestamp": iso(start),
                                "messages": len([m for m in msgs if m.created >= start])}]}

    def system_metrics_extra(self, metrics: Dict[str, Any]) -> None:
        op = {"count": 0, "items": 0, "latency_us": 0}
        metrics["shared_state"] = {
            "consumer_presence": dict.fromkeys(("queues_tracked", "servers_tracked",
                                                "total_registrations")),
            "enabled": False,
            "queue_backoff": {"avg_interval_ms": 0, "queues_with_backoff": 0,
                              "total_backed_off_groups": 0},
            "queue_backoff_summary": [],
            "queue_config_cache": dict.fromkeys(("hits", "misses", "size")),
            "server_health": {"alive": None, "dead": None},
            "sidecar_ops": {"ack": dict(op), "pop": dict(op), "push": dict(op)},
            "transport": dict.fromkeys(("dropped", "received", "sent"))}

    def group_row_extra(self, row: Dict[str, Any], lagging_partitions: int) -> None:
        row["totalLag"] = None  # not reported
        row["partitionsWithLag"] = lagging_partitions

    def maintenance_extra(self, out: Dict[str, Any]) -> None:
        out["popMaintenanceMode"] = bool(self.b.pop_maintenance)


__all__ = ["Views15"]
