"""StreamConsumer loop behaviour over a scripted transport (no server)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple

import orjson
import pytest

import queen.stream.consumer as consumer_mod
from queen.errors import QueenConnectionError, QueenHTTPError, QueenServerFeatureError
from queen.stream import StreamConsumer, Window
from queen.wire import Request

WINDOW = {"window": {"id": "s:k:a:b", "leaseId": "L1", "key": "k", "start": "a", "end": "b",
                     "messages": [{"id": "m1", "data": {"v": 1}, "created_at": "a"}]}}


@dataclass
class Reply:
    status: int
    body: bytes
    method: str = "POST"
    url: str = "http://test"


Script = Callable[[str, Any], Any]  # (path, payload) -> reply dict | None | exception


class FakeTransport:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.calls: List[Tuple[str, Any, Optional[float], bool]] = []
        self.gets: List[str] = []
        self.lease_ms = 60000

    async def request(self, method: str, path: str, *, body: Optional[bytes] = None,
                      affinity_key: Optional[str] = None, timeout: Optional[float] = None,
                      idempotent: bool = True) -> Reply:
        payload = orjson.loads(body) if body else None
        if method == "GET":  # process() reads the stream's window lease once
            self.gets.append(path)
            return Reply(200, orjson.dumps({"name": "s", "windowLeaseTimeoutMs": self.lease_ms}),
                         "GET")
        self.calls.append((path, payload, timeout, idempotent))
        out = self.script(path, payload)
        if isinstance(out, BaseException):
            raise out
        if isinstance(out, Reply):
            return out
        return Reply(200, b"" if out is None else orjson.dumps(out))


class FakeQueen:
    """The part of ``seam.Host`` the stream code uses, over a scripted transport."""

    known_generation = None

    def __init__(self, script: Script, generation: str = "0.7") -> None:
        self._transport = FakeTransport(script)
        self.gen = generation

    async def generation(self) -> str:
        return self.gen

    async def send(self, req: Request) -> Reply:
        return await self._transport.request(
            req.method, req.path, body=req.body, affinity_key=req.affinity_key,
            timeout=req.timeout, idempotent=req.idempotent)

    def paths(self) -> List[str]:
        return [c[0].rsplit("/", 1)[-1] for c in self._transport.calls]


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> List[float]:
    """Record the idle back-off instead of sleeping."""
    seen: List[float] = []

    async def fake(seconds: float, signal: Optional[asyncio.Event]) -> None:
        seen.append(seconds)

    monkeypatch.setattr(consumer_mod, "_sleep_or_stop", fake)
    return seen


async def test_idle_polls_back_off_doubling_to_the_cap(sleeps: List[float]) -> None:
    polls = 0

    def script(path: str, payload: Any) -> Any:
        nonlocal polls
        if path.endswith("/poll"):
            polls += 1
            return WINDOW if polls == 7 else None   # empty answers come back at once
        return {"success": True, "acked": True}

    q = FakeQueen(script)
    c = StreamConsumer(q, "s", "g", max_backoff_millis=500)
    assert await c.process(lambda w: None, limit=1) == 1
    assert sleeps == [0.1, 0.2, 0.4, 0.5, 0.5, 0.5]
    poll = q._transport.calls[0]
    assert poll[1] == {"streamName": "s", "consumerGroup": "g", "timeout": 30000}
    assert poll[2] == pytest.approx(35.0) and poll[3] is False   # deadline > long poll; no retry


async def test_connection_errors_and_5xx_back_off_4xx_raises(sleeps: List[float]) -> None:
    answers: List[Any] = [QueenConnectionError("down"),
                          Reply(503, b'{"error":"db down"}'),
                          WINDOW, {"success": True, "acked": True},
                          {"error": "Stream not found"}]
    q = FakeQueen(lambda path, payload: answers.pop(0))
    with pytest.raises(QueenHTTPError, match="Stream not found"):
        await StreamConsumer(q, "s", "g").process(lambda w: None)
    assert q.paths() == ["poll", "poll", "poll", "ack", "poll"]
    assert sleeps == [0.1, 0.2]


async def test_sync_and_async_callbacks_ack_or_nack(sleeps: List[float]) -> None:
    acks: List[Any] = []

    def script(path: str, payload: Any) -> Any:
        if path.endswith("/poll"):
            return WINDOW
        acks.append(payload)
        return {"success": True, "acked": payload["success"]}

    calls = 0

    def flaky(window: Window) -> None:   # a plain function is fine too
        nonlocal calls
        calls += 1
        if calls % 2:
            raise ValueError("odd call")

    assert await StreamConsumer(FakeQueen(script), "s", "g").process(flaky, limit=2) == 2
    assert [a["success"] for a in acks] == [False, True]
    assert acks[0] == {"windowId": "s:k:a:b", "leaseId": "L1", "success": False}


async def test_failed_ack_is_logged_not_raised(sleeps: List[float]) -> None:
    def script(path: str, payload: Any) -> Any:
        return WINDOW if path.endswith("/poll") else {"error": "Invalid or expired lease"}

    assert await StreamConsumer(FakeQueen(script), "s", "g").process(lambda w: None, limit=2) == 2


async def test_signal_cancels_a_pending_poll() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    class Hanging(FakeTransport):
        async def request(self, *args: Any, **kwargs: Any) -> Reply:
            started.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            raise AssertionError("unreachable")

    q = FakeQueen(lambda p, b: None)
    q._transport = Hanging(lambda p, b: None)
    signal = asyncio.Event()
    task = asyncio.ensure_future(StreamConsumer(q, "s", "g").process(lambda w: None, signal))
    await asyncio.wait_for(started.wait(), 5)
    signal.set()
    assert await asyncio.wait_for(task, 5) == 0
    assert cancelled.is_set()


async def test_renewals_run_while_the_callback_does(sleeps: List[float]) -> None:
    renewed = asyncio.Event()

    def script(path: str, payload: Any) -> Any:
        if path.endswith("/poll"):
            return WINDOW
        if path.endswith("/renew-lease"):
            assert payload == {"leaseId": "L1", "extend_ms": 700}
            renewed.set()
            return {"success": True, "lease_expires_at": "x"}
        return {"success": True, "acked": True}

    async def slow(window: Window) -> None:
        await asyncio.wait_for(renewed.wait(), 5)

    q = FakeQueen(script)
    c = StreamConsumer(q, "s", "g", renew_interval_millis=10, extend_millis=700)
    assert await c.process(slow, limit=1) == 1
    assert q.paths()[-1] == "ack" and "renew-lease" in q.paths()


async def test_generation_015_fails_before_sending() -> None:
    q = FakeQueen(lambda p, b: None, generation="0.15")
    with pytest.raises(QueenServerFeatureError, match=r"Queen 0\.15\.x.*removed"):
        await StreamConsumer(q, "s", "g").poll()
    assert q._transport.calls == []


async def test_on_error_sees_the_failure_else_the_logger_does(
    sleeps: List[float], caplog: pytest.LogCaptureFixture
) -> None:
    def script(path: str, payload: Any) -> Any:
        return WINDOW if path.endswith("/poll") else {"success": True, "acked": False}

    def boom(window: Window) -> None:
        raise KeyError("value")

    seen: List[Tuple[str, str]] = []

    async def on_error(window: Window, exc: Exception) -> None:
        seen.append((window.id, repr(exc)))

    c = StreamConsumer(FakeQueen(script), "s", "g")
    assert await c.process(boom, limit=1, on_error=on_error) == 1
    assert seen == [("s:k:a:b", "KeyError('value')")]
    with caplog.at_level("WARNING", logger="queen.stream"):
        await c.process(boom, limit=1)
    assert "nacked" in caplog.text and "KeyError" in caplog.text


async def test_renewals_fit_a_short_window_lease(sleeps: List[float]) -> None:
    renewed = asyncio.Event()

    def script(path: str, payload: Any) -> Any:
        if path.endswith("/poll"):
            return WINDOW
        if path.endswith("/renew-lease"):
            renewed.set()
            return {"success": True, "lease_expires_at": "x"}
        return {"success": True, "acked": True}

    async def slow(window: Window) -> None:
        await asyncio.wait_for(renewed.wait(), 5)  # 20 s renewals would time out here

    q = FakeQueen(script)
    q._transport.lease_ms = 100
    c = StreamConsumer(q, "s", "g")
    assert c.renew_interval_millis == 20000
    assert await c.process(slow, limit=1) == 1
    assert c.renew_interval_millis == 50
    assert q._transport.gets == ["/api/v1/resources/streams/s"]
    await c.process(slow, limit=1)
    assert len(q._transport.gets) == 1            # looked up once
