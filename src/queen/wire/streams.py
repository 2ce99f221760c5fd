"""The 0.15 streams SDK protocol (``/streams/v1``): query registration, state reads,
the atomic cycle, and the multi-partition source pop the runner uses.

Facts from the 0.15.1 recordings (``streams_v1.json``, ``streams_v1_sdk.json``):
checks made before the database answer real 400s; everything decided in the
database is HTTP 200 with ``success: false`` (a config_hash mismatch too, not the
409 the server code suggests). A failed cycle is rolled back completely, yet its
answer still lists pushes as queued: only ``success``/``error`` may be trusted.
0.7 servers have none of these routes (uWebSockets' 404 page).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import orjson

from .. import _core
from ..errors import QueenServerFeatureError
from .base import (
    API,
    Reply,
    Request,
    _decode,
    _dumps,
    _http_error,
    _missing_route,
    _query,
    check_name,
)

STREAMS = "/streams/v1"
FEATURE = "the streams SDK (/streams/v1)"
NEEDS = "the server has no /streams/v1 routes (404); the streams SDK needs Queen 0.15 or later"

# Pop answers that only mean "nothing for you now" (0.15.1 sends them with success:false).
_EMPTY_POP_ERRORS = frozenset({"no_available_partition", "lease_held", "partition_not_found"})


def group_for(query_id: str) -> str:
    """The source consumer group of a query, as upstream's SDKs name it."""
    return f"streams.{query_id}"


def _checked(reply: Reply, generation: Optional[str]) -> Any:
    """Decode a streams reply: 404 page -> feature error naming 0.15; a 4xx/5xx ->
    QueenHTTPError with the server's text; anything else (``success:false``
    included) is returned for the caller to judge."""
    if _missing_route(reply):
        raise QueenServerFeatureError(FEATURE, generation, NEEDS)
    data = _decode(reply)
    if reply.status >= 400:
        text = data.get("error") if isinstance(data, dict) and data.get("error") else None
        raise _http_error(reply, str(text or f"HTTP {reply.status}"), data)
    return data


# ---------------------------------------------------------------- register


def register(name: str, source_queue: str, config_hash: str, reset: bool,
             sink_queue: Optional[str]) -> Request:
    """``POST /streams/v1/queries``; body keys in the order upstream's SDKs send them.
    Registering the same name and hash again is harmless, so it may be re-sent."""
    body: Dict[str, Any] = {"name": name, "source_queue": source_queue,
                            "config_hash": config_hash, "reset": bool(reset)}
    if sink_queue:
        body["sink_queue"] = sink_queue
    return Request("POST", f"{STREAMS}/queries", _dumps(body), idempotent=True)


def parse_register(reply: Reply, generation: Optional[str]) -> Dict[str, Any]:
    """``{"ok", "query_id", "name", "fresh", "reset", "error"}`` from the answer."""
    data = _checked(reply, generation)
    if not isinstance(data, dict):
        return {"ok": False, "error": None, "query_id": None, "name": None,
                "fresh": False, "reset": False}
    return {"ok": data.get("success") is not False and bool(data.get("query_id")),
            "error": data.get("error"), "query_id": data.get("query_id"),
            "name": data.get("name"), "fresh": bool(data.get("fresh")),
            "reset": bool(data.get("reset"))}


# ---------------------------------------------------------------- state


def state_get(query_id: str, partition_id: str, key_prefix: Optional[str] = None,
              ripe_at_or_before: Optional[int] = None,
              keys: Sequence[str] = ()) -> Request:
    """``POST /streams/v1/state/get``: all rows of (query, partition), optionally
    only ``keys``, those starting with ``key_prefix`` and those whose
    ``value.windowEnd <= ripe_at_or_before`` (an integer: a string is ignored)."""
    body: Dict[str, Any] = {"query_id": query_id, "partition_id": partition_id,
                            "keys": list(keys)}
    if key_prefix is not None:
        body["key_prefix"] = key_prefix
    if ripe_at_or_before is not None:
        body["ripe_at_or_before"] = int(ripe_at_or_before)
    return Request("POST", f"{STREAMS}/state/get", _dumps(body), idempotent=True)


def parse_state_get(reply: Reply, generation: Optional[str]) -> Tuple[bool, Any, Dict[str, Any]]:
    """(ok, error text, rows as ``key -> value``)."""
    data = _checked(reply, generation)
    if not isinstance(data, dict):
        return False, None, {}
    rows: Dict[str, Any] = {}
    for row in data.get("rows") or ():
        if isinstance(row, dict) and isinstance(row.get("key"), str):
            rows[row["key"]] = row.get("value")
    return data.get("success") is not False, data.get("error"), rows


# ---------------------------------------------------------------- cycle


def cycle_ack(message: Mapping[str, Any], lease_id: Optional[str], count: int) -> Dict[str, Any]:
    """The source ack of a cycle: the last message of the group consumes the group."""
    return {"transactionId": message.get("transactionId"),
            "leaseId": message.get("leaseId") or lease_id,
            "status": "completed", "count": count}


def cycle(query_id: str, partition_id: str, group: str, state_ops: Sequence[Any],
          push_items: Sequence[Any], ack: Optional[Mapping[str, Any]],
          release_lease: bool = True) -> Request:
    """``POST /streams/v1/cycle``: state ops, sink pushes and the source ack in one
    server transaction.

    Re-sending is safe only when the ack carries a lease that the cycle releases: a
    second copy then fails on the released lease and is rolled back whole. A cycle
    without an ack (idle flush) or keeping its lease (gate) would push twice.
    """
    body = _core.encode_cycle(query_id, partition_id, group, list(state_ops),
                              list(push_items), ack, release_lease)
    safe = bool(ack is not None and ack.get("leaseId") and release_lease)
    return Request("POST", f"{STREAMS}/cycle", body, idempotent=safe)


def parse_cycle(reply: Reply, generation: Optional[str]) -> Tuple[bool, Any, Any]:
    """(ok, error text, the decoded answer). On failure nothing was stored, whatever
    ``push_results`` and ``state_ops_applied`` say."""
    data = _checked(reply, generation)
    if not isinstance(data, dict):
        return False, None, data
    return data.get("success") is True, data.get("error"), data


# ---------------------------------------------------------------- source pop


def source_pop(queue: str, group: str, batch: int, timeout_millis: int, partitions: int,
               subscription_mode: Optional[str] = None,
               subscription_from: Optional[str] = None) -> Request:
    """The runner's long-poll pop: ``GET /api/v1/pop/queue/<q>?batch=&wait=true&
    timeout=&consumerGroup=[&subscriptionMode=][&subscriptionFrom=][&partitions=N]``
    (``partitions`` only when > 1, as upstream sends it). On 0.15 all claimed
    partitions share one leaseId; each cycle releases only its own partition."""
    params: List[Tuple[str, Any]] = [("batch", batch), ("wait", True),
                                     ("timeout", timeout_millis), ("consumerGroup", group)]
    if subscription_mode is not None:
        params.append(("subscriptionMode", subscription_mode))
    if subscription_from is not None:
        params.append(("subscriptionFrom", subscription_from))
    if partitions > 1:
        params.append(("partitions", partitions))
    path = f"{API}/pop/queue/{check_name('queue name', queue)}{_query(params)}"
    return Request("GET", path, None, f"{queue}::{group}", timeout_millis / 1000.0 + 5.0,
                   idempotent=False)


def parse_source_pop(reply: Reply, generation: Optional[str]) -> List[Dict[str, Any]]:
    """The popped messages (dicts with ``id``, ``transactionId``, ``partitionId``,
    ``partition``, ``leaseId``, ``consumerGroup``, ``createdAt``, ``data``). Empty
    answers in every 0.15 shape (timeout, claimed-but-empty, ``lease_held``...) and
    0.7's ``null``/empty body give []."""
    if _missing_route(reply):
        raise QueenServerFeatureError("this pop route", generation, "the server answered 404")
    if reply.status == 204 or not reply.body:
        return []
    try:
        data = orjson.loads(reply.body)
    except orjson.JSONDecodeError:
        raise _http_error(reply, "unreadable pop reply", reply.body) from None
    if data is None:
        return []
    if not isinstance(data, dict):
        raise _http_error(reply, "unexpected pop reply", data)
    err = data.get("error")
    if err:
        if err in _EMPTY_POP_ERRORS:
            return []
        raise _http_error(reply, str(err), data)
    if reply.status >= 400:
        raise _http_error(reply, f"HTTP {reply.status}", data)
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        return []
    lease = data.get("leaseId")
    if lease and isinstance(messages[0], dict) and not messages[0].get("leaseId"):
        for m in messages:  # 0.15 puts the lease on every message; fill it in if not
            if isinstance(m, dict):
                m.setdefault("leaseId", lease)
    return [m for m in messages if type(m) is dict]


def release(message: Mapping[str, Any], group: str) -> Request:
    """Give a partition's messages back at once after a failed cycle: a ``retry`` ack
    (0.15) releases the lease without consuming anything or counting a retry."""
    body = {"transactionId": message.get("transactionId"),
            "partitionId": message.get("partitionId"), "status": "retry",
            "consumerGroup": group}
    if message.get("leaseId"):
        body["leaseId"] = message.get("leaseId")
    return Request("POST", f"{API}/ack", _dumps(body), idempotent=True)


def parse_release(reply: Reply) -> bool:
    """Whether the lease was given back (a stale lease is simply reported False)."""
    if _missing_route(reply) or reply.status >= 400:
        return False
    try:
        data = _decode(reply)
    except Exception:  # noqa: BLE001 - a release answer only informs a log line
        return False
    row = data[0] if isinstance(data, list) and data else data
    return isinstance(row, dict) and bool(row.get("success"))


__all__ = [
    "STREAMS", "FEATURE", "group_for", "register", "parse_register", "state_get",
    "parse_state_get", "cycle_ack", "cycle", "parse_cycle", "source_pop",
    "parse_source_pop", "release", "parse_release",
]
