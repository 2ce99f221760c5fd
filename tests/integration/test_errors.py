"""Error handling and validation: what raises, when, and with what."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from client_helpers import unused_url

from queen import (
    Queen,
    QueenConnectionError,
    QueenError,
    QueenHTTPError,
    QueenValidationError,
)


async def handler(message: Any) -> None:
    return None


@pytest.mark.parametrize("build", [
    lambda q: q.queue("x").consume("not callable"),
    lambda q: q.queue("x").concurrency(0).consume(handler),
    lambda q: q.queue("x").batch(0),
    lambda q: q.queue("x").limit(-1),
    lambda q: q.queue("x").idle_millis(-1),
    lambda q: q.queue("x").renew_lease(True, 0),
    lambda q: q.queue("x").renew_lease("yes"),
    lambda q: q.queue().consume(handler),
    lambda q: q.queue("x").group(""),
    lambda q: q.queue("x").partition("a b"),
])
def test_consume_validation_before_sending(queen: Queen, build: Any) -> None:
    with pytest.raises(QueenValidationError):
        build(queen)


async def test_consume_builder_carries_options(queen: Queen) -> None:
    built = (queen.queue("orders").partition("p").group("g").concurrency(3).batch(20)
             .limit(100).idle_millis(500).auto_ack(False).wait(False)
             .renew_lease(True, 1000).subscription_mode("new").each()
             .consume(handler, signal=asyncio.Event()))
    opts = built.options
    assert (opts.concurrency, opts.batch, opts.limit, opts.idle_millis) == (3, 20, 100, 500)
    assert opts.auto_ack is False and opts.each is True and opts.renew_lease is True
    assert opts.renew_interval_millis == 1000
    spec = opts.pop
    assert (spec.queue, spec.partition, spec.group, spec.batch) == ("orders", "p", "g", 20)
    assert spec.wait is False and spec.auto_ack is False and spec.subscription_mode == "new"


async def test_consume_defaults(queen: Queen) -> None:
    built = queen.queue("orders").consume(handler)
    opts = built.options
    assert opts.auto_ack is True and opts.batch == 1 and opts.concurrency == 1
    assert opts.pop.wait is True and opts.pop.auto_ack is False


async def test_http_error_carries_details(queen: Queen, unique_name: Any) -> None:
    ghost = {"transactionId": "01900000-0000-7000-8000-000000000000",
             "partitionId": "11111111-2222-4333-8444-555555555555"}
    with pytest.raises(QueenHTTPError) as info:  # both generations roll it back
        await (queen.transaction().ack(ghost).queue(unique_name("q"))
               .push([{"data": 1}]).commit())
    err = info.value
    assert err.method == "POST" and err.url and "/transaction" in err.url
    assert err.status is not None and err.message
    assert isinstance(err, QueenError)


async def test_unreachable_server() -> None:
    async with Queen({"url": unused_url(), "retry_attempts": 0}) as q:
        with pytest.raises(QueenConnectionError):
            await q.queue("x").create()
