"""wire.py against the recorded answers of real Queen 0.7.5 and 0.15.1 servers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Tuple

import orjson
import pytest

from queen import wire
from queen.errors import QueenHTTPError, QueenServerFeatureError, QueenValidationError
from queen.types import PopSpec
from shared_paths import find_recordings as _find_recordings

RECORDINGS = _find_recordings()
VERSIONS = {"0.7.5": wire.GEN_07, "0.15.1": wire.GEN_015}
HTML_404 = b"<html><body><h1>File Not Found</h1><hr><i>uWebSockets/20 Server</i></body></html>"

pytestmark = pytest.mark.skipif(not RECORDINGS.is_dir(), reason="wire recordings not available")


@dataclass
class Reply:
    status: int
    body: bytes
    method: str = "GET"
    url: str = "http://test"


def reply_of(step: Dict[str, Any], null_text: bytes = b"") -> Reply:
    resp = step["response"]
    if resp is None:
        body = null_text
    elif isinstance(resp, str) and resp.startswith("<html"):
        body = resp.encode()
    else:
        body = orjson.dumps(resp)
    return Reply(step["status"], body, step["method"], step["path"])


def steps(scenario: str) -> Iterator[Tuple[str, Dict[str, Any]]]:
    for folder, gen in VERSIONS.items():
        path = RECORDINGS / folder / f"{scenario}.json"
        if path.exists():
            for step in json.loads(path.read_text()):
                if step["status"] is not None and "_summary" not in str(step["response"]):
                    yield gen, step


def has_error(resp: Any) -> bool:
    return isinstance(resp, dict) and bool(resp.get("error"))


# ------------------------------------------------------------------ generation


def test_health_detects_generation() -> None:
    old = {"status": "healthy", "server": "C++ Queen Server (Acceptor/Worker)", "version": "1.0.0"}
    new = {"status": "healthy", "server": "C++ Queen Server (libqueen)", "shared_state": {}}
    assert wire.parse_health(Reply(200, orjson.dumps(old))) == wire.GEN_07
    assert wire.parse_health(Reply(200, orjson.dumps(new))) == wire.GEN_015
    only_state = {"status": "healthy", "server": "x", "shared_state": {"a": 1}}
    assert wire.parse_health(Reply(200, orjson.dumps(only_state))) == wire.GEN_015


@pytest.mark.parametrize("value,expected", [
    ("auto", None), (None, None), ("0.7", "0.7"), ("0.7.5", "0.7"), ("0.15", "0.15"),
])
def test_normalise_version(value: Any, expected: Any) -> None:
    assert wire.normalise_version(value) == expected


def test_normalise_version_rejects_unknown() -> None:
    with pytest.raises(QueenValidationError):
        wire.normalise_version("2.0")


# ------------------------------------------------------------------ errors


def test_check_raises_on_error_in_http_200() -> None:
    with pytest.raises(QueenHTTPError) as info:
        wire.check(Reply(200, b'{"error":"Queue not found"}'))
    assert info.value.message == "Queue not found"
    assert info.value.status == 200


def test_check_raises_on_success_false() -> None:
    with pytest.raises(QueenHTTPError):
        wire.check(Reply(200, b'{"success":false}'))


def test_html_404_is_feature_error_when_feature_named() -> None:
    with pytest.raises(QueenServerFeatureError) as info:
        wire.check(Reply(404, HTML_404), feature="old streams", generation="0.15")
    assert "old streams" in str(info.value) and "0.15" in str(info.value)
    with pytest.raises(QueenHTTPError):
        wire.check(Reply(404, HTML_404))


def test_non_json_reply_raises_http_error() -> None:
    with pytest.raises(QueenHTTPError):
        wire.check(Reply(200, b"not json"))


@pytest.mark.parametrize("scenario", ["configure", "errors", "consumer_groups", "traces"])
def test_recorded_error_replies_raise(scenario: str) -> None:
    seen = 0
    for _gen, step in steps(scenario):
        resp = step["response"]
        if has_error(resp) or step["status"] == 404:
            seen += 1
            with pytest.raises((QueenHTTPError, QueenServerFeatureError)):
                wire.check(reply_of(step))
        elif isinstance(resp, (dict, list)):
            wire.check(reply_of(step))
    assert seen > 0


# ------------------------------------------------------------------ configure


def test_configure_sends_defaults_merged_and_camel_case() -> None:
    req = wire.configure("orders", "shop", None, {"lease_time": 60, "dlqAfterMaxRetries": True})
    body = orjson.loads(req.body or b"")
    assert req.method == "POST" and req.path == "/api/v1/configure"
    assert body["queue"] == "orders" and body["namespace"] == "shop" and "task" not in body
    opts = body["options"]
    assert opts["leaseTime"] == 60 and opts["dlqAfterMaxRetries"] is True
    assert opts["retryLimit"] == 3 and opts["maxSize"] == 0 and opts["encryptionEnabled"] is False
    assert set(wire.QUEUE_DEFAULTS) <= set(opts)


@pytest.mark.parametrize("options", [
    {"leaseTime": "abc"}, {"retryLimit": -1}, {"encryptionEnabled": 1}, {"nope": 1},
    {"priority": True},
])
def test_configure_rejects_bad_options(options: Dict[str, Any]) -> None:
    with pytest.raises(QueenValidationError):
        wire.queue_options(options)


@pytest.mark.parametrize("name", ["", "a/b", "a b", "q?x", "x#", "50%", "a" * 256])
def test_bad_names_rejected(name: str) -> None:
    with pytest.raises(QueenValidationError):
        wire.check_name("queue name", name)


def test_recorded_configure_and_delete() -> None:
    configured = deleted = 0
    for _gen, step in steps("configure"):
        if has_error(step["response"]):
            continue
        if step["method"] == "POST" and step["path"] == "/api/v1/configure":
            assert wire.parse_configure(reply_of(step))["configured"] is True
            configured += 1
        if step["method"] == "DELETE":
            out = wire.parse_delete_queue(reply_of(step))
            assert out["deleted"] is True and "existed" in out
            deleted += 1
    assert configured > 0 and deleted > 0


# ------------------------------------------------------------------ push


def test_recorded_push_results_normalised() -> None:
    seen = 0
    for _gen, step in steps("push"):
        if step["path"] != "/api/v1/push" or not isinstance(step["response"], list):
            continue
        items = step["body"]["items"]
        sent = [i.get("transactionId", f"tx-{n}") for n, i in enumerate(items)]
        results = wire.parse_push(reply_of(step), sent)
        assert len(results) == len(step["response"])
        for item, r, raw in zip(items, results, step["response"]):
            seen += 1
            assert r["status"] == raw["status"]
            if "transactionId" in item:
                assert r["transactionId"] == item["transactionId"]
            if raw["status"] in ("queued", "duplicate"):
                assert r["messageId"] == raw["message_id"]
            if raw["status"] == "failed":
                assert "does not exist" in r["error"] or "capacity" in r["error"]
    assert seen > 20


def test_push_result_without_transaction_id_uses_position() -> None:
    body = b'[{"queue":"q","status":"buffered"}]'
    assert wire.parse_push(Reply(200, body), ["mine"])[0] == {
        "transactionId": "mine", "status": "buffered", "messageId": None}


def test_recorded_push_errors_raise() -> None:
    seen = 0
    for _gen, step in steps("push"):
        if step["path"] == "/api/v1/push" and has_error(step["response"]):
            seen += 1
            with pytest.raises(QueenHTTPError):
                wire.parse_push(reply_of(step), [])
    assert seen > 0


# ------------------------------------------------------------------ pop


def test_pop_request_queue_route() -> None:
    spec = PopSpec(queue="q", batch=10, wait=True, timeout_millis=1000, group="g",
                   subscription_mode="new", subscription_from="2025-01-01T00:00:00Z")
    req = wire.pop(spec, wire.GEN_07)
    assert req.method == "GET"
    assert req.path == ("/api/v1/pop/queue/q?batch=10&wait=true&timeout=1000&consumerGroup=g"
                        "&subscriptionMode=new&subscriptionFrom=2025-01-01T00%3A00%3A00Z")
    assert req.timeout == pytest.approx(6.0)
    assert req.affinity_key == "q::g"
    assert req.idempotent is False


def test_pop_request_partition_and_auto_ack() -> None:
    req = wire.pop(PopSpec(queue="q", partition="p1", auto_ack=True), wire.GEN_015)
    assert req.path == "/api/v1/pop/queue/q/partition/p1?batch=1&wait=false&autoAck=true"
    assert req.timeout is None
    assert req.affinity_key == "q:p1:__QUEUE_MODE__"


def test_namespace_pop_route_only_on_07() -> None:
    spec = PopSpec(namespace="ns", task="t", batch=2)
    assert wire.pop(spec, wire.GEN_07).path == "/api/v1/pop?batch=2&wait=false&namespace=ns&task=t"
    with pytest.raises(QueenServerFeatureError) as info:
        wire.pop(spec, wire.GEN_015)
    assert "0.15" in str(info.value)
    with pytest.raises(QueenValidationError):
        wire.pop(PopSpec(), wire.GEN_07)


def test_recorded_pops_parse() -> None:
    seen = 0
    for gen, step in steps("pop"):
        if step["method"] != "GET" or not step["path"].startswith("/api/v1/pop"):
            continue
        resp = step["response"]
        for null_text in (b"", b"null"):
            r = reply_of(step, null_text)
            if step["status"] == 404:
                with pytest.raises(QueenServerFeatureError):
                    wire.parse_pop(r, gen)
                break
            if has_error(resp) and resp["error"] not in (
                "no_available_partition", "lease_held", "partition_not_found"
            ):
                with pytest.raises(QueenHTTPError):
                    wire.parse_pop(r, gen)
                break
            trace_calls: List[Any] = []
            msgs = wire.parse_pop(r, gen, lambda ids, event, seen=trace_calls: seen.append(ids) or "T")
            expected = (resp or {}).get("messages") or []
            assert len(msgs) == len(expected)
            for m in msgs:
                seen += 1
                assert m["queue"] and m["partitionId"] and m["transactionId"]
                assert m["consumerGroup"] != "__QUEUE_MODE__"
                assert m["trace"]({"data": {}}) == "T"
            assert len(trace_calls) == len(msgs)
    assert seen > 20


def test_pop_204_is_empty() -> None:
    assert wire.parse_pop(Reply(204, b'{"messages":[],"paused":true}'), wire.GEN_015) == []


# ------------------------------------------------------------------ ack


def test_ack_status_mapping() -> None:
    assert wire.ack_status(True, wire.GEN_07) == "completed"
    assert wire.ack_status(False, wire.GEN_015) == "failed"
    assert wire.ack_status("success", wire.GEN_07) == "completed"
    assert wire.ack_status("dlq", wire.GEN_015) == "dlq"
    with pytest.raises(QueenServerFeatureError):
        wire.ack_status("retry", wire.GEN_07)
    with pytest.raises(QueenValidationError):
        wire.ack_status("weird", wire.GEN_015)


def test_ack_item_requires_ids_and_carries_lease() -> None:
    with pytest.raises(QueenValidationError):
        wire.ack_item({"transactionId": "t"}, "completed", None)
    item = wire.ack_item({"transactionId": "t", "partitionId": "p", "leaseId": "L"}, "failed", "boom")
    assert item == {"transactionId": "t", "partitionId": "p", "status": "failed",
                    "leaseId": "L", "error": "boom"}
    assert "leaseId" not in wire.ack_item({"transactionId": "t", "partitionId": "p",
                                           "leaseId": None}, "completed", None)


def test_ack_items_fast_and_general_paths_agree() -> None:
    msgs: List[Dict[str, Any]] = [
        {"transactionId": f"t{i}", "partitionId": "p", "leaseId": f"L{i}" if i % 2 else "",
         "consumerGroup": "g" if i % 3 else None} for i in range(6)]
    msgs[4]["_error"] = "own"
    fast = wire.ack_items(msgs, True, "ctx", wire.GEN_07)          # compiled/pure kernel
    general = wire.ack_items(msgs, "success", "ctx", wire.GEN_07)  # Python loop
    assert fast == general
    assert fast[0][4]["error"] == "own" and fast[0][0]["error"] == "ctx"
    mixed = wire.ack_items([msgs[0], {**msgs[1], "_status": False}], None, None, wire.GEN_07)
    assert [it["status"] for it in mixed[0]] == ["completed", "failed"]
    with pytest.raises(QueenValidationError):
        wire.ack_items([msgs[0], {"transactionId": "t"}], True, None, wire.GEN_07)
    with pytest.raises(QueenValidationError):
        wire.ack_items([msgs[0], "text"], True, None, wire.GEN_07)
    with pytest.raises(QueenServerFeatureError):
        wire.ack_items([{**msgs[0], "_status": "dlq"}], True, None, wire.GEN_07)


def test_push_failures_agree_with_parse_push() -> None:
    seen = 0
    for _gen, step in steps("push"):
        if step["path"] != "/api/v1/push" or not isinstance(step["response"], list):
            continue
        sent = [f"tx-{n}" for n in range(len(step["body"]["items"]) + 1)]  # one never answered
        results = wire.parse_push(reply_of(step), sent)
        failed = wire.parse_push_failures(reply_of(step), len(sent))
        expected = {i: r["error"] for i, r in enumerate(results) if r["status"] == "failed"}
        expected[len(results)] = "no result for this item"
        assert failed == expected
        del expected[len(results)]  # and with every item answered (the C fast path)
        assert wire.parse_push_failures(reply_of(step), len(results)) == expected
        seen += len(failed)
    assert seen > 5
    body = b'[{"status":"queued"},7,{"status":"failed","error":"full"},{"status":""}]'
    assert wire.parse_push_failures(Reply(200, body), 4) == {
        1: "push failed", 2: "full", 3: "push failed"}
    with pytest.raises(QueenHTTPError):
        wire.parse_push_failures(Reply(200, b'{"error":"no such queue"}'), 1)


def test_checked_names_stay_checked() -> None:
    assert wire.check_name("queue name", "fine-name") == "fine-name"
    assert wire.check_name("queue name", "fine-name") == "fine-name"  # cached now
    for bad in ("a/b", "", "x y", 5, None):
        with pytest.raises(QueenValidationError):
            wire.check_name("queue name", bad)


def test_empty_ack_batch_never_built() -> None:
    with pytest.raises(QueenValidationError):
        wire.ack_batch([], None)


def test_recorded_acks_parse() -> None:
    seen = 0
    for _gen, step in steps("ack"):
        if step["method"] != "POST" or not step["path"].startswith("/api/v1/ack"):
            continue
        body = step["body"] if isinstance(step["body"], dict) else {}
        batch = step["path"].endswith("/batch")
        items = body.get("acknowledgments") if batch else [body]
        if not items or any("partitionId" not in i or "transactionId" not in i for i in items):
            continue  # the client never sends these (validated before sending)
        items = [{"status": "completed", **i} for i in items]
        resp = step["response"]
        if isinstance(resp, dict) and resp.get("error") and not str(resp["error"]).startswith(
            "Failed to acknowledge"
        ):
            with pytest.raises(QueenHTTPError):
                wire.parse_ack(reply_of(step), items, batch)
            continue
        results = wire.parse_ack(reply_of(step), items, batch)
        assert len(results) == len(items)
        for item, r in zip(items, results):
            seen += 1
            assert r["transactionId"] == item["transactionId"]
            if not r["success"]:
                assert r["error"]
        if isinstance(resp, dict) and "error" in resp:
            assert results[0]["success"] is False
    assert seen > 20


def test_ack_outcomes_both_generations() -> None:
    item = {"transactionId": "t", "partitionId": "p", "status": "failed"}
    r07 = wire.parse_ack(Reply(200, b'{"transactionId":"t","status":"failed_dlq"}'), [item], False)
    assert r07[0]["status"] == "failed_dlq" and r07[0]["dlq"] is True
    r15 = wire.parse_ack(Reply(200, b'[{"index":0,"success":true,"dlq":false,"error":null}]'),
                         [item], False)
    assert r15[0]["status"] == "failed_retry" and r15[0]["success"] is True
    bad = wire.parse_ack(
        Reply(200, b'[{"index":0,"success":false,"error":"Invalid or expired lease"}]'), [item], True
    )
    assert bad[0]["success"] is False and bad[0]["error"] == "Invalid or expired lease"


# ------------------------------------------------------------------ leases


def test_renew_sends_real_json_body() -> None:
    assert wire.renew("L").body == b"{}"
    assert orjson.loads(wire.renew("L", 30).body or b"") == {"seconds": 30}
    assert wire.renew("L").path == "/api/v1/lease/L/extend"


def test_recorded_renew_parse() -> None:
    seen = 0
    for _gen, step in steps("leases"):
        if not step["path"].endswith("/extend"):
            continue
        lease = step["path"].split("/")[4]
        r = wire.parse_renew(reply_of(step), lease)
        seen += 1
        assert r["leaseId"] == lease
        resp = step["response"]
        ok = not has_error(resp) and not (isinstance(resp, list) and not resp[0]["success"])
        assert r["success"] is ok
        if not ok:
            assert r["error"]
    assert seen >= 12


# ------------------------------------------------------------------ transactions


def test_transaction_body_is_concatenated_ops() -> None:
    ack = wire.tx_ack_op({"transactionId": "t", "partitionId": "p", "status": "completed"}, "g")
    push = wire.tx_push_op([b'{"queue":"q","partition":"Default","payload":1,"transactionId":"x"}'])
    body = orjson.loads(wire.transaction([ack, push]).body or b"")
    assert body["operations"][0] == {"type": "ack", "transactionId": "t", "partitionId": "p",
                                     "status": "completed", "consumerGroup": "g"}
    assert body["operations"][1]["items"][0]["queue"] == "q"
    with pytest.raises(QueenValidationError):
        wire.transaction([])


def test_recorded_transactions_parse() -> None:
    ok = failed = 0
    for _gen, step in steps("transaction"):
        if step["path"] != "/api/v1/transaction":
            continue
        resp = step["response"]
        if isinstance(resp, dict) and resp.get("success") is True:
            out = wire.parse_transaction(reply_of(step))
            assert out["success"] is True and out["results"]
            pushes = [r for r in out["results"] if r["type"] == "push"]
            assert all(r.get("messageId") for r in pushes)
            ok += 1
        else:
            with pytest.raises(QueenHTTPError):
                wire.parse_transaction(reply_of(step))
            failed += 1
    assert ok >= 4 and failed >= 8


# ------------------------------------------------------------------ DLQ


def test_dlq_request_by_generation() -> None:
    r07 = wire.dlq("q", "g", "p", 10, 5, "2025-01-01", None, wire.GEN_07)
    assert r07.path == "/api/v1/dlq?queue=q&consumerGroup=g&partition=p&from=2025-01-01&limit=10&offset=5"
    r15 = wire.dlq("q", None, "p", 10, 5, "2025-01-01", None, wire.GEN_015)
    assert r15.path == "/api/v1/dlq?queue=q"


def test_recorded_dlq_parse() -> None:
    seen = 0
    for gen, step in steps("ack"):
        if not step["path"].startswith("/api/v1/dlq"):
            continue
        out = wire.parse_dlq(reply_of(step), gen, None, 100, 0, None, None)
        seen += 1
        assert isinstance(out["total"], int) and isinstance(out["messages"], list)
        for m in out["messages"]:
            assert m["dlqTimestamp"] and m["queue"] and "partition" in m
    assert seen >= 10


def test_dlq_015_pages_and_filters_client_side() -> None:
    rows = [{"id": str(i), "partition": "pa" if i % 2 else "pb", "queue": "q",
             "failedAt": f"2026-05-16T08:3{i}:00.000Z"} for i in range(6)]
    reply = Reply(200, orjson.dumps({"messages": rows, "pagination": {"limit": 2, "offset": 0}}))
    out = wire.parse_dlq(reply, wire.GEN_015, None, 2, 1, None, None)
    assert out["total"] == 6 and [m["id"] for m in out["messages"]] == ["1", "2"]
    out = wire.parse_dlq(reply, wire.GEN_015, "pa", 100, 0, "2026-05-16T08:32:00Z", None)
    assert [m["id"] for m in out["messages"]] == ["3", "5"] and out["total"] == 2
    null = Reply(200, b'{"success":true,"value":null}')
    assert wire.parse_dlq(null, wire.GEN_015, None, 10, 0, None, None)["total"] == 0


def test_parse_time_formats() -> None:
    a = wire.parse_time("2025-11-25 10:00:01.204311+00")
    b = wire.parse_time("2025-11-25T10:00:01.204311Z")
    assert a == b and a is not None
    assert wire.parse_time("2025-01-01") is not None
    assert wire.parse_time("nonsense") is None


# ------------------------------------------------------------------ traces and groups


def test_trace_body() -> None:
    msg = {"transactionId": "t", "partitionId": "p", "consumerGroup": "g"}
    body = orjson.loads(wire.trace(msg, {"traceName": "order-1", "data": {"x": 1}}).body or b"")
    assert body == {"transactionId": "t", "partitionId": "p", "consumerGroup": "g",
                    "traceNames": ["order-1"], "eventType": "info", "data": {"x": 1}}
    body = orjson.loads(wire.trace({**msg, "consumerGroup": None},
                                   {"traceName": ["a", "b"], "eventType": "step"}).body or b"")
    assert body["traceNames"] == ["a", "b"] and body["data"] == {} and "consumerGroup" not in body


def test_recorded_trace_replies() -> None:
    ok = failed = 0
    for _gen, step in steps("traces"):
        if step["method"] == "POST" and step["path"] == "/api/v1/traces":
            if has_error(step["response"]):
                with pytest.raises(QueenHTTPError):
                    wire.parse_trace(reply_of(step))
                failed += 1
            else:
                assert wire.parse_trace(reply_of(step))["success"] is True
                ok += 1
    assert ok > 0 and failed > 0


def test_consumer_group_requests() -> None:
    req = wire.delete_consumer_group("g", False)
    assert (req.method, req.path) == ("DELETE", "/api/v1/consumer-groups/g?deleteMetadata=false")
    req = wire.update_subscription("g", "2025-01-01T00:00:00Z")
    assert req.path == "/api/v1/consumer-groups/g/subscription"
    assert orjson.loads(req.body or b"") == {"subscriptionTimestamp": "2025-01-01T00:00:00Z"}


def test_recorded_group_admin_replies() -> None:
    seen = 0
    for _gen, step in steps("consumer_groups"):
        p = step["path"]
        if p.startswith("/api/v1/consumer-groups/") and (
            step["method"] == "DELETE" or p.endswith("/subscription")
        ):
            if step["status"] == 404 or has_error(step["response"]):
                continue
            assert wire.parse_group_admin(reply_of(step))["success"] is True
            seen += 1
    assert seen >= 6


def test_plain_text_404_is_a_missing_route() -> None:
    reply = Reply(404, b"404 Not Found")
    with pytest.raises(QueenServerFeatureError):
        wire.parse_pop(reply, wire.GEN_015)
    with pytest.raises(QueenHTTPError):
        wire.check(reply)
    with pytest.raises(QueenHTTPError) as info:
        wire.check(Reply(404, b'{"error":"Message not found"}'))
    assert info.value.message == "Message not found"


def test_new_only_subscription_is_sent_as_new_to_015() -> None:
    spec = PopSpec(queue="q", group="g", subscription_mode="new-only")
    assert "subscriptionMode=new-only" in wire.pop(spec, wire.GEN_07).path
    path015 = wire.pop(spec, wire.GEN_015).path
    assert "subscriptionMode=new&" in path015 + "&" and "new-only" not in path015


# ---------------------------------------------------------------- generation rules


def _items(*spec: str) -> list:
    """'p1:completed' ... -> ack items in that order."""
    return [{"transactionId": f"t{i}", "partitionId": s.split(":")[0], "status": s.split(":")[1]}
            for i, s in enumerate(spec)]


def test_ack_plan_sends_one_pops_acks_in_one_request() -> None:
    items = _items("p:completed", "p:completed")
    assert wire.ack_plan(items, [None, None], wire.GEN_07) is None
    assert wire.ack_plan(items, ["g", "g"], wire.GEN_015) is None


def test_ack_plan_07_splits_by_partition_and_group() -> None:
    items = _items("a:completed", "b:failed", "a:completed")
    assert wire.ack_plan(items, ["g", "g", "g"], wire.GEN_07) == [("g", [0, 2]), ("g", [1])]
    assert wire.ack_plan(items, ["g", "h", "g"], wire.GEN_07) == [("g", [0, 2]), ("h", [1])]


def test_ack_plan_015_sends_failures_on_their_own() -> None:
    items = _items("a:completed", "a:failed", "a:completed", "b:completed")
    # completed before a's failure (and b's), then the failure, then a's later completions
    assert wire.ack_plan(items, [None] * 4, wire.GEN_015) == [
        (None, [0, 3]), (None, [1]), (None, [2])]
    # several partitions, all completed: one request per group only
    assert wire.ack_plan(_items("a:completed", "b:completed"), ["g", "h"], wire.GEN_015) == [
        ("g", [0]), ("h", [1])]


def test_only_07_long_polls_need_the_client_to_ack() -> None:
    assert wire.client_acks_pop(True, True, wire.GEN_07)
    assert not wire.client_acks_pop(True, False, wire.GEN_07)
    assert not wire.client_acks_pop(True, True, wire.GEN_015)
    assert not wire.client_acks_pop(False, True, wire.GEN_07)
