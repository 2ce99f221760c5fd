"""Upstream's path of the cycle error."""

from ..errors import StreamsCycleFailed

__all__ = ["StreamsCycleFailed"]
