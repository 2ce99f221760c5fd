"""The rules and reply shapes of Queen 0.7.x (recorded against 0.7.5).

0.7 answers almost every handler result with HTTP 200 (errors included), prints
PostgreSQL timestamps in admin replies, has no multi-partition pop, acks one
batch per partition (a batch fails or retries as a whole), and keeps the old
windowed streams and the namespace pop route.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

import orjson

from .admin07 import Views07
from .model import (
    QUEUE_MODE,
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
    iso_ms,
    iso_sec,
    parse_ts,
    pg_ts,
    uuid4,
    uuid7,
)
from .rules import NAMESPACE_POP, WINDOWED_STREAMS, Rules, encode

if TYPE_CHECKING:  # pragma: no cover
    from .broker import Broker


def shown_payload(data: Any) -> Any:
    """A payload as 0.7.5's DLQ listing and message detail show it (seen on the real
    server): containers and null as stored, a number as C++ ``std::to_string(double)``
    (``1`` -> ``"1.000000"``), a boolean as ``"true"``/``"false"``, and a string parsed
    as JSON when it is JSON text (``"1"`` -> ``1``). Popped messages are intact."""
    if data is None or isinstance(data, (dict, list)):
        return data
    if isinstance(data, bool):
        return "true" if data else "false"
    if isinstance(data, (int, float)):
        return f"{float(data):f}"
    if isinstance(data, str):
        if not data:
            return None
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            return data
    return data


class Rules07(Rules):
    name = "0.7"
    features = frozenset({NAMESPACE_POP, WINDOWED_STREAMS})
    admin_views = Views07
    validation_status = 200
    max_size_without_options = 10000  # the C++ struct default when 'options' is absent
    auto_namespace = False
    capacity_limited = True
    max_wait_hides_reads = True
    empty_claim_counts = False
    new_modes = ("new", "new-only")
    records_all_subscriptions = True
    subscribes_at_claim = False
    loses_overlapping_pushes = True
    late_partition_lookup = False
    txn_stops_at_first_error = False
    negative_batch_error = None
    auto_ack_on_wait = False  # a long-poll pop never auto-acks
    multi_partition_pop = False

    # ---- broker rules

    def lease_seconds(self, lease_time: int) -> float:
        return float(lease_time)

    def order_candidates(self, cands: List[Tuple[Partition, Optional[GroupState]]]) -> None:
        # never consumed first, then least recently consumed, ties: newest message first
        cands.sort(key=lambda ps: (
            ps[1] is not None and ps[1].last_consumed_at is not None,
            (ps[1].last_consumed_at or 0.0) if ps[1] is not None else 0.0,
            -(ps[0].messages[-1].gseq if ps[0].messages else 0)))

    def pop_plan(self, partitions: int) -> Tuple[int, int]:
        return 100, 1  # try up to 100 partitions, claim the first that yields

    def type_error(self, value: Any, kind: str) -> str:
        jtype = {str: "string", list: "array", dict: "object", bool: "boolean"}.get(
            type(value), "null" if value is None else "number")
        want = "boolean" if kind == "boolean" else "number"
        return f"[json.exception.type_error.302] type must be {want}, but is {jtype}"

    def missing_queue_error(self, queue: str) -> Optional[str]:
        return (f"Queue '{queue}' does not exist. Please create it using the configure "
                "endpoint first.")

    def dlq_entry_id(self, m: Message) -> str:
        return uuid4()

    def trace_id(self) -> str:
        return uuid7()

    def txn_item_id(self) -> str:
        return uuid7()

    def txn_payload(self, item: Dict[str, Any]) -> Any:
        return item.get("payload", item.get("data"))

    def txn_trace_id(self) -> Optional[str]:
        return uuid4()

    def txn_ack_error(self, found: bool, status: Any, lease_ok: bool,
                      has_state: bool) -> Optional[str]:
        if not found or status not in ("completed", "failed") or not has_state:
            return "not_found"
        return None  # 0.7 does not check the lease inside a transaction


    # ---- acks: one batch per partition; a failed batch is retried or dead-lettered whole

    def ack(self, b: Broker, txid: Any, partition_id: Any, status: Any, g: str, lease_id: Any,
            error: Any) -> AckOutcome:
        now = b.now()
        p, m = b.find(partition_id, txid)
        out = AckOutcome(txid, p)
        if status is None:
            status = "completed"
        st = p.states.get(g) if p is not None else None
        if m is None or p is None or status not in ("completed", "failed"):
            out.error = "not_found"
            return out
        if not b.lease_ok(st, lease_id, now):
            out.error = "invalid_lease"
            return out
        if st is None:
            out.error = "not_found"
            return out
        q = p.queue
        b.stats["ack"] += 1
        out.success = True
        if status == "completed":
            b.consume(p, st, m.seq, now)
            st.acked += 1
            if st.batch_size > 0 and st.acked >= st.batch_size:
                b.release(p, g, st)
            return out
        if st.batch_size > 0 and st.acked + 1 >= st.batch_size and st.retries < q.opt("retryLimit"):
            st.retries += 1
            b.release(p, g, st)
            out.status = "failed_retry"
            return out
        b.to_dlq(p, m, g, error if error else "Message processing failed", 0, now)
        b.consume(p, st, m.seq, now)
        st.acked += 1
        st.retries = 0
        if st.batch_size > 0 and st.acked >= st.batch_size:
            b.release(p, g, st)
        out.status = "failed_dlq"
        out.dlq = True
        return out

    def ack_batch(self, b: Broker, acks: List[Dict[str, Any]], g: str) -> List[AckOutcome]:
        now = b.now()
        if not acks:
            return []
        first = b.partitions.get(str(acks[0].get("partitionId")))
        st = first.states.get(g) if first is not None else None

        def fail(text: str) -> List[AckOutcome]:
            outs = []
            for a in acks:
                o = AckOutcome(a.get("transactionId"), first)
                o.error = text
                o.status = "batch_failed"
                outs.append(o)
            return outs

        if first is None or st is None:
            return fail("Cannot find batch size for partition")
        found: List[Tuple[Dict[str, Any], Partition, Message]] = []
        for a in acks:
            p, m = b.find(a.get("partitionId"), a.get("transactionId"))
            if p is not None and m is not None:
                found.append((a, p, m))
        if not found:
            return fail("No messages found for acknowledgment")
        q = first.queue
        failed = [f for f in found if f[0].get("status") == "failed"]
        newest = max(m.seq for a, p, m in found if p is first) if any(
            p is first for _, p, _ in found) else st.cursor
        outs: List[AckOutcome] = []
        b.stats["ack"] += len(found)
        if len(failed) == len(found) == len(acks) and len(acks) == st.batch_size:
            if st.retries < q.opt("retryLimit"):
                st.retries += 1
                b.release(first, g, st)
                return [self._ok(a, first, "failed_retry") for a in acks]
            for a, p, m in found:
                b.to_dlq(p, m, g, a.get("error") or "Batch retry limit exceeded", 0, now)
            b.consume(first, st, newest, now)
            st.retries = 0
            st.acked = st.batch_size
            b.release(first, g, st)
            return [self._ok(a, first, "failed_dlq", True) for a in acks]
        for a, p, m in found:
            if a.get("status") == "failed":
                b.to_dlq(p, m, g, a.get("error") or "Unknown error", 0, now)
                outs.append(self._ok(a, p, "failed_dlq", True))
            else:
                outs.append(self._ok(a, p, "completed"))
        b.consume(first, st, newest, now)
        st.acked += len(found)
        st.retries = 0
        if st.batch_size > 0 and st.acked >= st.batch_size:
            b.release(first, g, st)
        return outs

    def _ok(self, a: Dict[str, Any], p: Partition, status: str, dlq: bool = False) -> AckOutcome:
        o = AckOutcome(a.get("transactionId"), p)
        o.success = True
        o.status = status
        o.dlq = dlq
        return o

    # ---- reply shapes: core routes

    def ts(self, t: Optional[float]) -> Optional[str]:
        return pg_ts(t)

    def configure_options(self, body: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        options = body.get("options")
        if isinstance(options, dict):
            return options
        return {} if "options" in body else None  # present but not an object: no options

    def configure_error(self, text: str) -> Dict[str, Any]:
        return {"error": text}

    def configured(self, q: Queue) -> Dict[str, Any]:
        return {"configured": True, "queue": q.name, "namespace": q.namespace, "task": q.task,
                "options": dict(q.options)}

    def push_reply(self, results: List[PushOutcome]) -> Reply:
        out = []
        for r in results:
            row: Dict[str, Any] = {"transaction_id": r.txid, "status": r.status}
            if r.message is not None:
                row["message_id"] = r.message.id
            if r.trace_id is not None:
                row["trace_id"] = r.trace_id
            if r.error:
                row["error"] = r.error
            out.append(row)
        return encode(out)

    def buffered_reply(self, items: List[Dict[str, Any]]) -> Reply:
        return encode([{"status": "buffered", "transaction_id": it.get("transactionId")}
                       for it in items])

    def bad_trace_reply(self, items: List[Dict[str, Any]], text: str) -> Reply:
        out = []
        for it in items:
            row = {"transaction_id": it.get("transactionId") or uuid7(), "status": "failed",
                   "error": text}
            if it.get("traceId") is not None:
                row["trace_id"] = it["traceId"]
            out.append(row)
        return encode(out)

    def pop_reply(self, res: Optional[PopResult], queue: str, partition: Optional[str],
                  group: str) -> Reply:
        if res is None:
            return 200, b""    # a long poll that timed out: empty body
        if not res.items:
            return 200, b"null"
        lease = res.lease_id
        if res.auto_ack:
            lease = uuid7()  # 0.7 still reports a (released) lease id
        cg = None if group == QUEUE_MODE else group
        return encode({"messages": [
            {"id": m.id, "transactionId": m.txid, "partitionId": p.id, "traceId": m.trace_id,
             "queue": p.queue.name, "partition": p.name, "data": m.data, "retryCount": 0,
             "priority": 0, "createdAt": iso_sec(m.created), "consumerGroup": cg,
             "leaseId": lease} for p, m in res.items]})

    def ack_reply(self, o: AckOutcome, group: Optional[str]) -> Any:
        if not o.success:
            return {"error": f"Failed to acknowledge message: {o.error}"}
        return {"transactionId": o.txid, "status": o.status,
                "consumerGroup": group if group not in (None, QUEUE_MODE) else None,
                "acknowledgedAt": iso_ms(time.time())}

    def ack_batch_reply(self, outs: List[AckOutcome]) -> Any:
        results: List[Dict[str, Any]] = []
        for o in outs:
            if o.success:
                results.append({"success": True, "message": o.status})
            else:
                results.append({"success": False, "message": "batch_failed", "error": o.error})
        ok = sum(1 for o in outs if o.success)
        return {"successful": ok, "failed": len(outs) - ok, "results": results}

    def txn_reply(self, facts: Dict[str, Any],
                  partition_id: Callable[[Dict[str, Any]], Optional[str]]) -> Reply:
        results: List[Dict[str, Any]] = []
        for r in facts["results"]:
            if r["type"] == "ack":
                msg = ("failed_dlq" if r["dlq"] else "completed") if r["success"] else r["error"]
                results.append({"type": "ack", "success": r["success"], "message": msg})
            elif r["type"] == "push":
                rows = r["items"]
                results.append({"type": "push", "count": len(rows), "results": [
                    {"status": "queued", "transactionId": row["transactionId"],
                     "messageId": row["messageId"]} for row in rows]})
            else:
                results.append({"type": "unknown", "error": r["error"]})
        out: Dict[str, Any] = {"transactionId": uuid7(), "success": facts["success"],
                               "results": results}
        err = facts["error"]
        if facts.get("fatal") is not None:
            out["error"] = facts["fatal"]
        elif err is not None and not err.startswith(("ACK operation", "Unknown operation")):
            out["error"] = err
        return encode(out)

    def extend_reply(self, lease_id: str, expiry: Optional[float], seconds: Any) -> Any:
        if expiry is None:
            return {"error": "Lease not found or expired"}
        return {"leaseId": lease_id, "extended": True, "seconds": seconds}

    def dlq_reply(self, b: Broker, get: Query, limit: int, offset: int) -> Any:
        rows = b.dlq_entries(get("queue") or None, get("consumerGroup") or None,
                             get("partition") or None, parse_ts(get("from") or None),
                             parse_ts(get("to") or None))
        page = rows[offset:offset + limit] if limit >= 0 else rows[offset:]
        out = []
        for e in page:
            q = e.partition.queue
            row = {"id": e.id, "messageId": e.message.id, "partitionId": e.partition.id,
                   "transactionId": e.message.txid, "consumerGroup": e.group,
                   "errorMessage": e.error, "retryCount": e.retry_count,
                   "originalCreatedAt": pg_ts(e.message.created),
                   "movedToDlqAt": pg_ts(e.moved_at),
                   "messageCreatedAt": pg_ts(e.message.created), "queueName": q.name,
                   "namespace": q.namespace, "task": q.task, "partitionName": e.partition.name,
                   "data": shown_payload(e.message.data)}
            if e.message.trace_id:
                row["traceId"] = e.message.trace_id
            out.append(row)
        return {"messages": out, "total": len(rows), "limit": limit, "offset": offset}

    def trace_refused(self, partition_id: Any) -> Optional[Dict[str, Any]]:
        return None

    def trace_recorded(self, t: Optional[Trace]) -> Dict[str, Any]:
        if t is None:
            return {"error": "Failed to record trace"}
        return {"success": True}

    # ---- reply shapes: admin routes

    def group_deleted(self, out: Dict[str, Any], n: int, queue: Optional[str]) -> None:
        pass

    def subscription_error(self, text: str) -> Dict[str, Any]:
        return {"error": text}

    def subscription_updated(self, group: str, ts_text: str, n: int) -> Dict[str, Any]:
        return {"success": True, "consumerGroup": group, "subscriptionTimestamp": ts_text}

    def traces_of_reply(self, rows: List[Dict[str, Any]]) -> Dict[str, Any]:
        return {"traces": rows, "count": len(rows)}

    def traces_by_name_reply(self, traces: List[Trace], limit: int, offset: int,
                             row: Callable[[Trace], Dict[str, Any]]) -> Dict[str, Any]:
        page = [row(t) for t in traces[offset:offset + limit]]
        return {"traces": page, "count": len(page), "total": len(traces), "limit": limit,
                "offset": offset}

    def trace_names_reply(self, rows: List[Dict[str, Any]], limit: int,
                          offset: int) -> Dict[str, Any]:
        page = rows[offset:offset + limit]
        return {"trace_names": page, "count": len(page), "total": len(rows), "limit": limit,
                "offset": offset}
