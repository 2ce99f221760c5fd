"""The old windowed streams of Queen 0.7.x (``/api/v1/stream/*``) for the embedded server.

Semantics follow the 0.7.5 server (queen-http-api.md 2.15 and 3.15, and the
recordings in wire-recordings/0.7.5/streams.json):

* event time: the watermark is the minimum, over the source queues that have
  messages, of each queue's newest message time; it moves only on push;
* tumbling windows aligned to multiples of the duration since the epoch; the
  first window of a key starts at its earliest message, later ones at the
  group's bookmark (end of the last acked window);
* a window is ready when ``watermark >= end + grace``, and is delivered even
  when empty; keys are ``__GLOBAL__`` or the partition name (merged across
  source queues) when partitioned;
* a delivered window is leased per (group, key); expired leases are dropped
  lazily and the same window is offered again; nack drops the lease.

``StreamEngine`` is plain logic over the broker (clock included); the aiohttp
handlers below only decode requests and encode replies. Only the 0.7
generation has these routes (``Rules.features``), so a 0.15 app answers them with its 404 page.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import orjson
from aiohttp import web

from .app import CORS, QueenServer
from .rules import WINDOWED_STREAMS

GLOBAL_KEY = "__GLOBAL__"
US = 1_000_000
DEFAULT_POLL_TIMEOUT_MS = 30000
DEFAULT_EXTEND_MS = 30000
_FRACTION = re.compile(r"\.(\d+)")

# The 0.7.5 server answers the consumers route with this SQL error (a missing column).
CONSUMERS_SQL_ERROR = (
    'SELECT query failed: ERROR:  column "last_partition_name" does not exist\n'
    "LINE 4:                 last_partition_name,\n"
    "                        ^\n"
)


def pg_text(us: int) -> str:
    """Microseconds since the epoch as PostgreSQL's timestamptz text (UTC session)."""
    dt = datetime.fromtimestamp(us // US, tz=timezone.utc)
    text = dt.strftime("%Y-%m-%d %H:%M:%S")
    frac = us % US
    if frac:
        text += "." + f"{frac:06d}".rstrip("0")
    return text + "+00"


def parse_ts(value: Any) -> Optional[int]:
    """ISO-8601 or PostgreSQL text -> microseconds since the epoch; None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace(" ", "T", 1)
    # Python < 3.11 only reads 3- or 6-digit fractions; Postgres trims trailing zeros.
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    elif len(text) > 3 and text[-3] in "+-" and text[-3:].lstrip("+-").isdigit():
        text += ":00"  # Postgres "+00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    delta = dt - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86400 + delta.seconds) * US + delta.microseconds


@dataclass
class Stream:
    id: str
    name: str
    namespace: str
    partitioned: bool
    window_type: str
    duration_ms: int
    grace_ms: int
    lease_ms: int
    sources: List[str]
    created_at: int
    updated_at: int


@dataclass
class WindowLease:
    id: str
    stream_id: str
    group: str
    key: str
    start: int
    end: int
    expires_at: int
    delivered_at: int


@dataclass
class _Acked:
    at: int
    held_us: int


@dataclass
class StreamEngine:
    """Stream definitions, window leases and per-group bookmarks over a broker."""

    broker: Any
    streams: Dict[str, Stream] = field(default_factory=dict)
    leases: Dict[str, WindowLease] = field(default_factory=dict)
    held: Dict[Tuple[str, str, str], str] = field(default_factory=dict)
    bookmarks: Dict[Tuple[str, str, str], int] = field(default_factory=dict)
    acked: List[_Acked] = field(default_factory=list)
    _waiters: Set[asyncio.Future[None]] = field(default_factory=set)

    # -- clock and change notification ---------------------------------
    def now_us(self) -> int:
        return int(round(float(self.broker.now()) * US))

    def on_push(self, queue_name: str) -> None:
        if any(queue_name in s.sources for s in self.streams.values()):
            self._wake()

    def _wake(self) -> None:
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)
        self._waiters.clear()

    async def wait_change(self, timeout: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            self._waiters.discard(fut)

    # -- definitions ----------------------------------------------------
    def define(self, body: Dict[str, Any]) -> Dict[str, Any]:
        name, namespace = body.get("name"), body.get("namespace")
        if not name or not namespace or not isinstance(name, str):
            return {"error": "Missing name or namespace"}
        sources = body.get("source_queue_names", [])
        if not isinstance(sources, list):
            return {"error": "source_queue_names must be an array"}
        numbers = {}
        for key in ("window_duration_ms", "window_grace_period_ms", "window_lease_timeout_ms"):
            value = body.get(key, 30000 if key == "window_grace_period_ms" else 60000)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                return {"error": f"{key} must be a non-negative integer"}
            numbers[key] = value
        if numbers["window_duration_ms"] == 0:
            return {"error": "window_duration_ms must be positive"}
        now = self.now_us()
        stream = self.streams.get(name)
        if stream is None:
            stream = Stream(str(uuid.uuid4()), name, str(namespace), False, "tumbling",
                            0, 0, 0, [], now, now)
            self.streams[name] = stream
        stream.namespace = str(namespace)
        stream.partitioned = bool(body.get("partitioned", False))
        stream.window_type = str(body.get("window_type", "tumbling"))
        stream.duration_ms = numbers["window_duration_ms"]
        stream.grace_ms = numbers["window_grace_period_ms"]
        stream.lease_ms = numbers["window_lease_timeout_ms"]
        stream.updated_at = now
        for queue in sources:
            # Unknown queues are skipped; sources are only ever added.
            if isinstance(queue, str) and queue not in stream.sources and self.broker.queue_exists(queue):
                stream.sources.append(queue)
        self._wake()
        return {"success": True, "stream_id": stream.id, "name": stream.name}

    def delete(self, name: str) -> Dict[str, Any]:
        stream = self.streams.pop(name, None)
        if stream is None:
            return {"error": "Stream not found"}
        for lease_id in [i for i, lease in self.leases.items() if lease.stream_id == stream.id]:
            self._drop(lease_id)
        for key in [k for k in self.bookmarks if k[0] == stream.id]:
            del self.bookmarks[key]
        return {"success": True, "message": "Stream deleted successfully"}

    def describe(self, stream: Stream) -> Dict[str, Any]:
        return {
            "id": stream.id, "name": stream.name, "namespace": stream.namespace,
            "partitioned": stream.partitioned, "windowType": stream.window_type,
            "windowDurationMs": stream.duration_ms, "windowGracePeriodMs": stream.grace_ms,
            "windowLeaseTimeoutMs": stream.lease_ms,
            "createdAt": pg_text(stream.created_at), "updatedAt": pg_text(stream.updated_at),
        }

    def listing(self) -> Dict[str, Any]:
        now = self.now_us()
        out = []
        for stream in self.streams.values():
            entry = self.describe(stream)
            groups = {k[1] for k in self.bookmarks if k[0] == stream.id}
            groups |= {lease.group for lease in self.leases.values() if lease.stream_id == stream.id}
            entry["sourceQueues"] = list(stream.sources)
            entry["consumerGroups"] = len(groups)
            entry["activeLeases"] = sum(1 for lease in self.leases.values()
                                        if lease.stream_id == stream.id and lease.expires_at > now)
            out.append(entry)
        return {"streams": out}

    def stats(self) -> Dict[str, Any]:
        now = self.now_us()
        active = [lease for lease in self.leases.values() if lease.expires_at > now]
        groups = {(k[0], k[1]) for k in self.bookmarks} | {(x.stream_id, x.group) for x in active}
        recent = [a for a in self.acked if a.at >= now - 3600 * US]
        avg = sum(a.held_us for a in self.acked) / len(self.acked) / 1000 if self.acked else 0
        return {
            "totalStreams": len(self.streams),
            "partitionedStreams": sum(1 for s in self.streams.values() if s.partitioned),
            "activeLeases": len(active),
            "totalConsumerGroups": len(groups),
            "activeConsumers": len({(x.stream_id, x.group) for x in active}),
            "totalWindowsProcessed": len(self.acked),
            "windowsLastHour": len(recent),
            "avgLeaseTime": avg,
        }

    # -- windows --------------------------------------------------------
    def _scan(self, stream: Stream) -> Tuple[Optional[int], Dict[str, List[Tuple[int, str, Any]]]]:
        """Watermark and messages per key, as (created_us, id, data)."""
        watermark: Optional[int] = None
        keys: Dict[str, List[Tuple[int, str, Any]]] = {}
        for queue in stream.sources:
            if not self.broker.queue_exists(queue):
                continue
            newest: Optional[int] = None
            for partition, message_id, created_s, data in self.broker.iter_messages(queue):
                created = int(round(float(created_s) * US))
                key = partition if stream.partitioned else GLOBAL_KEY
                keys.setdefault(key, []).append((created, str(message_id), data))
                if newest is None or created > newest:
                    newest = created
            if newest is not None and (watermark is None or newest < watermark):
                watermark = newest
        return watermark, keys

    def _drop(self, lease_id: str) -> None:
        lease = self.leases.pop(lease_id, None)
        if lease is not None:
            slot = (lease.stream_id, lease.group, lease.key)
            if self.held.get(slot) == lease_id:
                del self.held[slot]

    def _valid(self, lease_id: Any) -> Optional[WindowLease]:
        lease = self.leases.get(lease_id) if isinstance(lease_id, str) else None
        if lease is None:
            return None
        if lease.expires_at <= self.now_us():
            self._drop(lease.id)
            return None
        return lease

    def next_window(self, stream: Stream, group: str) -> Optional[Dict[str, Any]]:
        """Lease and return the first ready window for the group, or None."""
        watermark, keys = self._scan(stream)
        if watermark is None:
            return None
        now = self.now_us()
        duration, grace = stream.duration_ms * 1000, stream.grace_ms * 1000
        for key, messages in keys.items():
            slot = (stream.id, group, key)
            held = self.held.get(slot)
            if held is not None:
                if self.leases[held].expires_at > now:
                    continue
                self._drop(held)
            start = self.bookmarks.get(slot)
            if start is None:
                start = min(m[0] for m in messages) // duration * duration
            end = start + duration
            if watermark < end + grace:
                continue
            inside = sorted(m[:2] + (i,) for i, m in enumerate(messages) if start <= m[0] < end)
            lease = WindowLease(str(uuid.uuid4()), stream.id, group, key, start, end,
                                now + stream.lease_ms * 1000, now)
            self.leases[lease.id] = lease
            self.held[slot] = lease.id
            start_text, end_text = pg_text(start), pg_text(end)
            return {
                "id": f"{stream.id}:{key}:{start_text}:{end_text}",
                "leaseId": lease.id,
                "key": key,
                "start": start_text,
                "end": end_text,
                "messages": [{"id": mid, "data": messages[i][2], "created_at": pg_text(created)}
                             for created, mid, i in inside],
            }
        return None

    def next_expiry_in(self, stream: Stream, group: str) -> Optional[float]:
        """Seconds until the group's earliest lease on this stream expires."""
        times = [x.expires_at for x in self.leases.values()
                 if x.stream_id == stream.id and x.group == group]
        if not times:
            return None
        return max(0.0, (min(times) - self.now_us()) / US)

    async def poll(self, stream: Stream, group: str, timeout_ms: int,
                   alive: Callable[[], bool] = lambda: True) -> Optional[Dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0, timeout_ms) / 1000
        while alive():
            window = self.next_window(stream, group)
            if window is not None:
                return window
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            # Re-check at least every second: a fake clock can move without a push.
            wait = min(remaining, 1.0)
            expiry = self.next_expiry_in(stream, group)
            if expiry is not None:
                wait = min(wait, max(expiry, 0.005))
            await self.wait_change(wait)
            if stream.name not in self.streams:
                return None
        return None

    def ack(self, lease_id: Any, success: bool) -> Dict[str, Any]:
        if not lease_id:
            return {"error": "Missing leaseId"}
        lease = self._valid(lease_id)
        if lease is None:
            return {"error": "Invalid or expired lease"}
        if success:
            self.bookmarks[(lease.stream_id, lease.group, lease.key)] = lease.end
            now = self.now_us()
            self.acked.append(_Acked(now, now - lease.delivered_at))
        self._drop(lease.id)
        self._wake()
        return {"success": True, "acked": bool(success)}

    def renew(self, lease_id: Any, extend_ms: Any) -> Dict[str, Any]:
        lease = self._valid(lease_id)
        if lease is None:
            return {"error": "Lease not found or expired"}
        if isinstance(extend_ms, bool) or not isinstance(extend_ms, (int, float)):
            extend_ms = DEFAULT_EXTEND_MS
        lease.expires_at = self.now_us() + int(extend_ms * 1000)
        return {"success": True, "lease_expires_at": pg_text(lease.expires_at)}

    def seek(self, name: Any, group: Any, timestamp: Any) -> Dict[str, Any]:
        if not name or not group or not timestamp:
            return {"error": "Missing streamName, consumerGroup or timestamp"}
        stream = self.streams.get(name) if isinstance(name, str) else None
        if stream is None:
            return {"error": "Stream not found"}
        at = parse_ts(timestamp)
        if at is None:
            return {"error": f"Invalid timestamp: {timestamp}"}
        # 0.7.5 writes the global key and one bookmark per partition *id*; windows of a
        # partitioned stream are keyed by partition *name*, so only __GLOBAL__ matters.
        self.bookmarks[(stream.id, str(group), GLOBAL_KEY)] = at
        self._wake()
        return {"success": True}


# -- HTTP ---------------------------------------------------------------

ENGINE_KEY = web.AppKey("queen_stream_engine", StreamEngine)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json",
                        headers=CORS)


async def _read(request: web.Request) -> Tuple[Optional[Dict[str, Any]], Optional[web.Response]]:
    raw = await request.read()
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        return None, _json({"error": "Invalid JSON body"}, 400)
    if not isinstance(body, dict):
        return None, _json({"error": "Invalid JSON body"}, 400)
    return body, None


async def _define(request: web.Request) -> web.Response:
    body, error = await _read(request)
    if body is None:
        return error  # type: ignore[return-value]
    return _json(request.app[ENGINE_KEY].define(body))


async def _poll(request: web.Request) -> web.Response:
    body, error = await _read(request)
    if body is None:
        return error  # type: ignore[return-value]
    name, group = body.get("streamName"), body.get("consumerGroup")
    if not name or not group or not isinstance(name, str) or not isinstance(group, str):
        return _json({"error": "Missing streamName or consumerGroup"}, 400)
    engine = request.app[ENGINE_KEY]
    stream = engine.streams.get(name)
    if stream is None:
        return _json({"error": "Stream not found"})
    timeout = body.get("timeout", DEFAULT_POLL_TIMEOUT_MS)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        timeout = DEFAULT_POLL_TIMEOUT_MS

    def alive() -> bool:
        transport = request.transport
        return transport is not None and not transport.is_closing()

    window = await engine.poll(stream, group, int(timeout), alive)
    if window is None:
        return web.Response(status=200, content_type="application/json", headers=CORS)
    return _json({"window": window})


async def _ack(request: web.Request) -> web.Response:
    body, error = await _read(request)
    if body is None:
        return error  # type: ignore[return-value]
    success = body.get("success", True)
    return _json(request.app[ENGINE_KEY].ack(body.get("leaseId"), success is not False))


async def _renew(request: web.Request) -> web.Response:
    body, error = await _read(request)
    if body is None:
        return error  # type: ignore[return-value]
    engine = request.app[ENGINE_KEY]
    return _json(engine.renew(body.get("leaseId"), body.get("extend_ms", DEFAULT_EXTEND_MS)))


async def _seek(request: web.Request) -> web.Response:
    body, error = await _read(request)
    if body is None:
        return error  # type: ignore[return-value]
    engine = request.app[ENGINE_KEY]
    return _json(engine.seek(body.get("streamName"), body.get("consumerGroup"),
                             body.get("timestamp")))


async def _list(request: web.Request) -> web.Response:
    return _json(request.app[ENGINE_KEY].listing())


async def _stats(request: web.Request) -> web.Response:
    return _json(request.app[ENGINE_KEY].stats())


async def _one(request: web.Request) -> web.Response:
    engine = request.app[ENGINE_KEY]
    stream = engine.streams.get(request.match_info["name"])
    if stream is None:
        return _json({"error": "Stream not found"})
    return _json(engine.describe(stream))


async def _consumers(request: web.Request) -> web.Response:
    return _json({"error": CONSUMERS_SQL_ERROR})


async def _delete(request: web.Request) -> web.Response:
    return _json(request.app[ENGINE_KEY].delete(request.match_info["name"]))


def register(app: web.Application, server: QueenServer) -> Optional[StreamEngine]:
    """Add the 0.7 stream routes to ``app`` when the server's generation has them;
    returns the engine (handy in tests)."""
    if WINDOWED_STREAMS not in server.rules.features:
        return None
    broker = server.b
    engine = StreamEngine(broker)
    app[ENGINE_KEY] = engine
    broker.add_push_listener(engine.on_push)
    app.router.add_post("/api/v1/stream/define", _define)
    app.router.add_post("/api/v1/stream/poll", _poll)
    app.router.add_post("/api/v1/stream/ack", _ack)
    app.router.add_post("/api/v1/stream/renew-lease", _renew)
    app.router.add_post("/api/v1/stream/seek", _seek)
    app.router.add_get("/api/v1/resources/streams", _list)
    app.router.add_get("/api/v1/resources/streams/stats", _stats)
    app.router.add_get("/api/v1/resources/streams/{name}", _one)
    app.router.add_get("/api/v1/resources/streams/{name}/consumers", _consumers)
    app.router.add_delete("/api/v1/resources/streams/{name}", _delete)
    return engine
