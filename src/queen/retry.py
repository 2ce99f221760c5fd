"""One retry policy: how long to wait after a failure, how often to try again, and
which errors are worth another try (modelled on redis-py's ``backoff``/``retry``).

``failures`` counts consecutive failures, from 1: the first retry waits
``compute(1)``, which is ``base`` before jitter. Where it is used:

* the transport: ``retry_delay_millis`` doubling, +0..25 % jitter, capped at 30 s,
  ``retry_attempts`` retries per server (``Retry.for_transport``);
* the consume loop after a failed pop: 0.1 s doubling to 1 s, each wait drawn from
  its upper half (``Retry.for_pop``), for as long as the consume runs;
* the windowed-stream consumer after a failed or empty poll: 0.1 s doubling to its
  ``max_backoff_millis``, no jitter (``Retry.for_stream_poll``);
* the push buffers, re-sending a batch the transport gave up on: 2 more tries,
  0.05 s then 0.1 s (``Retry.for_buffer``; a refused push is not re-sent);
* the consume loop's pause after an empty short poll (``wait(False)``): 0.02 s
  doubling to 0.5 s (``ExponentialBackoff``, not a retry of a failure).
"""

from __future__ import annotations

import random
from typing import Optional, Protocol

from .errors import QueenError


class Backoff(Protocol):
    def compute(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failures (>= 1)."""
        ...


class ExponentialBackoff:
    """``base * 2**(failures - 1)``, stretched by up to ``jitter`` (0.25 = +0..25 %),
    then capped at ``cap`` seconds."""

    __slots__ = ("base", "cap", "jitter", "_rng")

    def __init__(self, base: float, cap: float, jitter: float = 0.0,
                 rng: Optional[random.Random] = None) -> None:
        self.base = base
        self.cap = cap
        self.jitter = jitter
        self._rng = rng or random.Random()

    def compute(self, failures: int) -> float:
        delay = self.base * 2 ** (max(failures, 1) - 1)
        if self.jitter:
            delay *= self._rng.uniform(1.0, 1.0 + self.jitter)
        return float(min(self.cap, delay))


class EqualJitterBackoff:
    """``min(cap, base * 2**(failures - 1))``, of which a random upper half is waited
    (so workers that failed together do not come back together, even at the cap)."""

    __slots__ = ("base", "cap", "_rng")

    def __init__(self, base: float, cap: float, rng: Optional[random.Random] = None) -> None:
        self.base = base
        self.cap = cap
        self._rng = rng or random.Random()

    def compute(self, failures: int) -> float:
        ceiling = min(self.cap, self.base * 2 ** (max(failures, 1) - 1))
        return float(ceiling * (0.5 + self._rng.random() / 2))


class LinearBackoff:
    """``step * failures``, capped at ``cap`` seconds."""

    __slots__ = ("step", "cap")

    def __init__(self, step: float, cap: float = float("inf")) -> None:
        self.step = step
        self.cap = cap

    def compute(self, failures: int) -> float:
        return float(min(self.cap, self.step * max(failures, 1)))


class Retry:
    """``retries`` tries after the first (None: for as long as the caller runs), waits
    from ``backoff``, and a notion of which errors another try may cure: the error's
    own ``retriable`` (``queen.errors``), false for anything else."""

    __slots__ = ("backoff", "retries")

    def __init__(self, backoff: Backoff, retries: Optional[int]) -> None:
        self.backoff = backoff
        self.retries = retries

    @classmethod
    def for_transport(cls, retry_delay_millis: int, retry_attempts: int) -> Retry:
        return cls(ExponentialBackoff(retry_delay_millis / 1000.0, TRANSPORT_CAP, jitter=0.25),
                   retry_attempts)

    @classmethod
    def for_pop(cls) -> Retry:
        return cls(EqualJitterBackoff(POP_BASE, POP_CAP), None)

    @classmethod
    def for_stream_poll(cls, max_backoff_millis: int) -> Retry:
        return cls(ExponentialBackoff(STREAM_BASE, max_backoff_millis / 1000.0), None)

    @classmethod
    def for_buffer(cls) -> Retry:
        return cls(LinearBackoff(BUFFER_STEP), BUFFER_RETRIES)

    def allows(self, failures: int) -> bool:
        """Whether another try may follow ``failures`` failed ones."""
        return self.retries is None or failures <= self.retries

    def delay(self, failures: int) -> float:
        return self.backoff.compute(failures)

    @staticmethod
    def retriable(exc: BaseException) -> bool:
        """Whether sending the same request again may succeed (never for errors that
        are not ours: a bug does not go away by trying again)."""
        return isinstance(exc, QueenError) and exc.retriable


TRANSPORT_CAP = 30.0  # s, longest wait between two tries of one request
POP_BASE = 0.1        # s, first wait after a failed pop
POP_CAP = 1.0         # s, cap of that wait: back within ~1 s of a server returning
STREAM_BASE = 0.1     # s, first wait after an empty or failed stream poll
BUFFER_STEP = 0.05    # s, added to the wait before each re-send of a buffered batch
BUFFER_RETRIES = 2    # re-sends of a buffered batch after the transport gave up

__all__ = ["Backoff", "EqualJitterBackoff", "ExponentialBackoff", "LinearBackoff", "Retry"]
