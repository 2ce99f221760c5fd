"""subscriptionMode=new on a group that starts before its queue has messages, as
real servers do it (raw HTTP; embedded personalities, or a real one with QUEEN_URL):
0.15.1 starts the group's "new" at its first *claim* of a partition, so what is in
the partition by then is skipped; 0.7.5 starts it at the group's first pop."""

from __future__ import annotations

from typing import Any, Dict, List

import httpx


def pop(http: httpx.Client, q: str, **params: Any) -> List[Dict[str, Any]]:
    r = http.get(f"/api/v1/pop/queue/{q}", params={"batch": 100, "wait": "false", **params})
    body = r.json() if r.content.strip() not in (b"", b"null") else None
    return (body or {}).get("messages") or []


def test_new_mode_starts_at_the_first_claim_on_015(queen_url: str, queen_compat: str,
                                                   unique_name: Any) -> None:
    q, g = unique_name("rn-q"), unique_name("rn-g")
    with httpx.Client(base_url=queen_url, timeout=10) as http:
        http.post("/api/v1/configure", json={"queue": q, "options": {"leaseTime": 30}})
        try:
            new = {"consumerGroup": g, "subscriptionMode": "new"}
            assert pop(http, q, **new) == []  # the queue is empty: nothing to claim
            first = {"items": [{"queue": q, "payload": {"n": i}} for i in range(3)]}
            http.post("/api/v1/push", json=first)
            got = pop(http, q, **new)
            if queen_compat == "0.7":  # subscribed at the first pop: all of it is new
                assert [m["data"]["n"] for m in got] == [0, 1, 2]
                return
            assert got == []  # 0.15: the first claim skips what is there
            http.post("/api/v1/push", json={"items": [{"queue": q, "payload": {"n": 3}}]})
            assert [m["data"]["n"] for m in pop(http, q, **new)] == [3]
            # a start timestamp instead (what the client sends for 'new' on 0.15)
            g2 = unique_name("rn-g2")
            assert pop(http, q, consumerGroup=g2, subscriptionMode="new",
                       subscriptionFrom="2000-01-01T00:00:00.000Z")[0]["data"] == {"n": 0}
        finally:
            http.delete(f"/api/v1/resources/queues/{q}")
