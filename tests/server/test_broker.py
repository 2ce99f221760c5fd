"""Broker unit tests: the rules as plain logic, with a fake clock and no HTTP."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, List

import pytest

from queen.testing.broker import QUEUE_MODE, Broker, FakeClock, parse_ts


def make(compat: str = "0.7", **options: Any) -> Broker:
    b = Broker(compat, FakeClock(1_800_000_000.0))
    b.configure("q", "", "", {"leaseTime": 30, **options})
    return b


def push(b: Broker, *payloads: Any, partition: str = "Default") -> List[Any]:
    return b.push([{"queue": "q", "partition": partition, "payload": p} for p in payloads])


def data(res: Any) -> List[Any]:
    return [m.data for _, m in res.items]


def advance(b: Broker, seconds: float) -> None:
    clock = b.clock
    assert isinstance(clock, FakeClock)
    clock.advance(seconds)


@pytest.fixture(params=["0.7", "0.15"])
def compat(request: Any) -> str:
    return str(request.param)


def test_configure_is_a_full_replace(compat: str) -> None:
    b = make(compat, retryLimit=9, priority=4)
    q = b.configure("q", "ns", "t", {"leaseTime": 5})
    assert q.opt("retryLimit") == 3 and q.opt("priority") == 0 and q.opt("leaseTime") == 5
    assert (q.namespace, q.task) == ("ns", "t")


def test_07_configure_without_options_reports_max_size_10000() -> None:
    b = Broker("0.7", FakeClock())
    assert b.configure("x", None, None, None).opt("maxSize") == 10000
    assert b.configure("x", None, None, {}).opt("maxSize") == 0


def test_pop_locks_the_partition_per_group(compat: str) -> None:
    b = make(compat)
    push(b, 1, 2)
    assert data(b.pop("q", batch=1)) == [1]
    assert b.pop("q").items == []
    assert data(b.pop("q", group="g", batch=10)) == [1, 2]


def test_lease_expiry_redelivers_without_counting_a_retry(compat: str) -> None:
    b = make(compat, leaseTime=2, retryLimit=0)
    push(b, "m")
    for _ in range(5):
        res = b.pop("q")
        assert data(res) == ["m"]
        advance(b, 3)
    assert b.dlq == []


def test_cursor_assignment_moves_back(compat: str) -> None:
    """An ack of an older message after a newer one moves the cursor back."""
    b = make(compat)
    push(b, 1, 2, 3)
    res = b.pop("q", batch=3)
    (p, m1), _, (_, m3) = res.items
    assert b.ack(m3.txid, p.id).success
    assert b.ack(m1.txid, p.id).success
    advance(b, 31)
    assert data(b.pop("q", batch=10)) == [2, 3]


def test_retry_then_dlq(compat: str) -> None:
    b = make(compat, retryLimit=1)
    push(b, "bad")
    outcomes = []
    for _ in range(2):
        (p, m), = b.pop("q").items
        outcomes.append(b.ack(m.txid, p.id, "failed", None, None, "nope"))
    assert [o.dlq for o in outcomes] == [False, True]
    if compat == "0.7":
        assert [o.status for o in outcomes] == ["failed_retry", "failed_dlq"]
    assert b.pop("q").items == []
    (entry,) = b.dlq_entries("q")
    assert entry.error == "nope" and entry.group == QUEUE_MODE


def test_07_batch_total_failure_retries_whole_batch() -> None:
    b = make("0.7", retryLimit=1)
    push(b, 1, 2)
    res = b.pop("q", batch=2)
    acks = [{"transactionId": m.txid, "partitionId": p.id, "status": "failed"} for p, m in res.items]
    assert [o.status for o in b.ack_batch(acks, None)] == ["failed_retry", "failed_retry"]
    res = b.pop("q", batch=2)
    assert data(res) == [1, 2]
    assert [o.status for o in b.ack_batch(acks, None)] == ["failed_dlq", "failed_dlq"]
    assert len(b.dlq) == 2 and b.pop("q").items == []


def test_15_retry_in_a_batch_keeps_later_items_from_skipping_it() -> None:
    b = make("0.15", retryLimit=1)
    push(b, 1, 2)
    res = b.pop("q", batch=2)
    acks = [{"transactionId": m.txid, "partitionId": p.id, "status": "failed",
             "leaseId": res.lease_id} for p, m in res.items]
    outs = b.ack_batch(acks, None)
    assert all(o.success for o in outs) and not any(o.dlq for o in outs)
    assert data(b.pop("q", batch=2)) == [1, 2]


def test_subscription_from_timestamp(compat: str) -> None:
    b = make(compat)
    push(b, "before")
    advance(b, 2)
    cut = b.now() - 1
    push(b, "after")
    iso = datetime.fromtimestamp(cut, tz=timezone.utc).isoformat()
    res = b.pop("q", group="g", sub_from=iso)
    assert data(res) == ["after"]


@pytest.mark.parametrize(("text", "expected"), [
    ("2027-01-15T08:00:00Z", 1800000000.0),
    ("2027-01-15T08:00:00.250Z", 1800000000.25),
    ("2027-01-15 08:00:00.5+00", 1800000000.5),
    ("2027-01-15T10:00:00+02:00", 1800000000.0),
    ("not a time", None),
])
def test_parse_ts(text: str, expected: Any) -> None:
    assert parse_ts(text) == expected


def test_subscription_record_survives_group_delete_without_metadata(compat: str) -> None:
    b = make(compat)
    push(b, "history")
    b.pop("q", group="g", sub_mode="new")
    push(b, "live")
    assert data(b.pop("q", group="g")) == ["live"]
    b.delete_group("g", delete_metadata=False)
    assert data(b.pop("q", group="g")) == ["live"]
    b.delete_group("g", delete_metadata=True)
    assert data(b.pop("q", group="g", batch=10)) == ["history", "live"]


def test_delayed_and_window_buffer_due_times(compat: str) -> None:
    b = make(compat, delayedProcessing=5)
    push(b, 1)
    due = b.next_due("q")
    assert due is not None and due - b.clock() == pytest.approx(5, abs=0.01)
    assert b.pop("q").items == []
    advance(b, 5.1)
    assert data(b.pop("q")) == [1]


def test_transaction_rolls_back_everything(compat: str) -> None:
    b = make(compat)
    push(b, "x")
    (p, m), = b.pop("q").items
    facts = b.transaction([
        {"type": "ack", "transactionId": m.txid, "partitionId": p.id, "status": "completed"},
        {"type": "push", "items": [{"queue": "q", "partition": "new", "payload": 1}]},
        {"type": "ack", "transactionId": "missing", "partitionId": p.id},
    ])
    assert facts["success"] is False
    assert "new" not in b.queues["q"].partitions
    assert p.states[QUEUE_MODE].cursor == 0


def test_transaction_duplicate_push_fails(compat: str) -> None:
    b = make(compat)
    b.push([{"queue": "q", "payload": 1, "transactionId": "t"}])
    facts = b.transaction([{"type": "push", "items": [{"queue": "q", "payload": 2,
                                                        "transactionId": "t"}]}])
    assert facts["success"] is False and "duplicate" in facts["error"]


def test_read_api_and_push_listener(compat: str) -> None:
    b = make(compat)
    seen: List[str] = []
    b.add_push_listener(seen.append)
    push(b, "a", partition="p1")
    push(b, "b", partition="p2")
    push(b, "c", partition="p1")
    assert seen == ["q", "q", "q"]
    rows = list(b.iter_messages("q"))
    assert [(r[0], r[3]) for r in rows] == [("p1", "a"), ("p2", "b"), ("p1", "c")]
    assert rows[0][2] <= rows[1][2] <= rows[2][2]
    assert b.queue_names() == ["q"] and b.queue_exists("q") and not b.queue_exists("zz")
    assert list(b.iter_messages("zz")) == []


def test_now_is_strictly_increasing() -> None:
    b = Broker("0.7", FakeClock(100.0))
    assert b.now() < b.now() < b.now()


def test_delete_queue_cascades(compat: str) -> None:
    b = make(compat, retryLimit=0)
    push(b, 1)
    (p, m), = b.pop("q").items
    b.ack(m.txid, p.id, "failed")
    assert b.dlq
    assert b.delete_queue("q") and not b.delete_queue("q")
    assert b.dlq == [] and p.id not in b.partitions


def test_15_multi_partition_pop_shares_one_lease() -> None:
    b = make("0.15")
    for part in ("a", "b", "c"):
        push(b, part, partition=part)
    res = b.pop("q", batch=10, partitions=3)
    assert sorted(data(res)) == ["a", "b", "c"] and len(res.claimed) == 3
    assert b.extend_lease(res.lease_id or "", 100) is not None
    assert all(p.states[QUEUE_MODE].lease_id == res.lease_id for p in res.claimed)


def test_07_capacity_counts_unconsumed_queue_mode_messages() -> None:
    b = make("0.7", maxSize=2)
    push(b, 1, 2)
    assert [r.status for r in push(b, 3)] == ["failed"]
    (p, m), = b.pop("q", batch=1).items
    b.ack(m.txid, p.id)
    assert [r.status for r in push(b, 3)] == ["queued"]


def test_07_single_failed_ack_that_is_not_last_of_batch_goes_to_dlq() -> None:
    b = make("0.7", retryLimit=3)
    push(b, 1, 2)
    (p, m1), (_, m2) = b.pop("q", batch=2).items
    assert b.ack(m1.txid, p.id, "failed").status == "failed_dlq"  # not the last ack
    assert b.ack(m2.txid, p.id, "failed").status == "failed_retry"  # last one: batch retry
    assert [e.message.data for e in b.dlq] == [1]
    assert data(b.pop("q", batch=10)) == [2]


def test_07_single_failed_last_ack_retries_whole_batch() -> None:
    b = make("0.7", retryLimit=3)
    push(b, 1, 2)
    (p, m1), (_, m2) = b.pop("q", batch=2).items
    assert b.ack(m1.txid, p.id).status == "completed"
    assert b.ack(m2.txid, p.id, "failed").status == "failed_retry"
    assert data(b.pop("q", batch=10)) == [2]  # cursor stayed at m1


def test_15_dlq_and_retry_statuses() -> None:
    b = make("0.15", retryLimit=5)
    push(b, 1, 2)
    (p, m1), = b.pop("q", batch=1).items
    out = b.ack(m1.txid, p.id, "retry")
    assert out.success and not out.dlq and out.lease_released
    assert p.states[QUEUE_MODE].retries == 0
    (p, m1), = b.pop("q", batch=1).items
    out = b.ack(m1.txid, p.id, "dlq", None, None, "poison")
    assert out.dlq and b.dlq[0].error == "poison"
    assert data(b.pop("q", batch=1)) == [2]


def test_15_retry_counter_survives_a_dlq_move() -> None:
    b = make("0.15", retryLimit=1)
    push(b, 1, 2)
    (p, m1), = b.pop("q").items
    assert not b.ack(m1.txid, p.id, "failed").dlq       # rc 0 -> 1, retry
    (p, m1), = b.pop("q").items
    assert b.ack(m1.txid, p.id, "failed").dlq           # rc 1 >= 1: DLQ, rc stays 1
    (p, m2), = b.pop("q").items
    assert b.ack(m2.txid, p.id, "failed").dlq           # straight to the DLQ
    assert b.dlq[0].retry_count == 1


def test_15_ack_without_group_state_succeeds_without_effect() -> None:
    b = make("0.15")
    push(b, 1)
    (p, m), = b.pop("q", group="g").items
    out = b.ack(m.txid, p.id)  # queue mode never popped this partition
    assert out.success and out.lease_released is None
    assert QUEUE_MODE not in p.states


def test_07_completed_ack_needs_group_state() -> None:
    b = make("0.7")
    push(b, 1)
    (p, m), = b.pop("q", group="g").items
    assert b.ack(m.txid, p.id).error == "not_found"
    assert b.ack(m.txid, p.id, group="g").success


def test_max_wait_time_sweep_deletes_unconsumed_old_messages(compat: str) -> None:
    b = make(compat, maxWaitTimeSeconds=100)
    push(b, "old")
    advance(b, 150)
    push(b, "fresh")
    advance(b, 61)  # the sweep runs at most once a minute
    assert data(b.pop("q", batch=10)) == ["fresh"]
    assert [m.data for m in b.queues["q"].partitions["Default"].messages] == ["fresh"]
    assert b.dlq == []


def test_a_broker_takes_a_generation_name_or_its_rules() -> None:
    from queen.testing.rules import rules_for
    from queen.testing.rules07 import Rules07
    from queen.testing.rules15 import Rules15

    assert isinstance(Broker("0.15").rules, Rules15) and Broker("0.15").compat == "0.15"
    assert isinstance(Broker().rules, Rules07) and Broker().compat == "0.7"
    b = Broker(rules_for("0.15"))
    b.push([{"queue": "auto.created", "payload": 1}])  # 0.15: a push creates the queue
    assert b.queues["auto.created"].namespace == "auto"
    with pytest.raises(ValueError):
        Broker("0.9")
