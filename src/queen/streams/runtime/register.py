"""Upstream's path of the registration errors."""

from ..errors import StreamsConfigHashMismatch, StreamsRegisterFailed

__all__ = ["StreamsConfigHashMismatch", "StreamsRegisterFailed"]
