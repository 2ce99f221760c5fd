"""Upstream's path of the state error."""

from ..errors import StreamsStateGetFailed

__all__ = ["StreamsStateGetFailed"]
