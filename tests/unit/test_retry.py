"""The one retry policy: backoff sequences, attempt counting, and which errors are
worth another try."""

from __future__ import annotations

import random

import pytest

from queen import errors
from queen.buffer import BufferFlushError
from queen.retry import EqualJitterBackoff, ExponentialBackoff, LinearBackoff, Retry
from queen.wire import streams07


class Reply:
    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body, self.method, self.url = status, body, "POST", "http://x/api"


def test_exponential_without_jitter_doubles_to_the_cap() -> None:
    b = ExponentialBackoff(0.1, 0.5)
    assert [b.compute(f) for f in range(1, 7)] == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5, 0.5])


def test_transport_backoff_matches_its_old_formula() -> None:
    # before: min(30, delay * 2**attempt * uniform(1.0, 1.25)), attempt from 0
    ours, old = random.Random(7), random.Random(7)
    b = ExponentialBackoff(0.3, 30.0, jitter=0.25, rng=ours)
    for attempt in range(12):
        assert b.compute(attempt + 1) == min(30.0, 0.3 * 2**attempt * old.uniform(1.0, 1.25))


def test_pop_backoff_matches_its_old_formula() -> None:
    # before: delay = min(delay * 2, 5) after each failure from 0.1, waited * (0.5 + random() / 2)
    ours, old = random.Random(3), random.Random(3)
    b = EqualJitterBackoff(0.1, 5.0, rng=ours)
    delay = 0.1
    for failures in range(1, 12):
        assert b.compute(failures) == pytest.approx(delay * (0.5 + old.random() / 2))
        delay = min(delay * 2, 5.0)


def test_buffer_and_empty_poll_pacing_keep_their_old_sequences() -> None:
    # buffer re-sends: 0.05 * (attempt + 1), two of them
    b = Retry.for_buffer()
    assert [b.allows(f) for f in (1, 2, 3)] == [True, True, False]
    assert [b.delay(f) for f in (1, 2)] == pytest.approx([0.05, 0.1])
    assert LinearBackoff(0.05, cap=0.12).compute(5) == 0.12
    # the consume loop after empty short polls: 0.02 doubling to 0.5
    e = ExponentialBackoff(0.02, 0.5)
    assert [e.compute(f) for f in range(1, 8)] == pytest.approx(
        [0.02, 0.04, 0.08, 0.16, 0.32, 0.5, 0.5])


def test_attempts() -> None:
    r = Retry(ExponentialBackoff(0.1, 1.0), retries=2)
    assert [r.allows(f) for f in (1, 2, 3)] == [True, True, False]
    assert Retry(ExponentialBackoff(0.1, 1.0), retries=0).allows(1) is False
    assert Retry.for_pop().allows(10_000)  # the consume loop tries for as long as it runs
    t = Retry.for_transport(250, 3)
    assert t.retries == 3 and 0.25 <= t.delay(1) <= 0.25 * 1.25


@pytest.mark.parametrize(("error", "retriable"), [
    (errors.QueenConnectionError("down"), True),
    (errors.QueenTimeoutError("slow"), True),
    (errors.QueenHTTPError("db", status=500), True),
    (errors.QueenHTTPError("busy", status=429), True),
    (errors.QueenHTTPError("late", status=408), True),
    (errors.QueenHTTPError("db trouble", status=200), True),   # 0.7 sends these with 200
    (errors.QueenHTTPError("bad", status=400), False),
    (errors.QueenHTTPError("gone", status=404), False),
    (errors.QueenHTTPError("no status"), False),
    (errors.QueenHTTPError("said so", status=200, retriable=False), False),
    (errors.QueenValidationError("bad input"), False),
    (errors.QueenServerFeatureError("x", "0.15"), False),
    (BufferFlushError([]), False),
    (ValueError("a bug"), False),
])
def test_which_errors_are_retriable(error: BaseException, retriable: bool) -> None:
    assert Retry.retriable(error) is retriable


def test_stream_errors_sent_with_200_are_final() -> None:
    # "Stream not found" comes with HTTP 200 from 0.7.5: polling again cannot help
    with pytest.raises(errors.QueenHTTPError) as info:
        streams07.parse(Reply(200, b'{"error":"Stream not found"}'))
    assert not info.value.retriable
    with pytest.raises(errors.QueenHTTPError) as info:
        streams07.parse(Reply(503, b'{"error":"db down"}'))
    assert info.value.retriable
