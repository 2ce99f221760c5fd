import random
from collections import Counter

import pytest

from queen.config import parse_config
from queen.http.balancer import Balancer

A, B, C = "http://a:6632", "http://b:6632", "http://c:6632"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def keys(n: int = 3000) -> list:
    return [f"queue-{i}:Default:group-{i % 7}" for i in range(n)]


def test_affinity_same_key_same_server_and_spread():
    bal = Balancer([A, B, C], "affinity", vnodes=128)
    owners = {k: bal.pick(k) for k in keys()}
    assert all(bal.pick(k) == owners[k] for k in list(owners)[:200])
    counts = Counter(owners.values())
    assert set(counts) == {A, B, C}
    for n in counts.values():  # a fair share each (ideal 1000)
        assert 700 < n < 1300, counts


def test_removing_one_of_three_moves_about_a_third():
    ks = keys()
    three = Balancer([A, B, C], "affinity", vnodes=128)
    two = Balancer([A, B], "affinity", vnodes=128)
    moved = [k for k in ks if three.pick(k) != two.pick(k)]
    # exactly the keys owned by C move, and nothing else
    assert all(three.pick(k) == C for k in moved)
    assert 0.25 < len(moved) / len(ks) < 0.42


def test_failed_server_keys_fail_over_consistently():
    clock = Clock()
    bal = Balancer([A, B, C], "affinity", vnodes=64, retry_after=5.0, clock=clock)
    ks = keys(600)
    before = {k: bal.pick(k) for k in ks}
    bal.mark_failed(C)
    after = {k: bal.pick(k) for k in ks}
    for k in ks:
        if before[k] != C:
            assert after[k] == before[k]  # unaffected keys stay put
        else:
            assert after[k] in (A, B)
            assert bal.plan(k)[0] == after[k]
    # the failover order is the ring order without C
    two = Balancer([A, B], "affinity", vnodes=64)
    assert all(after[k] == two.pick(k) for k in ks)


def test_affinity_plan_lists_every_server_once():
    bal = Balancer([A, B, C], "affinity")
    plan = bal.plan("q:p:g")
    assert sorted(plan) == sorted([A, B, C]) and plan[0] == bal.pick("q:p:g")


def test_affinity_without_key_rotates():
    bal = Balancer([A, B, C], "affinity")
    assert [bal.plan(None)[0] for _ in range(4)] == [A, B, C, A]


def test_round_robin_order():
    bal = Balancer([A, B, C], "round-robin")
    firsts = [bal.plan()[0] for _ in range(7)]
    assert firsts == [A, B, C, A, B, C, A]
    assert bal.plan() == [B, C, A]


def test_round_robin_ignores_key_and_skips_unhealthy():
    clock = Clock()
    bal = Balancer([A, B, C], "round-robin", retry_after=1.0, clock=clock)
    bal.mark_failed(B)
    firsts = [bal.plan("k")[0] for _ in range(4)]
    assert B not in firsts and Counter(firsts) == Counter({A: 2, C: 2})


def test_session_sticks_until_failure():
    clock = Clock()
    bal = Balancer([A, B, C], "session", retry_after=5.0, clock=clock, rng=random.Random(1))
    first = bal.pick()
    assert all(bal.plan(f"k{i}")[0] == first for i in range(20))
    bal.mark_failed(first)
    second = bal.pick()
    assert second != first
    assert all(bal.plan()[0] == second for _ in range(5))
    clock.now += 10  # the old server is eligible again, but the session stays
    assert bal.plan()[0] == second


def test_session_instances_spread_across_servers():
    firsts = {Balancer([A, B, C], "session", rng=random.Random(i)).pick() for i in range(30)}
    assert firsts == {A, B, C}


def test_unhealthy_skipped_then_retried_after_delay():
    clock = Clock()
    bal = Balancer([A, B], "round-robin", retry_after=5.0, clock=clock)
    bal.mark_failed(A)
    assert not bal.is_healthy(A)
    assert bal.plan() == [B]
    clock.now += 4.9
    assert bal.plan() == [B]
    clock.now += 0.2
    assert bal.is_healthy(A)
    assert A in bal.plan()
    bal.mark_ok(A)
    assert bal.is_healthy(A)


def test_all_unhealthy_still_offers_everything():
    clock = Clock()
    bal = Balancer([A, B, C], "affinity", retry_after=5.0, clock=clock)
    for u in (A, B, C):
        bal.mark_failed(u)
    assert sorted(bal.plan("x")) == sorted([A, B, C])
    assert sorted(bal.plan(None)) == sorted([A, B, C])


def test_from_config():
    cfg = parse_config(
        {
            "urls": [A, B],
            "load_balancing_strategy": "round-robin",
            "health_retry_after_millis": 250,
            "affinity_hash_ring": 8,
        }
    )
    bal = Balancer.from_config(cfg)
    assert bal.urls == (A, B) and bal.strategy == "round-robin" and bal.retry_after == 0.25


def test_needs_servers():
    with pytest.raises(ValueError):
        Balancer([], "affinity")


@pytest.mark.parametrize("strategy", ["affinity", "round-robin", "session"])
def test_probed_mode_keeps_a_failed_server_out_until_it_answers(strategy: str) -> None:
    clock = Clock()
    bal = Balancer([A, B, C], strategy, retry_after=1.0, clock=clock, probed=True,
                   rng=random.Random(3))
    ks = keys(300)
    before = {k: bal.plan(k)[0] for k in ks}
    bal.mark_failed(B)
    clock.now += 3600  # time alone never brings it back: only a probe does
    assert not bal.is_healthy(B) and bal.failed() == [B]
    during = {k: bal.plan(k) for k in ks}
    assert all(B not in plan for plan in during.values())
    if strategy == "affinity":  # B's keys went to their ring successor, the rest stayed
        for k in ks:
            assert during[k][0] == (before[k] if before[k] != B else bal._ring_order(k)[1])
    bal.mark_ok(B)
    after = {k: bal.plan(k)[0] for k in ks}
    if strategy == "affinity":
        assert after == before  # and came back
    assert B in set(after.values()) or strategy == "session"


def test_probed_mode_offers_all_when_all_failed() -> None:
    bal = Balancer([A, B, C], "round-robin", probed=True)
    for u in (A, B, C):
        bal.mark_failed(u)
    assert sorted(bal.plan()) == [A, B, C]
