"""Namespaces and tasks: 0.7 pops across queues on the server; 0.15 has no such
route, so the client lists the matching queues and pops them in turn."""

from __future__ import annotations

from typing import Any

from queen import Queen


async def test_namespace_pop(queen: Queen, unique_name: Any, generation: str) -> None:
    ns = unique_name("ns")
    q1, q2 = unique_name("inv"), unique_name("rec")
    await queen.queue(q1).namespace(ns).create()
    await queen.queue(q2).namespace(ns).create()
    await queen.queue(q1).push([{"data": "invoice"}])
    got = await queen.queue().namespace(ns).batch(5).pop()
    assert [m["data"] for m in got] == ["invoice"] and got[0]["queue"] == q1
    await queen.ack(got, True)
    await queen.queue(q2).push([{"data": "receipt"}])
    got = await queen.queue().namespace(ns).batch(5).pop()
    assert [m["queue"] for m in got] == [q2]
    await queen.ack(got, True)


async def test_task_and_combined_filters(queen: Queen, unique_name: Any, generation: str) -> None:
    ns, task = unique_name("media"), unique_name("video")
    q = unique_name("uploads")
    await queen.queue(q).namespace(ns).task(task).create()
    await queen.queue(q).push([{"data": 1}])
    assert [m["data"] for m in await queen.queue().task(task).pop()] == [1]
    assert await queen.queue().namespace(ns).task(unique_name("other")).pop() == []
