"""The error family of queen-mq. Every message says what to do next, and every error
knows whether trying the same request again may cure it (``retriable``), which is
what ``queen.retry.Retry`` asks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence

from .log import redact


class QueenError(Exception):
    """Base class of every error raised by queen-mq."""

    RETRIABLE = False  # the class's answer; an error may know better (QueenHTTPError)

    @property
    def retriable(self) -> bool:
        """True when sending the same request again later may succeed."""
        return self.RETRIABLE


class QueenValidationError(QueenError, ValueError):
    """Bad input, detected before any request is sent. Never retriable."""


class QueenConnectionError(QueenError, ConnectionError):
    """No server could be reached (after retries and failover). Retriable."""

    RETRIABLE = True


class QueenTLSError(QueenConnectionError):
    """A TLS handshake failed: the server's certificate is not trusted (wrong or
    missing ``tls_ca_file``), or the server wants a client certificate. Not retried:
    the same configuration would fail again."""

    RETRIABLE = False


class QueenOutcomeUnknownError(QueenConnectionError):
    """The connection was lost (or the answer never came) after the request was sent:
    the server MAY have applied it. The request was not sent again because doing so
    could apply it twice (pop, ack, transaction, lease extend). Check the effect
    before repeating it: e.g. a popped message comes back after its lease expires."""


class BufferFullError(QueenError):
    """The push buffers hold as many messages or bytes as allowed
    (``buffer_max_messages``/``buffer_max_bytes``) and ``buffer_when_full`` is
    ``"raise"``: nothing of this push was buffered; try again later or flush."""


class QueenTimeoutError(QueenError, TimeoutError):
    """A request did not complete in time (after retries and failover). Retriable."""

    RETRIABLE = True


class UnknownAfterTimeout(QueenOutcomeUnknownError, QueenTimeoutError):
    """An outcome unknown because the answer did not come in time: both a
    ``QueenOutcomeUnknownError`` and a ``QueenTimeoutError``."""


def retriable_status(status: Optional[int]) -> bool:
    """5xx, 429 and 408 may pass; so may an error sent with 2xx (real servers send
    database trouble that way, with HTTP 200); any other 4xx will not."""
    if status is None:
        return False
    return status >= 500 or status in (408, 429) or 200 <= status < 300


class QueenHTTPError(QueenError):
    """The server answered with an error: a 4xx/5xx status, or an ``error`` field
    in the body (real Queen servers often send errors with HTTP 200).

    ``retriable`` follows the status (:func:`retriable_status`) unless whoever read
    the reply knew better and said so (e.g. "Stream not found" comes with 200 too)."""

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        body: Any = None,
        method: Optional[str] = None,
        url: Optional[str] = None,
        retriable: Optional[bool] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        self.method = method
        self.url = redact(url) if url else url  # never a password from the URL
        self._retriable = retriable

    @property
    def retriable(self) -> bool:
        if self._retriable is not None:
            return self._retriable
        return retriable_status(self.status)

    def __str__(self) -> str:
        where = f" ({self.method} {self.url} -> {self.status})" if self.method else ""
        return f"{self.message}{where}"


class QueenServerFeatureError(QueenError):
    """The server does not offer this feature (e.g. windowed streams or
    namespace/task pops on a Queen 0.15.x server). Never retriable."""

    def __init__(self, feature: str, server_version: Optional[str] = None, hint: str = "") -> None:
        version = f"Queen {server_version}" if server_version else "this Queen server"
        msg = f"{feature} is not available on {version}"
        if hint:
            msg += f": {hint}"
        super().__init__(msg)
        self.feature = feature
        self.server_version = server_version


@dataclass
class FailedBatch:
    """Buffered messages that could not be delivered, and why."""

    queue: str
    partition: str
    transaction_ids: List[str]
    error: str


class BufferFlushError(QueenError):
    """Some buffered messages could not be delivered. ``failures`` lists each batch
    (queue, partition, transactionIds, error); nothing was dropped silently. Not
    retriable as such: push the listed messages again."""

    def __init__(self, failures: Sequence[FailedBatch]) -> None:
        self.failures = list(failures)
        count = sum(len(f.transaction_ids) for f in self.failures)
        where = "; ".join(
            f"{f.queue}/{f.partition}: {len(f.transaction_ids)} message(s): {f.error}"
            for f in self.failures[:5]
        )
        more = f" (and {len(self.failures) - 5} more batches)" if len(self.failures) > 5 else ""
        super().__init__(
            f"{count} buffered message(s) could not be delivered: {where}{more}. "
            "Their transactionIds are in .failures; push them again to retry."
        )


__all__ = [
    "BufferFlushError",
    "FailedBatch",
    "QueenError",
    "QueenValidationError",
    "QueenConnectionError",
    "BufferFullError",
    "QueenTLSError",
    "QueenOutcomeUnknownError",
    "QueenTimeoutError",
    "QueenHTTPError",
    "QueenServerFeatureError",
    "retriable_status",
]
