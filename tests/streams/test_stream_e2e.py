"""Windowed streams end to end: the client against a private embedded 0.7 server
whose clock is fake, so event times (and thus windows) are exact and tests fast.

Event time is the server's insert time, so a message can never arrive "late" in
event time here; the grace rule is checked by holding a window back until the
watermark passes end + grace (late arrivals proper: tests/streams/test_stream_engine.py).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Callable, List, Tuple

import pytest

from queen import Queen
from queen.errors import QueenHTTPError, QueenServerFeatureError, QueenValidationError
from queen.stream import StreamConsumer, Window
from queen.testing import FakeClock

T0 = 1_800_000_000.0  # aligned to every window length used here


class Env:
    def __init__(self, srv: Any, queen: Queen) -> None:
        self.srv, self.queen = srv, queen

    def at(self, offset: float) -> None:
        """Move the fake clock to T0 + offset (forward only)."""
        clock = self.srv.clock
        assert T0 + offset >= clock.t, "the clock only moves forward"
        self.srv.advance(T0 + offset - clock.t)

    async def push(self, queue: str, data: Any, offset: float, partition: str = "Default") -> None:
        self.at(offset)
        await self.queen.queue(queue).partition(partition).push([{"data": data}])

    async def define(self, name: str = "s", sources: Tuple[str, ...] = ("a",), *,
                     window: float = 1, grace: float = 0.5, lease: float = 30,
                     partitioned: bool = False) -> Any:
        builder = (self.queen.stream(name, "ns").sources(list(sources))
                   .tumbling_time(window).grace_period(grace).lease_timeout(lease))
        if partitioned:
            builder = builder.partitioned()
        return await builder.define()


@pytest.fixture
async def env(embedded_server: Callable[..., Any]) -> AsyncIterator[Env]:
    srv = embedded_server("0.7", clock=FakeClock(start=T0))
    async with Queen(srv.url) as queen:
        for queue in ("a", "b"):
            await queen.queue(queue).create()
        yield Env(srv, queen)


class PollSpy:
    """The client's seam with a look at what goes out: ``polled`` is set once a
    window poll has been sent (the test then knows the long poll is under way
    instead of sleeping and hoping)."""

    def __init__(self, host: Any) -> None:
        self.host = host
        self.polled = asyncio.Event()

    @property
    def closed(self) -> bool:
        return bool(self.host.closed)

    @property
    def known_generation(self) -> Any:
        return self.host.known_generation

    async def generation(self) -> str:
        return str(await self.host.generation())

    async def send(self, request: Any) -> Any:
        sent = self.host.send(request)
        if request.path.endswith("/stream/poll"):
            self.polled.set()
        return await sent


def datas(window: Window) -> List[Any]:
    return [m["data"] for m in window.messages]


async def collect(consumer: StreamConsumer, count: int) -> List[Window]:
    seen: List[Window] = []

    async def cb(window: Window) -> None:
        seen.append(window)

    assert await asyncio.wait_for(consumer.process(cb, limit=count), 10) == count
    return seen


async def test_define_sends_millis_and_is_idempotent(env: Env) -> None:
    first = await env.define(window=2, grace=1.5, lease=0.25)
    again = await env.define(window=2, grace=1.5, lease=0.25)
    assert first["success"] is True and first["stream_id"] == again["stream_id"]
    payload = env.queen.stream("s", "ns").sources(["a"]).tumbling_time(2).grace_period(1.5) \
        .lease_timeout(0.25).partitioned().to_payload()
    assert payload == {"name": "s", "namespace": "ns", "source_queue_names": ["a"],
                       "partitioned": True, "window_type": "tumbling",
                       "window_duration_ms": 2000, "window_grace_period_ms": 1500,
                       "window_lease_timeout_ms": 250}


async def test_builder_and_consumer_validate_input(env: Env) -> None:
    with pytest.raises(QueenValidationError):
        env.queen.stream("", "ns")
    with pytest.raises(QueenValidationError):
        env.queen.stream("s", "ns").tumbling_time(0)
    with pytest.raises(QueenValidationError):
        env.queen.stream("s", "ns").sources("a")
    with pytest.raises(QueenValidationError):
        env.queen.consumer("s", "")
    with pytest.raises(QueenValidationError):
        await env.queen.consumer("s", "g").seek(12)  # type: ignore[arg-type]
    with pytest.raises(QueenValidationError):
        await env.queen.consumer("s", "g").poll(timeout_millis=-1)
    with pytest.raises(QueenValidationError):
        await env.queen.consumer("s", "g").process(lambda w: None, limit=0)
    with pytest.raises(QueenValidationError):
        env.queen.consumer("s", "g", renew_interval_millis=0)


async def test_messages_land_in_their_windows(env: Env) -> None:
    await env.define()
    await env.push("a", "a1", 0.2)
    await env.push("a", "a2", 0.8)
    await env.push("a", "b1", 1.3)
    await env.push("a", "tick", 2.6)        # watermark 2.6 >= [1,2) end + grace
    first, second = await collect(env.queen.consumer("s", "g"), 2)
    assert (datas(first), datas(second)) == (["a1", "a2"], ["b1"])
    assert first.key == "__GLOBAL__" and first.end == second.start
    assert first.start.startswith("2027-01-15 08:00:00")


async def test_window_waits_for_grace_and_for_every_source(env: Env) -> None:
    await env.define(sources=("a", "b"))
    consumer = env.queen.consumer("s", "g")
    await env.push("a", "x", 0.3)
    await env.push("b", "y", 0.4)
    await env.push("a", "a-later", 1.7)     # b is still at 0.4: no window yet
    assert await consumer.poll(timeout_millis=50) is None
    await env.push("b", "b-later", 1.8)     # watermark = min(1.7, 1.8) >= end 1 + grace 0.5
    window = await consumer.poll(timeout_millis=1000)
    assert window is not None and datas(window) == ["x", "y"]


async def test_grace_holds_the_window_back(env: Env) -> None:
    await env.define(grace=0.5)
    spy = PollSpy(env.queen.queue("a").host)
    consumer = StreamConsumer(spy, "s", "g")
    await env.push("a", "x", 0.9)
    await env.push("a", "y", 1.4)           # past the end, inside the grace period
    assert await consumer.poll(timeout_millis=50) is None
    spy.polled.clear()
    waiting = asyncio.ensure_future(consumer.poll(timeout_millis=5000))
    await asyncio.wait_for(spy.polled.wait(), 5)
    await env.push("a", "z", 1.5)           # wakes the long poll
    window = await asyncio.wait_for(waiting, 5)
    assert window is not None and datas(window) == ["x"]


async def test_failed_callback_sees_the_window_again(env: Env) -> None:
    await env.define()
    await env.push("a", "x", 0.2)
    await env.push("a", "tick", 1.6)
    calls: List[str] = []

    async def cb(window: Window) -> None:
        calls.append(window.id)
        if len(calls) == 1:
            raise RuntimeError("boom")

    consumer = env.queen.consumer("s", "g")
    assert await asyncio.wait_for(consumer.process(cb, limit=2), 10) == 2
    assert calls[0] == calls[1]
    await env.push("a", "tick2", 2.6)
    (nxt,) = await collect(consumer, 1)
    assert nxt.id != calls[0] and datas(nxt) == ["tick"]


async def test_two_groups_each_get_every_window(env: Env) -> None:
    await env.define()
    await env.push("a", "x", 0.2)
    await env.push("a", "y", 1.2)
    await env.push("a", "tick", 2.6)
    for group in ("g1", "g2"):
        windows = await collect(env.queen.consumer("s", group), 2)
        assert [datas(w) for w in windows] == [["x"], ["y"]]


async def test_lease_expiry_redelivers(env: Env) -> None:
    await env.define(lease=2)
    await env.push("a", "x", 0.2)
    await env.push("a", "tick", 1.6)
    one, two = env.queen.consumer("s", "g"), env.queen.consumer("s", "g")
    held = await one.poll(timeout_millis=1000)
    assert held is not None
    assert await two.poll(timeout_millis=50) is None    # leased to `one`
    env.at(4.0)
    again = await two.poll(timeout_millis=1000)
    assert again is not None and again.id == held.id and again.lease_id != held.lease_id
    with pytest.raises(QueenHTTPError, match="Invalid or expired lease"):
        await one.ack(held)
    assert (await two.ack(again)) == {"success": True, "acked": True}


async def test_long_callback_keeps_its_lease(env: Env) -> None:
    await env.define(lease=1)
    await env.push("a", "x", 0.2)
    await env.push("a", "tick", 1.6)
    other = env.queen.consumer("s", "g")
    consumer = env.queen.consumer("s", "g", renew_interval_millis=30, extend_millis=1000)
    stolen: List[Any] = []

    async def slow(window: Window) -> None:
        for _ in range(5):                  # 2.5 fake seconds, far past the 1 s lease
            await asyncio.sleep(0.1)        # several renewals happen meanwhile
            env.srv.advance(0.5)
            stolen.append(await other.poll(timeout_millis=10))

    assert await asyncio.wait_for(consumer.process(slow, limit=1), 10) == 1
    assert stolen == [None] * 5
    env.at(5.0)
    await env.push("a", "tick2", 5.0)
    nxt = await other.poll(timeout_millis=1000)
    assert nxt is not None and datas(nxt) == ["tick"]  # the first window was acked


async def test_default_renewals_fit_a_short_lease(env: Env) -> None:
    await env.define(lease=0.2)             # renewals every 100 ms instead of 20 s
    await env.push("a", "x", 0.2)
    await env.push("a", "tick", 1.6)
    consumer = env.queen.consumer("s", "g")

    async def slow(window: Window) -> None:
        await asyncio.sleep(0.35)           # real time: a few renewals
        env.srv.advance(1.0)                # fake time: far past the 0.2 s lease

    assert await asyncio.wait_for(consumer.process(slow, limit=1), 10) == 1
    assert consumer.renew_interval_millis == 100
    assert await consumer.poll(timeout_millis=10) is None   # acked: not offered again


async def test_partitioned_keys(env: Env) -> None:
    await env.define(sources=("a", "b"), partitioned=True)
    await env.push("a", 1, 0.1, "k1")
    await env.push("b", 2, 0.2, "k1")
    await env.push("a", 3, 0.3, "k2")
    await env.push("a", "t", 1.6, "tick")
    await env.push("b", "t", 1.6, "tick")
    windows = await collect(env.queen.consumer("s", "g"), 2)
    assert sorted((w.key, tuple(datas(w))) for w in windows) == [("k1", (1, 2)), ("k2", (3,))]


async def test_seek_rewinds_a_global_stream(env: Env) -> None:
    await env.define()
    await env.push("a", "x", 0.2)
    await env.push("a", "tick", 1.6)
    consumer = env.queen.consumer("s", "g")
    (first,) = await collect(consumer, 1)
    assert await consumer.poll(timeout_millis=50) is None
    start = datetime.fromtimestamp(T0, tz=timezone.utc)
    assert await consumer.seek(start) == {"success": True}
    again = await consumer.poll(timeout_millis=1000)
    assert again is not None and again.id == first.id


async def test_signal_stops_an_idle_consumer(env: Env) -> None:
    await env.define()
    signal = asyncio.Event()
    spy = PollSpy(env.queen.queue("a").host)
    task = asyncio.ensure_future(StreamConsumer(spy, "s", "g").process(lambda w: None, signal))
    await asyncio.wait_for(spy.polled.wait(), 5)  # it is long-polling
    assert not task.done()
    signal.set()
    assert await asyncio.wait_for(task, 5) == 0


async def test_signal_during_a_callback_finishes_and_acks_it(env: Env) -> None:
    await env.define()
    await env.push("a", "x", 0.2)
    await env.push("a", "y", 1.2)
    await env.push("a", "tick", 2.6)        # two windows ready
    signal = asyncio.Event()
    seen: List[Any] = []

    async def cb(window: Window) -> None:
        signal.set()
        await asyncio.sleep(0.01)
        seen.append(datas(window))

    consumer = env.queen.consumer("s", "g")
    assert await asyncio.wait_for(consumer.process(cb, signal), 5) == 1
    assert seen == [["x"]]
    nxt = await consumer.poll(timeout_millis=1000)
    assert nxt is not None and datas(nxt) == ["y"]


async def test_unknown_or_deleted_stream_raises(env: Env) -> None:
    with pytest.raises(QueenHTTPError, match="Stream not found"):
        await env.queen.consumer("nope", "g").process(lambda w: None)
    await env.define()
    assert (await env.queen.stream("s", "ns").delete())["success"] is True
    with pytest.raises(QueenHTTPError, match="Stream not found"):
        await env.queen.stream("s", "ns").delete()
    with pytest.raises(QueenHTTPError, match="Stream not found"):
        await env.queen.consumer("s", "g").poll(timeout_millis=10)


@pytest.mark.parametrize("server_version", ["auto", "0.7"])
async def test_streams_on_015_raise_feature_error(
    embedded_server: Callable[..., Any], server_version: str
) -> None:
    srv = embedded_server("0.15")
    # "0.7" forces the old generation: the 0.15 server's 404 page is what tells.
    async with Queen({"url": srv.url, "server_version": server_version}) as queen:
        calls = [
            queen.stream("s", "ns").sources(["a"]).define(),
            queen.consumer("s", "g").process(lambda w: None),
            queen.consumer("s", "g").seek("2026-01-01T00:00:00Z"),
        ]
        for call in calls:
            with pytest.raises(QueenServerFeatureError) as info:
                await call
            text = str(info.value)
            assert "Queen 0.15.x" in text and "removed" in text


async def test_stream_resources_over_http(env: Env) -> None:
    import httpx

    await env.define(sources=("a", "b"), partitioned=True)
    await env.push("a", "x", 0.2)
    await env.push("b", "y", 1.6)
    await env.push("a", "z", 1.7)
    (window,) = await collect(env.queen.consumer("s", "g"), 1)
    async with httpx.AsyncClient(base_url=env.srv.url) as http:
        listing = (await http.get("/api/v1/resources/streams")).json()
        stats = (await http.get("/api/v1/resources/streams/stats")).json()
        one = (await http.get("/api/v1/resources/streams/s")).json()
        missing = (await http.get("/api/v1/resources/streams/nope")).json()
    (entry,) = listing["streams"]
    assert entry["sourceQueues"] == ["a", "b"] and entry["partitioned"] is True
    assert entry["windowDurationMs"] == 1000 and entry["windowGracePeriodMs"] == 500
    assert stats["totalStreams"] == 1 and stats["totalWindowsProcessed"] == 1
    assert one["id"] == entry["id"] and missing == {"error": "Stream not found"}
