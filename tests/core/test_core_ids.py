"""uuid7 / is_uuid, against both twins."""

from __future__ import annotations

import os
import re
import sys
import time
import uuid
from types import SimpleNamespace

import pytest

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_uuid7_format_and_stdlib_view(core: SimpleNamespace) -> None:
    for _ in range(200):
        s = core.uuid7()
        assert UUID7.match(s), s
        u = uuid.UUID(s)
        assert u.version == 7
        assert u.variant == uuid.RFC_4122
        assert str(u) == s


def test_uuid7_embeds_the_current_unix_millis(core: SimpleNamespace) -> None:
    before = time.time_ns() // 1_000_000
    s = core.uuid7()
    after = time.time_ns() // 1_000_000
    ms = int(s.replace("-", "")[:12], 16)
    # +1: a counter overflow may move the id one millisecond ahead
    assert before <= ms <= after + 1


def test_uuid7_is_strictly_increasing_and_unique(core: SimpleNamespace) -> None:
    ids = [core.uuid7() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    as_ints = [uuid.UUID(s).int for s in ids]
    assert all(a < b for a, b in zip(as_ints, as_ints[1:]))


def test_uuid7_random_bits_vary(core: SimpleNamespace) -> None:
    tails = {core.uuid7()[-8:] for _ in range(100)}
    assert len(tails) > 90


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_uuid7_child_after_fork_does_not_repeat_parent(core: SimpleNamespace) -> None:
    core.uuid7()  # fill the random pool before forking
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.write(w, core.uuid7().encode())
        finally:
            os._exit(0)
    os.close(w)
    parent_id = core.uuid7()
    child_id = os.read(r, 100).decode()
    os.close(r)
    os.waitpid(pid, 0)
    assert UUID7.match(child_id)
    assert child_id[-8:] != parent_id[-8:]


def _restore_state_afterwards(monkeypatch: pytest.MonkeyPatch, module: object) -> None:
    # ids made with a clock in the future would keep later ids in the future too
    monkeypatch.setattr(module, "_last_ms", module._last_ms)  # type: ignore[attr-defined]
    monkeypatch.setattr(module, "_counter", module._counter)  # type: ignore[attr-defined]


def test_pure_uuid7_stays_monotonic_when_the_clock_goes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from queen._core import _ids_py

    _restore_state_afterwards(monkeypatch, _ids_py)
    now = [time.time_ns() + 10_000_000_000]
    monkeypatch.setattr(_ids_py, "time_ns", lambda: now[0])
    a = _ids_py.uuid7()
    now[0] -= 5_000_000_000
    b = _ids_py.uuid7()
    assert a < b


def test_pure_uuid7_counter_overflow_moves_to_next_millisecond(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from queen._core import _ids_py

    _restore_state_afterwards(monkeypatch, _ids_py)
    fixed = time.time_ns() + 20_000_000_000
    monkeypatch.setattr(_ids_py, "time_ns", lambda: fixed)
    a = _ids_py.uuid7()
    monkeypatch.setattr(_ids_py, "_counter", _ids_py._COUNTER_MAX)
    b = _ids_py.uuid7()
    assert a < b
    assert int(b.replace("-", "")[:12], 16) == fixed // 1_000_000 + 1


@pytest.mark.parametrize(
    "s",
    [
        "00000000-0000-0000-0000-000000000000",
        "11111111-2222-4333-8444-555555555555",
        "6F1C9A2E-1B7D-4C3E-8A9F-0D1E2F3A4B5C",
        "6f1c9a2e-1b7d-4c3e-8a9f-0d1e2f3a4b5c",
    ],
)
def test_is_uuid_accepts_canonical_text(core: SimpleNamespace, s: str) -> None:
    assert core.is_uuid(s) is True


@pytest.mark.parametrize(
    "s",
    [
        None,
        123,
        b"6f1c9a2e-1b7d-4c3e-8a9f-0d1e2f3a4b5c",
        uuid.UUID("6f1c9a2e-1b7d-4c3e-8a9f-0d1e2f3a4b5c"),
        "",
        "not-a-uuid",
        "6f1c9a2e1b7d4c3e8a9f0d1e2f3a4b5c",
        "{6f1c9a2e-1b7d-4c3e-8a9f-0d1e2f3a4b5c}",
        "6f1c9a2e-1b7d-4c3e-8a9f-0d1e2f3a4b5",
        "6f1c9a2e-1b7d-4c3e-8a9f-0d1e2f3a4b5cc",
        "6f1c9a2e-1b7d-4c3e-8a9f-0d1e2f3a4b5g",
        "6f1c9a2e-1b7d-4c3e-8a9f_0d1e2f3a4b5c",
        "6f1c9a2e-1b7d4-c3e-8a9f-0d1e2f3a4b5c",
        "6f1c9a2e-1b7d-4c3e-8a9f-0d1e2f3a4b5\u0663",
        "\uff16f1c9a2e-1b7d-4c3e-8a9f-0d1e2f3a4b5c",
    ],
)
def test_is_uuid_rejects_everything_else(core: SimpleNamespace, s: object) -> None:
    assert core.is_uuid(s) is False


def test_uuid7_output_is_accepted_by_is_uuid(core: SimpleNamespace) -> None:
    assert all(core.is_uuid(core.uuid7()) for _ in range(100))


def test_uuid7_is_a_plain_str(core: SimpleNamespace) -> None:
    s = core.uuid7()
    assert type(s) is str
    assert sys.getsizeof(s) == sys.getsizeof("x" * 36)  # compact ASCII, like Python's own


def test_uuid7_from_many_threads_is_unique_and_ordered_per_thread(core: SimpleNamespace) -> None:
    import threading

    results: list = []

    def work() -> None:
        ids = [core.uuid7() for _ in range(3000)]
        results.append(ids)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert all(ids == sorted(ids) for ids in results)
    every = [i for ids in results for i in ids]
    assert len(set(every)) == len(every)
