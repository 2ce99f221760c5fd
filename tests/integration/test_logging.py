"""QUEEN_CLIENT_LOG=true: one structured line per client event; the same events go
to the standard logging module (logger ``queen.<area>``)."""

from __future__ import annotations

import io
import json
from typing import Any, Iterator

import pytest

from queen import Queen, log


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    monkeypatch.setenv("QUEEN_CLIENT_LOG", "true")
    log.refresh()
    out = io.StringIO()
    log.set_stream(out)
    try:
        yield out
    finally:
        log.set_stream(None)
        monkeypatch.delenv("QUEEN_CLIENT_LOG")
        log.refresh()


def events(out: io.StringIO) -> list:
    found = []
    for line in out.getvalue().splitlines():
        _stamp, level, op, detail = line.split(" ", 3)
        found.append((level.strip("[]"), op.strip("[]"), json.loads(detail)))
    return found


async def test_constructor_push_and_request_lines(log_lines: io.StringIO, queen_url: str,
                                                  unique_name: Any) -> None:
    async with Queen(queen_url) as q:
        name = unique_name("log")
        await q.queue(name).create()
        await q.queue(name).push([{"data": i} for i in range(5)])
    got = events(log_lines)
    assert ("INFO", "Queen.constructor", {"status": "initialized", "urls": 1}) in got
    pushes = [d for _lvl, op, d in got if op == "PushBuilder.push"]
    assert pushes == [{"queue": name, "partition": "Default", "count": 5}]
    assert any(op == "Transport.request" and d["method"] == "POST" for _l, op, d in got)
    assert any(op == "Queen.close" for _l, op, _d in got)


async def test_silent_when_disabled(queen_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    log.refresh()
    async with Queen(queen_url):
        pass
    assert "Queen.constructor" not in capsys.readouterr().err


async def test_rejected_ack_is_logged(log_lines: io.StringIO, queen: Queen, make_queue: Any) -> None:
    q = await make_queue("log-ack")
    await queen.queue(q).push([{"data": 1}])
    [m] = await queen.queue(q).pop()
    await queen.ack(dict(m, leaseId="00000000-0000-0000-0000-000000000000"), True)
    # the caller gets success: False; the line says so too, as information
    assert any(lvl == "INFO" and op == "Queen.ack" and d["rejected"] == 1
               for lvl, op, d in events(log_lines))
    await queen.ack(m, True)


async def test_events_reach_stdlib_logging(queen_url: str, unique_name: Any,
                                           caplog: pytest.LogCaptureFixture,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """An app that configures logging gets the client's events there, by area, and
    nothing on stderr from QUEEN_CLIENT_LOG (it is off)."""
    with caplog.at_level("INFO", logger="queen"):
        async with Queen(queen_url) as q:  # Queen() looks at the logging setup
            name = unique_name("stdlog")
            await q.queue(name).create()
            await q.queue(name).push([{"data": 1}])
    by_event = {r.queen_event: r for r in caplog.records  # type: ignore[attr-defined]
                if r.name.startswith("queen")}
    assert by_event["Queen.constructor"].name == "queen.client"
    assert by_event["PushBuilder.push"].name == "queen.builders"
    assert by_event["PushBuilder.push"].queen_detail == {  # type: ignore[attr-defined]
        "queue": name, "partition": "Default", "count": 1}
    assert by_event["Transport.request"].name == "queen.http"
    assert by_event["Queen.close"].levelname == "INFO"
    assert "[Queen.constructor]" not in capsys.readouterr().err


async def test_a_failure_is_reported_once(log_lines: io.StringIO, queen: Queen, make_queue: Any,
                                          caplog: pytest.LogCaptureFixture) -> None:
    """With both on, a consume handler failure is one line and one record."""
    q = await make_queue("log-once")
    await queen.queue(q).push([{"data": 1}])

    async def handler(message: Any) -> None:
        raise RuntimeError("kaput")

    with caplog.at_level("WARNING", logger="queen"):
        await queen.queue(q).limit(1).consume(handler)
    lines = [e for e in events(log_lines) if e[1] == "Consumer.handler"]
    records = [r for r in caplog.records if r.name.startswith("queen")]
    assert len(lines) == 1 and lines[0][0] == "ERROR" and lines[0][2]["error"] == "kaput"
    assert [r.queen_event for r in records] == ["Consumer.handler"]  # type: ignore[attr-defined]
