"""Dead-letter queue queries on both generations."""

from __future__ import annotations

from typing import Any, List

import pytest

from queen import Queen, QueenValidationError


async def dead_letter(queen: Queen, q: str, n: int, group: Any = None, partition: str = "Default") -> None:
    await queen.queue(q).partition(partition).push([{"data": {"i": i}} for i in range(n)])
    for _ in range(n):
        b = queen.queue(q).partition(partition)
        if group:
            b = b.group(group)
        [m] = await b.pop()
        await queen.ack(m, False, {"error": f"bad {m['data']['i']}"})


async def test_dlq_listing(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("dlq", retryLimit=0, dlqAfterMaxRetries=True)
    await dead_letter(queen, q, 3)
    dlq = await queen.queue(q).dlq().limit(10).get()
    assert dlq["total"] == 3 and len(dlq["messages"]) == 3
    for m in dlq["messages"]:
        assert m["errorMessage"].startswith("bad ") and m["dlqTimestamp"] and "data" in m
    assert {m["data"]["i"] for m in dlq["messages"]} == {0, 1, 2}


async def test_dlq_paging(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("dlq-page", retryLimit=0)
    await dead_letter(queen, q, 3)
    pages: List[Any] = []
    for offset in range(3):
        page = await queen.queue(q).dlq().limit(1).offset(offset).get()
        assert page["total"] == 3 and len(page["messages"]) == 1
        pages.append(page["messages"][0]["data"]["i"])
    assert sorted(pages) == [0, 1, 2]


async def test_dlq_by_group_and_time(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("dlq-group", retryLimit=0)
    await dead_letter(queen, q, 1, group="my-group")
    await dead_letter(queen, q, 1)
    mine = await queen.queue(q).dlq("my-group").get()
    assert mine["total"] == 1 and mine["messages"][0]["consumerGroup"] == "my-group"
    future = await queen.queue(q).dlq().from_("2999-01-01").get()
    assert future["total"] == 0 and future["messages"] == []
    window = await queen.queue(q).dlq().from_("2000-01-01").to("2999-01-31").get()
    assert window["total"] == 2


async def test_dlq_of_partition(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("dlq-part", retryLimit=0)
    await dead_letter(queen, q, 1, partition="pa")
    await dead_letter(queen, q, 1, partition="pb")
    got = await queen.queue(q).partition("pa").dlq().get()
    assert got["total"] == 1 and got["messages"][0]["partition"] == "pa"


async def test_empty_dlq(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("dlq-empty")
    assert await queen.queue(q).dlq().get() == {"messages": [], "total": 0, "limit": 100,
                                                 "offset": 0}


def test_dlq_validation(queen: Queen) -> None:
    with pytest.raises(QueenValidationError):
        queen.queue("q").dlq().limit(0)
    with pytest.raises(QueenValidationError):
        queen.queue("q").dlq().from_("yesterday-ish")
    with pytest.raises(QueenValidationError):
        queen.queue().dlq()
