"""The embedded server's /streams/v1 logic without HTTP (``testing.streams_v1``):
registration, atomic cycles and state reads against a 0.15 broker."""

from __future__ import annotations

from typing import Any, Dict, Tuple

import pytest

from queen.testing.broker import Broker
from queen.testing.streams_v1 import StreamsV1, _Bad


def setup() -> Tuple[Broker, StreamsV1, str]:
    b = Broker("0.15")
    s = StreamsV1(b)
    reg = s.register({"name": "q", "source_queue": "src", "config_hash": "h1"})
    return b, s, reg["query_id"]


def popped(b: Broker) -> Tuple[str, Any]:
    b.push([{"queue": "src", "partition": "p", "payload": {"i": i}} for i in range(3)])
    res = b.pop("src", None, "g", 10, False, None, None, 1)
    part, last = res.items[-1]
    return res.lease_id or "", (part, last)


def test_register_fresh_same_mismatch_reset() -> None:
    b, s, qid = setup()
    again = s.register({"name": "q", "source_queue": "src", "config_hash": "h1", "reset": True})
    assert again == {"success": True, "query_id": qid, "name": "q", "config_hash": "h1",
                     "fresh": False, "reset": False}
    s.state[(qid, "pid")] = {"k": (1, 0.0)}
    bad = s.register({"name": "q", "source_queue": "src", "config_hash": "h2"})
    assert bad["success"] is False and bad["error"].startswith("config_hash mismatch")
    assert s.state  # a refused registration wipes nothing
    ok = s.register({"name": "q", "source_queue": "src", "config_hash": "h2", "reset": "yes"})
    assert ok["reset"] is True and ok["query_id"] == qid and not s.state
    with pytest.raises(_Bad, match="config_hash is required"):
        s.register({"name": "q", "source_queue": "src", "config_hash": 5})


def cycle(s: StreamsV1, qid: str, pid: str, **kw: Any) -> Dict[str, Any]:
    return s.cycle({"query_id": qid, "partition_id": pid, "consumer_group": "g", **kw})


def test_a_failed_cycle_stores_nothing_but_reports_its_work() -> None:
    b, s, qid = setup()
    lease, (part, last) = popped(b)
    out = cycle(s, qid, part.id,
                state_ops=[{"type": "upsert", "key": "k", "value": {"n": 1}}],
                push_items=[{"queue": "sink", "partition": "x", "payload": {"n": 1}}],
                ack={"transactionId": last.txid, "leaseId": "00000000-0000-0000-0000-000000000000",
                     "status": "completed", "count": 3})
    assert out["success"] is False and out["error"] == "Invalid or expired lease"
    assert out["state_ops_applied"] == 1 and out["push_results"][0]["status"] == "queued"
    assert s.state_get({"query_id": qid, "partition_id": part.id})["rows"] == []
    assert "sink" not in b.queues
    assert part.states["g"].lease_id == lease  # still leased

    ok = cycle(s, qid, part.id,
               state_ops=[{"type": "upsert", "key": "k", "value": {"n": 1}}],
               push_items=[{"queue": "sink", "partition": "x", "payload": {"n": 1}}],
               ack={"transactionId": last.txid, "leaseId": lease, "status": "completed",
                    "count": 3})
    assert ok["success"] is True and ok["ack_result"] == {
        "success": True, "dlq": False, "count": 3, "lease_released": True}
    sink = b.queues["sink"].partitions["x"]
    assert [m.data for m in sink.messages] == [{"n": 1}]
    assert ok["push_results"][0]["partition_id"] == sink.id
    st = part.states["g"]
    assert st.lease_id is None and st.cursor == last.seq


def test_state_get_filters() -> None:
    b, s, qid = setup()
    ops = [{"type": "upsert", "key": k, "value": v} for k, v in (
        ("a:1", {"windowEnd": 1000}), ("a:2", {"windowEnd": 2000}), ("b", {"x": 1}))]
    assert cycle(s, qid, "11111111-2222-4333-8444-555555555555", state_ops=ops)["success"]

    def keys(**kw: Any) -> Any:
        rows = s.state_get({"query_id": qid, "partition_id":
                            "11111111-2222-4333-8444-555555555555", **kw})["rows"]
        return [r["key"] for r in rows]

    assert keys() == ["a:1", "a:2", "b"]
    assert keys(keys=["b", "zz"]) == ["b"]
    assert keys(key_prefix="a:") == ["a:1", "a:2"]
    assert keys(ripe_at_or_before=1500) == ["a:1"]
    assert keys(ripe_at_or_before="1500") == ["a:1", "a:2", "b"]  # only a JSON number counts
    bad = s.state_get({"query_id": "nope", "partition_id": "x"})
    assert bad["success"] is False and "invalid input syntax for type uuid" in bad["error"]
