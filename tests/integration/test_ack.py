"""Acknowledgement: completed, failed (retry), error context, batches, mixed statuses."""

from __future__ import annotations

from typing import Any

import pytest

from queen import Queen, QueenValidationError


async def test_ack_true_consumes(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("ack-ok")
    await queen.queue(q).push([{"data": 1}])
    [m] = await queen.queue(q).pop()
    res = await queen.ack(m, True)
    assert res["success"] is True and res["status"] == "completed"
    assert res["transactionId"] == m["transactionId"]
    assert await queen.queue(q).pop() == []


async def test_ack_false_redelivers(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("ack-retry", retryLimit=3)
    await queen.queue(q).push([{"data": 1}])
    [m] = await queen.queue(q).pop()
    res = await queen.ack(m, False, {"error": "Invalid data format"})
    assert res["success"] is True and res["status"] == "failed_retry"
    [again] = await queen.queue(q).pop()
    assert again["transactionId"] == m["transactionId"] and again["leaseId"] != m["leaseId"]
    await queen.ack(again, "completed")


async def test_failed_status_string_with_exhausted_retries_goes_to_dlq(
    queen: Queen, make_queue: Any
) -> None:
    q = await make_queue("ack-dlq", retryLimit=0)
    await queen.queue(q).push([{"data": 1}])
    [m] = await queen.queue(q).pop()
    res = await queen.ack(m, "failed", {"error": "permanent"})
    assert res["success"] is True and res["dlq"] is True and res["status"] == "failed_dlq"
    assert await queen.queue(q).pop() == []
    dlq = await queen.queue(q).dlq().get()
    assert dlq["total"] == 1 and dlq["messages"][0]["errorMessage"] == "permanent"


async def test_batch_ack(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("ack-batch")
    await queen.queue(q).push([{"data": i} for i in range(3)])
    msgs = await queen.queue(q).batch(3).pop()
    res = await queen.ack(msgs, True)
    assert [r["success"] for r in res] == [True] * 3
    assert [r["transactionId"] for r in res] == [m["transactionId"] for m in msgs]
    assert await queen.queue(q).pop() == []


async def test_mixed_statuses_nothing_lost(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("ack-mixed", retryLimit=3)
    await queen.queue(q).push([{"data": i} for i in range(3)])
    msgs = await queen.queue(q).batch(3).pop()
    for m in msgs:
        m["_status"] = m["data"] != 1
        if m["data"] == 1:
            m["_error"] = "item 1 failed"
    res = await queen.ack(msgs)
    assert len(res) == 3
    # The failed message is never silently lost: it is redelivered or dead-lettered.
    redelivered = [m["data"] for m in await queen.queue(q).batch(10).pop()]
    dead = [m["data"] for m in (await queen.queue(q).dlq().get())["messages"]]
    # 0.7.5 shows a scalar payload in the DLQ as C++ prints it: 1 -> "1.000000"
    # (docs/upstream.md, "What you will see on a real server")
    assert 1 in redelivered or 1 in dead or "1.000000" in dead


async def test_group_taken_from_message(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("ack-group")
    await queen.queue(q).push([{"data": 1}])
    [m] = await queen.queue(q).group("workers").pop()
    assert (await queen.ack(m, True))["success"] is True
    assert await queen.queue(q).group("workers").pop() == []
    assert len(await queen.queue(q).pop()) == 1  # queue mode untouched


async def test_wrong_lease_is_reported_not_raised(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("ack-lease")
    await queen.queue(q).push([{"data": 1}])
    [m] = await queen.queue(q).pop()
    bad = dict(m, leaseId="00000000-0000-0000-0000-000000000000")
    res = await queen.ack(bad, True)
    assert res["success"] is False and res["error"]
    assert await queen.queue(q).pop() == []  # still leased
    assert (await queen.ack(m, True))["success"] is True


async def test_ack_empty_list_is_a_no_op(queen: Queen) -> None:
    assert await queen.ack([], True) == []


@pytest.mark.parametrize("bad", [{"transactionId": "t"}, {"partitionId": "p"}, {}, "text"])
async def test_malformed_message(queen: Queen, bad: Any) -> None:
    with pytest.raises(QueenValidationError):
        await queen.ack(bad if not isinstance(bad, str) else [bad], True)


async def test_bad_status(queen: Queen) -> None:
    with pytest.raises(QueenValidationError):
        await queen.ack({"transactionId": "t", "partitionId": "p"}, "weird")
