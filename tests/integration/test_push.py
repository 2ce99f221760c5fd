"""Pushing: single, batch, partitions, custom transactionIds, duplicates, callbacks."""

from __future__ import annotations

import uuid
from typing import Any, Dict, List

import pytest
from client_helpers import pop_all

from queen import Queen, QueenHTTPError, QueenValidationError


async def test_push_single_and_multiple(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("push")
    one = await queen.queue(q).push([{"data": {"job": "resize-image", "imageId": 123}}])
    assert len(one) == 1 and one[0]["status"] == "queued" and one[0]["messageId"]
    many = await queen.queue(q).push([{"data": {"n": i}} for i in range(3)])
    assert [r["status"] for r in many] == ["queued"] * 3
    assert len({r["transactionId"] for r in one + many}) == 4
    got = await pop_all(queen, q)
    assert [m["data"] for m in got] == [{"job": "resize-image", "imageId": 123}] + [
        {"n": i} for i in range(3)]


async def test_push_to_partition_keeps_order(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("push-part")
    await queen.queue(q).partition("user-123").push(
        [{"data": {"event": e}} for e in ("login", "view-page", "logout")])
    msgs = await queen.queue(q).partition("user-123").batch(10).pop()
    assert [m["data"]["event"] for m in msgs] == ["login", "view-page", "logout"]
    assert {m["partition"] for m in msgs} == {"user-123"}
    await queen.ack(msgs, True)


async def test_payload_types_round_trip(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("push-types")
    values: List[Any] = [{"k": [1, 2]}, [1, "two", None], "text", 1.5, 0, None, True]
    await queen.queue(q).push([{"data": v} for v in values])
    assert [m["data"] for m in await pop_all(queen, q)] == values


async def test_custom_transaction_id_and_duplicates(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("push-dup")
    first = await queen.queue(q).push([{"transactionId": "order-12345", "data": {"n": 1}}])
    assert first[0]["transactionId"] == "order-12345" and first[0]["status"] == "queued"
    again = await queen.queue(q).push([{"transactionId": "order-12345", "data": {"n": 2}}])
    assert again[0]["status"] == "duplicate"
    assert again[0]["messageId"] == first[0]["messageId"]
    got = await pop_all(queen, q)
    assert [m["data"] for m in got] == [{"n": 1}]  # never delivered twice


async def test_trace_id_round_trips(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("push-trace")
    tid = str(uuid.uuid4())
    await queen.queue(q).push([{"data": 1, "traceId": tid}, {"data": 2, "traceId": "not-a-uuid"}])
    got = await pop_all(queen, q)
    assert got[0]["traceId"] == tid and got[1]["traceId"] is None


async def test_callbacks_sync_and_async(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("push-cb")
    calls: Dict[str, Any] = {}

    async def on_success(messages: Any) -> None:
        calls["success"] = [m["data"] for m in messages]

    def on_duplicate(messages: Any, error: Any) -> None:
        calls["duplicate"] = ([m["transactionId"] for m in messages], error)

    res = await (queen.queue(q)
                 .push([{"data": {"value": 1}, "transactionId": "cb-1"}])
                 .on_success(on_success).on_duplicate(on_duplicate))
    assert calls == {"success": [{"value": 1}]} and res[0]["status"] == "queued"
    calls.clear()
    await (queen.queue(q)
           .push([{"data": {"value": 1}, "transactionId": "cb-1"}, {"data": {"value": 2}}])
           .on_success(on_success).on_duplicate(on_duplicate))
    assert calls["success"] == [{"value": 2}]
    assert calls["duplicate"][0] == ["cb-1"] and isinstance(calls["duplicate"][1], QueenHTTPError)


async def test_failed_push_raises_or_reaches_on_error(
    queen: Queen, unique_name: Any, generation: str
) -> None:
    q = unique_name("push-missing")  # never configured
    if generation == "0.15":
        res = await queen.queue(q).push([{"data": 1}])  # 0.15 creates the queue on push
        assert res[0]["status"] == "queued"
        await queen.queue(q).delete()
        return
    with pytest.raises(QueenHTTPError) as info:
        await queen.queue(q).push([{"data": 1}])
    assert "does not exist" in str(info.value)
    seen: List[Any] = []
    res = await queen.queue(q).push([{"data": 2}]).on_error(
        lambda messages, error: seen.append((messages, error)))
    assert res[0]["status"] == "failed" and "does not exist" in res[0]["error"]
    assert seen[0][0] == [{"data": 2}] and isinstance(seen[0][1], QueenHTTPError)


@pytest.mark.parametrize("bad", [
    [1], ["text"], [{"data": object()}], [{"data": 1, "transactionId": 5}],
    [{"data": 1, "transactionId": ""}], 42,
])
def test_bad_messages_rejected_at_push_time(queen: Queen, bad: Any) -> None:
    with pytest.raises(QueenValidationError):
        queen.queue("anything").push(bad)


async def test_empty_push_sends_nothing(queen: Queen) -> None:
    assert await queen.queue("never-created-empty").push([]) == []


async def test_awaiting_twice_sends_once(proxied: Queen, recorder: Any, make_queue: Any) -> None:
    q = await make_queue("push-twice")
    builder = proxied.queue(q).push([{"data": 1}])
    first = await builder
    assert await builder == first
    assert len(recorder.to("/api/v1/push")) == 1


async def test_repeated_transaction_id_in_one_push(proxied: Queen, recorder: Any,
                                                   make_queue: Any) -> None:
    # 0.7.5 cannot store a request that repeats a transactionId (and keeps retrying it
    # in the background): the client sends each id once and reports the repeat.
    q = await make_queue("push-repeat")
    res = await proxied.queue(q).push([{"transactionId": "same", "data": 1},
                                       {"transactionId": "same", "data": 2},
                                       {"data": 3}])
    assert [r["status"] for r in res] == ["queued", "duplicate", "queued"]
    assert res[1]["messageId"] == res[0]["messageId"]
    [sent] = recorder.to("/api/v1/push")
    assert [i["transactionId"] for i in sent.json()["items"]][0] == "same"
    assert len(sent.json()["items"]) == 2
    got = await proxied.queue(q).batch(10).pop()
    assert [m["data"] for m in got] == [1, 3]
    await proxied.ack(got, True)
