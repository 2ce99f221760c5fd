"""The 0.15 streams routes of the embedded server: ``POST /streams/v1/queries``,
``/streams/v1/cycle`` and ``/streams/v1/state/get``, as Queen 0.15.1 answers them
(``streams_v1.json`` of the wire recordings).

* Checks before the "database" give real 400s ``{"error"}``; everything after is
  HTTP 200, with ``success: false`` on failure (a config_hash mismatch too).
* State lives per (query, partition id, key). Nothing checks that a partition id
  exists; an unknown query id fails only when a state row is written (the
  foreign-key text).
* A cycle is one transaction: state ops, then sink pushes, then the source ack.
  A failed cycle stores nothing, yet its answer reports the work done before the
  failure (``state_ops_applied``, ``push_results`` with ids and ``queued``).
* The ack finds the message by transactionId inside ``partition_id``, checks the
  lease when a ``leaseId`` is given, moves the group's cursor to it, and releases
  the lease unless ``release_lease`` is false. ``failed``/``dlq`` dead-letter the
  message (reported as ``count: 0, lease_released: false``, though released).

Answers have their keys sorted, as the real server's JSON library writes them.
The 0.7 personality does not register these routes (uWebSockets' 404 page).
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

import orjson
from aiohttp import web

from .app import JSON_HEADERS, QueenServer
from .broker import Broker
from .model import QUEUE_MODE, Message, Partition, is_uuid
from .rules import STREAMS_V1

_SORTED = orjson.OPT_SORT_KEYS
_PG_TRUE = {"t", "true", "y", "yes", "on", "1"}
_PG_FALSE = {"f", "false", "n", "no", "off", "0"}
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                   r"[0-9a-fA-F]{12}$")
_ARRAY_ERROR = "cannot get array length of a non-array"


class _Bad(Exception):
    """A check made before the database: HTTP 400 ``{"error"}``."""


class _Fail(Exception):
    """A failure inside the cycle's transaction (rolled back; HTTP 200)."""


class Query:
    __slots__ = ("id", "name", "source_queue", "sink_queue", "config_hash", "created")

    def __init__(self, qid: str, name: str, source: str, sink: Optional[str], config_hash: str,
                 created: float) -> None:
        self.id = qid
        self.name = name
        self.source_queue = source
        self.sink_queue = sink
        self.config_hash = config_hash
        self.created = created


def _ts(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat()


def _pg_bool(value: Any) -> bool:
    """``(body->>'reset')::boolean`` as PostgreSQL reads it."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = orjson.dumps(value).decode() if not isinstance(value, str) else value
    low = text.strip().lower()
    if low in _PG_TRUE:
        return True
    if low in _PG_FALSE:
        return False
    raise _Fail(f'ERROR:  invalid input syntax for type boolean: "{text}"\nCONTEXT:  PL/pgSQL '
                "function queen.streams_register_query_v1(jsonb) line 28 at assignment\n")


class StreamsV1:
    """Queries and their state beside a broker; all the route logic, no HTTP."""

    def __init__(self, broker: Broker) -> None:
        self.b = broker
        self.queries: Dict[str, Query] = {}          # by name
        self.by_id: Dict[str, Query] = {}
        # (query id, partition id) -> key -> (value, updated_at)
        self.state: Dict[Tuple[str, str], Dict[str, Tuple[Any, float]]] = {}

    # ------------------------------------------------------------ register

    def register(self, body: Any) -> Dict[str, Any]:
        if not isinstance(body, dict):
            raise _Bad("request body must be a JSON object")
        for field in ("name", "source_queue", "config_hash"):
            v = body.get(field)
            if not isinstance(v, str) or not v:
                raise _Bad(f"{field} is required")
        name, chash = body["name"], body["config_hash"]
        try:
            reset = _pg_bool(body.get("reset"))
        except _Fail as e:
            return {"success": False, "error": str(e)}
        sink = body.get("sink_queue") if isinstance(body.get("sink_queue"), str) else None
        q = self.queries.get(name)
        if q is None:
            q = Query(str(uuid.uuid4()), name, body["source_queue"], sink, chash, self.b.now())
            self.queries[name] = q
            self.by_id[q.id] = q
            return {"success": True, "query_id": q.id, "name": name, "config_hash": chash,
                    "fresh": True, "reset": False}
        did_reset = False
        if q.config_hash != chash:
            if not reset:
                return {"success": False, "query_id": q.id, "name": name, "error": (
                    f"config_hash mismatch: operator chain changed for queryId '{name}'. Pass "
                    "reset:true to wipe existing state, or use a new queryId.")}
            for key in [k for k in self.state if k[0] == q.id]:
                del self.state[key]
            q.config_hash = chash
            did_reset = True
        q.source_queue = body["source_queue"]
        if sink is not None:
            q.sink_queue = sink
        return {"success": True, "query_id": q.id, "name": name, "config_hash": chash,
                "fresh": False, "reset": did_reset}

    # ------------------------------------------------------------ state/get

    @staticmethod
    def _ids(body: Any) -> Tuple[str, str]:
        if not isinstance(body, dict):
            raise _Bad("request body must be a JSON object")
        qid, pid = body.get("query_id"), body.get("partition_id")
        if not isinstance(qid, str) or not qid:
            raise _Bad("query_id is required")
        if not isinstance(pid, str) or not pid:
            raise _Bad("partition_id is required")
        return qid, pid

    def state_get(self, body: Any) -> Dict[str, Any]:
        qid, pid = self._ids(body)
        for v in (qid, pid):
            if not _UUID.match(v):
                return {"success": False, "error": (
                    f'ERROR:  invalid input syntax for type uuid: "{v}"\nCONTEXT:  PL/pgSQL '
                    "function queen.streams_state_get_v1(jsonb) line 11 at FOR over SELECT rows\n")}
        rows = self.state.get((qid.lower(), pid.lower()), {})
        keys = body.get("keys")
        wanted = set(k for k in keys if isinstance(k, str)) if isinstance(keys, list) and keys \
            else None
        prefix = body.get("key_prefix") if isinstance(body.get("key_prefix"), str) else None
        ripe = body.get("ripe_at_or_before")
        ripe_ok = isinstance(ripe, (int, float)) and not isinstance(ripe, bool)
        out = []
        for key in sorted(rows):
            value, updated = rows[key]
            if wanted is not None and key not in wanted:
                continue
            if prefix is not None and not key.startswith(prefix):
                continue
            if ripe_ok:
                end = value.get("windowEnd") if isinstance(value, dict) else None
                if isinstance(end, bool) or not isinstance(end, (int, float)) or end > ripe:
                    continue
            out.append({"key": key, "updated_at": _ts(updated), "value": value})
        return {"success": True, "rows": out}

    # ------------------------------------------------------------ cycle

    def cycle(self, body: Any) -> Dict[str, Any]:
        qid, pid = self._ids(body)
        if not _UUID.match(qid) or not _UUID.match(pid):
            bad = qid if not _UUID.match(qid) else pid
            return {"success": False, "query_id": "", "partition_id": "", "queueName": None,
                    "state_ops_applied": 0, "push_results": [], "ack_result": None,
                    "error": f'invalid input syntax for type uuid: "{bad}"'}
        qid, pid = qid.lower(), pid.lower()
        p = self.b.partitions.get(pid)
        out: Dict[str, Any] = {"query_id": qid, "partition_id": pid,
                               "queueName": p.queue.name if p is not None else None,
                               "state_ops_applied": 0, "push_results": [], "ack_result": None}
        group = body.get("consumer_group") if isinstance(body.get("consumer_group"), str) \
            and body.get("consumer_group") else QUEUE_MODE
        plan = _Plan(self, qid, pid, group, out)
        try:
            plan.state_ops(body.get("state_ops"))
            plan.pushes(body.get("push_items"))
            plan.ack(body.get("ack"), body.get("release_lease"))
        except _Fail as e:
            out["success"] = False
            out["error"] = str(e)
            return out
        plan.commit()
        out["success"] = True
        return out


class _Plan:
    """One cycle's changes, checked first and applied only when all succeed."""

    def __init__(self, s: StreamsV1, qid: str, pid: str, group: str, out: Dict[str, Any]) -> None:
        self.s, self.b = s, s.b
        self.qid, self.pid, self.group, self.out = qid, pid, group, out
        self.ops: List[Tuple[str, str, Any]] = []
        self.items: List[Tuple[str, str, str, Any, str, str]] = []
        self.new_parts: Dict[Tuple[str, str], str] = {}
        self.ack_plan: Optional[Tuple[Partition, Message, str, Any, bool]] = None

    def state_ops(self, ops: Any) -> None:
        if ops is None:
            return
        if not isinstance(ops, list):
            raise _Fail(_ARRAY_ERROR)
        for op in ops:
            kind = op.get("type") if isinstance(op, dict) else None
            key = op.get("key") if isinstance(op, dict) else None
            if kind == "upsert":
                if self.qid not in self.s.by_id:
                    raise _Fail('insert or update on table "state" violates foreign key '
                                'constraint "state_query_id_fkey"')
                if not isinstance(key, str):
                    raise _Fail('null value in column "key" of relation "state" violates '
                                'not-null constraint')
                value = op.get("value", {})
                self.ops.append(("upsert", key, {} if value is None else value))
            elif kind == "delete":
                self.ops.append(("delete", str(key), None))
            else:
                raise _Fail(f"Unknown state_op type: {kind}")
            self.out["state_ops_applied"] += 1

    def pushes(self, items: Any) -> None:
        if items is None:
            return
        if not isinstance(items, list):
            raise _Fail(_ARRAY_ERROR)
        results: List[Dict[str, Any]] = self.out["push_results"]
        for i, item in enumerate(items):
            qname = item.get("queue") if isinstance(item, dict) else None
            if not isinstance(qname, str) or not qname:
                raise _Fail('null value in column "name" of relation "queues" violates '
                            'not-null constraint')
            pname = item.get("partition")
            pname = pname if isinstance(pname, str) and pname else "Default"
            given = item.get("transactionId")
            txid = given if isinstance(given, str) and given else str(uuid.uuid4())
            q = self.b.queues.get(qname)
            p = q.partitions.get(pname) if q is not None else None
            dup = p.by_txid.get(txid) if p is not None else None
            if dup is None:
                dup_item = next((x for x in self.items if x[0] == qname and x[1] == pname
                                 and x[2] == txid), None)
                if dup_item is not None:
                    results.append({"index": i, "message_id": dup_item[4], "queueName": qname,
                                    "status": "duplicate", "transaction_id": txid})
                    continue
            if dup is not None:
                results.append({"index": i, "message_id": dup.id, "queueName": qname,
                                "status": "duplicate", "transaction_id": txid})
                continue
            if p is not None:
                part_id = p.id
            else:
                part_id = self.new_parts.setdefault((qname, pname), str(uuid.uuid4()))
            mid = str(uuid.uuid4())
            self.items.append((qname, pname, txid, item.get("payload"), mid, part_id))
            results.append({"index": i, "message_id": mid, "partition_id": part_id,
                            "queueName": qname, "status": "queued", "trace_id": None,
                            "transaction_id": txid})

    def ack(self, ack: Any, release: Any) -> None:
        if ack is None:
            return
        if not isinstance(ack, dict):
            raise _Fail("ack.transactionId is required")
        txid = ack.get("transactionId")
        if not isinstance(txid, str) or not txid:
            raise _Fail("ack.transactionId is required")
        p = self.b.partitions.get(self.pid)
        m = p.by_txid.get(txid) if p is not None else None
        if p is None or m is None:
            raise _Fail("Message not found")
        status = ack.get("status") or "completed"
        if status not in ("completed", "success", "failed", "dlq"):
            raise _Fail(f"Unknown ack.status: {status}")
        lease = ack.get("leaseId")
        st = p.states.get(self.group)
        if lease:
            now = self.b.now()
            if st is None or st.lease_id != lease or st.lease_expires <= now:
                raise _Fail("Invalid or expired lease")
        keep = release is False
        self.ack_plan = (p, m, status, ack, keep)
        failed = status in ("failed", "dlq")
        count = ack.get("count", 0)
        self.out["ack_result"] = {"success": True, "dlq": failed,
                                  "count": 0 if failed else count,
                                  "lease_released": False if failed else not keep}

    def commit(self) -> None:
        b = self.b
        now = b.now()
        rows = self.s.state.setdefault((self.qid, self.pid), {})
        for kind, key, value in self.ops:
            if kind == "upsert":
                rows[key] = (orjson.loads(orjson.dumps(value)), time.time())
            else:
                rows.pop(key, None)
        if not rows:
            self.s.state.pop((self.qid, self.pid), None)
        touched: Dict[str, None] = {}
        for qname, pname, txid, payload, mid, part_id in self.items:
            q = b.queues.get(qname)
            if q is None:
                q = b.new_pushed_queue(qname)
            p = q.partitions.get(pname)
            if p is None:
                p = b._partition(q, pname)
                del b.partitions[p.id]
                p.id = part_id
                b.partitions[part_id] = p
            msg = b._append(p, txid, payload, None, now)
            msg.id = mid
            touched[qname] = None
        if self.ack_plan is not None:
            p, m, status, ack, keep = self.ack_plan
            st = b.state(p, self.group)
            if status in ("failed", "dlq"):
                err = ack.get("error")
                b.to_dlq(p, m, self.group, str(err) if err is not None else None, 0, now)
            if m.seq > st.cursor:
                b.consume(p, st, m.seq, now)
            b.stats["ack"] += 1
            if not keep or status in ("failed", "dlq"):
                b.release(p, self.group, st)
                st.retries = 0
        b._pushed(touched)


# ---------------------------------------------------------------- HTTP


STREAMS_KEY: web.AppKey[StreamsV1] = web.AppKey("queen_streams_v1", StreamsV1)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data, option=_SORTED), status=status,
                        headers=JSON_HEADERS)


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _Bad(f"Invalid JSON: {exc}") from None


def _handler(method: str) -> Any:
    async def handle(request: web.Request) -> web.Response:
        logic = request.app[STREAMS_KEY]
        try:
            return _json(getattr(logic, method)(await _body(request)))
        except _Bad as e:
            return _json({"error": str(e)}, 400)
    return handle


def register(app: web.Application, server: QueenServer) -> Optional[StreamsV1]:
    """Add the three routes when the server's generation has them (0.15); returns
    their logic object (handy in tests)."""
    if STREAMS_V1 not in server.rules.features:
        return None
    logic = StreamsV1(server.b)
    app[STREAMS_KEY] = logic
    app.router.add_post("/streams/v1/queries", _handler("register"))
    app.router.add_post("/streams/v1/cycle", _handler("cycle"))
    app.router.add_post("/streams/v1/state/get", _handler("state_get"))
    return logic


__all__ = ["StreamsV1", "register", "STREAMS_KEY", "is_uuid"]
