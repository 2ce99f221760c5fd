"""One resend rule, checked through a fault proxy: a pop, ack, transaction or lease
extend whose bytes were written is never sent twice (the caller gets
QueenOutcomeUnknownError, and a pop never answers []), while a push -- safe to send
again thanks to its client-made transactionIds -- is sent again and stored once."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict

import pytest
from fault_helpers import stored
from fault_proxy import Fault, FaultProxy

from queen import Queen, QueenOutcomeUnknownError, QueenTimeoutError

BREAKS = ["close", "reset", "partial", "truncate", "garbage"]
OPS = ["pop", "ack", "transaction", "renew"]
PATHS = {"pop": "/api/v1/pop", "ack": "/api/v1/ack", "transaction": "/api/v1/transaction",
         "renew": "/api/v1/lease", "push": "/api/v1/push"}


@pytest.fixture(params=["httptools", "aiohttp"])
async def proxied(request: pytest.FixtureRequest, proxy: FaultProxy,
                  monkeypatch: pytest.MonkeyPatch, queen: Queen) -> Any:
    monkeypatch.setenv("QUEEN_HTTP1_BACKEND", request.param)
    gen = await queen._generation()
    async with Queen({"url": proxy.url, "timeout_millis": 1500, "server_version": gen,
                      "retry_attempts": 2, "retry_delay_millis": 10}) as q:
        yield q


async def setup_op(queen: Queen, op: str, name: str) -> Callable[[Queen], Awaitable[Any]]:
    """Prepare the server for ``op`` and return the call that performs it."""
    await queen.queue(name).config({"leaseTime": 30}).create()
    await queen.queue(name).push([{"data": {"n": 1}}])
    if op == "pop":
        return lambda q: q.queue(name).batch(1).wait(False).pop()
    (message,) = await queen.queue(name).batch(1).wait(False).pop()
    if op == "ack":
        return lambda q: q.ack(message, True)
    if op == "renew":
        return lambda q: q.renew(message, 30)
    return lambda q: q.transaction().ack(message).queue(name).push([{"data": {"n": 2}}]).commit()


@pytest.mark.parametrize("forward", [True, False], ids=["server-acted", "never-arrived"])
@pytest.mark.parametrize("kind", BREAKS)
@pytest.mark.parametrize("op", OPS)
async def test_not_sent_twice(proxied: Queen, proxy: FaultProxy, queen: Queen, unique_name: Any,
                              op: str, kind: str, forward: bool) -> None:
    call = await setup_op(queen, op, unique_name(op))
    proxy.plan(Fault(kind, forward=forward), match=PATHS[op], times=5)
    with pytest.raises(QueenOutcomeUnknownError, match="may have"):
        await call(proxied)
    assert len(proxy.to(PATHS[op])) == 1  # sent once, never again


@pytest.mark.parametrize("op", OPS)
async def test_timeout_is_outcome_unknown(proxied: Queen, proxy: FaultProxy, queen: Queen,
                                          unique_name: Any, op: str) -> None:
    call = await setup_op(queen, op, unique_name(op))
    proxy.plan(Fault("blackhole", forward=True), match=PATHS[op])
    with pytest.raises(QueenOutcomeUnknownError) as info:
        await call(proxied)
    assert isinstance(info.value, QueenTimeoutError)  # a timeout still looks like one
    assert len(proxy.to(PATHS[op])) == 1


@pytest.mark.parametrize("forward", [True, False], ids=["server-acted", "never-arrived"])
@pytest.mark.parametrize("kind", BREAKS + ["blackhole"])
async def test_push_is_sent_again_and_stored_once(
    proxied: Queen, proxy: FaultProxy, queen: Queen, unique_name: Any, kind: str, forward: bool
) -> None:
    name = unique_name("push")
    await queen.queue(name).create()
    proxy.plan(Fault(kind, forward=forward), match="/api/v1/push")
    results = await proxied.queue(name).push([{"data": {"n": i}} for i in range(3)])
    assert {r["status"] for r in results} <= {"queued", "duplicate"}
    assert len(proxy.to("/api/v1/push")) == 2
    assert sorted(d["n"] for d in await stored(queen, name)) == [0, 1, 2]


async def test_push_fails_over_after_timeout(queen_url: str, unique_name: Any, queen: Queen) -> None:
    name = unique_name("push-to")
    await queen.queue(name).create()
    async with FaultProxy(queen_url) as hung, FaultProxy(queen_url) as fine:
        hung.plan(Fault("blackhole", forward=False), match="/api/v1/push", times=100)
        gen = await queen._generation()
        cfg: Dict[str, Any] = {"urls": [hung.url, fine.url], "timeout_millis": 500,
                               "server_version": gen, "load_balancing_strategy": "round-robin"}
        async with Queen(cfg) as q:
            for i in range(4):
                await q.queue(name).push([{"data": {"n": i}}])
        assert len(fine.to("/api/v1/push")) == 4
        assert len(hung.to("/api/v1/push")) >= 1  # some went there first, then over
    assert sorted(d["n"] for d in await stored(queen, name)) == [0, 1, 2, 3]
