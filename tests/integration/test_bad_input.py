"""Bad input is a typed error before anything is sent, and a password in a server URL
never shows: not in reprs, not in error texts, not in logs."""

from __future__ import annotations

import io
import math
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest

from queen import Queen, QueenHTTPError, QueenValidationError, log


@pytest.mark.parametrize("messages", [
    [{"data": {"price": math.nan}}],
    [{"data": {"ok": 1}}, {"data": [1, math.inf]}],
    [{"data": -math.inf}],
    [{"data": 1, "transactionId": "t" * 256}],
    [{"data": 1, "transactionId": 42}],
    [{"data": 1, "transactionId": ""}],
])
@pytest.mark.parametrize("buffered", [False, True])
async def test_push_refuses_before_sending(
    proxied: Queen, recorder: Any, messages: Any, buffered: bool
) -> None:
    q = proxied.queue("never-created")
    if buffered:
        q = q.buffer({"message_count": 1, "time_millis": 10})
    with pytest.raises(QueenValidationError) as info:
        await q.push(messages)
    assert "message" in str(info.value)
    await proxied.flush_all_buffers()
    assert recorder.requests == []


async def test_nan_error_names_the_place(proxied: Queen) -> None:
    with pytest.raises(QueenValidationError, match=r"message 1: data\['a'\]\[0\] is nan"):
        await proxied.queue("q").push([{"data": 1}, {"data": {"a": [math.nan]}}])


async def test_transaction_and_queue_options_refuse_nan(
    proxied: Queen, recorder: Any
) -> None:
    with pytest.raises(QueenValidationError, match="is inf"):
        await proxied.transaction().queue("q").push([{"data": math.inf}]).commit()
    with pytest.raises(QueenValidationError, match="nan"):
        await proxied.queue("q").config({"retentionSeconds": math.nan}).create()
    assert recorder.requests == []


@pytest.mark.parametrize("target", [None, 123, "a-transaction-id", b"bytes", 4.5])
async def test_ack_takes_messages_only(proxied: Queen, recorder: Any, target: Any) -> None:
    with pytest.raises(QueenValidationError, match="ack takes"):
        await proxied.ack(target)
    assert recorder.to("/api/v1/ack") == []


@pytest.mark.parametrize("target", [[None], [123], [{"transactionId": "t"}]])
async def test_ack_items_must_be_messages(proxied: Queen, recorder: Any, target: Any) -> None:
    with pytest.raises(QueenValidationError):
        await proxied.ack(target)
    assert recorder.to("/api/v1/ack") == []


# ---------------------------------------------------------------- secrets in URLs

SECRET = "s3cr3t-pa55"


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Any:
    buf = io.StringIO()
    monkeypatch.setenv("QUEEN_CLIENT_LOG", "true")
    log.refresh()
    log.set_stream(buf)
    yield buf
    log.set_stream(None)
    monkeypatch.delenv("QUEEN_CLIENT_LOG")
    log.refresh()


@pytest.fixture
async def with_password(queen_url: str) -> AsyncIterator[Queen]:
    scheme, rest = queen_url.split("://")
    async with Queen(f"{scheme}://admin:{SECRET}@{rest}") as q:
        yield q


async def test_url_password_never_shows(
    with_password: Queen, captured: io.StringIO, make_queue: Callable[..., Awaitable[str]],
) -> None:
    q = with_password
    name = await make_queue("redact")
    await q.queue(name).push([{"data": {"n": 1}}])
    messages = await q.queue(name).batch(1).wait(False).pop()
    assert messages
    shown = [repr(q), repr(messages), str(messages[0]), repr(q._config)]
    ghost = {"transactionId": "01900000-0000-7000-8000-000000000000",
             "partitionId": "11111111-2222-4333-8444-555555555555"}
    with pytest.raises(QueenHTTPError) as info:  # both generations roll it back
        await q.transaction().ack(ghost).queue(name).push([{"data": 1}]).commit()
    err = info.value
    assert err.url and "/transaction" in err.url
    shown += [str(err), repr(err), str(err.url)]
    await q.ack(messages)
    shown.append(captured.getvalue())
    assert captured.getvalue()  # logging was on
    for text in shown:
        assert SECRET not in text
    assert "[REDACTED]" in repr(q)


@pytest.mark.parametrize("url", [
    f"http://admin:{SECRET}@host:notaport",
    f"ftp://admin:{SECRET}@host",
    f"http://admin:{SECRET}@host?x=1",
    [f"http://admin:{SECRET}@host", f"http://admin:{SECRET}@host"],
])
def test_config_errors_hide_the_password(url: Any) -> None:
    with pytest.raises(QueenValidationError) as info:
        Queen(url)
    assert SECRET not in str(info.value)


def test_password_with_at_sign_is_hidden_too() -> None:
    text = log.redact("POST http://user:p@ss@host:1/x failed")
    assert "ss@" not in text and "p@" not in text and "host:1/x" in text
