"""The admin views of Queen 0.7.5 (see ``admin_views.AdminViews``): what its admin
and read routes answer where 0.15.1 differs (wire recordings, ``0.7.5/admin.json``)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .admin_views import ANY, AdminViews, iso, uuid_error


class Views07(AdminViews):
    named_subscriptions = True

    def _blank(self, value: Optional[str]) -> Optional[str]:
        return value or None  # null for an unset namespace/task in the list views

    def bad_uuid(self, value: str) -> Dict[str, Any]:
        return {"error": "Query failed: " + uuid_error(value)}

    def detail_extra(self, out: Dict[str, Any], p: Any, m: Any, now: float) -> None:
        from .rules07 import shown_payload  # (rules07 imports this module)

        out["payload"] = shown_payload(m.data)  # as 0.7.5 shows a stored payload

    def status_queue_row(self, row: Dict[str, Any], q: Any, tot: Dict[str, int]) -> None:
        row["messages"] = tot
        row["priority"] = q.opt("priority")

    def status_queues_extra(self, out: Dict[str, Any], query: Dict[str, Optional[str]],
                            now: float) -> None:
        out["pagination"]["total"] = len(out["queues"])  # sic: what this page holds
        out["timeRange"] = self._range(query, now)

    def status_partition(self, row: Dict[str, Any], p: Any, stats: Dict[str, int],
                         last: Optional[float]) -> None:
        row["messages"] = {k: v for k, v in stats.items() if k != "deadLetter"}
        row["cursor"]["lastConsumedAt"] = self.ts(last)

    def status_totals(self, out: Dict[str, Any], tot: Dict[str, int], consumed: int) -> None:
        out["totals"] = {"partitions": len(out["partitions"]), "consumed": consumed,
                         "batches": 0,
                         "messages": {k: v for k, v in tot.items() if k != "deadLetter"}}
        out["timeRange"] = {"from": "", "to": ""}

    def message_order(self, p: Any, m: Any) -> Tuple[float, ...]:
        # newest push first, a push's messages in order (0.7.5 sorts by created_at,
        # which one push shares)
        return (p.created, -m.seq)

    def queue_messages_reply(self, q: Any, rows: List[Tuple[Any, Any, Any, str]],
                             query: Dict[str, Optional[str]], limit: int, offset: int,
                             now: float) -> Any:
        page = rows[offset:offset + limit]
        return {"queue": q.name, "filters": {"partition": query.get("partition"),
                                             "status": query.get("status")},
                "timeRange": self._range(query, now),
                "pagination": {"limit": limit, "offset": offset, "total": len(page)},
                "messages": [{"id": m.id, "transactionId": m.txid, "partition": p.name,
                              "status": status, "retryCount": 0, "traceId": m.trace_id,
                              "createdAt": self.ts(m.created),
                              "age": {"seconds": round(now - m.created, 6),
                                      "formatted": f"{int(now - m.created)}s"}}
                             for _, p, m, status in page]}

    def analytics_reply(self, chosen: List[Any], msgs: List[Any], interval: str, span: int,
                        rng: Dict[str, Any], now: float) -> Dict[str, Any]:
        tot = self.total(self.stats(p, now, ANY) for q in chosen for p in q.partitions.values())
        return {
            "timeRange": {"from": rng["from"], "to": rng["to"], "interval": interval},
            "throughput": {"timeSeries": [{"timestamp": iso(now - now % span),
                                           "ingested": 0, "processed": 0, "failed": 0,
                                           "ingestedPerSecond": 0.0,
                                           "processedPerSecond": 0.0}],
                           "totals": {"ingested": len(msgs), "processed": tot["completed"],
                                      "failed": 0, "avgIngestedPerSecond": 0,
                                      "avgProcessedPerSecond": 0}},
            "queueDepths": {"current": {"pending": tot["pending"],
                                        "processing": tot["processing"]}, "timeSeries": []},
            "latency": {"overall": None, "timeSeries": []},
            "errorRates": {"overall": {"processed": tot["completed"], "failed": 0, "rate": 0,
                                       "ratePercent": "0.00%"}, "timeSeries": []},
            "deadLetterQueue": {"total": 0, "timeSeries": [], "topErrors": []},
            "topQueues": []}

    def system_metrics_extra(self, metrics: Dict[str, Any]) -> None:
        a = self._agg
        metrics["registries"].update({"poll_intention": a(), "stream_poll_intention": a()})


__all__ = ["Views07"]
