"""HTTP face of the embedded Queen server (aiohttp.web): the core routes.

``make_app(broker)`` decodes the wire format, calls the broker and encodes replies
exactly as the real servers do (see queen-http-api.md and the wire recordings).
Everything that differs between generations comes from ``broker.rules``
(``rules07.py`` / ``rules15.py``): reply shapes, the status of a validation error
(0.7 answers almost everything with HTTP 200, 0.15 sends real 400s), and which
routes exist.  Unknown routes and wrong methods get uWebSockets' 404 HTML page;
OPTIONS answers the CORS preflight.

This module serves the message path (configure, push, pop, ack, transaction,
lease, DLQ, trace writes).  Each area module (``admin.py``, ``streams.py``) adds
its routes with one ``register(app, server)`` call listed in ``AREAS``.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set

import orjson
from aiohttp import web
from multidict import CIMultiDict

from .broker import Broker, BrokerError
from .model import QUEUE_MODE, PopResult, Reply, is_uuid
from .rules import NAMESPACE_POP, Rules

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
V1 = "/api/v1"
# Area modules: each has ``register(app, server)`` and decides for itself (from
# ``server.rules.features``) which of its routes the generation has.
AREAS = ("queen.testing.admin", "queen.testing.streams", "queen.testing.streams_v1")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# ---------------------------------------------------------------- query parsing


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


def web_reply(reply: Reply) -> web.Response:
    return web.Response(body=reply[1], status=reply[0], headers=JSON_HEADERS)


def request_gone(request: web.Request) -> Callable[[], bool]:
    def gone() -> bool:
        transport = request.transport
        return transport is None or transport.is_closing()
    return gone


# ---------------------------------------------------------------- the server


class QueenServer:
    """Route handlers bound to one broker (and so to one generation's rules)."""

    def __init__(self, broker: Broker) -> None:
        self.b = broker
        self.rules: Rules = broker.rules
        self.requests = 0
        self.started = time.time()
        self._waiters: Dict[str, Set[asyncio.Future[None]]] = {}
        broker.add_change_listener(self.notify)

    # ---- plumbing

    def json(self, data: Any, status: int = 200) -> web.Response:
        return web.Response(body=orjson.dumps(data), status=status, headers=JSON_HEADERS)

    def error(self, text: str) -> web.Response:
        """A validation error, with the generation's status (0.7: 200)."""
        return self.json({"error": text}, self.rules.validation_status)

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

    # ---- configure

    async def configure(self, request: web.Request) -> web.Response:
        body = await self.body(request)
        if not isinstance(body, dict) or not isinstance(body.get("queue"), str):
            raise BadRequest("queue is required")
        try:
            q = self.b.configure(body["queue"], body.get("namespace"), body.get("task"),
                                 self.rules.configure_options(body))
        except BrokerError as exc:
            return self.json(self.rules.configure_error(str(exc)))
        return self.json(self.rules.configured(q))

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
        items = self._validate_items(await self.body(request))
        rules = self.rules
        if any(it.get("traceId") is not None and not is_uuid(it["traceId"]) for it in items):
            # A non-UUID traceId fails the database insert.  The real servers then park
            # the items in their failover file; we store nothing and say so plainly.
            text = f'invalid input syntax for type uuid: "{items[0].get("traceId")}"'
            return web_reply(rules.bad_trace_reply(items, text))
        if self.b.maintenance and items:
            self.b.buffer_push(items)
            return web_reply(rules.buffered_reply(items))
        reply = rules.push_reply(self.b.push(items) if items else [])
        await self.commit_late()
        return web_reply(reply)

    async def commit_late(self) -> None:
        """``Broker(push_race=s)``: the write just made commits ``s`` seconds late."""
        held = self.b.take_held()
        if held:
            await asyncio.sleep(self.b.push_race)
            self.b.commit_held(held)

    # ---- pop

    async def _pop(self, request: web.Request, queue: str, partition: Optional[str]) -> web.Response:
        if self.b.pop_maintenance:
            return self.json({"messages": [], "paused": True}, 204)
        get = request.query.get
        rules = self.rules
        group = get("consumerGroup") or QUEUE_MODE
        batch = s_int(get("batch"), 1)
        wait = s_bool(get("wait"), False)
        auto_ack = s_bool(get("autoAck"), False) and (rules.auto_ack_on_wait or not wait)
        sub_mode = get("subscriptionMode") or None
        sub_from = get("subscriptionFrom") or None
        parts = s_int(get("partitions"), 1) if rules.multi_partition_pop and partition is None \
            else 1
        g = None if group == QUEUE_MODE else group

        def attempt() -> PopResult:
            return self.b.pop(queue, partition, g, batch, auto_ack, sub_mode, sub_from, parts)

        res: Optional[PopResult] = attempt()
        if wait and res is not None and not res.items and res.status != "error":
            res = await self.long_poll(request_gone(request), queue, queue, attempt,
                                       s_int(get("timeout"), 30000))
        return web_reply(rules.pop_reply(res, queue, partition, group))

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
        auto_ack = q_bool(request, "autoAck", False) and (self.rules.auto_ack_on_wait or not wait)
        ns, task = q_str(request, "namespace"), q_str(request, "task")

        def attempt() -> PopResult:
            return self.b.pop_namespace(ns, task, g, batch, auto_ack)

        res: Optional[PopResult] = attempt()
        if wait and res is not None and not res.items:
            res = await self.long_poll(request_gone(request), "*", None, attempt,
                                       q_int(request, "timeout", 30000))
        return web_reply(self.rules.pop_reply(res, "", None, group))

    # ---- ack

    async def ack(self, request: web.Request) -> web.Response:
        body = await self.body(request)
        if not isinstance(body, dict) or not isinstance(body.get("transactionId"), str):
            raise BadRequest("transactionId is required")
        if not isinstance(body.get("partitionId"), str):
            raise BadRequest("partitionId is required to ensure message uniqueness")
        group = body.get("consumerGroup") if isinstance(body.get("consumerGroup"), str) else None
        o = self.b.ack(body["transactionId"], body["partitionId"], body.get("status"), group,
                       body.get("leaseId"), body.get("error"))
        return self.json(self.rules.ack_reply(o, group))

    async def ack_batch(self, request: web.Request) -> web.Response:
        body = await self.body(request)
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
        return self.json(self.rules.ack_batch_reply(self.b.ack_batch(acks, group)))

    # ---- transaction

    async def transaction(self, request: web.Request) -> web.Response:
        body = await self.body(request)
        if not isinstance(body, dict) or not isinstance(body.get("operations"), list):
            raise BadRequest("operations array required")
        ops = body["operations"]
        if not ops:
            raise BadRequest("operations array cannot be empty")
        reply = self.rules.txn_reply(self.b.transaction(ops), self._txn_partition)
        await self.commit_late()
        return web_reply(reply)

    def _txn_partition(self, row: Dict[str, Any]) -> Optional[str]:
        q = self.b.queues.get(row["queue"])
        p = q.partitions.get(row["partition"]) if q is not None else None
        return p.id if p is not None else None

    # ---- lease

    async def extend(self, request: web.Request) -> web.Response:
        lease_id = request.match_info["lease"]
        body = await self.body(request)
        seconds = body.get("seconds", 60) if isinstance(body, dict) else 60
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            seconds = 60
        expiry = self.b.extend_lease(lease_id, float(seconds))
        return self.json(self.rules.extend_reply(lease_id, expiry, seconds))

    # ---- DLQ

    async def dlq(self, request: web.Request) -> web.Response:
        return self.json(self.rules.dlq_reply(self.b, request.query.get,
                                              q_int(request, "limit", 100),
                                              q_int(request, "offset", 0)))

    # ---- traces (writes; the reads are admin routes)

    async def trace_post(self, request: web.Request) -> web.Response:
        body = await self.body(request)
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
        refused = self.rules.trace_refused(pid)
        if refused is not None:
            return self.json(refused)
        t = self.b.record_trace(body["transactionId"], pid, names, event, body["data"], group)
        return self.json(self.rules.trace_recorded(t))

    # ---- routing

    def routes(self, app: web.Application) -> None:
        r = app.router
        r.add_post(V1 + "/configure", self.configure)
        r.add_post(V1 + "/push", self.push)
        r.add_get(V1 + "/pop/queue/{queue}", self.pop_queue, allow_head=False)
        r.add_get(V1 + "/pop/queue/{queue}/partition/{partition}", self.pop_partition,
                  allow_head=False)
        if NAMESPACE_POP in self.rules.features:
            r.add_get(V1 + "/pop", self.pop_namespace, allow_head=False)
        r.add_post(V1 + "/ack", self.ack)
        r.add_post(V1 + "/ack/batch", self.ack_batch)
        r.add_post(V1 + "/transaction", self.transaction)
        r.add_post(V1 + "/lease/{lease}/extend", self.extend)
        r.add_get(V1 + "/dlq", self.dlq, allow_head=False)
        r.add_post(V1 + "/traces", self.trace_post)


BROKER_KEY = web.AppKey("queen_broker", Broker)
SERVER_KEY = web.AppKey("queen_server", QueenServer)


def make_app(broker: Broker) -> web.Application:
    """The aiohttp application serving ``broker`` with its generation's rules."""
    server = QueenServer(broker)
    app = web.Application(middlewares=[server.middleware], client_max_size=64 * 1024 * 1024)
    app[BROKER_KEY] = broker
    app[SERVER_KEY] = server
    for area in AREAS:
        importlib.import_module(area).register(app, server)
    server.routes(app)
    return app
