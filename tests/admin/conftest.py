"""Fixtures of the admin tests: a small world like the one of the wire recordings
(three queues, a namespace with two tasks, a lagging consumer group, a DLQ entry and
two traces), built with unique names so that it also works on a shared real server
(``QUEEN_URL``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Dict, List

import pytest

from integration.client_helpers import until
from queen import Queen, QueenError


@dataclass
class World:
    generation: str
    ns: str
    billing: str
    audit: str
    orders: str          # ns/billing: p1 x3, p2 x2, p3 x1
    events: str          # ns/audit: 2 messages, one completed
    dead: str            # retryLimit 1: its one message is in the DLQ
    group: str           # read 2 of p1 of ``orders``
    trace: str           # two trace events on the first message of p1
    other_trace: str     # one of them also carries this name
    real: bool = False   # a real server (QUEEN_URL): its dashboard numbers are server-wide
    first: Dict[str, Any] = field(default_factory=dict)   # orders/p1 message 1 (traced)
    pending: Dict[str, Any] = field(default_factory=dict)  # an untouched message of p2

    @property
    def v15(self) -> bool:
        return self.generation == "0.15"


@pytest.fixture
async def generation(queen: Queen) -> str:
    return await queen._generation()


@pytest.fixture
async def world(queen: Queen, generation: str, queen_server: Any,
                unique_name: Callable[[str], str]) -> AsyncIterator[World]:
    w = World(generation, unique_name("adm-shop"), unique_name("adm-billing"),
              unique_name("adm-audit"), unique_name("adm-orders"), unique_name("adm-events"),
              unique_name("adm-dlq"), unique_name("adm-g"), unique_name("adm-flow"),
              unique_name("adm-bill-flow"), real=queen_server.broker is None)
    made: List[str] = [w.orders, w.events, w.dead]
    try:
        await queen.queue(w.orders).namespace(w.ns).task(w.billing).config(
            {"leaseTime": 30, "retryLimit": 3}).create()
        await queen.queue(w.events).namespace(w.ns).task(w.audit).config(
            {"leaseTime": 30}).create()
        await queen.queue(w.dead).config(
            {"leaseTime": 30, "retryLimit": 1, "deadLetterQueue": True}).create()
        orders = queen.queue(w.orders)
        await orders.partition("p1").push([{"data": {"order": i}} for i in (1, 2, 3)])
        await orders.partition("p2").push([{"data": {"order": i}} for i in (4, 5)])
        await orders.partition("p3").push([{"data": {"order": 6}}])
        await queen.queue(w.events).push([{"data": {"event": "a"}}, {"data": {"event": "b"}}])
        await queen.queue(w.dead).push([{"data": {"poison": True}}])

        got = await orders.partition("p1").group(w.group).batch(2).pop()
        assert [m["data"]["order"] for m in got] == [1, 2]
        await queen.ack(got, True)
        w.first = dict(got[0])
        done = await queen.queue(w.events).batch(1).pop()
        await queen.ack(done[0], True)
        for attempt in (1, 2):
            msgs = await queen.queue(w.dead).batch(1).pop()
            assert msgs, f"DLQ queue delivery {attempt}"
            await queen.ack(msgs[0], False, {"error": f"poison failure {attempt}"})
        await got[0]["trace"]({"traceName": [w.trace, w.other_trace], "eventType": "processing",
                               "data": {"step": "validated"}})
        await got[0]["trace"]({"traceName": w.trace, "eventType": "info",
                               "data": {"step": "shipped"}})

        async def listed() -> bool:  # 0.7.5 makes a pop's effects visible a moment later
            rows = (await queen.admin.list_messages(queue=w.orders, partition="p2"))["messages"]
            if rows:
                w.pending = dict(rows[0])
            return bool(rows)

        await until(listed, "the messages of a consumed queue to be listed")
        await queen.admin.refresh_consumer_stats()  # 0.15 views come from periodic stats
        yield w
    finally:
        try:
            await queen.delete_consumer_group(w.group)
        except QueenError:
            pass
        for name in made:
            try:
                await queen.queue(name).delete()
            except QueenError:
                pass
