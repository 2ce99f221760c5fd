"""Upstream's path of the HTTP error."""

from ..errors import StreamsHttpError

__all__ = ["StreamsHttpError"]
