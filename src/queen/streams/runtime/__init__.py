"""Upstream's import paths of the runner and the error classes, for code that
catches them there (``from queen.streams.runtime.register import
StreamsRegisterFailed``). The classes themselves live in ``queen.streams.errors``."""

from ..errors import (
    StreamsConfigHashMismatch,
    StreamsCycleFailed,
    StreamsHttpError,
    StreamsRegisterFailed,
    StreamsStateGetFailed,
)
from ..runner import Runner

__all__ = ["Runner", "StreamsHttpError", "StreamsRegisterFailed", "StreamsConfigHashMismatch",
           "StreamsCycleFailed", "StreamsStateGetFailed"]
