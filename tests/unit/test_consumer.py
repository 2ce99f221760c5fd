"""The consume engine against an in-memory fake of the seam (seam.Host) it uses."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from queen.builders.consume import ConsumeBuilder
from queen.consumer import Consumer
from queen.errors import (
    QueenConnectionError,
    QueenHTTPError,
    QueenServerFeatureError,
    QueenTimeoutError,
    QueenValidationError,
)
from queen.types import ConsumeOptions, PopSpec

SAFETY = 10.0  # s; only reached when the engine hangs


class FakeHost:
    """Messages in a list; pop hands out the oldest, long polls wait for a push."""

    def __init__(self, count: int = 0) -> None:
        self.ready: List[Dict[str, Any]] = []
        self.specs: List[PopSpec] = []
        self.acks: List[tuple[Any, Any, Optional[Dict[str, Any]]]] = []
        self.renews: List[List[Dict[str, Any]]] = []
        self.pop_errors: List[BaseException] = []
        self.ack_errors: List[BaseException] = []
        self.arrived = asyncio.Event()
        self.pops_waiting = 0
        self.pushed = 0
        self.push(count)

    def push(self, count: int) -> None:
        for _ in range(count):
            i = self.pushed
            self.pushed += 1
            self.ready.append({"transactionId": f"t{i}", "partitionId": "p", "leaseId": f"l{i}",
                               "data": {"i": i}, "queue": "q", "consumerGroup": None})
        if count:
            self.arrived.set()

    closed = False

    async def pop(self, spec: PopSpec) -> List[Dict[str, Any]]:
        self.specs.append(spec)
        if self.pop_errors:
            raise self.pop_errors.pop(0)
        if not self.ready and spec.wait:
            self.arrived.clear()
            self.pops_waiting += 1
            try:
                await asyncio.wait_for(self.arrived.wait(), spec.timeout_millis / 1000)
            except asyncio.TimeoutError:
                pass
            finally:
                self.pops_waiting -= 1
        taken, self.ready = self.ready[: spec.batch], self.ready[spec.batch:]
        await asyncio.sleep(0)
        return taken

    async def ack(self, target: Any, status: Any, context: Optional[Dict[str, Any]] = None) -> Any:
        await asyncio.sleep(0)
        if self.ack_errors:
            raise self.ack_errors.pop(0)
        self.acks.append((target, status, context))
        return {"success": True}

    async def renew(self, target: Any) -> Any:
        self.renews.append(list(target))
        return []

    def acked(self, status: Any) -> List[int]:
        out: List[int] = []
        for target, got, _ in self.acks:
            if got == status:
                items = target if isinstance(target, list) else [target]
                out.extend(m["data"]["i"] for m in items)
        return out


def opts(**kw: Any) -> ConsumeOptions:
    pop_kw = {k: kw.pop(k) for k in ("wait", "timeout_millis", "group", "subscription_mode",
                                      "subscription_from", "partition") if k in kw}
    pop = PopSpec(queue="q", wait=pop_kw.pop("wait", True), **pop_kw)
    return ConsumeOptions(pop=pop, **kw)


async def run(builder: Any) -> None:
    await asyncio.wait_for(builder, SAFETY)


async def until(predicate: Any) -> None:
    for _ in range(int(SAFETY / 0.005)):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never became true")


async def test_single_messages_are_handled_and_acked() -> None:
    q = FakeHost(5)
    seen: List[int] = []

    async def handler(message: Dict[str, Any]) -> None:
        assert isinstance(message, dict)
        seen.append(message["data"]["i"])

    await run(ConsumeBuilder(q, opts(limit=5), handler))
    assert seen == [0, 1, 2, 3, 4]
    assert q.acked(True) == [0, 1, 2, 3, 4]
    assert all(not isinstance(t, list) for t, _, _ in q.acks)
    assert all(s.batch == 1 and s.wait for s in q.specs)


async def test_batch_handler_gets_lists_and_one_ack_per_batch() -> None:
    q = FakeHost(7)
    batches: List[List[int]] = []

    async def handler(messages: List[Dict[str, Any]]) -> str:
        batches.append([m["data"]["i"] for m in messages])
        return "ok"

    await run(ConsumeBuilder(q, opts(batch=3, limit=7), handler))
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(q.acks) == 3
    assert q.acked(True) == list(range(7))


async def test_each_hands_single_messages_fetched_in_batches() -> None:
    q = FakeHost(6)
    seen: List[Any] = []

    async def handler(message: Dict[str, Any]) -> None:
        seen.append(message)
        if message["data"]["i"] == 1:
            raise ValueError("bad one")

    await run(ConsumeBuilder(q, opts(batch=3, each=True, limit=6), handler))
    assert [m["data"]["i"] for m in seen] == list(range(6))
    assert all(s.batch == 3 for s in q.specs)
    # prefix [0] acked before the nack of 1, then [2] after; [3,4,5] in one request
    assert [(t["data"]["i"] if isinstance(t, dict) else [m["data"]["i"] for m in t], s)
            for t, s, _ in q.acks] == [(0, True), (1, False), (2, True), ([3, 4, 5], True)]
    assert q.acks[1][2] == {"error": "bad one"}


async def test_limit_counts_per_worker_and_never_cuts_a_batch() -> None:
    # upstream: each worker counts its own messages, checked before each pop
    q = FakeHost(50)
    seen: List[int] = []

    async def handler(messages: List[Dict[str, Any]]) -> None:
        await asyncio.sleep(0.001)
        seen.extend(m["data"]["i"] for m in messages)

    await run(ConsumeBuilder(q, opts(batch=4, concurrency=3, limit=10), handler))
    assert sorted(seen) == list(range(36))  # three workers, three whole batches of 4 each
    assert all(s.batch == 4 for s in q.specs)
    assert len(q.ready) == 14 and sorted(q.acked(True)) == list(range(36))


@pytest.mark.parametrize("concurrency, handled", [(1, 5), (2, 10)])
async def test_limit_is_checked_before_each_pop(concurrency: int, handled: int) -> None:
    # the spec's stub observation: 5 messages per pop, limit(3) -> 5 (10 with 2 workers)
    q = FakeHost(20)
    seen: List[int] = []

    async def handler(messages: List[Dict[str, Any]]) -> None:
        seen.extend(m["data"]["i"] for m in messages)

    await run(ConsumeBuilder(q, opts(batch=5, concurrency=concurrency, limit=3), handler))
    assert sorted(seen) == list(range(handled))


async def test_idle_millis_stops_and_bounds_the_long_poll() -> None:
    q = FakeHost(2)
    builder = ConsumeBuilder(q, opts(idle_millis=150, concurrency=2), lambda m: asyncio.sleep(0))
    await run(builder)
    assert q.acked(True) == [0, 1]
    assert all(s.timeout_millis <= 150 for s in q.specs)
    assert builder.consumer is not None and builder.consumer.processed == 2


async def test_short_polling_backs_off_when_empty() -> None:
    q = FakeHost(0)
    await run(ConsumeBuilder(q, opts(wait=False, idle_millis=300), lambda m: asyncio.sleep(0)))
    assert all(not s.wait for s in q.specs)
    assert 1 <= len(q.specs) < 30  # a busy spin would pop thousands of times


async def test_signal_cancels_a_pending_long_poll() -> None:
    q = FakeHost(0)
    signal = asyncio.Event()
    task = asyncio.ensure_future(ConsumeBuilder(q, opts(concurrency=3), lambda m: None, signal))
    await until(lambda: q.pops_waiting == 3)
    signal.set()
    await asyncio.wait_for(task, SAFETY)
    assert q.pops_waiting == 0


async def test_signal_lets_the_running_handler_finish_and_ack() -> None:
    q = FakeHost(3)
    signal = asyncio.Event()
    started = asyncio.Event()
    release = asyncio.Event()

    async def handler(message: Dict[str, Any]) -> None:
        started.set()
        await release.wait()

    task = asyncio.create_task(ConsumeBuilder(q, opts(), handler, signal))
    await asyncio.wait_for(started.wait(), SAFETY)
    signal.set()
    await asyncio.sleep(0.01)
    assert not task.done()
    release.set()
    await asyncio.wait_for(task, SAFETY)
    assert q.acked(True) == [0]
    assert len(q.ready) == 2


async def test_signal_already_set_pops_nothing() -> None:
    q = FakeHost(3)
    signal = asyncio.Event()
    signal.set()
    await run(ConsumeBuilder(q, opts(), lambda m: None, signal))
    assert q.specs == []


async def test_transient_pop_errors_are_retried() -> None:
    q = FakeHost(2)
    q.pop_errors = [QueenConnectionError("down"), QueenTimeoutError("slow"),
                    QueenHTTPError("boom", status=503)]
    await run(ConsumeBuilder(q, opts(limit=2), lambda m: None))
    assert q.acked(True) == [0, 1]


@pytest.mark.parametrize("error", [
    QueenServerFeatureError("namespace/task pop", "0.15"),
    QueenValidationError("bad"),
    QueenHTTPError("bad request", status=400),
])
async def test_fatal_pop_errors_end_consume(error: Exception) -> None:
    q = FakeHost(0)
    q.pop_errors = [error]
    with pytest.raises(type(error)):
        await run(ConsumeBuilder(q, opts(concurrency=2), lambda m: None))


async def test_closed_client_ends_consume() -> None:
    q = FakeHost(0)
    q.closed = True
    q.pop_errors = [QueenConnectionError("this Queen client is closed: create a new one")]
    with pytest.raises(QueenConnectionError):
        await run(ConsumeBuilder(q, opts(), lambda m: None))


async def test_handler_error_goes_to_on_error_which_decides(caplog: Any) -> None:
    q = FakeHost(1)
    errors: List[Any] = []

    async def handler(message: Dict[str, Any]) -> None:
        raise RuntimeError("kaput")

    async def on_error(message: Any, error: Exception) -> None:
        errors.append((message["data"]["i"], str(error)))

    await run(ConsumeBuilder(q, opts(limit=1), handler).on_error(on_error))
    assert q.acks == []  # a callback turns auto-ack off: on_error acks (here: not at all)
    assert errors == [(0, "kaput")]


async def test_callbacks_turn_auto_ack_off() -> None:
    q = FakeHost(2)
    seen: List[Any] = []

    async def on_success(message: Any, result: Any) -> None:
        seen.append((message["data"]["i"], result))
        await q.ack(message, True, {"group": None})

    await run(ConsumeBuilder(q, opts(limit=2, auto_ack=True), lambda m: "r")
              .on_success(on_success))
    assert seen == [(0, "r"), (1, "r")]
    assert [c for _, _, c in q.acks] == [{"group": None}] * 2  # only the callback's acks


async def test_handler_error_without_on_error_is_nacked_and_logged(caplog: Any) -> None:
    q = FakeHost(1)

    def handler(message: Dict[str, Any]) -> None:
        raise KeyError("missing")

    with caplog.at_level("WARNING", logger="queen"):
        await run(ConsumeBuilder(q, opts(limit=1, auto_ack=False), handler))
    assert q.acked(False) == [0]
    # reported once, as an error of the consumer (nobody else sees it), with its traceback
    [record] = [r for r in caplog.records if r.name.startswith("queen")]
    assert record.name == "queen.consumer" and record.levelname == "ERROR"
    assert record.queen_event == "Consumer.handler"  # type: ignore[attr-defined]
    assert "missing" in record.getMessage() and record.exc_info is not None


async def test_manual_ack_with_on_error_leaves_the_decision_to_it() -> None:
    q = FakeHost(2)
    decided: List[int] = []

    async def handler(message: Dict[str, Any]) -> str:
        if message["data"]["i"] == 0:
            raise RuntimeError("temporary")
        await q.ack(message, True)
        return "done"

    def on_error(message: Any, error: Exception) -> None:
        decided.append(message["data"]["i"])

    successes: List[Any] = []
    await run(ConsumeBuilder(q, opts(limit=2, auto_ack=False), handler)
              .on_error(on_error).on_success(lambda m, r: successes.append((m["data"]["i"], r))))
    assert decided == [0]
    assert q.acked(True) == [1] and q.acked(False) == []
    assert successes == [(1, "done")]


async def test_batch_failure_nacks_the_whole_batch() -> None:
    q = FakeHost(4)

    async def handler(messages: List[Dict[str, Any]]) -> None:
        raise ValueError("nope")

    await run(ConsumeBuilder(q, opts(batch=4, limit=4), handler))
    assert q.acked(False) == [0, 1, 2, 3] and len(q.acks) == 1


async def test_failed_auto_ack_is_logged_and_consuming_goes_on(caplog: Any) -> None:
    q = FakeHost(2)
    q.ack_errors = [QueenHTTPError("invalid_lease", status=200)]
    seen: List[int] = []
    await run(ConsumeBuilder(q, opts(limit=2), lambda m: seen.append(m["data"]["i"])))
    assert seen == [0, 1] and q.acked(True) == [1]
    assert "Consumer.ack" in caplog.text and "invalid_lease" in caplog.text


async def test_rejected_auto_ack_result_is_logged(caplog: Any) -> None:
    q = FakeHost(2)
    results = iter([{"success": False, "error": "invalid_lease"}, {"success": True}])

    async def ack(target: Any, status: Any, context: Any = None) -> Any:
        return next(results)

    q.ack = ack  # type: ignore[method-assign]
    await run(ConsumeBuilder(q, opts(limit=2), lambda m: "r"))
    assert "ack rejected by the server: invalid_lease" in caplog.text


async def test_failing_on_success_goes_to_on_error() -> None:
    q = FakeHost(2)
    seen: List[str] = []

    def on_success(message: Any, result: Any) -> None:
        raise RuntimeError(f"callback bug {message['data']['i']}")

    await run(ConsumeBuilder(q, opts(limit=2), lambda m: None).on_success(on_success)
              .on_error(lambda m, e: seen.append(str(e))))
    assert seen == ["callback bug 0", "callback bug 1"] and q.acks == []


async def test_failing_on_success_alone_nacks_and_goes_on() -> None:
    q = FakeHost(3)

    def on_success(message: Any, result: Any) -> None:
        raise RuntimeError("callback bug")

    await run(ConsumeBuilder(q, opts(limit=3), lambda m: None).on_success(on_success))
    assert q.acked(False) == [0, 1, 2]  # nobody acked: nacked, so they come back soon


async def test_lease_is_renewed_only_while_the_handler_runs() -> None:
    q = FakeHost(1)

    async def handler(message: Dict[str, Any]) -> None:
        await until(lambda: len(q.renews) >= 2)

    await run(ConsumeBuilder(q, opts(limit=1, renew_lease=True, renew_interval_millis=20),
                             handler))
    assert len(q.renews) >= 2
    assert all([m["leaseId"] for m in r] == ["l0"] for r in q.renews)


async def test_renewer_does_not_renew_between_handlers() -> None:
    q = FakeHost(0)
    signal = asyncio.Event()
    task = asyncio.ensure_future(ConsumeBuilder(
        q, opts(renew_lease=True, renew_interval_millis=5), lambda m: None, signal))
    await until(lambda: q.specs)
    await asyncio.sleep(0.05)
    signal.set()
    await asyncio.wait_for(task, SAFETY)
    assert q.renews == []


async def test_pop_spec_passes_through() -> None:
    q = FakeHost(1)
    o = opts(limit=1, group="g", subscription_mode="new", subscription_from="now",
             partition="p1", timeout_millis=1234)
    await run(ConsumeBuilder(q, o, lambda m: None))
    assert q.specs[0] == o.pop
    assert q.specs[0] is o.pop  # reused, not rebuilt


async def test_builder_is_a_coroutine_for_create_task() -> None:
    q = FakeHost(1)
    builder = ConsumeBuilder(q, opts(limit=1), lambda m: None)
    task = asyncio.create_task(builder)
    await asyncio.wait_for(task, SAFETY)
    with pytest.raises(QueenValidationError):
        builder.on_success(lambda m, r: None)


async def test_validation() -> None:
    q = FakeHost(0)
    with pytest.raises(QueenValidationError):
        ConsumeBuilder(q, opts(), "not callable")  # type: ignore[arg-type]
    with pytest.raises(QueenValidationError):
        ConsumeBuilder(q, opts(), lambda m: None).on_error(42)  # type: ignore[arg-type]
    with pytest.raises(QueenValidationError):
        Consumer(q, opts(concurrency=0), lambda m: None)
    with pytest.raises(QueenValidationError):
        Consumer(q, opts(limit=0), lambda m: None)


async def test_outside_cancellation_leaves_no_tasks_behind() -> None:
    q = FakeHost(0)
    before = len(asyncio.all_tasks())
    task = asyncio.ensure_future(ConsumeBuilder(q, opts(concurrency=3), lambda m: None))
    await until(lambda: q.pops_waiting == 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) == before


async def test_worker_dying_of_cancelled_handler_stops_the_others() -> None:
    q = FakeHost(1)

    async def handler(message: Dict[str, Any]) -> None:
        raise asyncio.CancelledError()

    before = len(asyncio.all_tasks())
    with pytest.raises(asyncio.CancelledError):
        await run(ConsumeBuilder(q, opts(concurrency=2), handler))
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) == before


@given(limit=st.integers(1, 40), batch=st.integers(1, 8), concurrency=st.integers(1, 4),
       each=st.booleans(), available=st.integers(0, 60))
@settings(max_examples=40, deadline=None)
def test_limit_property(limit: int, batch: int, concurrency: int, each: bool,
                        available: int) -> None:
    async def scenario() -> None:
        q = FakeHost(available)
        seen: List[int] = []

        async def handler(target: Any) -> None:
            items = target if isinstance(target, list) else [target]
            assert isinstance(target, list) == (batch > 1 and not each)
            await asyncio.sleep(0)
            seen.extend(m["data"]["i"] for m in items)

        await run(ConsumeBuilder(q, opts(limit=limit, batch=batch, concurrency=concurrency,
                                          each=each, idle_millis=50), handler))
        whole = -(-limit // batch) * batch  # one worker's most: whole batches up to the limit
        assert sorted(seen) == list(range(len(seen)))  # each message once, oldest first
        if concurrency == 1:
            assert len(seen) == min(available, whole)
        assert min(available, limit) <= len(seen) <= min(available, concurrency * whole)
        assert sorted(q.acked(True)) == sorted(seen)

    asyncio.run(scenario())


async def test_handler_failure_is_logged_by_queen_log(monkeypatch: Any) -> None:
    import io

    from queen import log

    out = io.StringIO()
    monkeypatch.setenv(log.ENV_VAR, "true")
    log.refresh()
    log.set_stream(out)
    try:
        q = FakeHost(1)

        async def handler(message: Dict[str, Any]) -> None:
            raise ValueError("broken payload")

        await run(ConsumeBuilder(q, opts(limit=1), handler).on_error(lambda m, e: None))
    finally:
        log.set_stream(None)
        monkeypatch.delenv(log.ENV_VAR)
        log.refresh()
    lines = [line for line in out.getvalue().splitlines() if "Consumer.handler" in line]
    assert len(lines) == 1
    assert "[WARN] [Consumer.handler]" in lines[0]
    assert "broken payload" in lines[0] and '"handed-to-on_error"' in lines[0]
