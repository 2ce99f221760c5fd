"""Real 0.7.5 loses messages for a live consumer group when pushes to one partition
overlap (a push that commits after a later one has been read falls behind the
group's cursor). The embedded 0.7 personality reproduces it on request
(``Broker("0.7", push_race=seconds)``); the client never causes it itself: its own
writes to one partition are sent one after the other on 0.7."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import httpx

from queen import Queen
from queen.testing import start_server
from queen.testing.broker import Broker

RACE = 0.3  # s a push stays uncommitted in the race mode


def batch(q: str, tag: str) -> Dict[str, Any]:
    return {"items": [{"queue": q, "payload": {"tag": tag, "i": i}} for i in range(10)]}


async def group_pop(http: httpx.AsyncClient, q: str, g: str) -> List[Dict[str, Any]]:
    r = await http.get(f"/api/v1/pop/queue/{q}",
                       params={"batch": 100, "wait": "false", "consumerGroup": g})
    body = r.json() if r.content.strip() not in (b"", b"null") else None
    return (body or {}).get("messages") or []


async def test_the_07_race_can_be_reproduced() -> None:
    with start_server(broker=Broker("0.7", push_race=RACE)) as srv:
        async with httpx.AsyncClient(base_url=srv.url, timeout=10) as http:
            await http.post("/api/v1/configure", json={"queue": "race", "options": {}})
            slow = asyncio.ensure_future(http.post("/api/v1/push", json=batch("race", "a")))
            await asyncio.sleep(RACE / 3)
            await http.post("/api/v1/push", json=batch("race", "b"))  # overtakes "a"
            got = await group_pop(http, "race", "live")
            assert {m["data"]["tag"] for m in got} == {"b"}
            await http.post("/api/v1/ack/batch", json={"consumerGroup": "live", "acknowledgments": [
                {"transactionId": m["transactionId"], "partitionId": m["partitionId"],
                 "leaseId": m["leaseId"], "status": "completed"} for m in got]})
            await slow
            assert await group_pop(http, "race", "live") == []  # "a" fell behind the cursor
            fresh = await group_pop(http, "race", "later")
            assert len(fresh) == 20  # stored all along


async def test_the_client_does_not_cause_it() -> None:
    with start_server(broker=Broker("0.7", push_race=RACE)) as srv:
        async with Queen(srv.url) as queen:
            await queen.queue("race").create()
            seen: List[Any] = []

            async def handler(messages: List[Dict[str, Any]]) -> None:
                seen.extend((m["data"]["tag"], m["data"]["i"]) for m in messages)

            consumer = asyncio.ensure_future(
                queen.queue("race").group("live").batch(100).wait(False).idle_millis(3000)
                .consume(handler))
            await asyncio.gather(*(  # five writers into one partition at once
                queen.queue("race").push([{"data": {"tag": t, "i": i}} for i in range(10)])
                for t in "abcde"))
            tx = queen.transaction().queue("race").push([{"data": {"tag": "tx", "i": 0}}])
            await asyncio.gather(tx.commit(), queen.queue("race").push(
                [{"data": {"tag": "f", "i": 0}}]))
            await asyncio.wait_for(consumer, 30)
            assert len(seen) == 52 and len(set(seen)) == 52


async def test_015_lookup_lag_and_read_your_writes() -> None:
    # 0.15.1 shows a pushed partition to the queue route only after the push answered
    with start_server(compat="0.15", broker=Broker("0.15", lookup_lag=0.1)) as srv:
        async with Queen(srv.url) as writer, Queen(srv.url) as other:
            await writer.queue("lag").create()
            await writer.queue("lag").push([{"data": 1}])
            assert await other.queue("lag").pop() == []  # another client can miss it
            got = await writer.queue("lag").pop()  # the writer reads its own write
            assert [m["data"] for m in got] == [1]
            await writer.ack(got, True)
