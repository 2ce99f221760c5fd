"""Random JSON bodies and query strings never crash the server or produce a 5xx
(except the one real 500 of 0.15.1: a transaction item whose queue is not a string)."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import Raw

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) |
    st.sampled_from(["", "q", "Default", "completed", "failed", "dlq", "retry", "new", "now",
                     "00000000-0000-0000-0000-000000000000", "2026-01-01T00:00:00Z"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["queue", "partition", "payload", "transactionId", "traceId", "items",
                         "acknowledgments", "operations", "type", "status", "leaseId",
                         "partitionId", "consumerGroup", "options", "leaseTime", "seconds",
                         "data", "traceNames", "subscriptionTimestamp", "toEnd", "enabled"]),
        inner, max_size=5),
    max_leaves=12)

POSTS = ["/api/v1/configure", "/api/v1/push", "/api/v1/ack", "/api/v1/ack/batch",
         "/api/v1/transaction", "/api/v1/lease/x/extend", "/api/v1/traces",
         "/api/v1/consumer-groups/g/subscription", "/api/v1/consumer-groups/g/queues/q/seek",
         "/api/v1/system/maintenance"]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.sampled_from(POSTS), body=json_values)
def test_random_bodies(raw: Raw, path: str, body: Any) -> None:
    resp = raw.http.post(path, content=orjson.dumps(body))
    if resp.status_code == 500:
        assert raw.v15 and path.endswith("transaction"), resp.text
    assert resp.status_code in (200, 201, 400, 404, 500)
    raw.http.post("/api/v1/system/maintenance", json={"enabled": False})


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(params=st.dictionaries(
    st.sampled_from(["batch", "wait", "timeout", "consumerGroup", "autoAck", "partitions",
                     "subscriptionMode", "subscriptionFrom", "limit", "offset", "from", "to"]),
    st.sampled_from(["", "0", "-1", "3", "abc", "true", "1", "new", "now", "50",
                     "2026-01-01T00:00:00Z"]), max_size=5))
def test_random_queries(raw: Raw, params: Any) -> None:
    if params.get("wait") in ("true", "1"):
        params["timeout"] = "10"
    raw.push("q", [1]) if raw.v15 else raw.configure("q", leaseTime=1)
    for path in ("/api/v1/pop/queue/q", "/api/v1/pop/queue/q/partition/Default", "/api/v1/dlq",
                 "/api/v1/messages", "/api/v1/traces/by-name/x", "/api/v1/traces/names"):
        resp = raw.http.get(path, params=params)
        assert resp.status_code == 200, (path, params, resp.text)
