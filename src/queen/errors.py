"""The error family of queen-mq. Every message says what to do next."""

from __future__ import annotations

from typing import Any, Optional


class QueenError(Exception):
    """Base class of every error raised by queen-mq."""


class QueenValidationError(QueenError, ValueError):
    """Bad input, detected before any request is sent."""


class QueenConnectionError(QueenError, ConnectionError):
    """No server could be reached (after retries and failover)."""


class QueenTimeoutError(QueenError, TimeoutError):
    """A request did not complete in time (after retries and failover)."""


class QueenHTTPError(QueenError):
    """The server answered with an error: a 4xx/5xx status, or an ``error`` field
    in the body (real Queen servers often send errors with HTTP 200)."""

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        body: Any = None,
        method: Optional[str] = None,
        url: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        self.method = method
        self.url = url

    def __str__(self) -> str:
        where = f" ({self.method} {self.url} -> {self.status})" if self.method else ""
        return f"{self.message}{where}"


class QueenServerFeatureError(QueenError):
    """The server does not offer this feature (e.g. windowed streams or
    namespace/task pops on a Queen 0.15.x server)."""

    def __init__(self, feature: str, server_version: Optional[str] = None, hint: str = "") -> None:
        version = f"Queen {server_version}" if server_version else "this Queen server"
        msg = f"{feature} is not available on {version}"
        if hint:
            msg += f": {hint}"
        super().__init__(msg)
        self.feature = feature
        self.server_version = server_version


__all__ = [
    "QueenError",
    "QueenValidationError",
    "QueenConnectionError",
    "QueenTimeoutError",
    "QueenHTTPError",
    "QueenServerFeatureError",
]
