"""The rules and reply shapes of Queen 0.15.x (recorded against 0.15.1).

0.15 sends real HTTP 400s for validation errors, prints ISO timestamps, creates
queues on push, pops several partitions at once (``?partitions=N``), answers an
empty pop with one of three JSON shapes, acks item by item (results as an array)
and stops a transaction at its first failing operation.  The old windowed streams
and the namespace pop route are gone (404 page).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Set, Tuple

from .admin15 import Views15
from .model import (
    AckOutcome,
    GroupState,
    Message,
    Partition,
    PopResult,
    PushOutcome,
    Query,
    Queue,
    Reply,
    Trace,
    is_uuid,
    iso_ms,
    iso_us,
    uuid4,
)
from .rules import (
    GROUP_SEEK,
    POP_MAINTENANCE,
    PROMETHEUS,
    QUEUE_ANALYTICS,
    SHARED_STATE,
    STATS_REFRESH,
    STREAMS_V1,
    Rules,
    encode,
)

if TYPE_CHECKING:  # pragma: no cover
    from .broker import Broker

_ACK_STATUSES = ("completed", "success", "failed", "dlq", "retry")


class Rules15(Rules):
    name = "0.15"
    features = frozenset({GROUP_SEEK, PROMETHEUS, POP_MAINTENANCE, STREAMS_V1, STATS_REFRESH,
                          QUEUE_ANALYTICS, SHARED_STATE})
    admin_views = Views15
    validation_status = 400
    max_size_without_options = 0
    auto_namespace = True
    capacity_limited = False
    max_wait_hides_reads = False
    empty_claim_counts = True
    new_modes = ("new",)
    records_all_subscriptions = False  # only new/now/timestamp are recorded
    # 0.15.1 records the subscription when the group first claims a partition: a 'new'
    # group that waited on an empty queue skips what is in the partition by then.
    subscribes_at_claim = True
    loses_overlapping_pushes = False
    late_partition_lookup = True
    txn_stops_at_first_error = True
    negative_batch_error = "ERROR:  LIMIT must not be negative"
    auto_ack_on_wait = True
    multi_partition_pop = True

    # ---- broker rules

    def lease_seconds(self, lease_time: int) -> float:
        return 60.0 if lease_time <= 0 else float(lease_time)

    def order_candidates(self, cands: List[Tuple[Partition, Optional[GroupState]]]) -> None:
        pass  # no defined order; partition creation order is as good as any

    def pop_plan(self, partitions: int) -> Tuple[int, int]:
        n = max(1, partitions)
        return n, n

    def type_error(self, value: Any, kind: str) -> str:
        return (f'ERROR:  invalid input syntax for type {kind}: "{value}"\nCONTEXT:  PL/pgSQL '
                "function queen.configure_queue_v1(text,jsonb) line 27 at assignment\n")

    def missing_queue_error(self, queue: str) -> Optional[str]:
        return None  # a push creates the queue

    def dlq_entry_id(self, m: Message) -> str:
        return m.id

    def trace_id(self) -> str:
        return uuid4()

    def txn_item_id(self) -> str:
        return uuid4()

    def txn_payload(self, item: Dict[str, Any]) -> Any:
        return item.get("payload")

    def txn_trace_id(self) -> Optional[str]:
        return None

    def txn_ack_error(self, found: bool, status: Any, lease_ok: bool,
                      has_state: bool) -> Optional[str]:
        if not found:
            return "Message not found"
        if status not in ("completed", "failed", "success", "dlq"):
            return "Invalid status"
        if not lease_ok:
            return "Invalid or expired lease"
        return None

    # ---- acks: item by item, in message order per partition

    def ack(self, b: Broker, txid: Any, partition_id: Any, status: Any, g: str, lease_id: Any,
            error: Any) -> AckOutcome:
        return self._ack(b, [(txid, partition_id, status, lease_id, error)], g, "")[0]

    def ack_batch(self, b: Broker, acks: List[Dict[str, Any]], g: str) -> List[AckOutcome]:
        rows = [(a.get("transactionId"), a.get("partitionId"), a.get("status"),
                 a.get("leaseId"), a.get("error")) for a in acks]
        return self._ack(b, rows, g, None)

    def _ack(self, b: Broker, rows: List[Tuple[Any, Any, Any, Any, Any]], g: str,
             default_error: Optional[str]) -> List[AckOutcome]:
        """0.15 acks, processed in message order per partition.  After a retry in a
        partition, later items of that partition in the same call are no-ops: 0.15.1
        lets a later completed ack move the cursor past the failed message (lost)."""
        now = b.now()
        outs: List[AckOutcome] = [AckOutcome(r[0]) for r in rows]
        located = []
        for i, (txid, pid, status, lease_id, error) in enumerate(rows):
            p, m = b.find(pid, txid)
            outs[i].partition = p if m is not None else None
            if m is None or p is None:
                outs[i].error = "Message not found"
                continue
            located.append((p.id, m.seq, i, p, m, status or "completed", lease_id, error))
        located.sort(key=lambda r: (r[0], r[1]))
        retried: Set[str] = set()
        for _, _, i, p, m, status, lease_id, error in located:
            o = outs[i]
            st = p.states.get(g)
            if status not in _ACK_STATUSES:
                continue
            if p.id in retried:
                o.success = True
                o.lease_released = True
                continue
            if not b.lease_ok(st, lease_id, now):
                o.error = "Invalid or expired lease"
                continue
            o.success = True
            b.stats["ack"] += 1
            if st is None:
                o.lease_released = None
                continue
            q = p.queue
            if status == "retry":
                b.release(p, g, st)
                retried.add(p.id)
                o.lease_released = True
                continue
            if status == "failed" and st.retries < q.opt("retryLimit"):
                st.retries += 1
                b.release(p, g, st)
                retried.add(p.id)
                o.lease_released = True
                continue
            if status in ("failed", "dlq"):
                text = error if error is not None else default_error
                b.to_dlq(p, m, g, text if text is not None else "Retries exhausted",
                             st.retries, now)
                o.dlq = True
            b.consume(p, st, m.seq, now)
            st.acked += 1
            complete = st.batch_size > 0 and st.acked >= st.batch_size
            if complete or st.lease_id is None:
                if o.dlq:
                    b.release(p, g, st)
                    o.lease_released = False  # what 0.15.1 reports for a DLQ move
                else:
                    b.release(p, g, st)
                    st.retries = 0
                    o.lease_released = True
        return outs

    # ---- reply shapes: core routes

    def ts(self, t: Optional[float]) -> Optional[str]:
        return iso_ms(t)

    def configure_options(self, body: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        options = body.get("options")
        return options if isinstance(options, dict) else None

    def configure_error(self, text: str) -> Dict[str, Any]:
        return {"error": text, "success": False}

    def configured(self, q: Queue) -> Dict[str, Any]:
        if q.bare_config:
            return {"error": "[json.exception.type_error.306] cannot use value() with null"}
        return {"configured": True, "queue": q.name, "namespace": q.namespace, "task": q.task,
                "options": dict(q.options), "queueId": q.id,
                "partitionId": q.partitions["Default"].id}

    def push_reply(self, results: List[PushOutcome]) -> Reply:
        if not results:
            return encode([], 201)
        out = []
        for i, r in enumerate(results):
            row: Dict[str, Any] = {"index": i, "transaction_id": r.txid, "status": r.status,
                                   "queueName": r.queue}
            if r.message is not None:
                row["message_id"] = r.message.id
            if r.status == "queued":
                row["partition_id"] = r.partition.id if r.partition else None
                row["trace_id"] = r.trace_id
            if r.error:
                row["error"] = r.error
            out.append(row)
        return encode(out)

    def buffered_reply(self, items: List[Dict[str, Any]]) -> Reply:
        return encode([{"status": "buffered", "queue": it["queue"],
                        "partition": it.get("partition") or "Default"} for it in items], 201)

    def bad_trace_reply(self, items: List[Dict[str, Any]], text: str) -> Reply:
        return encode({"error": text})

    def pop_reply(self, res: Optional[PopResult], queue: str, partition: Optional[str],
                  group: str) -> Reply:
        return encode(self._pop(res, queue, partition, group))

    def _pop(self, res: Optional[PopResult], queue: str, partition: Optional[str],
             group: str) -> Dict[str, Any]:
        if res is None:
            return {"success": True, "queue": queue, "partition": partition or "",
                    "partitionId": None, "leaseId": None, "consumerGroup": group, "messages": []}
        if res.status == "error":
            return {"error": res.error, "success": False}
        if res.status in ("none", "lease_held", "partition_not_found"):
            err = "no_available_partition" if res.status == "none" else res.status
            return {"success": False, "error": err, "messages": []}
        if res.status == "window_buffer":
            return {"success": True, "queue": queue, "partition": partition, "partitionId": None,
                    "leaseId": None, "consumerGroup": group, "messages": [],
                    "windowBufferActive": True}
        lease = "" if res.auto_ack else (res.lease_id or "")
        first = res.claimed[0]
        return {"success": True, "queue": queue, "partition": first.name,
                "partitionId": first.id, "leaseId": lease if res.items or res.auto_ack
                else res.lease_id, "consumerGroup": group,
                "partitionsClaimed": len(res.claimed),
                "messages": [{"id": m.id, "transactionId": m.txid, "traceId": m.trace_id,
                              "data": m.data, "producerSub": m.producer_sub,
                              "createdAt": iso_us(m.created), "partitionId": p.id,
                              "partition": p.name, "leaseId": lease, "consumerGroup": group}
                             for p, m in res.items]}

    def _ack_row(self, i: int, o: AckOutcome) -> Dict[str, Any]:
        p = o.partition
        return {"index": i, "transactionId": o.txid, "success": o.success, "error": o.error,
                "queueName": p.queue.name if p else None, "partitionName": p.name if p else None,
                "leaseReleased": o.lease_released if o.success else False, "dlq": o.dlq}

    def ack_reply(self, o: AckOutcome, group: Optional[str]) -> Any:
        return [self._ack_row(0, o)]

    def ack_batch_reply(self, outs: List[AckOutcome]) -> Any:
        return [self._ack_row(i, o) for i, o in enumerate(outs)]

    def txn_reply(self, facts: Dict[str, Any],
                  partition_id: Callable[[Dict[str, Any]], Optional[str]]) -> Reply:
        if facts.get("fatal") is not None:
            return encode({"error": facts["fatal"]}, 500)
        results: List[Dict[str, Any]] = []
        for r in facts["results"]:
            if r["type"] == "ack":
                results.append({"index": r["index"], "type": "ack", "success": r["success"],
                                "transactionId": r["transactionId"], "error": r["error"],
                                "dlq": r["dlq"]})
            elif r["type"] == "push":
                for row in r["items"]:
                    results.append({"index": row["index"], "type": "push", "success": True,
                                    "transactionId": row["transactionId"],
                                    "messageId": row["messageId"],
                                    "partitionId": partition_id(row), "queueName": row["queue"]})
            else:
                results.append({"index": len(results), "type": r["kind"], "success": False,
                                "error": r["error"]})
        out: Dict[str, Any] = {"transactionId": uuid4(), "success": facts["success"],
                               "results": results}
        if facts["error"] is not None:
            out["error"] = facts["error"]
        return encode(out)

    def extend_reply(self, lease_id: str, expiry: Optional[float], seconds: Any) -> Any:
        return [{"index": 0, "leaseId": lease_id, "success": expiry is not None,
                 "error": None if expiry is not None else "Lease not found",
                 "expiresAt": iso_ms(expiry)}]

    def dlq_reply(self, b: Broker, get: Query, limit: int, offset: int) -> Any:
        rows = b.dlq_entries(get("queue") or None, get("consumerGroup") or None)
        if offset > 0:
            return {"success": True, "value": None}
        return {"messages": [
            {"id": e.message.id, "transactionId": e.message.txid,
             "partitionId": e.partition.id, "queue": e.partition.queue.name,
             "partition": e.partition.name, "consumerGroup": e.group,
             "errorMessage": e.error, "retryCount": e.retry_count, "data": e.message.data,
             "producerSub": e.message.producer_sub, "createdAt": iso_ms(e.message.created),
             "failedAt": iso_ms(e.moved_at)} for e in rows],
            "pagination": {"limit": limit, "offset": offset}}

    def trace_refused(self, partition_id: Any) -> Optional[Dict[str, Any]]:
        if is_uuid(partition_id):
            return None
        return {"success": False, "error": (
            f'ERROR:  invalid input syntax for type uuid: "{partition_id}"\nCONTEXT:  PL/pgSQL '
            "function queen.record_trace_v1(jsonb) line 16 at assignment\n")}

    def trace_recorded(self, t: Optional[Trace]) -> Dict[str, Any]:
        if t is None:
            return {"error": "Message not found", "success": False}
        return {"success": True, "traceId": t.id}

    # ---- reply shapes: admin routes

    def group_deleted(self, out: Dict[str, Any], n: int, queue: Optional[str]) -> None:
        out["deletedPartitions"] = n
        if queue is not None:
            out["queueName"] = queue

    def subscription_error(self, text: str) -> Dict[str, Any]:
        return {"success": False, "error": text}

    def subscription_updated(self, group: str, ts_text: str, n: int) -> Dict[str, Any]:
        return {"success": True, "consumerGroup": group, "newTimestamp": ts_text,
                "rowsUpdated": n}

    def traces_of_reply(self, rows: List[Dict[str, Any]]) -> Dict[str, Any]:
        return {"traces": rows}

    def traces_by_name_reply(self, traces: List[Trace], limit: int, offset: int,
                             row: Callable[[Trace], Dict[str, Any]]) -> Dict[str, Any]:
        page = None if offset > 0 else [row(t) for t in traces]
        return {"traces": page, "total": len(traces),
                "pagination": {"limit": limit, "offset": offset}}

    def trace_names_reply(self, rows: List[Dict[str, Any]], limit: int,
                          offset: int) -> Dict[str, Any]:
        return {"trace_names": rows[offset:offset + limit], "total": len(rows),
                "pagination": {"limit": limit, "offset": offset}}
