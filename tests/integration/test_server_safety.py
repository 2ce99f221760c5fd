"""Never hurt a real server: requests are recorded by a proxy and checked.

* no empty ack batch (0.15.1 never answers one);
* on 0.15, failed acks travel apart from completed ones (a failed item followed by
  completed items of the same partition in one request is silently lost there);
* on 0.7, one batch per partition (the server books a batch on its first item);
* lease extensions carry a real JSON body;
* namespace pops are never sent to a 0.15 server.
"""

from __future__ import annotations

from typing import Any, List

import pytest

from queen import Queen


async def popped(queen: Queen, q: str, n: int, partition: str = "Default") -> List[Any]:
    await queen.queue(q).partition(partition).push([{"data": i} for i in range(n)])
    return await queen.queue(q).partition(partition).batch(n).pop()


async def test_no_empty_ack_batch(proxied: Queen, recorder: Any) -> None:
    assert await proxied.ack([], True) == []
    assert await proxied.ack([], False) == []
    assert recorder.to("/api/v1/ack") == []


async def test_mixed_ack_request_shapes(proxied: Queen, recorder: Any, make_queue: Any,
                                        generation: str) -> None:
    q = await make_queue("safe-mixed", retryLimit=3)
    msgs = await popped(proxied, q, 4)
    for m in msgs:
        m["_status"] = "failed" if m["data"] in (1, 2) else "completed"
    await proxied.ack(msgs)
    batches = [r.json() for r in recorder.to("/api/v1/ack/batch")]
    assert batches and all(b["acknowledgments"] for b in batches)
    if generation == "0.15":
        # completed before the first failure, the failures on their own, the rest after
        data = {m["transactionId"]: m["data"] for m in msgs}
        order = [[data[a["transactionId"]] for a in b["acknowledgments"]] for b in batches]
        assert order == [[0], [1, 2], [3]]
        kinds = [{a["status"] for a in b["acknowledgments"]} for b in batches]
        assert kinds == [{"completed"}, {"failed"}, {"completed"}]
    else:
        assert len(batches) == 1  # one partition -> one batch
    sent = [a["transactionId"] for b in batches for a in b["acknowledgments"]]
    assert sorted(sent) == sorted(m["transactionId"] for m in msgs)
    assert all(a.get("leaseId") for b in batches for a in b["acknowledgments"])


async def test_one_batch_per_partition_on_07(proxied: Queen, recorder: Any, make_queue: Any,
                                             generation: str) -> None:
    q = await make_queue("safe-parts")
    msgs = await popped(proxied, q, 2, "pa") + await popped(proxied, q, 2, "pb")
    await proxied.ack(msgs, True)
    batches = [r.json() for r in recorder.to("/api/v1/ack/batch")]
    if generation == "0.7":
        assert len(batches) == 2
        for b in batches:
            assert len({a["partitionId"] for a in b["acknowledgments"]}) == 1
    else:
        assert len(batches) == 1
    assert await proxied.queue(q).batch(10).pop() == []


async def test_group_travels_at_top_level(proxied: Queen, recorder: Any, make_queue: Any) -> None:
    q = await make_queue("safe-group")
    await proxied.queue(q).push([{"data": i} for i in range(2)])
    msgs = await proxied.queue(q).group("gx").batch(2).pop()
    await proxied.ack(msgs, True)
    [batch] = [r.json() for r in recorder.to("/api/v1/ack/batch")]
    assert batch["consumerGroup"] == "gx"
    await proxied.ack(msgs[0], True)
    [single] = [r.json() for r in recorder.to("/api/v1/ack") if r.path == "/api/v1/ack"]
    assert single["consumerGroup"] == "gx" and single["leaseId"] == msgs[0]["leaseId"]


async def test_extend_body_is_json(proxied: Queen, recorder: Any, make_queue: Any) -> None:
    q = await make_queue("safe-extend")
    [m] = await popped(proxied, q, 1)
    await proxied.renew(m)
    await proxied.renew(m, 45)
    bodies = [r.json() for r in recorder.to("/api/v1/lease/")]
    assert bodies == [{}, {"seconds": 45}]


async def test_namespace_pop_not_sent_to_015(proxied: Queen, recorder: Any,
                                             generation: str, unique_name: Any) -> None:
    if generation != "0.15":
        pytest.skip("0.7 has the namespace route")
    ns, q = unique_name("safe-ns"), unique_name("safe-ns-q")
    await proxied.queue(q).namespace(ns).create()
    try:
        assert await proxied.queue().namespace(ns).pop() == []
        # the removed route is never asked; the queue listing and a by-name pop instead
        assert [r for r in recorder.requests if r.path.startswith("/api/v1/pop?")] == []
        assert recorder.to("/api/v1/resources/queues") and recorder.to(f"/api/v1/pop/queue/{q}")
    finally:
        await proxied.queue(q).delete()


async def test_generation_probed_once(proxied: Queen, recorder: Any, make_queue: Any) -> None:
    q = await make_queue("safe-health")
    for _ in range(3):
        await proxied.queue(q).pop()
    assert len(recorder.to("/health")) == 1
