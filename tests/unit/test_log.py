import io
import re
from datetime import datetime, timezone

import pytest

from queen import log

LINE = re.compile(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] \[(INFO|WARN|ERROR)\] \[[^\]]+\] .*$")


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch):
    buf = io.StringIO()
    monkeypatch.setenv("QUEEN_CLIENT_LOG", "true")
    assert log.refresh()
    log.set_stream(buf)
    yield buf
    log.set_stream(None)
    monkeypatch.delenv("QUEEN_CLIENT_LOG")
    log.refresh()


def test_guide_format_exactly():
    when = datetime(2025, 10, 28, 10, 30, 45, 123456, tzinfo=timezone.utc)
    line = log.format_line("INFO", "Queen.constructor", {"status": "initialized", "urls": 1}, when)
    assert line == '[2025-10-28T10:30:45.123Z] [INFO] [Queen.constructor] {"status":"initialized","urls":1}'


def test_enabled_writes_one_line_per_event(captured: io.StringIO):
    log.info("Queen.constructor", {"status": "initialized", "urls": 1})
    log.warn("Transport.retry", {"attempt": 1})
    log.error("Transport.request", "boom")
    lines = captured.getvalue().splitlines()
    assert len(lines) == 3
    assert all(LINE.match(ln) for ln in lines)
    assert lines[0].endswith('[INFO] [Queen.constructor] {"status":"initialized","urls":1}')
    assert "[WARN] [Transport.retry]" in lines[1]
    assert lines[2].endswith("[ERROR] [Transport.request] boom")


def test_disabled_is_silent(monkeypatch: pytest.MonkeyPatch):
    buf = io.StringIO()
    monkeypatch.setenv("QUEEN_CLIENT_LOG", "false")
    assert not log.refresh() and not log.enabled()
    log.set_stream(buf)
    try:
        log.info("X", {"a": 1})
        log.error("X", {"a": 1})
    finally:
        log.set_stream(None)
    assert buf.getvalue() == ""


def test_env_is_read_once_until_refresh(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("QUEEN_CLIENT_LOG", raising=False)
    log.refresh()
    monkeypatch.setenv("QUEEN_CLIENT_LOG", "true")
    assert not log.enabled()
    assert log.refresh() and log.enabled()
    monkeypatch.delenv("QUEEN_CLIENT_LOG")
    log.refresh()


def test_writes_to_stderr_by_default(captured: io.StringIO, capsys: pytest.CaptureFixture[str]):
    log.set_stream(None)
    log.info("Queen.close", {"ok": True})
    err = capsys.readouterr()
    assert "[Queen.close]" in err.err and err.out == ""


def test_secrets_never_logged(captured: io.StringIO):
    log.info(
        "Transport.request",
        {
            "method": "POST",
            "headers": {"Authorization": "Bearer abc.def.ghi", "X-Team": "blue"},
            "bearer_token": "tok-1",
            "bearerToken": "tok-2",
            "password": "pw-3",
            "nested": [{"api_key": "k-4"}, {"clientSecret": "s-5"}],
            "note": "sent Bearer tok-6 upstream",
            "url": "http://user:pw-7@host:6632/api",
        },
    )
    log.warn("X", "Authorization: Bearer tok-8")
    text = captured.getvalue()
    for secret in ("abc.def.ghi", "tok-1", "tok-2", "pw-3", "k-4", "s-5", "tok-6", "pw-7", "tok-8"):
        assert secret not in text
    assert "blue" in text and "POST" in text and log.REDACTED in text
    assert "host:6632/api" in text


def test_unserialisable_detail_does_not_raise(captured: io.StringIO):
    log.info("X", {"when": datetime(2025, 1, 1, tzinfo=timezone.utc), "obj": object(), 1: "int key"})
    assert "2025-01-01" in captured.getvalue()


def test_broken_stream_never_breaks_caller(captured: io.StringIO):
    class Broken(io.StringIO):
        def write(self, s: str) -> int:
            raise OSError("disk full")

    log.set_stream(Broken())
    log.info("X", {"a": 1})  # must not raise


def test_events_go_to_stdlib_by_area(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="queen"):
        log.refresh()
        assert log.enabled()  # the queen logger takes INFO: hot paths build their events
        log.info("Transport.request", {"method": "GET", "authorization": "Bearer x"})
        log.warn("Consumer.worker", {"error": "down"})
        log.error("Unknown.thing", "boom")
    log.refresh()
    got = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert got == [
        ("queen.http", "INFO", f'Transport.request {{"method":"GET","authorization":"{log.REDACTED}"}}'),
        ("queen.consumer", "WARNING", 'Consumer.worker {"error":"down"}'),
        ("queen", "ERROR", "Unknown.thing boom"),
    ]
    assert caplog.records[0].queen_detail == {  # type: ignore[attr-defined]
        "method": "GET", "authorization": log.REDACTED}


def test_stdlib_off_by_default_for_info(monkeypatch: pytest.MonkeyPatch,
                                        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("QUEEN_CLIENT_LOG", raising=False)
    with caplog.at_level("WARNING", logger="queen"):
        assert not log.refresh() and not log.enabled()
        log.info("Queen.close", {"ok": True})
        log.warn("Queen.ack", {"rejected": 1})
    assert [r.queen_event for r in caplog.records] == ["Queen.ack"]  # type: ignore[attr-defined]
    log.refresh()


def test_no_second_stderr_copy_when_logging_is_not_set_up(
    captured: io.StringIO, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # QUEEN_CLIENT_LOG on and no logging handler anywhere: logging's last resort would
    # print the same failure again on stderr
    import logging

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    log.error("Consumer.handler", {"error": "kaput"})
    assert "[ERROR] [Consumer.handler]" in captured.getvalue()
    assert "kaput" not in capsys.readouterr().err
