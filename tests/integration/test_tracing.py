"""message['trace'](...): names, event types, never raises."""

from __future__ import annotations

from typing import Any

from queen import Queen


async def test_trace_variants(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("trace")
    await queen.queue(q).push([{"data": {"orderId": 7}}])
    [m] = await queen.queue(q).pop()
    r1 = await m["trace"]({"data": {"text": "Order processing started"}})
    r2 = await m["trace"]({"traceName": "order-7", "eventType": "step", "data": {"text": "x"}})
    r3 = await m["trace"]({"traceName": ["tenant-a", "room-1", "user-2"], "eventType": "info",
                           "data": {"text": "multi"}})
    assert r1["success"] and r2["success"] and r3["success"]
    await queen.ack(m, True)
    r4 = await m["trace"]({"eventType": "error", "data": {"text": "after ack"}})
    assert r4["success"] is True


async def test_trace_in_group(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("trace-g")
    await queen.queue(q).push([{"data": 1}])
    [m] = await queen.queue(q).group("tracers").pop()
    assert (await m["trace"]({"traceName": "g", "data": {}}))["success"] is True


async def test_trace_failure_never_raises(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("trace-bad")
    await queen.queue(q).push([{"data": 1}])
    [m] = await queen.queue(q).pop()
    await queen.queue(q).delete()  # the message is gone: the server refuses its trace
    res = await m["trace"]({"data": {"text": "lost"}})
    assert res["success"] is False and res["error"]
    res = await m["trace"]({"traceName": 5, "data": {}})  # type: ignore[typeddict-item]
    assert res["success"] is False
    res = await m["trace"]({"data": {"unserialisable": object()}})
    assert res["success"] is False
