"""HTTP face of the embedded Queen server (aiohttp.web).

``make_app(broker, compat)`` decodes the wire format, calls the broker and
encodes replies exactly as the real servers do (see queen-http-api.md and the
wire recordings): 0.7 answers almost everything with HTTP 200, 0.15 sends real
400s for validation errors; unknown routes and wrong methods get uWebSockets'
404 HTML page; OPTIONS answers the CORS preflight.

The hot routes (pop, ack, push, configure, transaction, ...) have ``*_core`` /
``pop_begin`` forms returning ``(status, JSON bytes)`` that the aiohttp handlers wrap,
so the protocol logic is testable without aiohttp's request objects.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import time
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Tuple, Union

import orjson
from aiohttp import web
from multidict import CIMultiDict

from .broker import (
    QUEUE_MODE,
    AckOutcome,
    Broker,
    BrokerError,
    Message,
    Partition,
    PopResult,
    Queue,
    is_uuid,
    parse_ts,
    uuid4,
    uuid7,
)

NOT_FOUND_HTML = ("<html><body><h1>File Not Found</h1><hr><i>uWebSockets/20 Server</i>"
                  "</body></html>")
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
}
# Prebuilt reply headers (same names, values and order web.Response would make from
# headers=CORS plus content_type="application/json"); copied per response by aiohttp.
JSON_HEADERS: CIMultiDict[str] = CIMultiDict(CORS)
JSON_HEADERS["Content-Type"] = "application/json"
BROKER_KEY = web.AppKey("queen_broker", Broker)
SERVER_KEY = web.AppKey("queen_server", object)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Reply = Tuple[int, bytes]  # status and JSON body of a hot-path answer

# ---------------------------------------------------------------- formatting


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


_last_sec = -1
_last_prefix = ""


def _sec_prefix(t: float) -> str:
    """``_dt(t).strftime("%Y-%m-%dT%H:%M:%S")``, cached for the last whole second:
    pops and acks format timestamps of the same second over and over."""
    global _last_sec, _last_prefix
    s = int(t)
    if t < 0 or t - s >= 0.9999995:  # datetime may round up into the next second
        return _dt(t).strftime("%Y-%m-%dT%H:%M:%S")
    if s != _last_sec:
        _last_prefix = _dt(s).strftime("%Y-%m-%dT%H:%M:%S")
        _last_sec = s
    return _last_prefix


def iso_ms(t: Optional[float]) -> Optional[str]:
    if t is None:
        return None
    return f"{_sec_prefix(t)}.{int(t * 1000) % 1000:03d}Z"


def iso_us(t: float) -> str:
    return _dt(t).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_sec(t: float) -> str:
    return _sec_prefix(t) + ".000Z"


def pg_ts(t: Optional[float]) -> Optional[str]:
    """PostgreSQL text form: microseconds with trailing zeros trimmed."""
    if t is None:
        return None
    d = _dt(t)
    frac = f"{d.microsecond:06d}".rstrip("0")
    return d.strftime("%Y-%m-%d %H:%M:%S") + ("." + frac if frac else "") + "+00"


_INT_RE = re.compile(r"^\s*([+-]?\d+)")


def s_int(raw: Optional[str], default: int) -> int:
    """stoi semantics: leading integer or the default."""
    if raw is None:
        return default
    if raw.isdigit() and raw.isascii():  # the common case, without the regex
        return int(raw)
    m = _INT_RE.match(raw)
    return int(m.group(1)) if m else default


def s_bool(raw: Optional[str], default: bool) -> bool:
    if raw is None:
        return default
    return raw in ("true", "1") or default


def q_int(request: web.Request, name: str, default: int) -> int:
    return s_int(request.query.get(name), default)


def q_bool(request: web.Request, name: str, default: bool) -> bool:
    return s_bool(request.query.get(name), default)


def q_str(request: web.Request, name: str) -> Optional[str]:
    value = request.query.get(name)
    return value if value else None


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class BadRequest(Exception):
    """A validation error answered before any state change (0.15: real 400)."""


class PopWait:
    """A pop that found nothing and asked to wait: long-poll ``attempt`` on ``queue``,
    then ``finish`` the result into a reply."""

    __slots__ = ("queue", "attempt", "timeout", "finish")

    def __init__(self, queue: str, attempt: Callable[[], PopResult], timeout: int,
                 finish: Callable[[Optional[PopResult]], Reply]) -> None:
        self.queue = queue
        self.attempt = attempt
        self.timeout = timeout
        self.finish = finish


def web_reply(reply: Reply) -> web.Response:
    return web.Response(body=reply[1], status=reply[0], headers=JSON_HEADERS)


def request_gone(request: web.Request) -> Callable[[], bool]:
    def gone() -> bool:
        transport = request.transport
        return transport is None or transport.is_closing()
    return gone


# ---------------------------------------------------------------- the server


class QueenServer:
    """Route handlers bound to one broker and one personality."""

    def __init__(self, broker: Broker, compat: str) -> None:
        self.b = broker
        self.compat = compat
        self.v15 = compat == "0.15"
        self.requests = 0
        self.started = time.time()
        self._waiters: Dict[str, Set[asyncio.Future[None]]] = {}
        broker.add_change_listener(self.notify)

    # ---- plumbing

    def json(self, data: Any, status: int = 200) -> web.Response:
        return web.Response(body=orjson.dumps(data), status=status, headers=JSON_HEADERS)

    def error(self, text: str, status: int = 400) -> web.Response:
        """A validation error: 0.7 sends every handler answer with HTTP 200."""
        return self.json({"error": text}, status if self.v15 else 200)

    def out(self, data: Any, status: int = 200) -> Reply:
        return status, orjson.dumps(data)

    def parse(self, raw: bytes) -> Any:
        if not raw:
            raise BadRequest("Empty request body")
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"Invalid JSON: {exc}") from None

    async def body(self, request: web.Request) -> Any:
        return self.parse(await request.read())

    def notify(self, queue: str) -> None:
        for key in (queue, "*"):
            futs = self._waiters.pop(key, None)
            if futs:
                for fut in futs:
                    if not fut.done():
                        fut.set_result(None)

    def wake_all(self) -> None:
        for key in list(self._waiters):
            self.notify(key)

    async def _wait(self, key: str, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._waiters.setdefault(key, set()).add(fut)
        timer = loop.call_later(seconds, _wake, fut)  # cheaper than asyncio.wait(timeout=)
        try:
            await fut
        finally:
            timer.cancel()
            futs = self._waiters.get(key)
            if futs is not None:
                futs.discard(fut)
                if not futs:
                    self._waiters.pop(key, None)

    async def long_poll(self, gone: Callable[[], bool], key: str, queue: Optional[str],
                        attempt: Callable[[], PopResult], timeout_ms: int) -> Optional[PopResult]:
        """Retry ``attempt`` whenever something changes (push, ack, lease release) or a
        timed event is due (lease expiry, delay, window buffer) until it yields
        messages or the deadline passes (None)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0, timeout_ms) / 1000.0
        while True:
            if gone():
                return None  # client gone: do not take a lease nobody will see
            res = attempt()
            if res.items or res.status == "error":
                return res
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            wait = min(remaining, 1.0)
            due = self.b.next_due(queue)
            if due is not None:
                wait = min(wait, max(0.001, due - self.b.clock() + 0.001))
            await self._wait(key, wait)

    # ---- middleware

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests += 1
        if request.method == "OPTIONS":
            return web.Response(status=200, headers={**CORS, "Access-Control-Max-Age": "86400"})
        try:
            return await handler(request)
        except BadRequest as exc:
            return self.error(str(exc))
        except BrokerError as exc:
            return self.json({"error": str(exc)}, 200)
        except web.HTTPException as exc:
            if exc.status in (404, 405):
                return web.Response(status=404, text=NOT_FOUND_HTML, content_type="text/html")
            raise

    # ---- configure / queues

    async def configure(self, request: web.Request) -> web.Response:
        return web_reply(self.configure_core(await request.read()))

    def configure_core(self, raw: bytes) -> Reply:
        body = self.parse(raw)
        if not isinstance(body, dict) or not isinstance(body.get("queue"), str):
            raise BadRequest("queue is required")
        options = body.get("options")
        opts = options if isinstance(options, dict) else None
        if not self.v15 and options is not None and not isinstance(options, dict):
            opts = {}
        if not self.v15 and "options" in body and opts is None:
            opts = {}
        try:
            q = self.b.configure(body["queue"], body.get("namespace"), body.get("task"), opts)
        except BrokerError as exc:
            if self.v15:
                return self.out({"error": str(exc), "success": False})
            return self.out({"error": str(exc)})
        if self.v15 and q.bare_config:
            return self.out({"error": "[json.exception.type_error.306] cannot use value() with "
                                       "null"})
        out: Dict[str, Any] = {"configured": True, "queue": q.name, "namespace": q.namespace,
                               "task": q.task, "options": dict(q.options)}
        if self.v15:
            out["queueId"] = q.id
            out["partitionId"] = q.partitions["Default"].id
        return self.out(out)

    async def delete_queue(self, request: web.Request) -> web.Response:
        return web_reply(self.delete_queue_core(request.match_info["queue"]))

    def delete_queue_core(self, name: str) -> Reply:
        existed = self.b.delete_queue(name)
        return self.out({"deleted": True, "queue": name, "existed": existed})

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
        keys = ("total", "pending", "processing", "completed", "failed", "deadLetter")
        return {k: sum(r[k] for r in rows) for k in keys}

    def _ts(self, t: Optional[float]) -> Optional[str]:
        return iso_ms(t) if self.v15 else pg_ts(t)

    async def queue_detail(self, request: web.Request) -> web.Response:
        q = self.b.queues.get(request.match_info["queue"])
        if q is None:
            return self.json({"error": "Queue not found"})
        now = self.b.now()
        parts = []
        for p in q.partitions.values():
            parts.append({"id": p.id, "name": p.name, "createdAt": self._ts(p.created),
                          "stats": self._stats(p, now),
                          "oldestMessage": self._ts(p.messages[0].created) if p.messages else None,
                          "newestMessage": self._ts(p.messages[-1].created) if p.messages
                          else None})
        return self.json({"id": q.id, "name": q.name, "namespace": q.namespace, "task": q.task,
                          "createdAt": self._ts(q.created), "partitions": parts,
                          "totals": self._sum([self._stats(p, now) for p in q.partitions.values()])})

    async def queue_list(self, request: web.Request) -> web.Response:
        now = self.b.now()
        rows = []
        for q in self.b.queues.values():
            tot = self._sum([self._stats(p, now) for p in q.partitions.values()])
            rows.append({"id": q.id, "name": q.name, "namespace": q.namespace, "task": q.task,
                         "createdAt": self._ts(q.created), "partitions": len(q.partitions),
                         "messages": {"total": tot["total"], "pending": tot["pending"],
                                      "processing": tot["processing"]}})
        return self.json({"queues": rows})

    async def queue_status(self, request: web.Request) -> web.Response:
        q = self.b.queues.get(request.match_info["queue"])
        if q is None:
            return self.json({"error": "Queue not found"})
        now = self.b.now()
        parts = []
        batches = consumed = 0
        for p in q.partitions.values():
            stats = self._stats(p, now)
            st = p.states.get(QUEUE_MODE)
            total_consumed = st.total_consumed if st else 0
            consumed += total_consumed
            cursor: Dict[str, Any] = {"totalConsumed": total_consumed, "batchesConsumed": 0}
            row: Dict[str, Any] = {"id": p.id, "name": p.name, "createdAt": self._ts(p.created),
                                   "cursor": cursor}
            if self.v15:
                row["messages"] = stats
                row["stats"] = stats
                row["lastActivity"] = None
                row["oldestMessage"] = self._ts(p.messages[0].created) if p.messages else None
                row["newestMessage"] = self._ts(p.messages[-1].created) if p.messages else None
            else:
                row["messages"] = {k: v for k, v in stats.items() if k != "deadLetter"}
                cursor["lastConsumedAt"] = pg_ts(st.last_consumed_at) if st else None
            parts.append(row)
        config: Dict[str, Any] = {"leaseTime": q.opt("leaseTime"), "retryLimit": q.opt("retryLimit"),
                                  "ttl": q.opt("ttl"), "maxQueueSize": q.opt("maxSize")}
        if self.v15:
            config["retryDelay"] = q.opt("retryDelay")
            config["deadLetterQueue"] = q.opt("deadLetterQueue")
        tot = self._sum([self._stats(p, now) for p in q.partitions.values()])
        out: Dict[str, Any] = {
            "queue": {"id": q.id, "name": q.name, "namespace": q.namespace, "task": q.task,
                      "priority": q.opt("priority"), "config": config,
                      "createdAt": self._ts(q.created)},
            "partitions": parts}
        if self.v15:
            out["totals"] = {**tot, "messages": tot}
        else:
            out["totals"] = {"partitions": len(parts), "consumed": consumed, "batches": batches,
                             "messages": {k: v for k, v in tot.items() if k != "deadLetter"}}
            out["timeRange"] = {"from": "", "to": ""}
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

    # ---- push

    def _validate_items(self, body: Any) -> List[Dict[str, Any]]:
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise BadRequest("items array is required")
        items = []
        for item in body["items"]:
            if not isinstance(item, dict) or not isinstance(item.get("queue"), str):
                raise BadRequest("Queue must be a string")
            if "partition" in item and not isinstance(item["partition"], str):
                raise BadRequest("Partition must be a string")
            if "transactionId" in item and not isinstance(item["transactionId"], str):
                raise BadRequest("TransactionId must be a string")
            if "traceId" in item and item["traceId"] is not None and not isinstance(
                    item["traceId"], str):
                raise BadRequest("TraceId must be a string")
            items.append(item)
        return items

    async def push(self, request: web.Request) -> web.Response:
        return web_reply(self.push_core(await request.read()))

    def push_core(self, raw: bytes) -> Reply:
        items = self._validate_items(self.parse(raw))
        if not items:
            return self.out([], 201 if self.v15 else 200)
        bad_trace = [it for it in items if it.get("traceId") is not None
                     and not is_uuid(it["traceId"])]
        if bad_trace:
            return self._bad_trace(items)
        if self.b.maintenance:
            self.b.buffer_push(items)
            return self.out([self._buffered(it) for it in items], 200)
        results = self.b.push(items)
        out: List[Dict[str, Any]] = []
        if self.v15:
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
        else:
            for r in results:
                row = {"transaction_id": r.txid, "status": r.status}
                if r.message is not None:
                    row["message_id"] = r.message.id
                if r.trace_id is not None:
                    row["trace_id"] = r.trace_id
                if r.error:
                    row["error"] = r.error
                out.append(row)
        return self.out(out)

    def _buffered(self, item: Dict[str, Any]) -> Dict[str, Any]:
        if self.v15:
            return {"status": "buffered", "queue": item["queue"],
                    "partition": item.get("partition") or "Default",
                    "transactionId": item.get("transactionId")}
        return {"status": "buffered", "transaction_id": item.get("transactionId")}

    def _bad_trace(self, items: List[Dict[str, Any]]) -> Reply:
        """A non-UUID traceId fails the database insert.  The real servers then park
        the items in their failover file; we store nothing and say so plainly."""
        text = f'invalid input syntax for type uuid: "{items[0].get("traceId")}"'
        if self.v15:
            return self.out({"error": text}, 200)
        out = []
        for it in items:
            row = {"transaction_id": it.get("transactionId") or uuid7(), "status": "failed",
                   "error": text}
            if it.get("traceId") is not None:
                row["trace_id"] = it["traceId"]
            out.append(row)
        return self.out(out)

    # ---- pop

    def _msg07(self, p: Partition, m: Message, group: str, lease: Optional[str]) -> Dict[str, Any]:
        return {"id": m.id, "transactionId": m.txid, "partitionId": p.id, "traceId": m.trace_id,
                "queue": p.queue.name, "partition": p.name, "data": m.data, "retryCount": 0,
                "priority": 0, "createdAt": iso_sec(m.created),
                "consumerGroup": None if group == QUEUE_MODE else group, "leaseId": lease}

    def _msg15(self, p: Partition, m: Message, group: str, lease: str) -> Dict[str, Any]:
        return {"id": m.id, "transactionId": m.txid, "traceId": m.trace_id, "data": m.data,
                "producerSub": m.producer_sub, "createdAt": iso_us(m.created),
                "partitionId": p.id, "partition": p.name, "leaseId": lease,
                "consumerGroup": group}

    def pop_reply(self, res: Optional[PopResult], queue: str, partition: Optional[str],
                  group: str, waited: bool) -> Reply:
        if self.v15:
            return self.out(self._pop15(res, queue, partition, group))
        if res is None:
            return 200, b""
        if not res.items:
            return 200, b"null"
        lease = res.lease_id
        if res.auto_ack:
            lease = uuid7()  # 0.7 still reports a (released) lease id
        return self.out({"messages": [self._msg07(p, m, group, lease) for p, m in res.items]})

    def _pop15(self, res: Optional[PopResult], queue: str, partition: Optional[str],
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
                "messages": [self._msg15(p, m, group, lease) for p, m in res.items]}

    async def _pop(self, request: web.Request, queue: str, partition: Optional[str]) -> web.Response:
        if self.b.pop_maintenance and self.v15:
            return self.json({"messages": [], "paused": True}, 204)
        r = self.pop_begin(request.query.get, queue, partition)
        if isinstance(r, PopWait):
            res = await self.long_poll(request_gone(request), r.queue, r.queue, r.attempt,
                                       r.timeout)
            r = r.finish(res)
        return web_reply(r)

    def pop_begin(self, get: Callable[[str], Optional[str]], queue: str,
                  partition: Optional[str]) -> Union[Reply, PopWait]:
        """The first pop attempt: a reply, or a PopWait when it must long-poll.
        (0.15 pop maintenance is the caller's business.)"""
        group = get("consumerGroup") or QUEUE_MODE
        batch = s_int(get("batch"), 1)
        wait = s_bool(get("wait"), False)
        timeout = s_int(get("timeout"), 30000)
        auto_ack = s_bool(get("autoAck"), False) and not (wait and not self.v15)
        sub_mode = get("subscriptionMode") or None
        sub_from = get("subscriptionFrom") or None
        parts = s_int(get("partitions"), 1) if self.v15 and partition is None else 1
        g = None if group == QUEUE_MODE else group

        def attempt() -> PopResult:
            return self.b.pop(queue, partition, g, batch, auto_ack, sub_mode, sub_from, parts)

        res = attempt()
        if wait and not res.items and res.status != "error":
            def finish(res2: Optional[PopResult]) -> Reply:
                return self.pop_reply(res2, queue, partition, group, True)
            return PopWait(queue, attempt, timeout, finish)
        return self.pop_reply(res, queue, partition, group, False)

    async def pop_queue(self, request: web.Request) -> web.Response:
        return await self._pop(request, request.match_info["queue"], None)

    async def pop_partition(self, request: web.Request) -> web.Response:
        return await self._pop(request, request.match_info["queue"],
                               request.match_info["partition"])

    async def pop_namespace(self, request: web.Request) -> web.Response:
        group = q_str(request, "consumerGroup") or QUEUE_MODE
        g = None if group == QUEUE_MODE else group
        batch = q_int(request, "batch", 1)
        wait = q_bool(request, "wait", False)
        auto_ack = q_bool(request, "autoAck", False) and not wait
        ns, task = q_str(request, "namespace"), q_str(request, "task")

        def attempt() -> PopResult:
            return self.b.pop_namespace(ns, task, g, batch, auto_ack)

        res: Optional[PopResult] = attempt()
        if wait and res is not None and not res.items:
            res = await self.long_poll(request_gone(request), "*", None, attempt,
                                       q_int(request, "timeout", 30000))
        return web_reply(self.pop_reply(res, "", None, group, wait))

    # ---- ack

    def _ack_row15(self, i: int, o: AckOutcome) -> Dict[str, Any]:
        p = o.partition
        return {"index": i, "transactionId": o.txid, "success": o.success, "error": o.error,
                "queueName": p.queue.name if p else None, "partitionName": p.name if p else None,
                "leaseReleased": o.lease_released if o.success else False, "dlq": o.dlq}

    async def ack(self, request: web.Request) -> web.Response:
        return web_reply(self.ack_core(await request.read()))

    def ack_core(self, raw: bytes) -> Reply:
        body = self.parse(raw)
        if not isinstance(body, dict) or not isinstance(body.get("transactionId"), str):
            raise BadRequest("transactionId is required")
        if not isinstance(body.get("partitionId"), str):
            raise BadRequest("partitionId is required to ensure message uniqueness")
        group = body.get("consumerGroup") if isinstance(body.get("consumerGroup"), str) else None
        o = self.b.ack(body["transactionId"], body["partitionId"], body.get("status"), group,
                       body.get("leaseId"), body.get("error"))
        if self.v15:
            return self.out([self._ack_row15(0, o)])
        if not o.success:
            return self.out({"error": f"Failed to acknowledge message: {o.error}"})
        return self.out({"transactionId": o.txid, "status": o.status,
                          "consumerGroup": group if group not in (None, QUEUE_MODE) else None,
                          "acknowledgedAt": iso_ms(time.time())})

    async def ack_batch(self, request: web.Request) -> web.Response:
        return web_reply(self.ack_batch_core(await request.read()))

    def ack_batch_core(self, raw: bytes) -> Reply:
        body = self.parse(raw)
        if not isinstance(body, dict) or not isinstance(body.get("acknowledgments"), list):
            raise BadRequest("acknowledgments array is required")
        acks = body["acknowledgments"]
        for a in acks:
            if not isinstance(a, dict) or not isinstance(a.get("transactionId"), str):
                raise BadRequest("Each acknowledgment must have a valid transactionId string")
            if not isinstance(a.get("partitionId"), str):
                raise BadRequest("Each acknowledgment must have a valid partitionId string to "
                                 "ensure message uniqueness")
        group = body.get("consumerGroup") if isinstance(body.get("consumerGroup"), str) else None
        outs = self.b.ack_batch(acks, group)
        if self.v15:
            return self.out([self._ack_row15(i, o) for i, o in enumerate(outs)])
        results = []
        for o in outs:
            if o.success:
                results.append({"success": True, "message": o.status})
            else:
                results.append({"success": False, "message": "batch_failed", "error": o.error})
        ok = sum(1 for o in outs if o.success)
        return self.out({"successful": ok, "failed": len(outs) - ok, "results": results})

    # ---- transaction

    async def transaction(self, request: web.Request) -> web.Response:
        return web_reply(self.transaction_core(await request.read()))

    def transaction_core(self, raw: bytes) -> Reply:
        body = self.parse(raw)
        if not isinstance(body, dict) or not isinstance(body.get("operations"), list):
            raise BadRequest("operations array required")
        ops = body["operations"]
        if not ops:
            raise BadRequest("operations array cannot be empty")
        txn_id = uuid4() if self.v15 else uuid7()
        facts = self.b.transaction(ops)
        results: List[Dict[str, Any]] = []
        for r in facts["results"]:
            if r["type"] == "ack":
                if self.v15:
                    results.append({"index": r["index"], "type": "ack", "success": r["success"],
                                    "transactionId": r["transactionId"], "error": r["error"],
                                    "dlq": r["dlq"]})
                else:
                    msg = ("failed_dlq" if r["dlq"] else "completed") if r["success"] else r["error"]
                    results.append({"type": "ack", "success": r["success"], "message": msg})
            elif r["type"] == "push":
                rows = r["items"]
                if self.v15:
                    for row in rows:
                        p = self._txn_partition(row)
                        results.append({"index": row["index"], "type": "push", "success": True,
                                         "transactionId": row["transactionId"],
                                         "messageId": row["messageId"],
                                         "partitionId": p, "queueName": row["queue"]})
                else:
                    results.append({"type": "push", "count": len(rows), "results": [
                        {"status": "queued", "transactionId": row["transactionId"],
                         "messageId": row["messageId"]} for row in rows]})
            else:
                if self.v15:
                    results.append({"index": len(results), "type": r["kind"], "success": False,
                                    "error": r["error"]})
                else:
                    results.append({"type": "unknown", "error": r["error"]})
        out: Dict[str, Any] = {"transactionId": txn_id, "success": facts["success"],
                               "results": results}
        err = facts["error"]
        if facts.get("fatal") is not None:
            if self.v15:
                return self.out({"error": facts["fatal"]}, 500)
            out["error"] = facts["fatal"]
        elif err is not None and (self.v15 or not err.startswith(("ACK operation",
                                                                   "Unknown operation"))):
            out["error"] = err
        return self.out(out)

    def _txn_partition(self, row: Dict[str, Any]) -> Optional[str]:
        q = self.b.queues.get(row["queue"])
        p = q.partitions.get(row["partition"]) if q is not None else None
        return p.id if p is not None else None

    # ---- lease

    async def extend(self, request: web.Request) -> web.Response:
        return web_reply(self.extend_core(await request.read(), request.match_info["lease"]))

    def extend_core(self, raw: bytes, lease_id: str) -> Reply:
        body = self.parse(raw)
        seconds = body.get("seconds", 60) if isinstance(body, dict) else 60
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            seconds = 60
        expiry = self.b.extend_lease(lease_id, float(seconds))
        if self.v15:
            return self.out([{"index": 0, "leaseId": lease_id, "success": expiry is not None,
                               "error": None if expiry is not None else "Lease not found",
                               "expiresAt": iso_ms(expiry)}])
        if expiry is None:
            return self.out({"error": "Lease not found or expired"})
        return self.out({"leaseId": lease_id, "extended": True, "seconds": seconds})

    # ---- DLQ

    async def dlq(self, request: web.Request) -> web.Response:
        limit = q_int(request, "limit", 100)
        offset = q_int(request, "offset", 0)
        queue, group = q_str(request, "queue"), q_str(request, "consumerGroup")
        if self.v15:
            rows = self.b.dlq_entries(queue, group)
            if offset > 0:
                return self.json({"success": True, "value": None})
            return self.json({"messages": [self._dlq15(e) for e in rows],
                              "pagination": {"limit": limit, "offset": offset}})
        rows = self.b.dlq_entries(queue, group, q_str(request, "partition"),
                                  parse_ts(q_str(request, "from")), parse_ts(q_str(request, "to")))
        page = rows[offset:offset + limit] if limit >= 0 else rows[offset:]
        return self.json({"messages": [self._dlq07(e) for e in page], "total": len(rows),
                          "limit": limit, "offset": offset})

    def _dlq07(self, e: Any) -> Dict[str, Any]:
        q = e.partition.queue
        row = {"id": e.id, "messageId": e.message.id, "partitionId": e.partition.id,
               "transactionId": e.message.txid, "consumerGroup": e.group,
               "errorMessage": e.error, "retryCount": e.retry_count,
               "originalCreatedAt": pg_ts(e.message.created), "movedToDlqAt": pg_ts(e.moved_at),
               "messageCreatedAt": pg_ts(e.message.created), "queueName": q.name,
               "namespace": q.namespace, "task": q.task, "partitionName": e.partition.name,
               "data": e.message.data}
        if e.message.trace_id:
            row["traceId"] = e.message.trace_id
        return row

    def _dlq15(self, e: Any) -> Dict[str, Any]:
        return {"id": e.message.id, "transactionId": e.message.txid,
                "partitionId": e.partition.id, "queue": e.partition.queue.name,
                "partition": e.partition.name, "consumerGroup": e.group,
                "errorMessage": e.error, "retryCount": e.retry_count, "data": e.message.data,
                "producerSub": e.message.producer_sub, "createdAt": iso_ms(e.message.created),
                "failedAt": iso_ms(e.moved_at)}

    # ---- consumer groups

    async def group_delete(self, request: web.Request) -> web.Response:
        group = request.match_info["group"]
        queue = request.match_info.get("queue")
        meta = request.query.get("deleteMetadata", "true") in ("true", "1")
        n = self.b.delete_group(group, meta, queue)
        out: Dict[str, Any] = {"success": True, "consumerGroup": group, "metadataDeleted": meta}
        if self.v15:
            out["deletedPartitions"] = n
            if queue is not None:
                out["queueName"] = queue
        return self.json(out)

    async def group_subscription(self, request: web.Request) -> web.Response:
        group = request.match_info["group"]
        body = await self.body(request)
        ts_text = body.get("subscriptionTimestamp") if isinstance(body, dict) else None
        if not ts_text:
            raise BadRequest("Missing subscriptionTimestamp in request body")
        ts = parse_ts(ts_text)
        if ts is None:
            text = f'invalid input syntax for type timestamp with time zone: "{ts_text}"'
            if self.v15:
                return self.json({"success": False, "error": text})
            return self.json({"error": text})
        n = self.b.update_subscription(group, ts)
        if self.v15:
            return self.json({"success": True, "consumerGroup": group, "newTimestamp": ts_text,
                              "rowsUpdated": n})
        return self.json({"success": True, "consumerGroup": group,
                          "subscriptionTimestamp": ts_text})

    async def group_seek(self, request: web.Request) -> web.Response:
        group, queue = request.match_info["group"], request.match_info["queue"]
        body = await self.body(request)
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
                             "lastConsumedAt": self._ts(st.last_consumed_at),
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

    # ---- traces

    async def trace_post(self, request: web.Request) -> web.Response:
        return web_reply(self.trace_core(await request.read()))

    def trace_core(self, data: bytes) -> Reply:
        body = self.parse(data)
        if not isinstance(body, dict) or not body.get("transactionId") or not body.get(
                "partitionId"):
            raise BadRequest("transactionId and partitionId are required")
        if "data" not in body:
            raise BadRequest("data is required")
        raw = body.get("traceNames")
        names: List[str] = []
        if isinstance(raw, str):
            names = [raw]
        elif isinstance(raw, list):
            names = [n for n in raw if isinstance(n, str)]
        names = [n for n in names if n]
        given_group, given_event = body.get("consumerGroup"), body.get("eventType")
        group: str = given_group if isinstance(given_group, str) else QUEUE_MODE
        event: str = given_event if isinstance(given_event, str) else "info"
        pid = body["partitionId"]
        if self.v15 and not is_uuid(pid):
            return self.out({"success": False, "error": (
                f'ERROR:  invalid input syntax for type uuid: "{pid}"\nCONTEXT:  PL/pgSQL '
                "function queen.record_trace_v1(jsonb) line 16 at assignment\n")})
        t = self.b.record_trace(body["transactionId"], pid, names, event, body["data"], group)
        if t is None:
            if self.v15:
                return self.out({"error": "Message not found", "success": False})
            return self.out({"error": "Failed to record trace"})
        if self.v15:
            return self.out({"success": True, "traceId": t.id})
        return self.out({"success": True})

    def _trace_row(self, t: Any, full: bool) -> Dict[str, Any]:
        row = {"id": t.id, "event_type": t.event_type, "data": t.data,
               "consumer_group": t.group, "worker_id": "0", "created_at": self._ts(t.created),
               "trace_names": list(t.names)}
        if full:
            row.update({"transaction_id": t.message.txid, "partition_id": t.partition.id,
                        "queue_name": t.partition.queue.name, "partition_name": t.partition.name,
                        "message_payload": t.message.data})
        return row

    async def traces_of(self, request: web.Request) -> web.Response:
        rows = [self._trace_row(t, False) for t in self.b.traces_of(
            request.match_info["pid"], request.match_info["tid"])]
        if self.v15:
            return self.json({"traces": rows})
        return self.json({"traces": rows, "count": len(rows)})

    async def traces_by_name(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        limit, offset = q_int(request, "limit", 100), q_int(request, "offset", 0)
        rows = self.b.traces_named(name)
        if self.v15:
            traces = None if offset > 0 else [self._trace_row(t, True) for t in rows]
            return self.json({"traces": traces, "total": len(rows),
                              "pagination": {"limit": limit, "offset": offset}})
        page = [self._trace_row(t, True) for t in rows[offset:offset + limit]]
        return self.json({"traces": page, "count": len(page), "total": len(rows),
                          "limit": limit, "offset": offset})

    async def trace_names(self, request: web.Request) -> web.Response:
        limit, offset = q_int(request, "limit", 50), q_int(request, "offset", 0)
        rows = self.b.trace_names()
        for r in rows:
            r["last_seen"] = self._ts(r["last_seen"])
        if self.v15:
            return self.json({"trace_names": rows[offset:offset + limit], "total": len(rows),
                              "pagination": {"limit": limit, "offset": offset}})
        page = rows[offset:offset + limit]
        return self.json({"trace_names": page, "count": len(page), "total": len(rows),
                          "limit": limit, "offset": offset})

    # ---- messages

    def _mode(self, q: Queue) -> Dict[str, Any]:
        groups = {g for p in q.partitions.values() for g in p.states if g != QUEUE_MODE}
        has_qm = any(QUEUE_MODE in p.states for p in q.partitions.values()) or not groups
        kind = "hybrid" if groups and has_qm else ("bus" if groups else "queue")
        return {"hasQueueMode": has_qm, "busGroupsCount": len(groups), "type": kind}

    def _bus(self, p: Partition, m: Message) -> Dict[str, int]:
        named = [st for g, st in p.states.items() if g != QUEUE_MODE]
        return {"consumedBy": sum(1 for st in named if st.cursor >= m.seq),
                "totalGroups": len(named)}

    async def message_get(self, request: web.Request) -> web.Response:
        p, m = self.b.find(request.match_info["pid"], request.match_info["tid"])
        if p is None or m is None:
            return self.json({"error": "Message not found"})
        now = self.b.now()
        q = p.queue
        status = self.b.message_status(p, m, now)
        st = p.states.get(QUEUE_MODE)
        lease_exp = self._ts(st.lease_expires) if status == "processing" and st else None
        dlq = [e for e in self.b.dlq if e.message is m]
        out: Dict[str, Any] = {
            "id": m.id, "transactionId": m.txid, "partitionId": p.id,
            "queuePath": f"{q.name}/{p.name}", "queue": q.name, "partition": p.name,
            "namespace": q.namespace, "task": q.task, "status": status, "payload": m.data,
            "traceId": m.trace_id, "createdAt": self._ts(m.created),
            "errorMessage": dlq[0].error if dlq else None,
            "retryCount": dlq[0].retry_count if dlq else None, "leaseExpiresAt": lease_exp,
            "queueConfig": {k: q.opt(k) for k in ("leaseTime", "retryLimit", "retryDelay", "ttl",
                                                  "priority")},
            "mode": self._mode(q)}
        if self.v15:
            out["isEncrypted"] = False
            out["producerSub"] = m.producer_sub
            out["mode"]["consumedByGroups"] = self._bus(p, m)["consumedBy"]
            out["consumerGroups"] = [
                {"name": g, "consumed": stt.cursor >= m.seq,
                 "leaseExpiresAt": self._ts(stt.lease_expires) if stt.leased(now)
                 and stt.cursor < m.seq <= stt.batch_last else None}
                for g, stt in p.states.items()]
        else:
            out["queueStatus"] = status
            out["busStatus"] = self._bus(p, m)
        return self.json(out)

    async def message_delete(self, request: web.Request) -> web.Response:
        pid, tid = request.match_info["pid"], request.match_info["tid"]
        ok = self.b.delete_message(pid, tid)
        if self.v15:
            return self.json({"success": ok, "partitionId": pid, "transactionId": tid,
                              "message": "Message deleted successfully" if ok
                              else "Message not found"})
        if not ok:
            return self.json({"error": "Message not found"})
        return self.json({"success": True, "message": "Message deleted successfully",
                          "partitionId": pid, "transactionId": tid})

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
                    row = {"id": m.id, "transactionId": m.txid, "partitionId": p.id,
                           "queuePath": f"{q.name}/{p.name}", "queue": q.name,
                           "partition": p.name, "namespace": q.namespace, "task": q.task,
                           "status": s, "queueStatus": s, "busStatus": self._bus(p, m),
                           "traceId": m.trace_id, "queuePriority": q.opt("priority"),
                           "createdAt": self._ts(m.created),
                           "leaseExpiresAt": self._ts(st.lease_expires)
                           if s == "processing" and st else None}
                    if self.v15:
                        row["producerSub"] = m.producer_sub
                    rows.append((m.gseq, row))
        rows.sort(key=lambda r: r[0], reverse=True)
        return self.json({"messages": [r for _, r in rows[offset:offset + limit]], "mode": mode})

    # ---- health / metrics / maintenance

    async def health(self, request: web.Request) -> web.Response:
        return web_reply(self.health_core())

    def health_core(self) -> Reply:
        out: Dict[str, Any] = {"status": "healthy", "database": "connected",
                               "server": "C++ Queen Server (Acceptor/Worker)", "worker_id": 0,
                               "version": "1.0.0"}
        if self.v15:
            out["server"] = "C++ Queen Server (libqueen)"
            out["shared_state"] = {"enabled": False}
            out["queen"] = {"worker_id": 0, "status": "active"}
        return self.out(out)

    async def metrics(self, request: web.Request) -> web.Response:
        uptime = time.time() - self.started
        total = sum(len(p.messages) for p in self.b.partitions.values())
        return self.json({
            "uptime": int(uptime),
            "requests": {"total": self.requests, "rate": self.requests / uptime if uptime else 0},
            "messages": {"total": total, "rate": total / uptime if uptime else 0},
            "database": {"poolSize": 0, "idleConnections": 0, "waitingRequests": 0},
            "memory": {"rss": 0, "heapTotal": 0, "heapUsed": 0, "external": 0},
            "cpu": {"user": 0, "system": 0}})

    async def prometheus(self, request: web.Request) -> web.Response:
        total = sum(len(p.messages) for p in self.b.partitions.values())
        text = (f"# TYPE queen_requests_total counter\nqueen_requests_total {self.requests}\n"
                f"# TYPE queen_messages_total counter\nqueen_messages_total {total}\n")
        return web.Response(text=text, content_type="text/plain", headers=CORS)

    async def maintenance_get(self, request: web.Request) -> web.Response:
        out = {"maintenanceMode": self.b.maintenance, "bufferedMessages": len(self.b.buffered),
               "bufferHealthy": True, "bufferStats": {"pending": 0, "failed": 0}}
        if self.v15:
            out["popMaintenanceMode"] = self.b.pop_maintenance
        return self.json(out)

    async def maintenance_set(self, request: web.Request) -> web.Response:
        body = await self.body(request)
        if not isinstance(body, dict) or not isinstance(body.get("enabled"), bool):
            raise BadRequest("enabled (boolean) is required")
        pop = request.path.endswith("/pop")
        if pop:
            self.b.pop_maintenance = body["enabled"]
            return self.json({"popMaintenanceMode": body["enabled"],
                              "message": "Pop maintenance mode " +
                              ("enabled" if body["enabled"] else "disabled")})
        self.b.set_maintenance(body["enabled"])
        return self.json({"maintenanceMode": body["enabled"],
                          "bufferedMessages": len(self.b.buffered),
                          "bufferHealthy": True, "message": "Maintenance mode " +
                          ("enabled" if body["enabled"] else "disabled")})

    async def maintenance_pop_get(self, request: web.Request) -> web.Response:
        return self.json({"popMaintenanceMode": self.b.pop_maintenance})

    # ---- routing

    def routes(self, app: web.Application) -> None:
        r = app.router
        v1 = "/api/v1"
        r.add_post(v1 + "/configure", self.configure)
        r.add_delete(v1 + "/resources/queues/{queue}", self.delete_queue)
        r.add_get(v1 + "/resources/queues", self.queue_list, allow_head=False)
        r.add_get(v1 + "/resources/queues/{queue}", self.queue_detail, allow_head=False)
        r.add_get(v1 + "/resources/overview", self.overview, allow_head=False)
        r.add_get(v1 + "/resources/namespaces", self.namespaces, allow_head=False)
        r.add_get(v1 + "/resources/tasks", self.namespaces, allow_head=False)
        r.add_get(v1 + "/status/queues/{queue}", self.queue_status, allow_head=False)
        r.add_get(v1 + "/status/queues", self.queue_list, allow_head=False)
        r.add_get(v1 + "/status", self.overview, allow_head=False)
        r.add_post(v1 + "/push", self.push)
        r.add_get(v1 + "/pop/queue/{queue}", self.pop_queue, allow_head=False)
        r.add_get(v1 + "/pop/queue/{queue}/partition/{partition}", self.pop_partition, allow_head=False)
        if not self.v15:
            r.add_get(v1 + "/pop", self.pop_namespace, allow_head=False)
        r.add_post(v1 + "/ack", self.ack)
        r.add_post(v1 + "/ack/batch", self.ack_batch)
        r.add_post(v1 + "/transaction", self.transaction)
        r.add_post(v1 + "/lease/{lease}/extend", self.extend)
        r.add_get(v1 + "/dlq", self.dlq, allow_head=False)
        r.add_get(v1 + "/consumer-groups", self.group_list, allow_head=False)
        r.add_get(v1 + "/consumer-groups/lagging", self.group_list, allow_head=False)
        r.add_get(v1 + "/consumer-groups/{group}", self.group_detail, allow_head=False)
        r.add_delete(v1 + "/consumer-groups/{group}", self.group_delete)
        r.add_post(v1 + "/consumer-groups/{group}/subscription", self.group_subscription)
        if self.v15:
            r.add_delete(v1 + "/consumer-groups/{group}/queues/{queue}", self.group_delete)
            r.add_post(v1 + "/consumer-groups/{group}/queues/{queue}/seek", self.group_seek)
            r.add_post(v1 + "/consumer-groups/{group}/queues/{queue}/partitions/{partition}/seek",
                       self.group_seek_partition)
        r.add_post(v1 + "/traces", self.trace_post)
        r.add_get(v1 + "/traces/names", self.trace_names, allow_head=False)
        r.add_get(v1 + "/traces/by-name/{name}", self.traces_by_name, allow_head=False)
        r.add_get(v1 + "/traces/{pid}/{tid}", self.traces_of, allow_head=False)
        r.add_get(v1 + "/messages", self.message_list, allow_head=False)
        r.add_get(v1 + "/messages/{pid}/{tid}", self.message_get, allow_head=False)
        r.add_delete(v1 + "/messages/{pid}/{tid}", self.message_delete)
        r.add_get("/health", self.health, allow_head=False)
        r.add_get("/metrics", self.metrics, allow_head=False)
        r.add_get(v1 + "/system/maintenance", self.maintenance_get, allow_head=False)
        r.add_post(v1 + "/system/maintenance", self.maintenance_set)
        if self.v15:
            r.add_get("/metrics/prometheus", self.prometheus, allow_head=False)
            r.add_get(v1 + "/system/maintenance/pop", self.maintenance_pop_get, allow_head=False)
            r.add_post(v1 + "/system/maintenance/pop", self.maintenance_set)


def make_app(broker: Broker, compat: str = "0.7") -> web.Application:
    """The aiohttp application of one embedded server personality."""
    if compat not in ("0.7", "0.15"):
        raise ValueError("compat must be '0.7' or '0.15'")
    server = QueenServer(broker, compat)
    app = web.Application(middlewares=[server.middleware], client_max_size=64 * 1024 * 1024)
    app[BROKER_KEY] = broker
    app[SERVER_KEY] = server
    if compat == "0.7":
        try:
            streams = importlib.import_module("queen.testing.streams")
        except ImportError:
            streams = None
        if streams is not None:
            streams.register(app, broker)
    server.routes(app)
    return app
