"""What a backend reports when no (complete) answer came back; the transport decides
whether to retry. Shared by the HTTP/1.1 and HTTP/2 backends."""

from __future__ import annotations

from .. import log

# Client-side idle limit, below the server's ~10 s, so we close idle sockets first.
KEEPALIVE_SECONDS = 5.0

CONNECT = "connect"  # never reached the server: always safe to retry
DROPPED = "dropped"  # connection lost before a complete response
TIMEOUT = "timeout"  # no (complete) response in time
CONNECT_TIMEOUT = "connect-timeout"
TLS = "tls"  # handshake or certificate refused: the same configuration fails again


class Failure(Exception):
    def __init__(self, kind: str, cause: BaseException) -> None:
        super().__init__(kind)
        self.kind = kind
        self.cause = cause

    def describe(self) -> str:
        text = str(self.cause) or type(self.cause).__name__
        return log.redact(text)  # type: ignore[no-any-return]
