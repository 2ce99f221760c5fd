"""Errors of the streams SDK, under upstream's names and ``code`` values.

All are :class:`queen.QueenError`; the HTTP ones are also
:class:`queen.QueenHTTPError`. A config_hash mismatch raises
:class:`StreamsConfigHashMismatch`, which *is a* :class:`StreamsRegisterFailed`:
real 0.15.1 answers the mismatch with HTTP 200 ``success: false``, so code written
for upstream (which then sees ``StreamsRegisterFailed``) keeps working, and code
catching the precise class works too.
"""

from __future__ import annotations

from typing import Any, Optional

from ..errors import QueenError, QueenHTTPError


class StreamsHttpError(QueenHTTPError):
    """A ``/streams/v1`` call answered with an error status (e.g. a 400)."""


class _WithBody(QueenError):
    code = ""

    def __init__(self, message: str, body: Optional[Any] = None) -> None:
        super().__init__(message)
        self.body = body  # the server's answer


class StreamsRegisterFailed(_WithBody):
    """Registering the query failed (``success: false``); the text is the server's."""

    code = "STREAMS_REGISTER_FAILED"


class StreamsConfigHashMismatch(StreamsRegisterFailed):
    """The query name is registered with a different operator chain. Pass
    ``reset=True`` to ``run()`` to wipe its state, or use a new ``query_id``."""

    code = "STREAMS_CONFIG_HASH_MISMATCH"


class StreamsCycleFailed(_WithBody):
    """The server refused a cycle; nothing of it was stored."""

    code = "STREAMS_CYCLE_FAILED"


class StreamsStateGetFailed(_WithBody):
    """Reading the query's state failed."""

    code = "STREAMS_STATE_GET_FAILED"


__all__ = ["StreamsHttpError", "StreamsRegisterFailed", "StreamsConfigHashMismatch",
           "StreamsCycleFailed", "StreamsStateGetFailed"]
