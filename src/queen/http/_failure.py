"""What a backend reports when no (complete) answer came back, and the one rule that
says whether a request may be sent again. Shared by the HTTP/1.1 and HTTP/2 backends.

The rule (:func:`may_resend`): a request none of whose bytes were written (the
connection was refused, reset or timed out while connecting, or closed before the
write) may go again, to any server. Once bytes were written the server may have acted
on it, so only a request marked ``idempotent`` by ``wire`` may go again (a push, whose
client-made transactionIds make a second copy a ``duplicate``, and reads); a pop, ack,
transaction or lease extend ends in ``QueenOutcomeUnknownError`` instead.
"""

from __future__ import annotations

from typing import Optional

from .. import log

# Client-side idle limit, below the server's ~10 s, so we close idle sockets first.
KEEPALIVE_SECONDS = 5.0

CONNECT = "connect"  # never reached the server: always safe to retry
DROPPED = "dropped"  # connection lost before a complete response
TIMEOUT = "timeout"  # no (complete) response in time
CONNECT_TIMEOUT = "connect-timeout"
TLS = "tls"  # handshake or certificate refused: the same configuration fails again

_NOT_SENT = (CONNECT, CONNECT_TIMEOUT, TLS)


class Failure(Exception):
    """``kind`` of failure; ``sent`` is False only when no byte of the request was
    written (by default: connect failures); ``reused`` when it happened on a pooled
    connection that had served requests before."""

    def __init__(self, kind: str, cause: BaseException, sent: Optional[bool] = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.cause = cause
        self.sent = kind not in _NOT_SENT if sent is None else sent
        # On a pooled connection used before: a drop there is most likely the server
        # having closed it while idle, not the server being down.
        self.reused = False

    def describe(self) -> str:
        text = str(self.cause) or type(self.cause).__name__
        return log.redact(text)  # type: ignore[no-any-return]


def may_resend(failure: Failure, idempotent: bool) -> bool:
    """Whether the request that met ``failure`` may be sent again (here or elsewhere)."""
    return idempotent or not failure.sent


def server_down(failure: Failure) -> bool:
    """Whether the failure says the server is unreachable (skip it, probe it): it
    could not be connected to, or it dropped a fresh connection without answering."""
    if failure.kind in (CONNECT, CONNECT_TIMEOUT):
        return True
    return failure.kind == DROPPED and not failure.reused
