"""StreamEngine semantics (queen-http-api.md 3.15) without HTTP, on a fake clock."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from queen.testing.streams import StreamEngine, parse_ts, pg_text

T0 = 1_800_000_000.0  # epoch seconds, a multiple of every window length used here


class FakeBroker:
    """Just the broker surface the stream engine uses."""

    def __init__(self) -> None:
        self.clock = T0
        self.queues: Dict[str, List[Tuple[str, str, float, Any]]] = {}
        self.listeners: List[Callable[[str], None]] = []
        self.seq = 0

    def now(self) -> float:
        return self.clock

    def queue_names(self) -> List[str]:
        return list(self.queues)

    def queue_exists(self, name: str) -> bool:
        return name in self.queues

    def iter_messages(self, queue: str) -> Iterator[Tuple[str, str, float, Any]]:
        return iter(self.queues.get(queue, []))

    def add_push_listener(self, cb: Callable[[str], None]) -> None:
        self.listeners.append(cb)

    def push(self, queue: str, data: Any, at: float, partition: str = "Default") -> str:
        self.seq += 1
        mid = f"m{self.seq:04d}"
        self.queues[queue].append((partition, mid, at, data))
        for cb in self.listeners:
            cb(queue)
        return mid


@pytest.fixture
def broker() -> FakeBroker:
    b = FakeBroker()
    b.queues["a"] = []
    b.queues["b"] = []
    return b


@pytest.fixture
def engine(broker: FakeBroker) -> StreamEngine:
    e = StreamEngine(broker)
    broker.add_push_listener(e.on_push)
    return e


def define(engine: StreamEngine, **over: Any) -> Any:
    body = {"name": "s", "namespace": "ns", "source_queue_names": ["a", "b"],
            "window_duration_ms": 1000, "window_grace_period_ms": 500,
            "window_lease_timeout_ms": 10000}
    body.update(over)
    reply = engine.define(body)
    assert reply.get("success") is True, reply
    return engine.streams[body["name"]]


def datas(window: Optional[Dict[str, Any]]) -> List[Any]:
    assert window is not None
    return [m["data"] for m in window["messages"]]


def test_pg_text_and_parse_round_trip() -> None:
    assert pg_text(int(T0 * 1e6)) == "2027-01-15 08:00:00+00"
    assert pg_text(int(T0 * 1e6) + 204310) == "2027-01-15 08:00:00.20431+00"
    for text in ("2027-01-15 08:00:00.20431+00", "2027-01-15T08:00:00.204310Z"):
        assert parse_ts(text) == int(T0 * 1e6) + 204310
    assert parse_ts("not a time") is None


def test_define_is_idempotent_skips_unknown_sources_and_only_adds(engine: StreamEngine) -> None:
    first = engine.define({"name": "s", "namespace": "ns", "source_queue_names": ["a", "nope"]})
    again = engine.define({"name": "s", "namespace": "ns", "source_queue_names": ["b"]})
    assert first["stream_id"] == again["stream_id"]
    assert engine.streams["s"].sources == ["a", "b"]
    assert engine.define({"namespace": "ns"}) == {"error": "Missing name or namespace"}
    assert "error" in engine.define({"name": "x", "namespace": "n", "window_duration_ms": 0})


def test_window_ready_only_after_slowest_source_passes_end_plus_grace(
    engine: StreamEngine, broker: FakeBroker
) -> None:
    stream = define(engine)
    broker.push("a", 1, T0 + 0.2)
    broker.push("b", 2, T0 + 0.9)
    assert engine.next_window(stream, "g") is None
    broker.push("a", "late-a", T0 + 5)      # a moves on, b is the slowest (0.9 s)
    assert engine.next_window(stream, "g") is None
    broker.push("b", "tick", T0 + 1.4)      # watermark 1.4 < end 1.0 + grace 0.5
    assert engine.next_window(stream, "g") is None
    broker.push("b", "tick2", T0 + 1.5)     # watermark reaches end + grace
    window = engine.next_window(stream, "g")
    assert window is not None and window["key"] == "__GLOBAL__"
    assert datas(window) == [1, 2]
    assert window["start"] == pg_text(int(T0 * 1e6))
    assert window["id"] == f"{stream.id}:__GLOBAL__:{window['start']}:{window['end']}"


def test_late_arrival_within_grace_is_included(engine: StreamEngine, broker: FakeBroker) -> None:
    stream = define(engine, source_queue_names=["a"])
    broker.push("a", "on-time", T0 + 0.5)
    broker.push("a", "next", T0 + 1.2)      # watermark 1.2: window [0,1) not ready yet
    broker.push("a", "late", T0 + 0.8)      # event time inside the first window
    broker.push("a", "tick", T0 + 1.6)
    assert datas(engine.next_window(stream, "g")) == ["on-time", "late"]


def test_ack_moves_bookmark_nack_redelivers_and_empty_windows_come(
    engine: StreamEngine, broker: FakeBroker
) -> None:
    stream = define(engine, source_queue_names=["a"])
    broker.push("a", "w0", T0 + 0.1)
    broker.push("a", "w2", T0 + 4.0)        # watermark 4.0: windows 0..2 ready
    first = engine.next_window(stream, "g")
    assert datas(first) == ["w0"]
    assert engine.next_window(stream, "g") is None          # key is leased
    assert engine.ack(first["leaseId"], True) == {"success": True, "acked": True}
    assert engine.ack(first["leaseId"], True) == {"error": "Invalid or expired lease"}
    assert engine.renew(first["leaseId"], 1000) == {"error": "Lease not found or expired"}
    second = engine.next_window(stream, "g")
    assert datas(second) == [] and second["start"] == first["end"]
    assert engine.ack(second["leaseId"], False) == {"success": True, "acked": False}
    again = engine.next_window(stream, "g")
    assert again["id"] == second["id"] and again["leaseId"] != second["leaseId"]
    engine.ack(again["leaseId"], True)
    third = engine.next_window(stream, "g")
    assert datas(third) == []
    engine.ack(third["leaseId"], True)
    assert engine.next_window(stream, "g") is None          # [3,4) needs watermark 4.5
    assert engine.ack(None, True) == {"error": "Missing leaseId"}


def test_lease_expiry_redelivers_and_renew_extends(engine: StreamEngine, broker: FakeBroker) -> None:
    stream = define(engine, source_queue_names=["a"], window_lease_timeout_ms=2000)
    broker.push("a", "x", T0 + 0.1)
    broker.push("a", "tick", T0 + 1.6)
    first = engine.next_window(stream, "g")
    broker.clock += 1.5
    assert engine.renew(first["leaseId"], 2000)["success"] is True
    broker.clock += 1.5                      # would have expired without the renew
    assert engine.next_window(stream, "g") is None
    broker.clock += 1.0
    again = engine.next_window(stream, "g")
    assert again["id"] == first["id"] and again["leaseId"] != first["leaseId"]
    assert engine.ack(first["leaseId"], True) == {"error": "Invalid or expired lease"}


def test_two_groups_each_get_every_window(engine: StreamEngine, broker: FakeBroker) -> None:
    stream = define(engine, source_queue_names=["a"])
    broker.push("a", "x", T0 + 0.1)
    broker.push("a", "tick", T0 + 1.6)
    for group in ("g1", "g2"):
        window = engine.next_window(stream, group)
        assert datas(window) == ["x"]
        engine.ack(window["leaseId"], True)


def test_partitioned_keys_merge_same_partition_name_across_queues(
    engine: StreamEngine, broker: FakeBroker
) -> None:
    stream = define(engine, partitioned=True)
    broker.push("a", 1, T0 + 0.1, "k1")
    broker.push("b", 2, T0 + 0.2, "k1")
    broker.push("a", 3, T0 + 0.3, "k2")
    broker.push("a", "t", T0 + 3.6, "tick")
    broker.push("b", "t", T0 + 3.6, "tick")
    k1 = engine.next_window(stream, "g")
    k2 = engine.next_window(stream, "g")    # k1 is leased: the group gets k2 meanwhile
    assert (k1["key"], datas(k1)) == ("k1", [1, 2])
    assert (k2["key"], datas(k2)) == ("k2", [3])


def test_seek_sets_global_bookmark(engine: StreamEngine, broker: FakeBroker) -> None:
    stream = define(engine, source_queue_names=["a"])
    broker.push("a", "old", T0 + 0.1)
    broker.push("a", "new", T0 + 2.1)
    broker.push("a", "tick", T0 + 3.6)
    assert engine.seek("s", "g", pg_text(int((T0 + 2) * 1e6))) == {"success": True}
    assert datas(engine.next_window(stream, "g")) == ["new"]
    assert engine.seek("nope", "g", "2020-01-01T00:00:00Z") == {"error": "Stream not found"}


def test_delete_forgets_leases(engine: StreamEngine, broker: FakeBroker) -> None:
    stream = define(engine, source_queue_names=["a"])
    broker.push("a", "x", T0 + 0.1)
    broker.push("a", "tick", T0 + 1.6)
    window = engine.next_window(stream, "g")
    assert engine.delete("s")["success"] is True
    assert engine.delete("s") == {"error": "Stream not found"}
    assert engine.ack(window["leaseId"], True) == {"error": "Invalid or expired lease"}


async def test_long_poll_wakes_on_push(engine: StreamEngine, broker: FakeBroker) -> None:
    stream = define(engine, source_queue_names=["a"])
    broker.push("a", "x", T0 + 0.1)
    task = asyncio.ensure_future(engine.poll(stream, "g", 10000))
    await asyncio.sleep(0.05)
    assert not task.done()
    broker.push("a", "tick", T0 + 1.6)
    window = await asyncio.wait_for(task, 2)
    assert datas(window) == ["x"]


async def test_long_poll_wakes_on_nack_and_times_out(engine: StreamEngine, broker: FakeBroker) -> None:
    stream = define(engine, source_queue_names=["a"])
    assert await engine.poll(stream, "g", 50) is None
    broker.push("a", "x", T0 + 0.1)
    broker.push("a", "tick", T0 + 1.6)
    first = engine.next_window(stream, "g")
    task = asyncio.ensure_future(engine.poll(stream, "g", 10000))
    await asyncio.sleep(0.05)
    assert not task.done()
    engine.ack(first["leaseId"], False)
    again = await asyncio.wait_for(task, 2)
    assert again["id"] == first["id"]


def test_stats_and_listing(engine: StreamEngine, broker: FakeBroker) -> None:
    stream = define(engine, source_queue_names=["a"])
    broker.push("a", "x", T0 + 0.1)
    broker.push("a", "tick", T0 + 1.6)
    window = engine.next_window(stream, "g")
    assert engine.stats()["activeLeases"] == 1
    engine.ack(window["leaseId"], True)
    stats = engine.stats()
    assert stats["totalWindowsProcessed"] == 1 and stats["totalStreams"] == 1
    (entry,) = engine.listing()["streams"]
    assert entry["sourceQueues"] == ["a"] and entry["windowDurationMs"] == 1000
