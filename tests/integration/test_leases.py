"""Lease renewal: by message, by lease id, lists, unknown leases."""

from __future__ import annotations

from typing import Any

import pytest
from client_helpers import until

from queen import Queen, QueenValidationError


async def test_renew_message_and_lease_id(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("lease")
    await queen.queue(q).push([{"data": 1}])
    [m] = await queen.queue(q).pop()
    res = await queen.renew(m)
    assert res == {**res, "leaseId": m["leaseId"], "success": True}
    res = await queen.renew(m["leaseId"], 120)
    assert res["success"] is True
    await queen.ack(m, True)


async def test_renewed_lease_outlives_the_original(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("lease-keep", leaseTime=1)
    await queen.queue(q).push([{"data": 1}])
    [m] = await queen.queue(q).pop()
    assert (await queen.renew(m, 30))["success"] is True
    loop_start = __import__("asyncio").get_running_loop().time()

    async def past_original_lease() -> bool:
        return __import__("asyncio").get_running_loop().time() - loop_start > 1.3

    await until(past_original_lease, "the original lease to pass")
    assert await queen.queue(q).pop() == []  # still ours
    assert (await queen.ack(m, True))["success"] is True


async def test_batch_renew_dedupes(proxied: Queen, recorder: Any, queen: Queen,
                                   make_queue: Any) -> None:
    q = await make_queue("lease-batch")
    await queen.queue(q).push([{"data": i} for i in range(3)])
    msgs = await proxied.queue(q).batch(3).pop()
    results = await proxied.renew(msgs)
    assert len(results) == 1 and results[0]["success"] is True  # one lease for the batch
    results = await proxied.renew([m["leaseId"] for m in msgs] + [msgs[0]])
    assert len(results) == 1
    extends = recorder.to("/api/v1/lease/")
    assert len(extends) == 2
    assert all(r.json() == {} for r in extends)  # a real JSON body, never empty
    await proxied.ack(msgs, True)


async def test_unknown_lease_reports_failure(queen: Queen) -> None:
    res = await queen.renew("00000000-0000-0000-0000-000000000000")
    assert res["success"] is False and res["error"]


async def test_renew_validation(queen: Queen) -> None:
    with pytest.raises(QueenValidationError):
        await queen.renew({"transactionId": "t", "leaseId": None})
    with pytest.raises(QueenValidationError):
        await queen.renew("L", 0)
    assert await queen.renew([]) == []


async def test_many_leases_renewed_in_order(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("lease-many")
    for p in range(12):
        await queen.queue(q).partition(f"p{p}").push([{"data": p}])
    msgs = []
    for p in range(12):
        msgs += await queen.queue(q).partition(f"p{p}").pop()
    results = await queen.renew(msgs, 60)
    assert [r["leaseId"] for r in results] == [m["leaseId"] for m in msgs]
    assert all(r["success"] for r in results)
    await queen.ack(msgs, True)
