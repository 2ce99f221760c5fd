"""The streams SDK end to end over real HTTP: the embedded server (0.15; 0.7 must
refuse) or a real server with ``QUEEN_URL``. What a user observes: window results in
the sink, each source message counted once, late events dropped, a failed cycle
redelivered promptly and stored nothing, state surviving a restart."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, List

import pytest

from queen import Queen, QueenServerFeatureError, Stream, token_bucket_gate
from queen.streams.errors import StreamsConfigHashMismatch, StreamsRegisterFailed

from .helpers import Sink, wait_for

MakeQueue = Callable[..., Awaitable[str]]
FAST = {"max_wait_millis": 200}


async def push(queen: Queen, queue: str, partition: str, payloads: List[Any]) -> None:
    await queen.queue(queue).partition(partition).push(payloads)


async def test_07_server_refuses_with_a_feature_error(queen: Queen, generation: str,
                                                      make_queue: MakeQueue) -> None:
    if generation != "0.7":
        pytest.skip("0.7 only")
    src = await make_queue("src")
    with pytest.raises(QueenServerFeatureError, match="0.15"):
        await Stream.from_(queen.queue(src)).map(lambda m: m).run(query_id=src)


async def test_tumbling_aggregate_per_partition(queen: Queen, needs015: None,
                                                make_queue: MakeQueue) -> None:
    src, dst = await make_queue("src"), await make_queue("dst")
    await push(queen, src, "p1", [{"amount": a} for a in (10, 20, 30)])
    await push(queen, src, "p2", [{"amount": a} for a in (5, 7)])
    runner = await (Stream.from_(queen.queue(src))
                    .window_tumbling(seconds=1, idle_flush_ms=200)
                    .aggregate({"count": lambda v: 1, "sum": lambda v: v["amount"],
                                "max": lambda v: v["amount"], "avg": lambda v: v["amount"]})
                    .to(queen.queue(dst))
                    .run(query_id=src, **FAST))
    sink = Sink(queen, dst)
    try:
        await wait_for(lambda: sink.count_at_least(2), "two window results")
    finally:
        await runner.stop()
    got = sink.by_partition()
    # the helper fields of avg stay in the stored state, not in what the user gets
    assert got == {"p1": [{"count": 3, "sum": 60, "max": 30, "avg": 20}],
                   "p2": [{"count": 2, "sum": 12, "max": 7, "avg": 6}]}
    m = runner.metrics()
    assert m["messagesTotal"] == 5 and m["errorsTotal"] == 0
    assert m["queryId"] == src and m["serverQueryId"]


async def test_event_time_late_and_out_of_order(queen: Queen, needs015: None,
                                                make_queue: MakeQueue) -> None:
    src, dst = await make_queue("src"), await make_queue("dst")
    runner = await (Stream.from_(queen.queue(src))
                    .window_tumbling(seconds=10, event_time=lambda m: m["data"]["ts"],
                                     allowed_lateness=5)
                    .aggregate({"count": lambda v: 1, "sum": lambda v: v["v"]})
                    .to(queen.queue(dst))
                    .run(query_id=src, **FAST))
    sink = Sink(queen, dst)
    try:
        # out of order inside one batch: all kept; watermark 12000 - 5000 = 7000
        await push(queen, src, "p", [{"ts": 1000, "v": 1}, {"ts": 12000, "v": 2},
                                     {"ts": 3000, "v": 4}])
        await wait_for(lambda: runner.metrics()["messagesTotal"] == 3, "first batch")
        # 6000 < watermark: late, dropped; 9000 is out of order but within lateness;
        # 16000 moves the watermark to 11000 and closes [0 s, 10 s)
        await push(queen, src, "p", [{"ts": 6000, "v": 8}, {"ts": 9000, "v": 16},
                                     {"ts": 16000, "v": 32}])
        await wait_for(lambda: sink.count_at_least(1), "the first window")
        await push(queen, src, "p", [{"ts": 40000, "v": 64}])
        await wait_for(lambda: sink.count_at_least(2), "the second window")
    finally:
        await runner.stop()
    assert [d for _, d in sink.rows] == [{"count": 3, "sum": 21}, {"count": 2, "sum": 34}]
    assert runner.metrics()["lateEventsTotal"] == 1


async def test_sliding_windows_count_an_event_in_each_overlapping_window(
        queen: Queen, needs015: None, make_queue: MakeQueue) -> None:
    src, dst = await make_queue("src"), await make_queue("dst")
    runner = await (Stream.from_(queen.queue(src))
                    .window_sliding(size=2, slide=1, event_time=lambda m: m["data"]["ts"])
                    .reduce(lambda acc, v: acc + v["v"], 0)
                    .map(lambda acc, ctx: {"start": ctx["windowStart"], "sum": acc})
                    .to(queen.queue(dst))
                    .run(query_id=src, **FAST))
    sink = Sink(queen, dst)
    try:
        await push(queen, src, "p", [{"ts": 500, "v": 1}, {"ts": 1500, "v": 2}])
        await wait_for(lambda: runner.metrics()["messagesTotal"] == 2, "the events")
        await push(queen, src, "p", [{"ts": 10000, "v": 0}])
        await wait_for(lambda: sink.count_at_least(3), "three windows")
    finally:
        await runner.stop()
    got = sorted((d["start"], d["sum"]) for _, d in sink.rows)
    assert got == [(-1000, 1), (0, 3), (1000, 2)]


async def test_session_windows_per_key(queen: Queen, needs015: None,
                                       make_queue: MakeQueue) -> None:
    src, dst = await make_queue("src"), await make_queue("dst")
    runner = await (Stream.from_(queen.queue(src))
                    .key_by(lambda m: m["data"]["user"])
                    .window_session(gap=5, event_time=lambda m: m["data"]["ts"],
                                    allowed_lateness=10)
                    .aggregate({"count": lambda v: 1})
                    .map(lambda acc, ctx: {"user": ctx["key"], "n": acc["count"],
                                           "start": ctx["windowStart"], "end": ctx["windowEnd"]})
                    .to(queen.queue(dst))
                    .run(query_id=src, **FAST))
    sink = Sink(queen, dst)
    try:
        for user, ts in (("a", 0), ("a", 2000), ("b", 1000), ("a", 20000)):
            await push(queen, src, "p", [{"user": user, "ts": ts}])
        await wait_for(lambda: sink.count_at_least(2), "two closed sessions")
    finally:
        await runner.stop()
    got = sorted((d["user"], d["n"], d["start"], d["end"]) for _, d in sink.rows)
    assert got == [("a", 2, 0, 7000), ("b", 1, 1000, 6000)]


async def test_chained_maps_see_the_previous_result(queen: Queen, needs015: None,
                                                   make_queue: MakeQueue) -> None:
    src, dst = await make_queue("src"), await make_queue("dst")
    await push(queen, src, "p", [{"x": 1}, {"x": 2}, {"x": 3}])
    runner = await (Stream.from_(queen.queue(src))
                    .map(lambda m: m["data"]["x"])      # the first sees the source message
                    .map(lambda x: x * 10)              # later ones see the previous result
                    .filter(lambda x: x > 10)
                    .flat_map(lambda x: [x, x + 1])
                    .to(queen.queue(dst))
                    .run(query_id=src, **FAST))
    sink = Sink(queen, dst)
    try:
        await wait_for(lambda: sink.count_at_least(4), "four records")
    finally:
        await runner.stop()
    assert [d for _, d in sink.rows] == [{"value": 20}, {"value": 21}, {"value": 30},
                                         {"value": 31}]


async def test_a_failed_cycle_stores_nothing_and_comes_back_at_once(
        queen: Queen, needs015: None, make_queue: MakeQueue) -> None:
    src, dst = await make_queue("src", leaseTime=60), await make_queue("dst")
    await push(queen, src, "p", [{"i": i} for i in range(5)])
    failed: List[int] = []
    errors: List[Dict[str, Any]] = []

    def work(m: Dict[str, Any]) -> Dict[str, Any]:
        if m["data"]["i"] == 2 and not failed:
            failed.append(2)
            raise RuntimeError("transient")
        return {"i": m["data"]["i"]}

    runner = await (Stream.from_(queen.queue(src)).map(work).to(queen.queue(dst))
                    .run(query_id=src, on_error=lambda e, ctx: errors.append(ctx), **FAST))
    sink = Sink(queen, dst)
    try:
        # well before the 60 s lease: the failed cycle gave the partition back
        await wait_for(lambda: sink.count_at_least(5), "all five records", timeout=20)
        await wait_for(lambda: runner.metrics()["messagesTotal"] == 5, "the commit")
    finally:
        await runner.stop()
    # the aborted cycle pushed nothing: every record arrives exactly once, in order
    assert [d["i"] for _, d in sink.rows] == [0, 1, 2, 3, 4]
    assert errors and errors[0]["phase"] == "cycle"
    assert runner.metrics()["errorsTotal"] == 1
    assert "transient" in runner.metrics()["lastError"]


async def test_restart_resumes_from_stored_state(queen: Queen, needs015: None,
                                                 make_queue: MakeQueue) -> None:
    src, dst = await make_queue("src"), await make_queue("dst")

    def build() -> Stream:
        return (Stream.from_(queen.queue(src))
                .window_tumbling(seconds=10, event_time=lambda m: m["data"]["ts"])
                .reduce(lambda acc, v: acc + v["v"], 0)
                .to(queen.queue(dst)))

    first = await build().run(query_id=src, **FAST)
    await push(queen, src, "p", [{"ts": 1000, "v": 1}, {"ts": 2000, "v": 2}])
    await wait_for(lambda: first.metrics()["messagesTotal"] == 2, "the first run's cycle")
    await first.stop()
    assert not first.running

    second = await build().run(query_id=src, **FAST)
    sink = Sink(queen, dst)
    try:
        await push(queen, src, "p", [{"ts": 3000, "v": 4}, {"ts": 25000, "v": 100}])
        await wait_for(lambda: sink.count_at_least(1), "the window closed by the second run")
    finally:
        await second.stop()
    # 1 + 2 from the first run's stored accumulator, 4 from the second
    assert [d for _, d in sink.rows] == [{"value": 7}]
    assert second.metrics()["serverQueryId"] == first.metrics()["serverQueryId"]


async def test_changed_chain_needs_reset(queen: Queen, needs015: None,
                                         make_queue: MakeQueue) -> None:
    src = await make_queue("src")
    r1 = await Stream.from_(queen.queue(src)).window_tumbling(seconds=60).reduce(
        lambda a, v: a).foreach(lambda v: None).run(query_id=src, **FAST)
    await r1.stop()
    changed = Stream.from_(queen.queue(src)).window_tumbling(seconds=30).reduce(
        lambda a, v: a).foreach(lambda v: None)
    with pytest.raises(StreamsConfigHashMismatch, match="config_hash mismatch") as info:
        await changed.run(query_id=src, **FAST)
    assert isinstance(info.value, StreamsRegisterFailed)  # what upstream code catches
    r2 = await changed.run(query_id=src, reset=True, **FAST)
    await r2.stop()
    assert r2.metrics()["serverQueryId"] == r1.metrics()["serverQueryId"]


async def test_two_partitions_each_counted_once(queen: Queen, needs015: None,
                                                make_queue: MakeQueue) -> None:
    src, dst = await make_queue("src"), await make_queue("dst")
    for p, n in (("a", 40), ("b", 25)):
        await push(queen, src, p, [{"n": i} for i in range(n)])
    runner = await (Stream.from_(queen.queue(src))
                    .window_tumbling(seconds=1, idle_flush_ms=200)
                    .aggregate({"count": lambda v: 1, "sum": lambda v: v["n"]})
                    .to(queen.queue(dst))
                    .run(query_id=src, batch_size=30, max_partitions=2, **FAST))
    sink = Sink(queen, dst)
    try:
        await wait_for(lambda: runner.metrics()["messagesTotal"] == 65, "every message")

        async def totals_complete() -> bool:
            await sink.drain()
            got = sink.by_partition()
            return sum(d["count"] for d in got.get("a", [])) == 40 and sum(
                d["count"] for d in got.get("b", [])) == 25
        await wait_for(totals_complete, "both partitions' windows")
    finally:
        await runner.stop()
    got = sink.by_partition()
    assert sum(d["sum"] for d in got["a"]) == sum(range(40))
    assert sum(d["sum"] for d in got["b"]) == sum(range(25))


async def test_gate_lets_the_bucket_through_in_order(queen: Queen, needs015: None,
                                                     make_queue: MakeQueue) -> None:
    src, dst = await make_queue("src"), await make_queue("dst")
    await push(queen, src, "p", [{"i": i} for i in range(6)])
    runner = await (Stream.from_(queen.queue(src))
                    .gate(token_bucket_gate(capacity=3, refill_per_sec=0.001))
                    .to(queen.queue(dst))
                    .run(query_id=src, **FAST))
    sink = Sink(queen, dst)
    try:
        await wait_for(lambda: sink.count_at_least(3), "the first three")
        await wait_for(lambda: runner.metrics().get("gateDenialsTotal", 0) >= 1, "a denial")
    finally:
        await runner.stop()
    assert [d["i"] for _, d in sink.rows] == [0, 1, 2]
    assert runner.metrics()["gateAllowsTotal"] == 3


async def test_stop_ends_the_runner_and_a_new_one_continues(
        queen: Queen, needs015: None, make_queue: MakeQueue) -> None:
    src, dst = await make_queue("src"), await make_queue("dst")
    stream = Stream.from_(queen.queue(src)).map(lambda m: m["data"]).to(queen.queue(dst))
    runner = await stream.run(query_id=src, **FAST)
    await push(queen, src, "p", [{"i": 0}])
    sink = Sink(queen, dst)
    await wait_for(lambda: sink.count_at_least(1), "the first record")
    await runner.stop()
    assert not runner.running
    before = runner.metrics()["messagesTotal"]
    await push(queen, src, "p", [{"i": 1}])
    assert runner.metrics()["messagesTotal"] == before  # nothing runs after stop()
    again = await stream.run(query_id=src, **FAST)
    try:
        await wait_for(lambda: sink.count_at_least(2), "the record pushed after stop")
    finally:
        await again.stop()
    assert [d for _, d in sink.rows] == [{"i": 0}, {"i": 1}]


async def test_concurrent_pop_loops_keep_each_partition_in_order(
        queen: Queen, needs015: None, make_queue: MakeQueue) -> None:
    src, dst = await make_queue("src"), await make_queue("dst")
    for p in ("a", "b", "c"):
        await push(queen, src, p, [{"p": p, "i": i} for i in range(30)])
    runner = await (Stream.from_(queen.queue(src)).map(lambda m: m["data"])
                    .to(queen.queue(dst), partition=lambda v: v["p"])
                    .run(query_id=src, concurrency=3, batch_size=7, max_partitions=1, **FAST))
    sink = Sink(queen, dst)
    try:
        await wait_for(lambda: sink.count_at_least(90), "every record")
    finally:
        await runner.stop()
    got = sink.by_partition()
    assert {p: [d["i"] for d in rows] for p, rows in got.items()} == {
        p: list(range(30)) for p in ("a", "b", "c")}
    assert runner.metrics()["messagesTotal"] == 90


async def test_upstream_style_call_runs_unchanged(queen: Queen, queen_url: str, needs015: None,
                                                  make_queue: MakeQueue) -> None:
    """The call shape of upstream's docs: positional query id and url, camelCase
    window options, a rate-limiter gate, ``.to()``."""
    src, dst = await make_queue("src"), await make_queue("dst")
    await push(queen, src, "p", [{"n": i} for i in range(5)])
    runner = await (Stream.from_(queen.queue(src))
                    .gate(token_bucket_gate(capacity=100, refill_per_sec=100))
                    .to(queen.queue(dst))
                    .run(src, queen_url, batchSize=10, maxWaitMillis=200))
    sink = Sink(queen, dst)
    try:
        await wait_for(lambda: sink.count_at_least(5), "all five")
    finally:
        await runner.stop()
    assert [d["n"] for _, d in sink.rows] == [0, 1, 2, 3, 4]
    assert runner.batch_size == 10 and runner.consumer_group == f"streams.{src}"


async def test_async_callbacks_are_awaited(queen: Queen, needs015: None,
                                           make_queue: MakeQueue) -> None:
    src, dst, dst2 = (await make_queue("src"), await make_queue("dst"),
                      await make_queue("dst2"))

    async def amount(v: Dict[str, Any]) -> int:
        return int(v["a"])

    async def add(acc: int, v: Dict[str, Any]) -> int:
        return acc + int(v["a"])

    async def double(m: Dict[str, Any]) -> Dict[str, Any]:
        return {"a": m["data"]["a"] * 2}

    await push(queen, src, "p", [{"a": 1, "ts": 100}, {"a": 2, "ts": 200},
                                 {"a": 0, "ts": 50000}])
    agg = await (Stream.from_(queen.queue(src)).map(double)
                 .window_tumbling(seconds=10, event_time=lambda m: m["data"]["ts"])
                 .aggregate({"sum": amount, "count": lambda v: 1})
                 .to(queen.queue(dst)).run(query_id=src + "-agg", **FAST))
    red = await (Stream.from_(queen.queue(src))
                 .window_tumbling(seconds=10, event_time=lambda m: m["data"]["ts"])
                 .reduce(add, 0).to(queen.queue(dst2)).run(query_id=src + "-red", **FAST))
    s1, s2 = Sink(queen, dst), Sink(queen, dst2)
    try:
        await wait_for(lambda: s1.count_at_least(1), "the aggregate")
        await wait_for(lambda: s2.count_at_least(1), "the reduce")
    finally:
        await agg.stop()
        await red.stop()
    assert [d for _, d in s1.rows] == [{"sum": 6, "count": 2}]
    assert [d for _, d in s2.rows] == [{"value": 3}]
