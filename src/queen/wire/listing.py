"""The queue listing the client itself needs: which queues belong to a namespace
and/or task (for namespace/task consumption on 0.15, which has no such pop).

A minimal builder/parser pair over ``GET /api/v1/resources/queues``; the admin area
(``wire/admin.py``) covers the same route for users.
"""

from __future__ import annotations

from typing import Any, List, Optional

from .base import API, Reply, Request, _http_error, check


def list_queues() -> Request:
    # Names, namespaces and tasks are live on 0.15.1 (only the counts lag behind).
    return Request("GET", f"{API}/resources/queues")


def parse_queue_names(reply: Reply, namespace: Optional[str], task: Optional[str]) -> List[str]:
    """Names of the listed queues in ``namespace`` and ``task`` (None matches any),
    oldest first."""
    data: Any = check(reply)
    rows = data.get("queues") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise _http_error(reply, "unexpected queue listing", data)
    names: List[str] = []
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("name"), str):
            continue
        if namespace is not None and row.get("namespace") != namespace:
            continue
        if task is not None and row.get("task") != task:
            continue
        names.append(row["name"])
    names.reverse()  # 0.15.1 lists newest first; the order only seeds the rotation
    return names


__all__ = ["list_queues", "parse_queue_names"]
