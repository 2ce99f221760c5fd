"""Failures the server decides (embedded 0.15 with a fake clock): a cycle whose lease
expired while it was computed is refused and stores nothing; a gate that raises gives
its batch back at once."""

from __future__ import annotations

from typing import Any, Callable, Dict, List

from queen import Queen, Stream
from queen.testing import FakeClock

from .helpers import Sink, wait_for


async def test_a_cycle_refused_for_an_expired_lease_stores_nothing(
        embedded_server: Callable[..., Any]) -> None:
    clock = FakeClock()
    srv = embedded_server(compat="0.15", clock=clock)
    slow: List[int] = []

    def work(m: Dict[str, Any]) -> Dict[str, Any]:
        if not slow:
            slow.append(1)
            srv.advance(31)  # "takes" longer than the 30 s lease
        return m["data"]

    async with Queen(srv.url) as q:
        await q.queue("src").config({"leaseTime": 30}).create()
        await q.queue("src").partition("p").push([{"i": i} for i in range(3)])
        errors: List[Dict[str, Any]] = []
        runner = await (Stream.from_(q.queue("src")).map(work).to(q.queue("dst"))
                        .run(query_id="refused", max_wait_millis=100,
                             on_error=lambda e, ctx: errors.append({"err": str(e), **ctx})))
        sink = Sink(q, "dst")
        try:
            await wait_for(lambda: sink.count_at_least(3), "the recomputed cycle")
            await wait_for(lambda: runner.metrics()["messagesTotal"] == 3, "its commit")
        finally:
            await runner.stop()
    assert [d for _, d in sink.rows] == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert errors[0]["phase"] == "cycle" and "Invalid or expired lease" in errors[0]["err"]


async def test_a_gate_that_raises_gives_the_batch_back(embedded_server: Callable[..., Any]
                                                       ) -> None:
    srv = embedded_server(compat="0.15")
    raised: List[int] = []

    def gate(value: Any, ctx: Any) -> bool:
        if not raised:
            raised.append(1)
            raise ValueError("flaky gate")
        ctx.state["seen"] = ctx.state.get("seen", 0) + 1
        return True

    async with Queen(srv.url) as q:
        await q.queue("src").config({"leaseTime": 300}).create()
        await q.queue("src").partition("p").push([{"i": i} for i in range(3)])
        errors: List[Dict[str, Any]] = []
        runner = await (Stream.from_(q.queue("src")).gate(gate).to(q.queue("dst"))
                        .run(query_id="gate-raises", max_wait_millis=100,
                             on_error=lambda e, ctx: errors.append(ctx)))
        sink = Sink(q, "dst")
        try:
            # long before the 300 s lease would have expired
            await wait_for(lambda: sink.count_at_least(3), "the batch after the error", 20)
        finally:
            await runner.stop()
    assert [d["i"] for _, d in sink.rows] == [0, 1, 2]
    assert errors[0]["phase"] == "gate-eval"
    assert runner.metrics()["gateAllowsTotal"] == 3


async def test_pop_errors_are_reported_not_swallowed(embedded_server: Callable[..., Any]) -> None:
    srv = embedded_server(compat="0.15")
    async with Queen({"url": srv.url, "retry_attempts": 1}) as q:
        await q.queue("src").create()
        errors: List[Dict[str, Any]] = []
        runner = await (Stream.from_(q.queue("src")).foreach(lambda v: None)
                        .run(query_id="down", max_wait_millis=100,
                             on_error=lambda e, ctx: errors.append(ctx)))
        try:
            srv.close()  # the server goes away under the running stream
            await wait_for(lambda: any(e["phase"] == "pop" for e in errors), "a pop error")
        finally:
            await runner.stop()
    assert runner.metrics()["errorsTotal"] >= 1 and runner.metrics()["lastError"]
