"""The 0.7 windowed streams: ``/api/v1/stream/*`` and ``/api/v1/resources/streams``.

Queen 0.15 removed these routes (they answer its router's 404 page): every parser
turns that, and :func:`check_generation` turns a known 0.15 server, into
``QueenServerFeatureError`` before or after the one request.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..errors import QueenServerFeatureError, QueenValidationError
from .base import API, GEN_015, Reply, Request, _dumps, _q, check

STREAM_FEATURE = "Windowed streams (/api/v1/stream/*)"
STREAMS_REMOVED = (
    "the old windowed streams were removed in Queen 0.15 (their routes answer 404); "
    "use a Queen 0.7.x server, or the new streaming API under /streams/v1/"
)


def removed() -> QueenServerFeatureError:
    # Only 0.15.x lacks these routes among the versions we know.
    return QueenServerFeatureError(STREAM_FEATURE, "0.15.x", STREAMS_REMOVED)


def check_generation(generation: str) -> None:
    """Raise before sending anything when the server is known to lack the routes."""
    if generation == GEN_015:
        raise removed()


def parse(reply: Reply) -> Any:
    """The decoded reply (None for an empty body); the router's 404 page means the
    server has no windowed streams; an ``error`` reply raises ``QueenHTTPError``,
    retriable for 5xx only ("Stream not found", an expired lease: HTTP 200)."""
    if reply.status == 404 and (not reply.body or reply.body.lstrip()[:1] == b"<"):
        raise removed()  # the router's HTML page: no such route on this server
    return check(reply, retriable=reply.status >= 500)


def _affinity(stream: str, group: str) -> str:
    return f"stream:{stream}:{group}"


# ---------------------------------------------------------------- definitions


def define(
    name: str, namespace: str, sources: List[str], partitioned: bool,
    duration_ms: Optional[int], grace_ms: Optional[int], lease_ms: Optional[int],
) -> Request:
    """Create or update a tumbling-time stream; unset durations are left to the server."""
    return Request("POST", f"{API}/stream/define", _dumps(define_body(
        name, namespace, sources, partitioned, duration_ms, grace_ms, lease_ms)))


def define_body(
    name: str, namespace: str, sources: List[str], partitioned: bool,
    duration_ms: Optional[int], grace_ms: Optional[int], lease_ms: Optional[int],
) -> Dict[str, Any]:
    body: Dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "source_queue_names": list(sources),
        "partitioned": partitioned,
        "window_type": "tumbling",
    }
    for key, value in (("window_duration_ms", duration_ms),
                       ("window_grace_period_ms", grace_ms),
                       ("window_lease_timeout_ms", lease_ms)):
        if value is not None:
            body[key] = value
    return body


def delete(name: str) -> Request:
    """Delete a stream with its leases and bookmarks (its queues stay)."""
    return Request("DELETE", f"{API}/resources/streams/{_q(name)}")


def describe(name: str, group: str) -> Request:
    """A stream's definition (its window lease, among others)."""
    return Request("GET", f"{API}/resources/streams/{_q(name)}",
                   affinity_key=_affinity(name, group))


def lease_millis(info: Any) -> Optional[int]:
    """The window lease of a parsed :func:`describe` reply, in ms (None if unknown)."""
    lease = info.get("windowLeaseTimeoutMs") if isinstance(info, dict) else None
    if isinstance(lease, int) and not isinstance(lease, bool) and lease > 0:
        return lease
    return None


# ---------------------------------------------------------------- consuming
# A retried poll could lease a second window, a retried ack/renew fails on the
# lease the first attempt already used up: those are not idempotent (the
# consumer loop handles their failures).


def poll(stream: str, group: str, timeout_millis: int) -> Request:
    """Long-poll one ready window, leased to ``group``."""
    body = {"streamName": stream, "consumerGroup": group, "timeout": timeout_millis}
    return Request("POST", f"{API}/stream/poll", _dumps(body), _affinity(stream, group),
                   (timeout_millis + 5000) / 1000,  # the HTTP deadline outlives the poll
                   idempotent=False)


def poll_window(data: Any) -> Optional[Dict[str, Any]]:
    """The window of a parsed poll reply as ``{id, key, start, end, lease_id,
    messages}`` (messages as the server sends them: ``{id, data, created_at}``), or None."""
    window = data.get("window") if isinstance(data, dict) else None
    return window_fields(window) if isinstance(window, dict) else None


def window_fields(window: Dict[str, Any]) -> Dict[str, Any]:
    """A window object of the wire -> the keyword arguments of ``Window``."""
    messages = window.get("messages") or []
    if not isinstance(messages, list):
        raise QueenValidationError(
            f"stream window 'messages' must be a list, got {type(messages).__name__}"
        )
    return {"id": str(window.get("id", "")), "key": str(window.get("key", "")),
            "start": str(window.get("start", "")), "end": str(window.get("end", "")),
            "lease_id": str(window.get("leaseId", "")), "messages": messages}


def ack(stream: str, group: str, window_id: str, lease_id: str, success: bool) -> Request:
    """Ack (the bookmark moves on) or nack (the window comes back) a leased window."""
    body = {"windowId": window_id, "leaseId": lease_id, "success": bool(success)}
    return Request("POST", f"{API}/stream/ack", _dumps(body), _affinity(stream, group),
                   idempotent=False)


def renew(stream: str, group: str, lease_id: str, extend_millis: int) -> Request:
    """Extend a window lease to now + ``extend_millis``."""
    body = {"leaseId": lease_id, "extend_ms": extend_millis}
    return Request("POST", f"{API}/stream/renew-lease", _dumps(body), _affinity(stream, group),
                   idempotent=False)


def seek(stream: str, group: str, timestamp: str) -> Request:
    """Move a group's bookmark to ``timestamp`` (ISO-8601)."""
    body = {"streamName": stream, "consumerGroup": group, "timestamp": timestamp}
    return Request("POST", f"{API}/stream/seek", _dumps(body), _affinity(stream, group))


__all__ = [
    "STREAMS_REMOVED", "STREAM_FEATURE", "ack", "check_generation", "define", "define_body",
    "delete", "describe", "lease_millis", "parse", "poll", "poll_window",
    "removed", "renew", "seek", "window_fields",
]
