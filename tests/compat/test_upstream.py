"""Code written for the upstream client (queen-mq 0.7.4 / 2.6.0), run unchanged.

Each test is shaped like code a user of upstream wrote: the fluent calls, callbacks
that ack with ``queen.ack(msg, True, {"group": g})``, ``except`` clauses that match
upstream's error texts. They run on both embedded personalities and, with
``QUEEN_URL``, on a real server. ``../shared/spec/admin-api.md`` section 7 is what
upstream does in each case.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest

from queen import Queen

SAFETY = 30.0


async def bounded(awaitable: Any) -> Any:
    return await asyncio.wait_for(awaitable, SAFETY)


async def until(predicate: Any, what: str) -> None:
    for _ in range(int(SAFETY / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def push_spread(queen: Queen, q: str, depths: Dict[str, int]) -> None:
    for part, depth in depths.items():
        await queen.queue(q).partition(part).push(
            [{"data": {"p": part, "i": i}} for i in range(depth)])


# ---------------------------------------------------------------- 1. limit(n)


async def test_limit_stops_after_one_batch_and_never_cuts_it(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("compat-limit-batch")
    await queen.queue(q).push([{"data": {"i": i}} for i in range(20)])
    handled: List[int] = []

    async def handler(messages: List[Dict[str, Any]]) -> None:
        handled.extend(m["data"]["i"] for m in messages)

    # upstream: "stop after one batch": the whole pop is handled (and acked)
    await bounded(queen.queue(q).batch(100).limit(1).consume(handler))
    assert handled == list(range(20))
    assert await queen.queue(q).batch(100).pop() == []


async def test_limit_counts_per_worker(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("compat-limit-workers")
    await push_spread(queen, q, {f"p{i}": 5 for i in range(6)})  # 30 messages
    handled: List[Any] = []

    async def handler(message: Dict[str, Any]) -> None:
        handled.append((message["data"]["p"], message["data"]["i"]))

    # two workers, five each: ten messages in all, as upstream
    await bounded(queen.queue(q).concurrency(2).batch(1).limit(5).consume(handler))
    assert len(handled) == 10 and len(set(handled)) == 10


async def test_limit_zero_means_no_limit(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("compat-limit-zero")
    await queen.queue(q).push([{"data": {"i": i}} for i in range(3)])
    handled: List[int] = []

    async def handler(message: Dict[str, Any]) -> None:
        handled.append(message["data"]["i"])

    await bounded(queen.queue(q).limit(0).idle_millis(800).consume(handler))
    assert handled == [0, 1, 2]


# ---------------------------------------------------------------- 2. subscription_mode


async def test_unknown_subscription_mode_is_sent_and_acts_as_all(
        queen: Queen, make_queue: Any, unique_name: Any) -> None:
    q = await make_queue("compat-mode")
    await queen.queue(q).push([{"data": {"i": i}} for i in range(3)])
    got = await (queen.queue(q).group(unique_name("g")).subscription_mode("from_beginning")
                 .batch(10).pop())
    assert [m["data"]["i"] for m in got] == [0, 1, 2]


async def test_subscription_mode_new_only_still_skips_history(
        queen: Queen, make_queue: Any, unique_name: Any) -> None:
    q = await make_queue("compat-mode-new")
    await queen.queue(q).push([{"data": {"old": True}}])
    g = unique_name("g")
    first = await queen.queue(q).group(g).subscription_mode("new").batch(10).pop()
    assert first == []
    await queen.queue(q).push([{"data": {"old": False}}])
    later = await queen.queue(q).group(g).subscription_mode("new").batch(10).pop()
    assert [m["data"] for m in later] == [{"old": False}]


# ---------------------------------------------------------------- 3. callbacks ack


async def test_on_success_acks_and_the_library_does_not(
        queen: Queen, make_queue: Any, unique_name: Any) -> None:
    q = await make_queue("compat-cb")
    g = unique_name("workers")
    await queen.queue(q).push([{"data": {"i": i}} for i in range(3)])
    acks: List[Any] = []

    async def handler(message: Dict[str, Any]) -> str:
        return f"done {message['data']['i']}"

    async def on_success(message: Dict[str, Any], result: Any) -> None:
        acks.append(await queen.ack(message, True, {"group": g}))

    async def on_error(message: Dict[str, Any], error: Exception) -> None:
        await queen.ack(message, False, {"group": g})

    await bounded(queen.queue(q).group(g).limit(3).consume(handler)
                  .on_success(on_success).on_error(on_error))
    # each callback ack is the only ack: it succeeds (a library ack first would make
    # it a stale second ack, rejected by the server)
    assert len(acks) == 3 and all(a["success"] for a in acks)
    assert await queen.queue(q).group(g).batch(10).pop() == []


async def test_on_error_decides_and_the_message_comes_back(
        queen: Queen, make_queue: Any, unique_name: Any) -> None:
    q = await make_queue("compat-cb-err", retryLimit=5)
    g = unique_name("workers")
    await queen.queue(q).push([{"data": {"i": 1}}])
    attempts: List[int] = []
    errors: List[str] = []

    async def handler(message: Dict[str, Any]) -> None:
        attempts.append(message["data"]["i"])
        if len(attempts) == 1:
            raise RuntimeError("first attempt fails")

    async def on_success(message: Dict[str, Any], result: Any) -> None:
        await queen.ack(message, True, {"group": g})

    async def on_error(message: Dict[str, Any], error: Exception) -> None:
        errors.append(str(error))
        await queen.ack(message, False, {"group": g})

    await bounded(queen.queue(q).group(g).limit(2).consume(handler)
                  .on_success(on_success).on_error(on_error))
    assert attempts == [1, 1] and errors == ["first attempt fails"]


async def test_callbacks_turn_auto_ack_off(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("compat-cb-noack", leaseTime=1)
    await queen.queue(q).push([{"data": {"i": 7}}])
    seen: List[int] = []

    async def handler(message: Dict[str, Any]) -> None:
        seen.append(message["data"]["i"])

    async def on_success(message: Dict[str, Any], result: Any) -> None:
        pass  # forgets to ack: upstream leaves the message leased

    await bounded(queen.queue(q).limit(1).consume(handler).on_success(on_success))
    assert seen == [7]

    async def back() -> bool:
        got = await queen.queue(q).pop()
        if got:
            await queen.ack(got[0], True)
        return bool(got)

    await until(back, "the unacked message to come back after its lease")


# ---------------------------------------------------------------- 4. error texts


async def test_empty_transaction_text(queen: Queen) -> None:
    with pytest.raises(Exception, match="Transaction has no operations to commit"):
        await queen.transaction().commit()


async def test_common_validation_texts(queen: Queen) -> None:
    with pytest.raises(ValueError, match="Queue name is required for push operation"):
        await queen.queue().push([{"data": 1}])
    with pytest.raises(ValueError, match="Queue name is required for delete operation"):
        await queen.queue().delete()
    with pytest.raises(ValueError, match="Queue name is required for DLQ operations"):
        queen.queue().dlq()
    with pytest.raises(ValueError, match="Queue name is required for buffer flush"):
        await queen.queue().flush_buffer()
    with pytest.raises(ValueError, match="Must specify queue, namespace, or task"):
        await queen.queue().consume(lambda m: None)
    with pytest.raises(ValueError, match="Message must have transactionId or id property"):
        await queen.ack([{"partitionId": "p"}], True)
    with pytest.raises(ValueError, match="Message must have partitionId property"):
        await queen.ack([{"transactionId": "t"}], True)
    with pytest.raises(ValueError, match="Message must have partitionId property"):
        queen.transaction().ack({"transactionId": "t"})
    with pytest.raises(ValueError, match="Invalid URL"):
        Queen("ftp://example.com")
    with pytest.raises(ValueError, match="URLs must be a non-empty list"):
        Queen({"urls": []})


async def test_closed_client_text(queen_url: str, make_queue: Any) -> None:
    q = await make_queue("compat-closed")
    client = Queen(queen_url)
    await client.close()
    with pytest.raises(Exception, match="Cannot send a request, as the client has been closed"):
        await client.queue(q).push([{"data": 1}])


# ---------------------------------------------------------------- 5. partitions(n)

DEPTHS = {"pa": 6, "pb": 1, "pc": 3, "pd": 2, "pe": 4, "pf": 1}  # 17, as the recording


def by_partition(messages: List[Dict[str, Any]]) -> Dict[str, List[int]]:
    out: Dict[str, List[int]] = {}
    for m in messages:
        out.setdefault(m["data"]["p"], []).append(m["data"]["i"])
    return out


async def test_multi_partition_pop_and_ack(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("compat-parts")
    await push_spread(queen, q, DEPTHS)
    first = await queen.queue(q).partitions(3).batch(100).pop()
    parts = by_partition(first)
    assert len(parts) == 3
    for p, seen in parts.items():  # whole partitions, in order
        assert seen == list(range(DEPTHS[p]))
    results = await queen.ack(first, True)
    assert len(results) == len(first) and all(r["success"] for r in results)
    rest = await queen.queue(q).partitions(6).batch(100).pop()
    assert set(by_partition(rest)) == set(DEPTHS) - set(parts)
    await queen.ack(rest, True)
    assert await queen.queue(q).partitions(6).batch(100).pop() == []


async def test_batch_is_one_budget_across_partitions(queen: Queen, make_queue: Any) -> None:
    q = await make_queue("compat-parts-budget")
    await push_spread(queen, q, DEPTHS)
    got = await queen.queue(q).partitions(5).batch(4).pop()
    assert 1 <= len(got) <= 4
    for seen in by_partition(got).values():
        assert seen == list(range(len(seen)))  # a cut partition is cut at its end
    assert all(r["success"] for r in await queen.ack(got, True))


async def test_multi_partition_consume_with_group(
        queen: Queen, make_queue: Any, unique_name: Any) -> None:
    q = await make_queue("compat-parts-consume")
    g = unique_name("readers")
    await push_spread(queen, q, DEPTHS)
    batches: List[int] = []
    seen: List[Any] = []

    async def handler(messages: List[Dict[str, Any]]) -> None:
        batches.append(len(by_partition(messages)))
        seen.extend((m["data"]["p"], m["data"]["i"]) for m in messages)

    await bounded(queen.queue(q).group(g).partitions(3).batch(50).idle_millis(1500)
                  .consume(handler))
    assert sorted(seen) == sorted((p, i) for p, n in DEPTHS.items() for i in range(n))
    assert max(batches) > 1  # lists spanning partitions reached the handler
    # all acked (top-level group on 0.15): the group has nothing left
    assert await queen.queue(q).group(g).partitions(6).batch(100).pop() == []


# ---------------------------------------------------------------- 6. namespace / task


async def test_namespace_and_task_consumption(queen: Queen, unique_name: Any,
                                              queen_compat: str) -> None:
    ns, task = unique_name("compat-ns"), unique_name("compat-task")
    names = [unique_name("compat-ns-a"), unique_name("compat-ns-b")]
    other = unique_name("compat-ns-other")
    try:
        for name in names:
            await queen.queue(name).namespace(ns).task(task).config({"leaseTime": 30}).create()
        await queen.queue(other).namespace(ns).task("elsewhere").config({"leaseTime": 30}).create()
        for i, name in enumerate(names):
            await queen.queue(name).push([{"data": {"q": i, "n": n}} for n in range(3)])
        await queen.queue(other).push([{"data": {"q": -1}}])
        seen: List[Any] = []

        async def handler(message: Dict[str, Any]) -> None:
            seen.append((message["queue"], message["data"]["n"]))

        await bounded(queen.queue().namespace(ns).task(task).limit(6).consume(handler))
        assert sorted(seen) == sorted((name, n) for name in names for n in range(3))
        if queen_compat == "0.15":  # the client's fan-in is fair; 0.7's server route decides
            assert {q for q, _ in seen[:4]} == set(names)
        # a queue that appears while consuming is found
        late = unique_name("compat-ns-late")
        names.append(late)
        got: List[Any] = []

        async def on_message(message: Dict[str, Any]) -> None:
            got.append(message["queue"])

        consumer = asyncio.create_task(
            queen.queue().namespace(ns).task(task).limit(1).consume(on_message))
        await asyncio.sleep(0.3)
        await queen.queue(late).namespace(ns).task(task).config({"leaseTime": 30}).create()
        await queen.queue(late).push([{"data": {"late": True}}])
        await bounded(consumer)
        assert got == [late]
    finally:
        for name in [*names, other]:
            try:
                await queen.queue(name).delete()
            except Exception:
                pass


async def test_namespace_pop(queen: Queen, unique_name: Any) -> None:
    ns = unique_name("compat-nspop")
    name = unique_name("compat-nspop-q")
    try:
        await queen.queue(name).namespace(ns).config({"leaseTime": 30}).create()
        await queen.queue(name).push([{"data": {"n": 1}}])

        async def popped() -> bool:
            got = await queen.queue().namespace(ns).batch(10).pop()
            if got:
                assert [m["data"] for m in got] == [{"n": 1}]
                await queen.ack(got, True)
            return bool(got)

        await until(popped, "the namespace pop to find the message")
    finally:
        await queen.queue(name).delete()
