"""Priority (stored and echoed) and delayed processing."""

from __future__ import annotations

from typing import Any

from client_helpers import until

from queen import Queen


async def test_priority_is_stored(queen: Queen, unique_name: Any) -> None:
    for prio in (10, 5, 1):
        res = await queen.queue(unique_name("prio")).config({"priority": prio}).create()
        assert res["options"]["priority"] == prio


async def test_delayed_processing(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("delay", delayedProcessing=1)
    await queen.queue(q).push([{"data": {"task": "send-reminder"}}])
    assert await queen.queue(q).pop() == []
    got: list = []

    async def visible() -> bool:
        got.extend(await queen.queue(q).pop())
        return bool(got)

    await until(visible, "the delayed message")
    assert [m["data"] for m in got] == [{"task": "send-reminder"}]
