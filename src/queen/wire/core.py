"""The core queue protocol: configure, push, pop, ack, leases, transactions, DLQ,
traces and consumer-group updates, on both server generations.

One request builder and one reply parser per operation. Builders return a
``Request`` (nothing is sent here); parsers take the transport's response and
return normalised Python values, raising ``QueenHTTPError`` for any reply carrying
an ``error`` (real servers send most errors with HTTP 200) and
``QueenServerFeatureError`` when the server generation lacks the route.
"""

from __future__ import annotations

import re
from collections.abc import Mapping as _AbcMapping
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, cast

import orjson

from .. import _core
from ..errors import QueenServerFeatureError, QueenValidationError
from ..types import AckResult, Message, PopSpec, PushResult, RenewResult
from .base import (
    API,
    GEN_015,
    QUEUE_MODE,
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
from .rules import RULES

# ---------------------------------------------------------------- queues

QUEUE_DEFAULTS: Dict[str, Any] = {
    "leaseTime": 300,
    "retryLimit": 3,
    "priority": 0,
    "delayedProcessing": 0,
    "windowBuffer": 0,
    "maxSize": 0,
    "retentionSeconds": 0,
    "completedRetentionSeconds": 0,
    "encryptionEnabled": False,
    "dlqAfterMaxRetries": False,
}
_INT_OPTIONS = {
    "leaseTime", "retryLimit", "retryDelay", "maxSize", "ttl", "priority",
    "delayedProcessing", "windowBuffer", "retentionSeconds", "completedRetentionSeconds",
    "maxWaitTimeSeconds",
}
_BOOL_OPTIONS = {"retentionEnabled", "encryptionEnabled", "deadLetterQueue", "dlqAfterMaxRetries"}


def camel(name: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)


def queue_options(options: Mapping[str, Any]) -> Dict[str, Any]:
    """The guide defaults merged with user options (snake_case or camelCase), validated.

    Real servers replace the whole configuration on every configure call, so the
    full set is always sent.
    """
    out = dict(QUEUE_DEFAULTS)
    for key, value in options.items():
        name = camel(str(key))
        if name in _INT_OPTIONS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise QueenValidationError(f"queue option {key} must be an int >= 0, got {value!r}")
        elif name in _BOOL_OPTIONS:
            if not isinstance(value, bool):
                raise QueenValidationError(f"queue option {key} must be a bool, got {value!r}")
        else:
            known = ", ".join(sorted(_INT_OPTIONS | _BOOL_OPTIONS))
            raise QueenValidationError(f"unknown queue option {key!r}; known options: {known}")
        out[name] = value
    return out


def configure(
    queue: str, namespace: Optional[str], task: Optional[str], options: Mapping[str, Any]
) -> Request:
    body: Dict[str, Any] = {"queue": check_name("queue name", queue)}
    if namespace is not None:
        body["namespace"] = namespace
    if task is not None:
        body["task"] = task
    body["options"] = queue_options(options)
    return Request("POST", f"{API}/configure", _dumps(body))


def parse_configure(reply: Reply) -> Dict[str, Any]:
    data = check(reply)
    return data if isinstance(data, dict) else {"configured": True}


def delete_queue(queue: str) -> Request:
    return Request("DELETE", f"{API}/resources/queues/{check_name('queue name', queue)}")


def parse_delete_queue(reply: Reply) -> Dict[str, Any]:
    data = check(reply)
    return data if isinstance(data, dict) else {"deleted": True}


# ---------------------------------------------------------------- push


def push(body: bytes, queue: str, partition: str) -> Request:
    # Retrying a push is safe: the transactionIds make a repeat a "duplicate".
    return Request("POST", f"{API}/push", body, affinity_key=f"{queue}:{partition}:")


def parse_push(reply: Reply, txids: Sequence[str]) -> List[PushResult]:
    """Per-item results in request order: ``transactionId``, ``status``, ``messageId``, ``error``."""
    data = check(reply)
    if not isinstance(data, list):
        raise _http_error(reply, "unexpected push reply (expected a list)", data)
    results: List[PushResult] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            item = {}
        txid = item.get("transaction_id") or item.get("transactionId")
        if not txid and i < len(txids):
            txid = txids[i]
        r: PushResult = {
            "transactionId": str(txid or ""),
            "status": str(item.get("status") or "failed"),
            "messageId": item.get("message_id") or item.get("messageId"),
        }
        if item.get("error"):
            r["error"] = str(item["error"])
        elif r["status"] == "failed":
            r["error"] = "push failed"
        results.append(r)
    return results


def parse_push_failures(reply: Reply, count: int) -> Dict[int, str]:
    """The cheap form of ``parse_push`` for callers that only count what was stored
    (the push buffer): index -> error text for each of the ``count`` items sent that
    was not stored (failed, or no result); stored and duplicate items have no entry."""
    # The usual answer, "all stored", checked without building result records.
    if reply.status < 400 and _core.push_all_stored(reply.body, count):
        return {}
    data = check(reply)
    if not isinstance(data, list):
        raise _http_error(reply, "unexpected push reply (expected a list)", data)
    failed: Dict[int, str] = {}
    for i, item in enumerate(data):
        if type(item) is dict:
            status = item.get("status")
            if status and status != "failed":
                continue
            err = item.get("error")
        else:
            err = None
        if i < count:
            failed[i] = str(err) if err else "push failed"
    for i in range(len(data), count):
        failed[i] = "no result for this item"
    return failed


# ---------------------------------------------------------------- pop


# Consumers pop with the same spec over and over: build each request once.
_POP_CACHE: Dict[Tuple[PopSpec, str], Request] = {}
_POP_CACHE_SIZE = 256


def pop(spec: PopSpec, generation: str) -> Request:
    key = (spec, generation)
    req = _POP_CACHE.get(key)
    if req is None:
        req = _build_pop(spec, generation)
        if len(_POP_CACHE) >= _POP_CACHE_SIZE:
            _POP_CACHE.clear()
        _POP_CACHE[key] = req
    return req


def _build_pop(spec: PopSpec, generation: str) -> Request:
    params: List[Tuple[str, Any]] = [("batch", spec.batch), ("wait", spec.wait)]
    if spec.wait:
        params.append(("timeout", spec.timeout_millis))
    if spec.group is not None:
        params.append(("consumerGroup", spec.group))
    if spec.auto_ack:
        params.append(("autoAck", True))
    if spec.subscription_mode is not None:
        mode = spec.subscription_mode
        if mode == "new-only":
            mode = RULES[generation].new_only_spelling
        params.append(("subscriptionMode", mode))
    if spec.subscription_from is not None:
        params.append(("subscriptionFrom", spec.subscription_from))
    elif spec.new_since is not None and generation == GEN_015 and spec.subscription_mode in (
            "new", "new-only"):
        # 0.15 starts a 'new' group at its first *claim* of a partition, skipping what
        # arrived since the consumer started; a start timestamp (which 0.15 prefers to
        # the mode) makes every message from the consumer's start on count as new.
        params.append(("subscriptionFrom", spec.new_since))
    if spec.partitions > 1 and generation == GEN_015 and spec.partition is None:
        # 0.15 claims up to N partitions under one lease; 0.7 ignores the parameter
        # (the client pops partition by partition there, see queen.fanin).
        params.append(("partitions", spec.partitions))
    group = spec.group or QUEUE_MODE
    if spec.queue is None:
        if spec.namespace is None and spec.task is None:
            raise QueenValidationError("pop needs a queue name, or a namespace and/or task")
        if not RULES[generation].namespace_pop:
            raise QueenServerFeatureError(
                "namespace/task pop", generation,
                "the route GET /api/v1/pop was removed; pop each queue by name instead",
            )
        params += [("namespace", spec.namespace), ("task", spec.task)]
        path = f"{API}/pop"
        key = f"{spec.namespace or ''}:{spec.task or ''}:{group}"
    else:
        path = f"{API}/pop/queue/{check_name('queue name', spec.queue)}"
        if spec.partition is not None:
            path += f"/partition/{check_name('partition name', spec.partition)}"
        key = f"{spec.queue}:{spec.partition or ''}:{group}"
    # Long polls hold the request open: give the HTTP call the server timeout + 5 s.
    timeout = spec.timeout_millis / 1000.0 + 5.0 if spec.wait else None
    return Request("GET", path + _query(params), None, key, timeout, idempotent=False)


# 0.15.x answers these with success=false when there is simply nothing to deliver.
POP_NOTHING_ERRORS = frozenset({"no_available_partition", "lease_held", "partition_not_found"})


def _pop_failure(reply: Reply, doc: Dict[str, Any]) -> List[Message]:
    """A pop reply carrying ``error`` or ``success: false``: "nothing to deliver" is
    ``[]``, anything else raises."""
    err = doc.get("error")
    if err is None:
        text = "pop failed: the server answered success=false without an error text"
    elif isinstance(err, str):
        if err in POP_NOTHING_ERRORS:
            return []
        text = err
    else:
        text = orjson.dumps(err, option=orjson.OPT_SORT_KEYS).decode()
    if not text:  # an empty error text reads as no error (what 0.7 and 0.15 mean by it)
        if reply.status >= 400:
            raise _http_error(reply, f"HTTP {reply.status}", reply.body)
        return []
    raise _http_error(reply, text, reply.body)


def parse_pop(
    reply: Reply,
    generation: str,
    trace: Optional[Callable[[Dict[str, Any], Any], Any]] = None,
) -> List[Message]:
    """The messages of a pop reply, normalised (both generations); ``trace(ids, event)``
    becomes each message's ``trace(event)``."""
    if _missing_route(reply):
        raise QueenServerFeatureError("this pop route", generation, "the server answered 404")
    if reply.status == 204:  # 0.15 pop maintenance; any body on a 204 is meaningless
        return []
    try:
        messages, failure = _core.parse_pop(reply.body, QUEUE_MODE, trace)
    except (TypeError, ValueError) as e:
        raise _http_error(reply, f"unreadable pop reply: {e}", reply.body) from None
    if failure is not None:
        return _pop_failure(reply, failure)
    if reply.status >= 400:
        raise _http_error(reply, f"HTTP {reply.status}", reply.body)
    return cast("List[Message]", messages)  # a string: no typing lookup per call


# ---------------------------------------------------------------- ack

ACK_STATUSES = {"completed", "failed", "success", "dlq", "retry"}


def ack_status(status: Any, generation: str) -> str:
    """User status (True/False/str) -> the wire status for this generation."""
    if status is True:
        return "completed"
    if status is False:
        return "failed"
    if not isinstance(status, str) or status not in ACK_STATUSES:
        raise QueenValidationError(
            f"ack status must be True, False or one of {sorted(ACK_STATUSES)}, got {status!r}"
        )
    if status == "success":
        return "completed"
    if status not in RULES[generation].ack_statuses:
        raise QueenServerFeatureError(f"ack status {status!r}", generation, "use 'failed' instead")
    return status


def ack_item(
    message: Mapping[str, Any], status: str, error: Optional[str]
) -> Dict[str, Any]:
    """The wire form of one acknowledgement (group is added by the caller)."""
    # typing.Mapping's isinstance is slow: test for a plain dict first (the usual case).
    ok = type(message) is dict or isinstance(message, _AbcMapping)
    txid = message.get("transactionId") if ok else None
    pid = message.get("partitionId") if ok else None
    if not isinstance(txid, str) or not txid:
        raise QueenValidationError(  # upstream's texts first: code matches on them
            "Message must have transactionId or id property: ack takes messages as "
            "returned by pop/consume"
        )
    if not isinstance(pid, str) or not pid:
        raise QueenValidationError(
            "Message must have partitionId property to ensure message uniqueness: ack "
            "takes messages as returned by pop/consume"
        )
    item: Dict[str, Any] = {"transactionId": txid, "partitionId": pid, "status": status}
    lease = message.get("leaseId")
    if isinstance(lease, str) and lease:
        item["leaseId"] = lease
    if error is not None:
        item["error"] = str(error)
    return item


def ack_items(
    messages: Sequence[Any], status: Any, error: Any, generation: str
) -> Tuple[List[Dict[str, Any]], List[Optional[str]]]:
    """``ack_item`` over a list in one pass: the wire items and each message's
    consumer group. A message's own ``_status``/``_error`` win over ``status``/``error``."""
    if status is None or status is True or status == "completed":  # the usual call
        fast = _core.ack_items(messages, "completed", error)
        if fast is not None:
            return cast("Tuple[List[Dict[str, Any]], List[Optional[str]]]", fast)
    items: List[Dict[str, Any]] = []
    groups: List[Optional[str]] = []
    default: Optional[str] = None  # the wire form of ``status``, worked out once
    for m in messages:
        if type(m) is not dict and not isinstance(m, _AbcMapping):
            raise QueenValidationError("ack takes messages as returned by pop/consume")
        st = m.get("_status", status)
        if st is status:
            if default is None:
                default = ack_status(True if status is None else status, generation)
            wire_status = default
        else:
            wire_status = ack_status(True if st is None else st, generation)
        txid = m.get("transactionId")
        pid = m.get("partitionId")
        if type(txid) is not str or type(pid) is not str or not txid or not pid:
            ack_item(m, wire_status, None)  # raises the usual error (or takes a str subclass)
            txid, pid = str(txid), str(pid)
        item: Dict[str, Any] = {"transactionId": txid, "partitionId": pid, "status": wire_status}
        lease = m.get("leaseId")
        if lease and isinstance(lease, str):
            item["leaseId"] = lease
        err = m.get("_error") or error
        if err is not None:
            item["error"] = str(err)
        items.append(item)
        groups.append(m.get("consumerGroup"))
    return items, groups


def ack_single(item: Mapping[str, Any], group: Optional[str]) -> Request:
    body = dict(item)
    if group is not None:
        body["consumerGroup"] = group
    return Request("POST", f"{API}/ack", _dumps(body), idempotent=False)


def ack_batch(items: Sequence[Mapping[str, Any]], group: Optional[str]) -> Request:
    if not items:
        # 0.15.1 never answers an empty batch: the connection hangs.
        raise QueenValidationError("an ack batch must not be empty")
    body: Dict[str, Any] = {"acknowledgments": list(items)}
    if group is not None:
        body["consumerGroup"] = group
    return Request("POST", f"{API}/ack/batch", _dumps(body), idempotent=False)


def _ack_result(item: Mapping[str, Any], success: bool, status: str,
                error: Optional[str], dlq: Optional[bool]) -> AckResult:
    return {
        "transactionId": item["transactionId"], "partitionId": item["partitionId"],
        "success": success, "status": status, "error": error, "dlq": dlq,
    }


def parse_ack(reply: Reply, items: Sequence[Mapping[str, Any]], batch: bool) -> List[AckResult]:
    """Per-item outcomes in request order. A rejected item is a result with
    ``success: False``; only request-level errors raise."""
    if _missing_route(reply):
        raise _http_error(reply, "no such route on this server (404)", reply.body)
    # 0.15: always an array of per-item results, read straight from the bytes
    fast = _core.ack_reply_015(reply.body, items)
    if fast is not None:
        return cast("List[AckResult]", fast)
    data = _decode(reply)
    if isinstance(data, list):  # (the kernel leaves unusual arrays to the full parse)
        return cast("List[AckResult]", _core.ack_results_015(data, items))
    if not isinstance(data, dict):
        raise _http_error(reply, "unexpected ack reply", data)
    err = data.get("error")
    if not batch:
        # 0.7 single ack: {transactionId, status, ...} or {"error": "Failed to acknowledge ..."}
        item = items[0]
        if err:
            text = str(err)
            if text.startswith("Failed to acknowledge"):
                return [_ack_result(item, False, item["status"], text, None)]
            raise _http_error(reply, text, data)
        status = str(data.get("status") or item["status"])
        return [_ack_result(item, True, status, None, status == "failed_dlq")]
    if err:
        raise _http_error(reply, str(err), data)
    results = data.get("results")
    if not isinstance(results, list):
        raise _http_error(reply, "unexpected batch ack reply", data)
    return cast("List[AckResult]", _core.ack_results(results, items))


# ---------------------------------------------------------------- leases


def renew(lease_id: str, seconds: Optional[int] = None) -> Request:
    # Always a real JSON body: an empty body is rejected by both generations.
    body = _dumps({"seconds": seconds} if seconds is not None else {})
    return Request("POST", f"{API}/lease/{check_name('lease id', lease_id)}/extend", body,
                   idempotent=False)


def parse_renew(reply: Reply, lease_id: str) -> RenewResult:
    if _missing_route(reply):
        raise _http_error(reply, "no such route on this server (404)", reply.body)
    data = _decode(reply)
    if isinstance(data, list):  # 0.15
        r = data[0] if data and isinstance(data[0], dict) else {}
        ok = bool(r.get("success"))
        return {"leaseId": lease_id, "success": ok, "expiresAt": r.get("expiresAt"),
                "error": None if ok else str(r.get("error") or "lease not extended")}
    if isinstance(data, dict):  # 0.7
        if data.get("error"):
            return {"leaseId": lease_id, "success": False, "expiresAt": None,
                    "error": str(data["error"])}
        return {"leaseId": lease_id, "success": bool(data.get("extended", True)),
                "expiresAt": None, "error": None}
    raise _http_error(reply, "unexpected lease extend reply", data)


# ---------------------------------------------------------------- transactions


def tx_ack_op(item: Mapping[str, Any], group: Optional[str]) -> bytes:
    op = {"type": "ack", **item}
    if group is not None:
        op["consumerGroup"] = group
    return _dumps(op)


def tx_push_op(fragments: Sequence[bytes]) -> bytes:
    return b'{"type":"push","items":[' + b",".join(fragments) + b"]}"


def transaction(ops: Sequence[bytes]) -> Request:
    if not ops:
        raise QueenValidationError("a transaction needs at least one ack or push")
    body = b'{"operations":[' + b",".join(ops) + b"]}"
    return Request("POST", f"{API}/transaction", body, idempotent=False)


def parse_transaction(reply: Reply) -> Dict[str, Any]:
    """``{'success', 'transactionId', 'results'}`` (push results flattened, one per item);
    raises ``QueenHTTPError`` when the server rolled the transaction back."""
    if _missing_route(reply):
        raise _http_error(reply, "no such route on this server (404)", reply.body)
    data = _decode(reply)
    if not isinstance(data, dict):
        raise _http_error(reply, "unexpected transaction reply", data)
    raw = data.get("results")
    if not isinstance(raw, list):
        raw = []
    results: List[Dict[str, Any]] = []
    for r in raw:
        if not isinstance(r, dict):
            continue
        if r.get("type") == "push" and isinstance(r.get("results"), list):  # 0.7 nesting
            for p in r["results"]:
                results.append({"type": "push", "success": p.get("status") != "failed",
                                "transactionId": p.get("transactionId"),
                                "messageId": p.get("messageId"), "status": p.get("status")})
        else:
            results.append(dict(r))
    if data.get("success") is not True or data.get("error"):
        text = data.get("error")
        if not text:
            bad = [r for r in results if r.get("success") is False]
            detail = "; ".join(
                f"{r.get('type')}: {r.get('error') or r.get('message')}" for r in bad
            )
            text = f"transaction rolled back ({detail or 'no detail'})"
        raise _http_error(reply, str(text), data)
    return {"success": True, "transactionId": data.get("transactionId"), "results": results}


# ---------------------------------------------------------------- DLQ


def dlq(
    queue: str, group: Optional[str], partition: Optional[str],
    limit: int, offset: int, from_: Optional[str], to: Optional[str], generation: str,
) -> Request:
    params: List[Tuple[str, Any]] = [("queue", check_name("queue name", queue))]
    if group is not None:
        params.append(("consumerGroup", group))
    if not RULES[generation].dlq_server_filters:
        # 0.15 ignores partition/from/to, applies no limit and answers any offset > 0
        # with null: fetch everything once, page and filter client-side.
        return Request("GET", f"{API}/dlq" + _query(params))
    params += [("partition", partition), ("from", from_), ("to", to),
               ("limit", limit), ("offset", offset)]
    return Request("GET", f"{API}/dlq" + _query(params))


def parse_time(value: Any) -> Optional[datetime]:
    """Lenient ISO-8601 / PostgreSQL timestamp parsing; naive means UTC."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    m = re.match(r"(.*T.*\d)([+-]\d\d)$", text)  # "+00" -> "+00:00"
    if m:
        text = m.group(1) + m.group(2) + ":00"
    m = re.match(r"(.*\.\d{6})\d+(.*)$", text)  # more than 6 fraction digits
    if m:
        text = m.group(1) + m.group(2)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _dlq_entry(m: Dict[str, Any]) -> Dict[str, Any]:
    m.setdefault("queue", m.get("queueName"))
    m.setdefault("partition", m.get("partitionName"))
    m.setdefault("dlqTimestamp", m.get("movedToDlqAt") or m.get("failedAt"))
    return m


def parse_dlq(
    reply: Reply, generation: str, partition: Optional[str], limit: int, offset: int,
    from_: Optional[str], to: Optional[str],
) -> Dict[str, Any]:
    """``{'messages', 'total', 'limit', 'offset'}`` on both generations. Entries get
    ``queue``, ``partition`` and ``dlqTimestamp`` aliases."""
    data = check(reply)
    if data is None or (isinstance(data, dict) and "messages" not in data):
        data = {"messages": []}  # 0.15 {"success": true, "value": null}
    if not isinstance(data, dict) or not isinstance(data.get("messages") or [], list):
        raise _http_error(reply, "unexpected DLQ reply", data)
    messages = [_dlq_entry(m) for m in (data.get("messages") or []) if isinstance(m, dict)]
    if RULES[generation].dlq_server_filters and "total" in data:
        return {"messages": messages, "total": data["total"],
                "limit": data.get("limit", limit), "offset": data.get("offset", offset)}
    lo, hi = parse_time(from_), parse_time(to)
    kept = []
    for m in messages:
        if partition is not None and m.get("partition") != partition:
            continue
        at = parse_time(m.get("dlqTimestamp"))
        if at is not None and ((lo and at < lo) or (hi and at > hi)):
            continue
        kept.append(m)
    return {"messages": kept[offset:offset + limit], "total": len(kept),
            "limit": limit, "offset": offset}


# ---------------------------------------------------------------- traces


def trace(message: Mapping[str, Any], event: Mapping[str, Any]) -> Request:
    names = event.get("traceName", event.get("traceNames"))
    if isinstance(names, str):
        names = [names]
    elif names is not None:
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise QueenValidationError("traceName must be a str or a list of str")
        names = [n for n in names if n]
    body: Dict[str, Any] = {
        "transactionId": message.get("transactionId"),
        "partitionId": message.get("partitionId"),
    }
    group = message.get("consumerGroup")
    if group:
        body["consumerGroup"] = group
    if names:
        body["traceNames"] = names
    body["eventType"] = str(event.get("eventType") or "info")
    body["data"] = event.get("data", {})
    if not body["transactionId"] or not body["partitionId"]:
        raise QueenValidationError("trace needs a message with transactionId and partitionId")
    return Request("POST", f"{API}/traces", _dumps(body))


def parse_trace(reply: Reply) -> Dict[str, Any]:
    data = check(reply)
    out: Dict[str, Any] = {"success": True}
    if isinstance(data, dict) and data.get("traceId"):
        out["traceId"] = data["traceId"]
    return out


# ---------------------------------------------------------------- consumer groups


def delete_consumer_group(group: str, delete_metadata: bool) -> Request:
    path = f"{API}/consumer-groups/{check_name('consumer group', group)}"
    return Request("DELETE", path + _query([("deleteMetadata", bool(delete_metadata))]))


def update_subscription(group: str, timestamp: str) -> Request:
    path = f"{API}/consumer-groups/{check_name('consumer group', group)}/subscription"
    return Request("POST", path, _dumps({"subscriptionTimestamp": timestamp}))


def parse_group_admin(reply: Reply) -> Dict[str, Any]:
    data = check(reply)
    return data if isinstance(data, dict) else {"success": True}
