"""What the client puts on the wire for upstream's options (no server needed)."""

from __future__ import annotations

from queen import wire
from queen.types import PopSpec


def test_partitions_travel_to_015_only_and_not_on_the_partition_route() -> None:
    spec = PopSpec(queue="q", batch=10, partitions=3)
    assert "partitions=3" in wire.pop(spec, wire.GEN_015).path
    assert "partitions" not in wire.pop(spec, wire.GEN_07).path  # 0.7: client-side
    named = PopSpec(queue="q", partition="p", batch=10, partitions=3)
    assert "partitions" not in wire.pop(named, wire.GEN_015).path
    assert "partitions" not in wire.pop(PopSpec(queue="q"), wire.GEN_015).path


def test_unknown_subscription_mode_is_sent_as_given() -> None:
    spec = PopSpec(queue="q", group="g", subscription_mode="from_beginning")
    for gen in (wire.GEN_07, wire.GEN_015):
        assert "subscriptionMode=from_beginning" in wire.pop(spec, gen).path


def test_batch_ack_carries_the_group_at_the_top_level() -> None:
    import orjson

    item = wire.ack_item({"transactionId": "t", "partitionId": "p", "leaseId": "l"},
                         "completed", None)
    body = orjson.loads(wire.ack_batch([item, item], "g").body or b"")
    assert body["consumerGroup"] == "g"
    assert all("consumerGroup" not in a for a in body["acknowledgments"])
