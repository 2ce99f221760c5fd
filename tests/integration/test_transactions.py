"""Transactions: ack + push atomically, multi-queue, batch, rollback."""

from __future__ import annotations

from typing import Any

import pytest
from client_helpers import pop_all

from queen import Queen, QueenHTTPError, QueenValidationError


async def test_ack_and_push(queen: Queen, make_queue: Any) -> None:
    src, dst = await make_queue("tx-src"), await make_queue("tx-dst")
    await queen.queue(src).push([{"data": {"raw": 1}}])
    [m] = await queen.queue(src).pop()
    res = await (queen.transaction().ack(m).queue(dst).push([{"data": {"done": 1}}]).commit())
    assert res["success"] is True and res["transactionId"]
    assert {r["type"] for r in res["results"]} == {"ack", "push"}
    assert await queen.queue(src).pop() == []
    assert [x["data"] for x in await pop_all(queen, dst)] == [{"done": 1}]


async def test_multi_queue_and_partition(queen: Queen, make_queue: Any) -> None:
    a, b, c = [await make_queue(p) for p in ("tx-a", "tx-b", "tx-c")]
    await queen.queue(a).push([{"data": 1}])
    [m] = await queen.queue(a).pop()
    await (queen.transaction().ack(m)
           .queue(b).push([{"data": {"step": 2}}])
           .queue(c).partition("p9").push([{"data": {"step": 2}}])
           .commit())
    assert [x["data"] for x in await pop_all(queen, b)] == [{"step": 2}]
    got = await pop_all(queen, c, partition="p9")
    assert [x["partition"] for x in got] == ["p9"]


async def test_batch_transaction_with_group(queen: Queen, make_queue: Any) -> None:
    src, dst = await make_queue("tx-bsrc"), await make_queue("tx-bdst")
    await queen.queue(src).push([{"data": i} for i in range(4)])
    msgs = await queen.queue(src).group("proc").batch(10).pop()
    txn = queen.transaction()
    for m in msgs:
        txn.ack(m)
    txn.queue(dst).push([{"data": m["data"] * 10} for m in msgs])
    await txn.commit()
    assert await queen.queue(src).group("proc").pop() == []  # group taken from the messages
    assert sorted(x["data"] for x in await pop_all(queen, dst)) == [0, 10, 20, 30]


async def test_failed_transaction_raises_and_applies_nothing(queen: Queen, make_queue: Any) -> None:
    dst = await make_queue("tx-fail")
    ghost = {"transactionId": "no-such-tx", "partitionId": "11111111-2222-4333-8444-555555555555"}
    with pytest.raises(QueenHTTPError):
        await queen.transaction().ack(ghost).queue(dst).push([{"data": "x"}]).commit()
    assert await queen.queue(dst).pop() == []


async def test_empty_transaction_is_rejected_locally(queen: Queen) -> None:
    with pytest.raises(QueenValidationError):
        await queen.transaction().commit()
    with pytest.raises(QueenValidationError):
        queen.transaction().ack({"transactionId": "t"})
    with pytest.raises(QueenValidationError):
        queen.transaction().queue("q").push([3])
