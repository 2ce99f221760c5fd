"""Our runner's conversation against ``0.15.1/streams_v1_sdk.json``: upstream's SDK
running a 2-s tumbling aggregate into a sink, recorded through a proxy against real
0.15.1. The same pipeline on the embedded server must send the same requests (paths,
body keys in the same order, state keys, ack and flush shapes) and leave the same
results in the sink."""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List

import orjson

from queen import Queen, Stream
from queen.wire import Request
from server.replay import load

from .helpers import Sink, wait_for

QUERY = "sdk.orders.per-customer-2s"
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


class RecordingHost:
    """The client seam with every request kept."""

    def __init__(self, host: Any) -> None:
        self.host = host
        self.sent: List[Request] = []

    @property
    def closed(self) -> bool:
        return bool(self.host.closed)

    async def send(self, request: Request) -> Any:
        self.sent.append(request)
        return await self.host.send(request)

    async def generation(self) -> str:
        return str(await self.host.generation())


class Source:
    def __init__(self, name: str, host: Any) -> None:
        self.name, self.host = name, host


def _bodies(sent: List[Request], path: str) -> List[Dict[str, Any]]:
    return [orjson.loads(r.body) for r in sent if r.path == path and r.body]


async def test_same_conversation_as_upstream(embedded_server: Callable[..., Any]) -> None:
    rec = load("0.15.1", "streams_v1_sdk.json")
    srv = embedded_server(compat="0.15")
    async with Queen(srv.url) as q:
        for name in ("sdk-orders", "sdk-totals"):
            await q.queue(name).config({"leaseTime": 30}).create()
        await q.queue("sdk-orders").partition("c1").push(
            [{"customer": "c1", "amount": a} for a in (10, 20, 30, 40)])
        await q.queue("sdk-orders").partition("c2").push(
            [{"customer": "c2", "amount": a} for a in (5, 6)])
        host = RecordingHost(q.queue("sdk-orders").host)
        runner = await (Stream.from_(Source("sdk-orders", host))
                        .window_tumbling(seconds=2, idle_flush_ms=1000)
                        .aggregate({"count": lambda v: 1, "sum": lambda v: v["amount"],
                                    "max": lambda v: v["amount"]})
                        .to(q.queue("sdk-totals"))
                        .run(query_id=QUERY, batch_size=50))
        sink = Sink(q, "sdk-totals")
        try:
            await wait_for(lambda: sink.count_at_least(2), "both windows flushed")
        finally:
            await runner.stop()
    sent = host.sent

    # registration: the same body, keys in the same order (the hash names the sink,
    # whose recorded name carried a run suffix)
    reg = orjson.loads(sent[0].body or b"")
    assert list(reg) == list(rec[4]["body"])
    assert {k: v for k, v in reg.items() if k != "config_hash"} == {
        k: v for k, v in rec[4]["body"].items() if k != "config_hash"}
    assert re.fullmatch(r"[0-9a-f]{64}", reg["config_hash"])

    # the source pop, byte for byte
    assert sent[1].method == "GET" and sent[1].path == rec[5]["path"]

    qid = runner.metrics()["serverQueryId"]
    gets = _bodies(sent, "/streams/v1/state/get")
    cycles = _bodies(sent, "/streams/v1/cycle")
    full = [g for g in gets if "key_prefix" not in g]
    probes = [g for g in gets if "key_prefix" in g]
    assert full and all(list(g) == list(rec[6]["body"]) and g["keys"] == [] and
                        g["query_id"] == qid for g in full)
    assert probes and all(list(p) == list(rec[11]["body"]) and p["key_prefix"] == "tumb:2\x1f"
                          and type(p["ripe_at_or_before"]) is int for p in probes)

    acked = [c for c in cycles if c["ack"] is not None]
    flushed = [c for c in cycles if c["ack"] is None]
    assert len(acked) == 2 and len(flushed) == 2
    rec_cycle, rec_flush = rec[7]["body"], rec[15]["body"]
    by_count = {c["ack"]["count"]: c for c in acked}
    for c in acked:
        assert list(c) == list(rec_cycle) and c["release_lease"] is True
        assert list(c["ack"]) == list(rec_cycle["ack"]) and c["ack"]["status"] == "completed"
        assert c["consumer_group"] == "streams." + QUERY and c["push_items"] == []
        (op,) = c["state_ops"]
        assert op["type"] == "upsert"
        assert re.fullmatch(f"tumb:2\x1f{ISO}\x1f{re.escape(c['partition_id'])}", op["key"])
        assert list(op["value"]) == ["acc", "windowStart", "windowEnd"]
        assert op["value"]["windowEnd"] - op["value"]["windowStart"] == 2000
    assert list(by_count[4]["state_ops"][0]["value"]["acc"].items()) == [
        ("count", 4), ("sum", 100), ("max", 40)]
    assert by_count[2]["state_ops"][0]["value"]["acc"] == {"count": 2, "sum": 11, "max": 6}
    for c in flushed:
        assert list(c) == list(rec_flush) and c["release_lease"] is True
        assert [o["type"] for o in c["state_ops"]] == ["delete"]
        (item,) = c["push_items"]
        assert list(item) == ["queue", "partition", "payload"] and item["queue"] == "sdk-totals"
    # the sink holds the bare accumulators in partitions named like the source's
    assert sorted(sink.rows, key=lambda r: r[0]) == [
        ("c1", {"count": 4, "max": 40, "sum": 100}), ("c2", {"count": 2, "max": 6, "sum": 11})]


async def test_idle_flush_asks_only_when_a_stored_window_is_ripe(
        embedded_server: Callable[..., Any]) -> None:
    srv = embedded_server(compat="0.15")
    async with Queen(srv.url) as q:
        await q.queue("src").create()
        await q.queue("src").partition("p").push([{"n": 1}])
        host = RecordingHost(q.queue("src").host)
        runner = await (Stream.from_(Source("src", host))
                        .window_tumbling(seconds=3600, idle_flush_ms=50)
                        .reduce(lambda a, v: a + v["n"], 0).foreach(lambda v: None)
                        .run(query_id="quiet", max_wait_millis=100))
        try:
            await wait_for(lambda: runner.metrics()["messagesTotal"] == 1, "the cycle")
            ticks = runner.metrics()["lastFlushAt"]
            await wait_for(lambda: runner.metrics()["lastFlushAt"] != ticks, "a flush tick")
        finally:
            await runner.stop()
    probes = [b for b in _bodies(host.sent, "/streams/v1/state/get") if "key_prefix" in b]
    # the hour-long window this runner stored is not ripe: no probe was needed
    assert probes == []
