"""The one narrow seam between the client and what it drives.

Builders, engines (buffer, consumer), ``admin`` and the streams packages reach the
client only through a :class:`Host`: send a protocol request, know the server
generation, know whether the client is closed. They never touch the ``Queen``
object's private members. ``client.py`` provides the implementation.
"""

from __future__ import annotations

from typing import Protocol

from .wire.base import Reply, Request


class Host(Protocol):
    """What a builder or engine may ask of the client."""

    @property
    def closed(self) -> bool:
        """True once ``Queen.close()`` has started: no new work may begin."""
        ...

    async def send(self, request: Request) -> Reply:
        """Send one protocol request (retries and failover included) and return the
        raw reply for a ``wire`` parser."""
        ...

    async def generation(self) -> str:
        """The server generation, ``wire.GEN_07`` or ``wire.GEN_015`` (detected once)."""
        ...


__all__ = ["Host"]
