"""Fixtures for the embedded-server tests: raw HTTP (httpx), never the queen client."""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional

import httpx
import pytest

from queen.testing import FakeClock, ServerHandle, start_server


class Raw:
    """A thin httpx wrapper speaking the wire format of either generation."""

    def __init__(self, handle: ServerHandle) -> None:
        self.handle = handle
        self.compat = handle.compat
        self.v15 = handle.compat == "0.15"
        self.http = httpx.Client(base_url=handle.url, timeout=20.0)

    def advance(self, seconds: float) -> None:
        self.handle.advance(seconds)

    def post(self, path: str, body: Any) -> Any:
        return self.http.post(path, json=body).json()

    def configure(self, queue: str, **options: Any) -> Any:
        return self.post("/api/v1/configure", {"queue": queue, "options": options or {"leaseTime": 30}})

    def push(self, queue: str, payloads: List[Any], partition: Optional[str] = None,
             txids: Optional[List[str]] = None) -> List[Dict[str, Any]]:
        items = []
        for i, p in enumerate(payloads):
            item: Dict[str, Any] = {"queue": queue, "payload": p}
            if partition:
                item["partition"] = partition
            if txids:
                item["transactionId"] = txids[i]
            items.append(item)
        out: List[Dict[str, Any]] = self.post("/api/v1/push", {"items": items})
        return out

    def pop_raw(self, queue: str, partition: Optional[str] = None, **params: Any) -> httpx.Response:
        path = f"/api/v1/pop/queue/{queue}" + (f"/partition/{partition}" if partition else "")
        q = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items()}
        return self.http.get(path, params=q)

    def pop(self, queue: str, partition: Optional[str] = None, **params: Any) -> List[Dict[str, Any]]:
        params.setdefault("batch", 10)
        return messages(self.pop_raw(queue, partition, **params))

    def ack(self, m: Dict[str, Any], status: str = "completed", group: Optional[str] = None,
            lease: Any = "auto", error: Optional[str] = None) -> Dict[str, Any]:
        body: Dict[str, Any] = {"transactionId": m["transactionId"], "partitionId": m["partitionId"],
                                "status": status}
        if lease == "auto":
            lease = m.get("leaseId")
        if lease:
            body["leaseId"] = lease
        if group:
            body["consumerGroup"] = group
        if error:
            body["error"] = error
        out = self.post("/api/v1/ack", body)
        return out[0] if isinstance(out, list) else out

    def ack_batch(self, msgs: List[Dict[str, Any]], status: str = "completed",
                  group: Optional[str] = None) -> Any:
        body: Dict[str, Any] = {"acknowledgments": [
            {"transactionId": m["transactionId"], "partitionId": m["partitionId"],
             "leaseId": m.get("leaseId"), "status": m.get("_status", status)} for m in msgs]}
        if group:
            body["consumerGroup"] = group
        return self.post("/api/v1/ack/batch", body)

    def ok(self, ack_reply: Dict[str, Any]) -> bool:
        """Did an ack succeed (both generations)?"""
        return bool(ack_reply.get("success")) if self.v15 else "error" not in ack_reply

    def dlq(self, queue: str, **params: Any) -> List[Dict[str, Any]]:
        out: List[Dict[str, Any]] = self.http.get("/api/v1/dlq", params={"queue": queue, **params}
                                                  ).json()["messages"]
        return out

    def close(self) -> None:
        self.http.close()


def messages(resp: httpx.Response) -> List[Dict[str, Any]]:
    """Messages of a pop reply of either generation ([] for every empty shape)."""
    if not resp.content:
        return []
    body = resp.json()
    if not body:
        return []
    out: List[Dict[str, Any]] = body.get("messages") or []
    return out


@pytest.fixture(params=["0.7", "0.15"])
def compat(request: Any) -> str:
    return str(request.param)


@pytest.fixture
def raw(compat: str) -> Iterator[Raw]:
    """A private embedded server (fake clock) and a raw HTTP client for it."""
    handle = start_server(compat=compat, clock=FakeClock())
    client = Raw(handle)
    try:
        yield client
    finally:
        client.close()
        handle.close()
