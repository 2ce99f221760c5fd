"""One test per Queen rule, over raw HTTP against both personalities (fake clock)."""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List

import httpx
import pytest

from .conftest import Raw, messages


def data_of(msgs: List[Dict[str, Any]]) -> List[Any]:
    return [m["data"] for m in msgs]


def test_lease_expiry_redelivers_with_new_lease(raw: Raw) -> None:
    raw.configure("q", leaseTime=2)
    raw.push("q", [{"n": 1}])
    first = raw.pop("q")
    assert data_of(first) == [{"n": 1}]
    assert raw.pop("q") == []                      # leased
    raw.advance(3)
    again = raw.pop("q")
    assert data_of(again) == [{"n": 1}]
    assert again[0]["leaseId"] != first[0]["leaseId"]
    assert not raw.ok(raw.ack(first[0]))           # the expired lease is refused
    assert raw.ok(raw.ack(again[0]))
    raw.advance(3)
    assert raw.pop("q") == []


def test_wrong_lease_is_rejected_and_lease_stays(raw: Raw) -> None:
    raw.configure("q", leaseTime=30)
    raw.push("q", [1])
    m = raw.pop("q")[0]
    assert not raw.ok(raw.ack(m, lease="00000000-0000-0000-0000-000000000000"))
    assert raw.pop("q") == []
    assert raw.ok(raw.ack(m))


def test_extend_keeps_lease_past_original_expiry(raw: Raw) -> None:
    raw.configure("q", leaseTime=2)
    raw.push("q", [1])
    m = raw.pop("q")[0]
    reply = raw.post(f"/api/v1/lease/{m['leaseId']}/extend", {"seconds": 10})
    assert (reply[0]["success"] if raw.v15 else reply["extended"]) is True
    raw.advance(3)
    assert raw.pop("q") == []
    assert raw.ok(raw.ack(m))
    gone = raw.post(f"/api/v1/lease/{m['leaseId']}/extend", {})
    assert (gone[0]["success"] is False) if raw.v15 else ("error" in gone)


def test_consumer_group_gets_every_message_exactly_once(raw: Raw) -> None:
    raw.configure("q", leaseTime=30)
    for part in ("a", "b", "c"):
        raw.push("q", [{"p": part, "i": i} for i in range(5)], partition=part)
    seen: List[Any] = []
    for _ in range(30):  # several consumers of one group, interleaved
        got = raw.pop("q", batch=2, consumerGroup="g1")
        if not got:
            got = raw.pop("q", batch=2, consumerGroup="g1")
            if not got:
                break
        seen.extend((m["data"]["p"], m["data"]["i"]) for m in got)
        raw.ack_batch(got, group="g1")
    assert sorted(seen) == sorted((p, i) for p in "abc" for i in range(5))
    assert raw.pop("q", consumerGroup="g1") == []


def test_two_groups_each_get_all_messages(raw: Raw) -> None:
    raw.configure("q", leaseTime=30)
    raw.push("q", [1, 2, 3])
    for g in ("ga", "gb"):
        got = raw.pop("q", consumerGroup=g)
        assert data_of(got) == [1, 2, 3]
        assert all(m["consumerGroup"] == g for m in got)
        raw.ack_batch(got, group=g)
    # queue mode is independent of the groups
    assert data_of(raw.pop("q")) == [1, 2, 3]


def test_subscription_mode_new_skips_history(raw: Raw) -> None:
    raw.configure("q", leaseTime=30)
    raw.push("q", ["old"])
    assert raw.pop("q", consumerGroup="fresh", subscriptionMode="new") == []
    raw.push("q", ["new"])
    assert data_of(raw.pop("q", consumerGroup="fresh", subscriptionMode="new")) == ["new"]
    assert data_of(raw.pop("q", consumerGroup="everything")) == ["old", "new"]


def test_dlq_after_retry_limit(raw: Raw) -> None:
    raw.configure("q", leaseTime=30, retryLimit=1)
    raw.push("q", [{"bad": True}])
    for attempt in range(2):
        got = raw.pop("q")
        assert data_of(got) == [{"bad": True}], attempt
        assert raw.ok(raw.ack(got[0], status="failed", error=f"boom {attempt}"))
    assert raw.pop("q") == []
    dlq = raw.dlq("q")
    assert len(dlq) == 1 and dlq[0]["errorMessage"] == "boom 1" and dlq[0]["data"] == {"bad": True}


def test_transaction_with_wrong_lease(raw: Raw) -> None:
    raw.configure("src", leaseTime=30)
    raw.configure("dst", leaseTime=30)
    raw.push("src", ["work"])
    m = raw.pop("src")[0]
    reply = raw.post("/api/v1/transaction", {"operations": [
        {"type": "ack", "transactionId": m["transactionId"], "partitionId": m["partitionId"],
         "leaseId": "00000000-0000-0000-0000-000000000000", "status": "completed"},
        {"type": "push", "items": [{"queue": "dst", "payload": "follow-up"}]}]})
    if raw.v15:  # rejected as a whole: nothing pushed, the message stays leased
        assert reply["success"] is False and "Invalid or expired lease" in reply["error"]
        assert raw.pop("dst") == []
        assert raw.pop_raw("src", "Default").json()["error"] == "lease_held"
        assert raw.ok(raw.ack(m))
    else:  # 0.7.5 ignores the lease: ack and push both applied
        assert reply["success"] is True
        assert data_of(raw.pop("dst")) == ["follow-up"]
        assert raw.pop("src") == []
        raw.advance(60)
        assert raw.pop("src") == []  # consumed, not just leased


def test_transaction_is_atomic(raw: Raw) -> None:
    raw.configure("dst", leaseTime=30)
    reply = raw.post("/api/v1/transaction", {"operations": [
        {"type": "push", "items": [{"queue": "dst", "partition": "x", "payload": 1}]},
        {"type": "ack", "transactionId": "missing", "status": "completed",
         "partitionId": "11111111-2222-4333-8444-555555555555"}]})
    assert reply["success"] is False
    assert raw.pop("dst", "x") == []


def test_long_poll_returns_when_push_lands(raw: Raw) -> None:
    raw.configure("q", leaseTime=30)
    result: Dict[str, Any] = {}

    def poll() -> None:
        result["msgs"] = raw.pop("q", wait=True, timeout=15000)

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.2)
    raw.push("q", [{"hello": 1}])
    th.join(20)
    assert data_of(result["msgs"]) == [{"hello": 1}]  # a timed-out poll would be empty


def test_long_poll_wakes_on_lease_expiry(raw: Raw) -> None:
    raw.configure("q", leaseTime=5)
    raw.push("q", [1])
    assert raw.pop("q")
    result: Dict[str, Any] = {}
    th = threading.Thread(target=lambda: result.update(m=raw.pop("q", wait=True, timeout=15000)))
    th.start()
    time.sleep(0.2)
    raw.advance(6)
    th.join(20)
    assert data_of(result["m"]) == [1]


def test_long_poll_timeout_shapes(raw: Raw) -> None:
    raw.configure("q", leaseTime=30)
    resp = raw.pop_raw("q", wait=True, timeout=100)
    assert resp.status_code == 200
    if raw.v15:
        body = resp.json()
        assert body["success"] is True and body["messages"] == [] and body["leaseId"] is None
    else:
        assert resp.content == b""
        assert raw.pop_raw("q").content == b"null"


def test_order_within_partition(raw: Raw) -> None:
    raw.configure("q", leaseTime=30)
    for start in range(0, 60, 7):
        raw.push("q", [{"seq": i} for i in range(start, min(start + 7, 60))], partition="p")
    got = raw.pop("q", "p", batch=100)
    assert [m["data"]["seq"] for m in got] == list(range(60))


def test_duplicate_transaction_id_reported_not_delivered_twice(raw: Raw) -> None:
    raw.configure("q", leaseTime=30)
    first = raw.push("q", ["a"], txids=["tx-1"])[0]
    again = raw.push("q", ["b"], txids=["tx-1"])[0]
    assert again["status"] == "duplicate" and again["message_id"] == first["message_id"]
    other = raw.push("q", ["c"], partition="other", txids=["tx-1"])[0]
    assert other["status"] == "queued"
    both = raw.push("q", ["d", "e"], txids=["tx-2", "tx-2"])
    assert [r["status"] for r in both] == ["queued", "duplicate"]
    assert data_of(raw.pop("q", "Default")) == ["a", "d"]


def test_delayed_messages_invisible_until_due(raw: Raw) -> None:
    raw.configure("q", leaseTime=30, delayedProcessing=2)
    raw.push("q", ["later"])
    assert raw.pop("q") == []
    raw.advance(1)
    assert raw.pop("q") == []
    raw.advance(1.5)
    assert data_of(raw.pop("q")) == ["later"]


def test_window_buffer_waits_for_a_quiet_partition(raw: Raw) -> None:
    raw.configure("q", leaseTime=30, windowBuffer=2)
    raw.push("q", [1])
    raw.advance(1)
    raw.push("q", [2])
    raw.advance(1.3)  # first is 2.3 s old, second only 1.3 s
    assert raw.pop("q") == []
    raw.advance(1)
    assert data_of(raw.pop("q")) == [1, 2]


def test_auto_ack_is_never_redelivered(raw: Raw) -> None:
    raw.configure("q", leaseTime=2)
    raw.push("q", [1, 2])
    got = raw.pop("q", batch=1, autoAck=True)
    assert data_of(got) == [1]
    if raw.v15:
        assert got[0]["leaseId"] == ""
    raw.advance(5)
    assert data_of(raw.pop("q", autoAck=True)) == [2]
    raw.advance(5)
    assert raw.pop("q") == []


def test_ack_moves_the_cursor(raw: Raw) -> None:
    """Acking the newest message of a batch consumes the earlier ones too."""
    raw.configure("q", leaseTime=30)
    raw.push("q", [1, 2, 3])
    got = raw.pop("q")
    assert raw.ok(raw.ack(got[2], lease=None))
    raw.advance(60)
    assert raw.pop("q") == []


def test_failed_item_of_mixed_batch_is_not_lost(raw: Raw) -> None:
    raw.configure("q", leaseTime=30, retryLimit=3)
    raw.push("q", [0, 1, 2])
    got = raw.pop("q")
    got[1]["_status"] = "failed"
    raw.ack_batch(got)
    again = raw.pop("q")
    if raw.v15:  # retried (0.15.1 itself would lose item 1 here)
        assert data_of(again) == [1, 2]
    else:  # 0.7.5 sends a failed item of a non-total batch failure to the DLQ
        assert again == []
        assert [e["data"] for e in raw.dlq("q")] == ["1.000000"]  # as 0.7.5 shows a number


def test_empty_batch_ack_answers(raw: Raw) -> None:
    reply = raw.http.post("/api/v1/ack/batch", json={"acknowledgments": []}, timeout=5)
    assert reply.status_code == 200
    assert reply.json() == ([] if raw.v15 else {"successful": 0, "failed": 0, "results": []})


def test_unknown_queue_push(raw: Raw) -> None:
    reply = raw.push("never.made", [1])[0]
    if raw.v15:
        assert reply["status"] == "queued"
        q = raw.http.get("/api/v1/resources/queues/never.made").json()
        assert (q["namespace"], q["task"]) == ("never", "made")
    else:
        assert reply["status"] == "failed" and "does not exist" in reply["error"]


def test_max_size_enforced_only_by_07(raw: Raw) -> None:
    raw.configure("q", leaseTime=30, maxSize=2)
    raw.push("q", [1, 2])
    statuses = [r["status"] for r in raw.push("q", [3, 4])]
    assert statuses == (["queued", "queued"] if raw.v15 else ["failed", "failed"])


def test_namespace_pop(raw: Raw) -> None:
    raw.post("/api/v1/configure", {"queue": "nsq", "namespace": "ns", "task": "t",
                                   "options": {"leaseTime": 30}})
    raw.push("nsq", ["x"])
    resp = raw.http.get("/api/v1/pop", params={"namespace": "ns", "task": "t"})
    if raw.v15:
        assert resp.status_code == 404 and "File Not Found" in resp.text
    else:
        assert data_of(messages(resp)) == ["x"]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/v1/push", b"{not json"),
    ("POST", "/api/v1/push", b""),
    ("POST", "/api/v1/push", b"[1,2]"),
    ("POST", "/api/v1/ack", b"null"),
    ("POST", "/api/v1/configure", b"{}"),
    ("POST", "/api/v1/transaction", b"{}"),
    ("POST", "/api/v1/traces", b"{\"transactionId\": \"x\"}"),
])
def test_bad_requests(raw: Raw, method: str, path: str, body: bytes) -> None:
    resp = raw.http.request(method, path, content=body)
    assert resp.status_code == (400 if raw.v15 else 200)
    assert "error" in resp.json()


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/nope"), ("GET", "/api/v1/push"), ("PUT", "/api/v1/push"),
    ("DELETE", "/api/v1/configure"), ("POST", "/api/v1/pop/queue/q"), ("HEAD", "/health")])
def test_unknown_routes_get_the_uws_404_page(raw: Raw, method: str, path: str) -> None:
    resp = raw.http.request(method, path, content=b"{}")
    assert resp.status_code == 404
    if method != "HEAD":
        assert resp.text.startswith("<html><body><h1>File Not Found</h1>")
    opt = raw.http.request("OPTIONS", path)
    assert opt.status_code == 200 and opt.content == b""
    assert opt.headers["Access-Control-Allow-Origin"] == "*"


def test_health_tells_generations_apart(raw: Raw) -> None:
    body = raw.http.get("/health").json()
    assert ("libqueen" in body["server"]) == raw.v15
    assert ("shared_state" in body) == raw.v15


def test_group_delete_metadata(raw: Raw) -> None:
    raw.configure("q", leaseTime=30)
    raw.push("q", ["history"])
    for g in ("keep", "drop"):
        assert raw.pop("q", consumerGroup=g, subscriptionMode="new") == []
    raw.push("q", ["live"])
    for g in ("keep", "drop"):
        raw.ack_batch(raw.pop("q", consumerGroup=g), group=g)
    raw.http.delete("/api/v1/consumer-groups/keep", params={"deleteMetadata": "false"})
    raw.http.delete("/api/v1/consumer-groups/drop", params={"deleteMetadata": "true"})
    assert data_of(raw.pop("q", consumerGroup="keep")) == ["live"]
    assert data_of(raw.pop("q", consumerGroup="drop")) == ["history", "live"]


def test_traces_round_trip(raw: Raw) -> None:
    raw.configure("q", leaseTime=30)
    raw.push("q", [1])
    m = raw.pop("q")[0]
    body = {"transactionId": m["transactionId"], "partitionId": m["partitionId"],
            "traceNames": ["b-name", "a-name"], "eventType": "step", "data": {"k": 1}}
    assert raw.post("/api/v1/traces", body)["success"] is True
    rows = raw.http.get(f"/api/v1/traces/{m['partitionId']}/{m['transactionId']}").json()["traces"]
    assert rows[0]["trace_names"] == ["a-name", "b-name"] and rows[0]["data"] == {"k": 1}
    by_name = raw.http.get("/api/v1/traces/by-name/a-name").json()
    assert by_name["total"] == 1 and by_name["traces"][0]["message_payload"] == 1


def test_message_lookup_and_delete(raw: Raw) -> None:
    raw.configure("q", leaseTime=30)
    raw.push("q", [{"x": 1}])
    m = raw.pop("q")[0]
    path = f"/api/v1/messages/{m['partitionId']}/{m['transactionId']}"
    assert raw.http.get(path).json()["status"] == "processing"
    raw.ack(m)
    assert raw.http.get(path).json()["status"] == "completed"
    raw.http.delete(path)
    assert raw.http.get(path).json() == {"error": "Message not found"}


def test_concurrent_long_polls_deliver_each_message_once(raw: Raw) -> None:
    raw.configure("q", leaseTime=30)
    seen: List[Any] = []
    lock = threading.Lock()

    def consumer() -> None:
        with httpx.Client(base_url=raw.handle.url, timeout=20) as c:
            for _ in range(40):
                resp = c.get("/api/v1/pop/queue/q", params={"wait": "true", "timeout": "300",
                                                            "batch": "3"})
                got = messages(resp)
                if not got:
                    if len(seen) >= 60:
                        return
                    continue
                with lock:
                    seen.extend(m["data"] for m in got)
                c.post("/api/v1/ack/batch", json={"acknowledgments": [
                    {"transactionId": m["transactionId"], "partitionId": m["partitionId"],
                     "leaseId": m["leaseId"], "status": "completed"} for m in got]})

    threads = [threading.Thread(target=consumer) for _ in range(4)]
    for th in threads:
        th.start()
    for start in range(0, 60, 10):
        raw.push("q", list(range(start, start + 10)), partition=f"p{start % 3}")
    for th in threads:
        th.join(30)
    assert sorted(seen) == list(range(60))


def test_subscription_starts_at_first_pop_even_when_queue_was_empty(raw: Raw) -> None:
    raw.configure("q", leaseTime=30)
    assert raw.pop("q", consumerGroup="late", subscriptionMode="new") == []  # 0.7 subscribes
    raw.push("q", ["after-subscribe"])
    got = data_of(raw.pop("q", consumerGroup="late", subscriptionMode="new"))
    # 0.15.1 subscribes at the first claim instead, which skips what is there by then
    assert got == ([] if raw.v15 else ["after-subscribe"])


def test_maintenance_buffers_pushes_and_replays_them(raw: Raw) -> None:
    raw.configure("q", leaseTime=30)
    raw.post("/api/v1/system/maintenance", {"enabled": True})
    replies = raw.push("q", ["held-1", "held-2"])
    assert [r["status"] for r in replies] == ["buffered", "buffered"]
    assert raw.pop("q") == []
    assert raw.http.get("/api/v1/system/maintenance").json()["bufferedMessages"] == 2
    raw.post("/api/v1/system/maintenance", {"enabled": False})
    assert data_of(raw.pop("q")) == ["held-1", "held-2"]


def test_non_uuid_trace_id_is_refused_not_buffered(raw: Raw) -> None:
    raw.configure("q", leaseTime=30)
    reply = raw.post("/api/v1/push", {"items": [{"queue": "q", "payload": 1,
                                                  "traceId": "not-a-uuid"}]})
    if raw.v15:
        assert "invalid input syntax for type uuid" in reply["error"]
    else:
        assert reply[0]["status"] == "failed" and "uuid" in reply[0]["error"]
    assert raw.pop("q") == []
