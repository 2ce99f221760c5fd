"""fnv1a32 / HashRing, against both twins."""

from __future__ import annotations

from bisect import bisect_left
from types import SimpleNamespace
from typing import Optional

import pytest


def reference_fnv(data: bytes) -> int:
    h = 2166136261
    for b in data:
        h ^= b
        h = (h * 16777619) % 2**32
    return h


def reference_mix(h: int) -> int:
    # MurmurHash3 fmix32
    h ^= h >> 16
    h = (h * 0x85EBCA6B) % 2**32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) % 2**32
    return h ^ (h >> 16)


@pytest.mark.parametrize(("h", "expected"), [(0, 0), (1, 0x514E28B7), (0xFFFFFFFF, 0x81F16F39)])
def test_mix32_known_vectors(core: SimpleNamespace, h: int, expected: int) -> None:
    assert core.mix32(h) == expected == reference_mix(h)


def test_mix32_errors(core: SimpleNamespace) -> None:
    for bad, exc in ((-1, ValueError), (2**32, ValueError), (1.0, TypeError), (True, TypeError)):
        with pytest.raises(exc):
            core.mix32(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0x811C9DC5),
        ("a", 0xE40C292C),
        ("foobar", 0xBF9CF968),
        ("chongo was here!\n", 0xD49930D5),
    ],
)
def test_fnv1a32_known_vectors(core: SimpleNamespace, text: str, expected: int) -> None:
    assert core.fnv1a32(text) == expected


@pytest.mark.parametrize(
    "text", ["é", "日本語", "emoji \U0001f600", "orders:Default:__QUEUE_MODE__"]
)
def test_fnv1a32_hashes_utf8_bytes(core: SimpleNamespace, text: str) -> None:
    assert core.fnv1a32(text) == reference_fnv(text.encode("utf-8"))


def test_fnv1a32_errors(core: SimpleNamespace) -> None:
    with pytest.raises(TypeError):
        core.fnv1a32(b"bytes")
    with pytest.raises(TypeError):
        core.fnv1a32(None)
    with pytest.raises(ValueError):  # UnicodeEncodeError: lone surrogate
        core.fnv1a32("\ud800")


def brute_lookup(nodes: list[str], vnodes: int, key: str) -> Optional[str]:
    points = sorted(
        (reference_mix(reference_fnv(f"{n}#{i}".encode())), k, n)
        for k, n in enumerate(nodes)
        for i in range(vnodes)
    )
    if not points:
        return None
    h = reference_mix(reference_fnv(key.encode()))
    i = bisect_left([p[0] for p in points], h)
    return points[i % len(points)][2]


def test_ring_lookup_matches_the_definition(core: SimpleNamespace) -> None:
    nodes = ["http://a:6632", "http://b:6632", "http://c:6632"]
    ring = core.HashRing(nodes, vnodes=16)
    for i in range(500):
        key = f"queue-{i}:Default:group"
        assert ring.lookup(key) == brute_lookup(nodes, 16, key)


def test_ring_properties(core: SimpleNamespace) -> None:
    ring = core.HashRing(["a", "b", "a", "c"])
    assert ring.nodes == ("a", "b", "c")
    assert ring.vnodes == 128
    assert len(ring) == 3
    assert "HashRing" in repr(ring)
    assert core.HashRing(iter(["x"]), 1).nodes == ("x",)


def test_empty_ring_answers_none(core: SimpleNamespace) -> None:
    assert core.HashRing([]).lookup("k") is None
    assert core.HashRing([]).nodes == ()


def test_skip_equals_a_ring_without_those_nodes(core: SimpleNamespace) -> None:
    full = core.HashRing(["a", "b", "c"], vnodes=32)
    without_b = core.HashRing(["a", "c"], vnodes=32)
    for i in range(1000):
        key = f"k{i}"
        assert full.lookup(key, skip={"b"}) == without_b.lookup(key)
        assert full.lookup(key, skip=("b",)) == without_b.lookup(key)
        assert full.lookup(key, skip=["a", "b", "c"]) is None
        assert full.lookup(key, skip={"zzz"}) == full.lookup(key)


def test_removing_one_of_three_servers_moves_about_a_third(core: SimpleNamespace) -> None:
    three = core.HashRing(["s1", "s2", "s3"])
    two = core.HashRing(["s1", "s2"])
    keys = [f"orders-{i}:p{i % 7}:g{i % 3}" for i in range(6000)]
    moved = 0
    for key in keys:
        before, after = three.lookup(key), two.lookup(key)
        if before != after:
            moved += 1
            assert before == "s3"  # only the removed server's keys move
        else:
            assert before in ("s1", "s2")
    assert 0.2 < moved / len(keys) < 0.47


def test_every_node_gets_keys(core: SimpleNamespace) -> None:
    ring = core.HashRing([f"n{i}" for i in range(5)])
    owners = {ring.lookup(f"key-{i}") for i in range(2000)}
    assert owners == set(ring.nodes)


@pytest.mark.parametrize(
    ("args", "exc"),
    [
        (("abc",), TypeError),
        (([1, 2],), TypeError),
        ((["a"], 0), ValueError),
        ((["a"], -3), ValueError),
        ((["a"], 100_001), ValueError),
        ((["a"], 2**40), ValueError),
        ((["a"], 1.5), TypeError),
        ((["a"], True), TypeError),
    ],
)
def test_ring_validation(core: SimpleNamespace, args: tuple, exc: type) -> None:
    with pytest.raises(exc):
        core.HashRing(*args)


def test_lookup_key_must_be_str(core: SimpleNamespace) -> None:
    with pytest.raises(TypeError):
        core.HashRing(["a"]).lookup(42)
