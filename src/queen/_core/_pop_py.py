"""Pop reply parsing, pure-Python twin of ``_pop.pyx``.

Both server generations are normalised to one message shape (see docs/INTERNALS.md,
"Pop normalisation"). 0.7.x: ``null``/empty body or ``{"messages": [...]}`` with full
messages. 0.15.x: an envelope (queue, consumerGroup, leaseId, partition...) around
messages that lack ``queue``/``retryCount``/``priority``. What an error in a reply
means (e.g. 0.15's "nothing to deliver" errors) is the protocol's business: the reply
is handed back to the caller (``queen.wire``) to decide.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Dict, List, Optional, Tuple

import orjson

__all__ = ["parse_pop"]

Trace = Callable[[Dict[str, Any], Any], Any]


def parse_pop(
    body: bytes, queue_mode: str, trace: Optional[Trace] = None
) -> Tuple[List[Dict[str, Any]], Optional[Dict[str, Any]]]:
    """``(messages, failure)`` from a raw pop reply.

    ``failure`` is None, or the reply object itself when it carries an ``error`` or
    ``success: false`` (then ``messages`` is empty). An empty or ``null`` body means no
    messages. ``queue_mode`` is the group name that means "no group" (None in the
    messages). With ``trace``, each message gets ``message["trace"] = f`` where
    ``f(event)`` returns ``trace({"transactionId", "partitionId", "consumerGroup"}, event)``
    (the ids, not the message: a message holding a callable that holds the message is
    a cycle only the garbage collector frees). Raises ValueError for a reply that is not
    a pop reply, TypeError for a body that is not bytes/str.
    """
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
    if doc.get("error") is not None or doc.get("success") is False:
        return [], doc
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
    for m in raw:
        if type(m) is not dict:
            raise ValueError(f"pop reply messages must be objects, not {type(m).__name__}")
        get = m.get
        if get("queue") is None:
            m["queue"] = env_queue
        if env_partition and get("partition") is None:
            m["partition"] = env_partition
        if env_partition_id is not None and get("partitionId") is None:
            m["partitionId"] = env_partition_id
        group = get("consumerGroup", env_group)
        if group == queue_mode:
            group = None
        m["consumerGroup"] = group
        lease = get("leaseId")
        if lease is None or lease == "":
            lease = None if env_lease == "" else env_lease
        m["leaseId"] = lease
        if get("traceId") is None:
            m["traceId"] = None
        if get("retryCount") is None:
            m["retryCount"] = 0
        if get("priority") is None:
            m["priority"] = 0
        if get("producerSub") is None:
            m["producerSub"] = None
        if trace is not None:
            m["trace"] = partial(trace, {"transactionId": get("transactionId"),
                                         "partitionId": get("partitionId"),
                                         "consumerGroup": group})
    return raw, None
