"""The admin and read routes: resources, messages, traces, status, analytics,
consumer groups, health, metrics and maintenance, on both server generations.

Builders check their arguments and return a ``Request`` (nothing is sent here);
parsers decode the reply, raise ``QueenHTTPError`` for an ``error`` the server sent
(mostly with HTTP 200) and ``QueenServerFeatureError`` for a route the generation
lacks, and normalise what differs between 0.7 and 0.15 (see docs/admin.md):

* "not found" (200 ``{"error": "Queue not found"}`` / ``Message not found``, an
  unknown group's ``null`` or ``{}``) becomes ``None``;
* ``namespace``/``task`` of a queue: 0.15's ``""`` and 0.7's ``null`` become ``None``;
* empty lists: 0.15's ``null`` (lagging partitions) becomes ``[]``; a figure a
  generation does not report is ``None`` (0.15's ``totalLag``, 0.7's
  ``partitionsWithLag``);
* trace pages have ``traces, total, count, limit, offset`` on both (0.15 neither
  applies ``limit`` nor answers ``offset > 0``: the page is cut here);
* the per-partition seek answers in the shape of the per-queue seek.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

from ..errors import QueenServerFeatureError, QueenValidationError
from .base import (
    API,
    GEN_015,
    Reply,
    Request,
    _decode,
    _dumps,
    _http_error,
    _missing_route,
    _query,
    check,
    check_name,
)

# ---------------------------------------------------------------- arguments

MESSAGE_STATUSES = ("pending", "processing", "completed", "failed", "dead_letter")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TXID = re.compile(r"^[A-Za-z0-9._:\-]{1,255}$")

# the query parameters each route reads (others are ignored by the servers, so a
# name outside these sets is a typo: refused before sending)
_PAGE = frozenset({"limit", "offset"})
_RANGE = frozenset({"from", "to"})
QUEUE_LIST_KEYS = frozenset({"limit", "offset", "search", "namespace", "task"})
MESSAGE_KEYS = frozenset({"queue", "partition", "ns", "task", "status"}) | _PAGE | _RANGE
TRACE_KEYS = _PAGE
STATUS_KEYS = frozenset({"queue", "namespace", "task"}) | _RANGE
QUEUE_STATS_KEYS = frozenset({"namespace", "task"}) | _PAGE | _RANGE
QUEUE_DETAIL_KEYS = _RANGE
ANALYTICS_KEYS = STATUS_KEYS | {"interval"}
METRICS_KEYS = frozenset({"hostname", "workerId"}) | _RANGE
_INT_KEYS = frozenset({"limit", "offset"})
_ALIASES = {"from_": "from", "worker_id": "workerId"}


def time_text(value: Any, what: str) -> str:
    """A datetime (naive = UTC) or a non-empty string -> the text the server parses.

    Strings go as they are: the servers also take PostgreSQL literals ('yesterday')."""
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return dt.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z")
    if isinstance(value, str) and value.strip():
        return value
    raise QueenValidationError(f"{what} must be a datetime or a timestamp string, got {value!r}")


def params(given: Mapping[str, Any], known: FrozenSet[str], what: str,
           rename: Optional[Mapping[str, str]] = None) -> List[Tuple[str, Any]]:
    """Keyword filters -> query pairs, in the caller's order. ``None`` values are
    dropped (as upstream does); unknown names, and values of the wrong type, raise."""
    out: List[Tuple[str, Any]] = []
    for key, value in given.items():
        name = _ALIASES.get(key, key)
        if rename:
            name = rename.get(name, name)
        if name not in known:
            raise QueenValidationError(
                f"{what} takes no parameter {key!r}; it takes {', '.join(sorted(known))}")
        if value is None:
            continue
        if name in _INT_KEYS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise QueenValidationError(f"{what}: {key} must be an int >= 0, got {value!r}")
        elif name in _RANGE:
            value = time_text(value, f"{what}: {key}")
        elif name == "status":
            if value not in MESSAGE_STATUSES:
                raise QueenValidationError(
                    f"{what}: status must be one of {', '.join(MESSAGE_STATUSES)}, got {value!r}")
        elif not isinstance(value, (str, int)) or isinstance(value, bool) or value == "":
            raise QueenValidationError(f"{what}: {key} must be a non-empty str, got {value!r}")
        out.append((name, value))
    return out


def check_uuid(kind: str, value: Any) -> str:
    if not isinstance(value, str) or not _UUID.match(value):
        raise QueenValidationError(f"{kind} must be a UUID as returned by the server, got {value!r}")
    return value


def check_txid(value: Any) -> str:
    if not isinstance(value, str) or not _TXID.match(value):
        raise QueenValidationError(f"transaction id must be a plain non-empty str, got {value!r}")
    return value


def _get(path: str, query: Sequence[Tuple[str, Any]] = ()) -> Request:
    return Request("GET", f"{API}{path}{_query(query)}")


# ---------------------------------------------------------------- reading replies


def read(reply: Reply, feature: str, generation: Optional[str]) -> Any:
    """``check`` with the route named: a missing route is a QueenServerFeatureError."""
    return check(reply, feature, generation)


def read_or_none(reply: Reply, feature: str, generation: Optional[str]) -> Any:
    """Like ``read``, but a "… not found" answer (200 on both generations) is None."""
    if not _missing_route(reply) and reply.status < 500:
        data = _decode(reply)
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, str) and err.endswith("not found"):
            return None
    return read(reply, feature, generation)


def _blank_none(row: Dict[str, Any]) -> Dict[str, Any]:
    for key in ("namespace", "task"):
        if row.get(key) == "":
            row[key] = None
    return row


def _dict(reply: Reply, data: Any, what: str) -> Dict[str, Any]:
    if not isinstance(data, dict):
        raise _http_error(reply, f"unexpected {what} reply (expected an object)", data)
    return data


def _rows(reply: Reply, data: Any, key: Optional[str], what: str) -> List[Dict[str, Any]]:
    rows = data.get(key) if key is not None and isinstance(data, dict) else data
    if rows is None:
        return []
    if not isinstance(rows, list):
        raise _http_error(reply, f"unexpected {what} reply (expected a list)", data)
    return [r for r in rows if isinstance(r, dict)]


# ---------------------------------------------------------------- resources


def overview() -> Request:
    return _get("/resources/overview")


def namespaces() -> Request:
    return _get("/resources/namespaces")


def tasks() -> Request:
    return _get("/resources/tasks")


def queues(filters: Mapping[str, Any]) -> Request:
    return _get("/resources/queues", params(filters, QUEUE_LIST_KEYS, "list_queues"))


def queue(name: str) -> Request:
    return _get(f"/resources/queues/{check_name('queue name', name)}")


def parse_object(reply: Reply, what: str, generation: Optional[str] = None) -> Dict[str, Any]:
    return _dict(reply, read(reply, what, generation), what)


def parse_list_in(reply: Reply, key: str, what: str,
                  generation: Optional[str] = None) -> Dict[str, Any]:
    """``{key: [rows]}`` with the rows' blank namespace/task as None."""
    data = _dict(reply, read(reply, what, generation), what)
    data[key] = [_blank_none(r) for r in _rows(reply, data, key, what)]
    return data


def parse_queue(reply: Reply) -> Optional[Dict[str, Any]]:
    data = read_or_none(reply, "queue detail", None)
    return None if data is None else _blank_none(_dict(reply, data, "queue"))


# ---------------------------------------------------------------- messages


def messages(filters: Mapping[str, Any]) -> Request:
    return _get("/messages", params(filters, MESSAGE_KEYS, "list_messages",
                                    rename={"namespace": "ns"}))


def _message_path(partition_id: str, transaction_id: str) -> str:
    return f"/messages/{check_uuid('partition id', partition_id)}/{check_txid(transaction_id)}"


def message(partition_id: str, transaction_id: str) -> Request:
    return _get(_message_path(partition_id, transaction_id))


def delete_message(partition_id: str, transaction_id: str) -> Request:
    return Request("DELETE", API + _message_path(partition_id, transaction_id))


def parse_messages(reply: Reply) -> Dict[str, Any]:
    data = _dict(reply, read(reply, "message list", None), "message list")
    data["messages"] = _rows(reply, data, "messages", "message list")
    return data


def parse_message(reply: Reply) -> Optional[Dict[str, Any]]:
    data = read_or_none(reply, "message detail", None)
    return None if data is None else _dict(reply, data, "message")


def parse_delete_message(reply: Reply, partition_id: str, transaction_id: str) -> Dict[str, Any]:
    """0.15 answers ``success: false`` for a message that is gone; that is an
    outcome here, not an error."""
    if _missing_route(reply):
        raise _http_error(reply, "no such route on this server (404)", reply.body)
    data = _dict(reply, _decode(reply), "delete message")
    if data.get("error") and data.get("error") != "Message not found":
        raise _http_error(reply, str(data["error"]), data)
    ok = bool(data.get("success")) and not data.get("error")
    return {"success": ok,
            "message": str(data.get("message") or data.get("error") or ""),
            "partitionId": str(data.get("partitionId") or partition_id),
            "transactionId": str(data.get("transactionId") or transaction_id)}


# ---------------------------------------------------------------- traces


def traces_by_name(name: str, filters: Mapping[str, Any], generation: str) -> Request:
    pairs = params(filters, TRACE_KEYS, "get_traces_by_name")
    if generation == GEN_015:
        pairs = []  # 0.15 ignores limit and answers offset > 0 with null: page here
    return _get(f"/traces/by-name/{check_name('trace name', name)}", pairs)


def trace_names(filters: Mapping[str, Any], generation: str) -> Request:
    pairs = params(filters, TRACE_KEYS, "get_trace_names")
    if generation == GEN_015:
        pairs = [("limit", 1000000)]  # 0.15 pages names by limit (default 50): take all
    return _get("/traces/names", pairs)


def traces_of(partition_id: str, transaction_id: str) -> Request:
    return _get(f"/traces/{check_uuid('partition id', partition_id)}/{check_txid(transaction_id)}")


def parse_trace_page(reply: Reply, key: str, filters: Mapping[str, Any],
                     default_limit: int) -> Dict[str, Any]:
    """``{key: [...], total, count, limit, offset}`` on both generations."""
    data = _dict(reply, read(reply, "traces", None), "traces")
    rows = _rows(reply, data, key, "traces")
    limit = filters.get("limit")
    offset = filters.get("offset") or 0
    limit = default_limit if limit is None else limit
    if "pagination" in data:  # 0.15: everything came back; cut the page here
        total = data.get("total") if isinstance(data.get("total"), int) else len(rows)
        rows = rows[offset:offset + limit]
    else:
        total = data.get("total", len(rows))
    return {key: rows, "total": total, "count": len(rows), "limit": limit, "offset": offset}


def parse_message_traces(reply: Reply) -> Dict[str, Any]:
    data = read(reply, "message traces", None)
    if isinstance(data, dict) and data.get("error") is None and "traces" not in data:
        data = {"traces": []}
    rows = _rows(reply, data, "traces", "message traces")
    return {"traces": rows, "count": len(rows)}


# ---------------------------------------------------------------- status / analytics


def status(filters: Mapping[str, Any]) -> Request:
    return _get("/status", params(filters, STATUS_KEYS, "get_status"))


def queue_stats(filters: Mapping[str, Any]) -> Request:
    return _get("/status/queues", params(filters, QUEUE_STATS_KEYS, "get_queue_stats"))


def queue_detail(name: str, filters: Mapping[str, Any]) -> Request:
    return _get(f"/status/queues/{check_name('queue name', name)}",
                params(filters, QUEUE_DETAIL_KEYS, "get_queue_detail"))


def analytics(filters: Mapping[str, Any]) -> Request:
    return _get("/status/analytics", params(filters, ANALYTICS_KEYS, "get_analytics"))


def system_metrics(filters: Mapping[str, Any]) -> Request:
    return _get("/analytics/system-metrics", params(filters, METRICS_KEYS, "get_system_metrics"))


def worker_metrics(filters: Mapping[str, Any]) -> Request:
    return _get("/analytics/worker-metrics", params(filters, METRICS_KEYS, "get_worker_metrics"))


def parse_queue_stats(reply: Reply) -> Dict[str, Any]:
    data = parse_list_in(reply, "queues", "queue stats")
    if not isinstance(data.get("pagination"), dict):
        data["pagination"] = {}
    return data


def parse_queue_detail(reply: Reply) -> Optional[Dict[str, Any]]:
    data = read_or_none(reply, "queue status", None)
    if data is None:
        return None
    data = _dict(reply, data, "queue status")
    if isinstance(data.get("queue"), dict):
        _blank_none(data["queue"])
    return data


# ---------------------------------------------------------------- consumer groups


def consumer_groups() -> Request:
    return _get("/consumer-groups")


def consumer_group(name: str) -> Request:
    return _get(f"/consumer-groups/{check_name('consumer group', name)}")


def lagging(min_lag_seconds: int) -> Request:
    if not isinstance(min_lag_seconds, int) or isinstance(min_lag_seconds, bool) \
            or min_lag_seconds < 0:
        raise QueenValidationError(f"min_lag_seconds must be an int >= 0, got {min_lag_seconds!r}")
    return _get("/consumer-groups/lagging", [("minLagSeconds", min_lag_seconds)])


def stats_refresh() -> Request:
    return Request("POST", f"{API}/stats/refresh", idempotent=False)


def _group_queue(group: str, queue: str) -> str:
    return (f"{API}/consumer-groups/{check_name('consumer group', group)}"
            f"/queues/{check_name('queue name', queue)}")


def delete_group_for_queue(group: str, queue: str, delete_metadata: bool) -> Request:
    if not isinstance(delete_metadata, bool):
        raise QueenValidationError("delete_metadata takes True or False")
    return Request("DELETE", _group_queue(group, queue) + _query(
        [("deleteMetadata", delete_metadata)]))


def seek(group: str, queue: str, to_end: bool, timestamp: Optional[str]) -> Request:
    if to_end == (timestamp is not None):
        raise QueenValidationError("seek needs exactly one of to_end=True or a timestamp")
    body: Dict[str, Any] = {"toEnd": True} if to_end else {"timestamp": timestamp}
    return Request("POST", _group_queue(group, queue) + "/seek", _dumps(body))


def seek_partition(group: str, queue: str, partition: str) -> Request:
    path = _group_queue(group, queue) + f"/partitions/{check_name('partition name', partition)}"
    return Request("POST", path + "/seek")


def parse_groups(reply: Reply) -> List[Dict[str, Any]]:
    rows = _rows(reply, read(reply, "consumer groups", None), None, "consumer groups")
    for r in rows:
        r.setdefault("partitionsWithLag", None)  # 0.7 does not report it
    return rows


def parse_group(reply: Reply) -> Optional[Dict[str, Any]]:
    data = read_or_none(reply, "consumer group", None)
    if not data:  # 0.15 null, 0.7 {}
        return None
    return _dict(reply, data, "consumer group")


def parse_lagging(reply: Reply) -> List[Dict[str, Any]]:
    return _rows(reply, read(reply, "lagging consumers", None), None, "lagging consumers")


def parse_seek(reply: Reply, generation: str, partition: Optional[str] = None) -> Dict[str, Any]:
    data = _dict(reply, read(reply, "consumer group seek", generation), "seek")
    if partition is not None and "partitionsUpdated" not in data:
        data["partitionsUpdated"] = 1 if data.get("updated") else 0
        data.setdefault("seekToEnd", True)
        data.setdefault("targetTimestamp", data.get("cursorMovedTo"))
    return data


# ---------------------------------------------------------------- system


def metrics() -> Request:
    return Request("GET", "/metrics")


def prometheus() -> Request:
    return Request("GET", "/metrics/prometheus")


def parse_prometheus(reply: Reply, generation: str) -> str:
    if _missing_route(reply) and not reply.body.lstrip().startswith(b"#"):
        raise QueenServerFeatureError("Prometheus metrics (/metrics/prometheus)", generation,
                                      "use metrics() for the JSON numbers")
    if reply.status >= 400:
        raise _http_error(reply, f"HTTP {reply.status}", reply.body)
    return reply.body.decode("utf-8", "replace")


def _maintenance_path(pop: bool) -> str:
    return f"{API}/system/maintenance" + ("/pop" if pop else "")


def maintenance(pop: bool) -> Request:
    return Request("GET", _maintenance_path(pop))


def set_maintenance(enabled: bool, pop: bool) -> Request:
    if not isinstance(enabled, bool):
        raise QueenValidationError(f"enabled must be True or False, got {enabled!r}")
    return Request("POST", _maintenance_path(pop), _dumps({"enabled": enabled}))


__all__ = [
    "ANALYTICS_KEYS", "MESSAGE_KEYS", "MESSAGE_STATUSES", "METRICS_KEYS", "QUEUE_DETAIL_KEYS",
    "QUEUE_LIST_KEYS", "QUEUE_STATS_KEYS", "STATUS_KEYS", "TRACE_KEYS", "analytics",
    "check_txid", "check_uuid", "consumer_group", "consumer_groups", "delete_group_for_queue",
    "delete_message", "lagging", "maintenance", "message", "messages", "metrics", "namespaces",
    "overview", "params", "parse_delete_message", "parse_group", "parse_groups",
    "parse_lagging", "parse_list_in", "parse_message", "parse_message_traces", "parse_messages",
    "parse_object", "parse_prometheus", "parse_queue", "parse_queue_detail", "parse_queue_stats",
    "parse_seek", "parse_trace_page", "prometheus", "queue", "queue_detail", "queue_stats",
    "queues", "read", "read_or_none", "seek", "seek_partition", "set_maintenance",
    "stats_refresh", "status", "system_metrics", "tasks", "time_text", "trace_names",
    "traces_by_name", "traces_of", "worker_metrics",
]
