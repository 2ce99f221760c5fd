"""Pop reply parsing, pure-Python twin of ``_pop.pyx``.

Both server generations are normalised to one message shape (see docs/INTERNALS.md,
"Pop normalisation"). 0.7.x: ``null``/empty body or ``{"messages": [...]}`` with full
messages. 0.15.x: an envelope (queue, consumerGroup, leaseId, partition...) around
messages that lack ``queue``/``retryCount``/``priority``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import orjson

__all__ = ["parse_pop"]

# 0.15.x answers these with success=false when there is simply nothing to deliver.
_NOTHING_ERRORS = ("no_available_partition", "lease_held", "partition_not_found")
_QUEUE_MODE = "__QUEUE_MODE__"

TraceFactory = Callable[[Dict[str, Any]], Any]


def _error_text(err: Any) -> str:
    if isinstance(err, str):
        return err
    return orjson.dumps(err, option=orjson.OPT_SORT_KEYS).decode()


def parse_pop(
    body: bytes, trace_factory: Optional[TraceFactory] = None
) -> Tuple[List[Dict[str, Any]], Optional[str]]:
    """``(messages, error_text)`` from a raw pop reply; error_text is None when the
    reply means "no messages". Raises ValueError for a reply that is not a pop reply."""
    if not isinstance(body, (bytes, bytearray, memoryview, str)):
        raise TypeError(f"parse_pop() needs bytes, not {type(body).__name__}")
    if not body:
        return [], None
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise ValueError(f"pop reply is not JSON: {e}") from None
    if doc is None:
        return [], None
    if not isinstance(doc, dict):
        raise ValueError(f"pop reply must be a JSON object, not {type(doc).__name__}")
    err = doc.get("error")
    if err is not None:
        if isinstance(err, str) and err in _NOTHING_ERRORS:
            return [], None
        return [], _error_text(err)
    if doc.get("success") is False:
        return [], "pop failed: the server answered success=false without an error text"
    raw = doc.get("messages")
    if raw is None:
        return [], None
    if not isinstance(raw, list):
        raise ValueError(f"pop reply 'messages' must be a list, not {type(raw).__name__}")
    env_queue = doc.get("queue")
    env_group = doc.get("consumerGroup")
    env_lease = doc.get("leaseId")
    env_partition = doc.get("partition")
    env_partition_id = doc.get("partitionId")
    out: List[Dict[str, Any]] = []
    for m in raw:
        if not isinstance(m, dict):
            raise ValueError(f"pop reply messages must be objects, not {type(m).__name__}")
        if m.get("queue") is None:
            m["queue"] = env_queue
        if m.get("partition") is None and env_partition:
            m["partition"] = env_partition
        if m.get("partitionId") is None and env_partition_id is not None:
            m["partitionId"] = env_partition_id
        group = m.get("consumerGroup", env_group)
        m["consumerGroup"] = None if group == _QUEUE_MODE else group
        lease = m.get("leaseId")
        if lease is None or lease == "":
            lease = env_lease
        m["leaseId"] = None if lease == "" else lease
        if m.get("traceId") is None:
            m["traceId"] = None
        if m.get("retryCount") is None:
            m["retryCount"] = 0
        if m.get("priority") is None:
            m["priority"] = 0
        if m.get("producerSub") is None:
            m["producerSub"] = None
        if trace_factory is not None:
            m["trace"] = trace_factory(m)
        out.append(m)
    return out, None
