"""The one narrow seam between the client and what it drives.

Builders, engines (buffer, consumer, stream), ``admin`` and the streams packages
reach the client only through a :class:`Host`: send a protocol request, know the
server generation, know whether the client is closed, buffer pushes, and the
message operations (pop, ack, renew, trace; implemented in ``queen.ops`` over the
first three). They never touch the ``Queen`` object's private members.
``client.py`` provides the implementation.

This module sits in the shared bottom layer: it names the wire and buffer types
for the type checker only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Protocol, Sequence, Union

from .types import AckResult, Message, PopSpec, RenewResult

if TYPE_CHECKING:
    from .wire.base import Reply, Request


class Buffers(Protocol):
    """The client's push buffers (``queen.buffer.BufferManager``)."""

    @property
    def limited(self) -> bool:
        """True when flow-control limits on held messages/bytes are set."""
        ...

    async def reserve(self, fragments: Sequence[bytes]) -> None:
        """Wait for room for ``fragments`` (or raise ``BufferFullError``)."""
        ...

    def put(self, queue: str, partition: str, fragments: List[bytes], txids: List[str],
            max_count: int, max_millis: int, report: Optional[Any] = None) -> bool:
        """Buffer encoded items (``report``: a ``buffer.Delivery`` to settle); True when
        the caller must then ``await settle()``."""
        ...

    async def settle(self) -> None:
        """Give a sealed batch's sender a turn, and hold back a producer that is too far ahead."""
        ...

    async def flush(self, queue: Optional[str] = None, partition: Optional[str] = None,
                    timeout: Optional[float] = None) -> None:
        """Send what is buffered and wait; raise ``BufferFlushError`` for what failed
        (``QueenTimeoutError`` when ``timeout`` passes first)."""
        ...

    def stats(self) -> Dict[str, Any]:
        """Counters of the buffers (``Queen.get_buffer_stats``)."""
        ...


class Host(Protocol):
    """What a builder or engine may ask of the client."""

    @property
    def closed(self) -> bool:
        """True once ``Queen.close()`` has started: no new work may begin."""
        ...

    @property
    def known_generation(self) -> Optional[str]:
        """The generation when already known (no I/O), else None: hot paths read this
        before awaiting :meth:`generation`."""
        ...

    @property
    def buffers(self) -> Buffers:
        """The push buffers of this client."""
        ...

    async def send(self, request: Request) -> Reply:
        """Send one protocol request (retries and failover included) and return the
        raw reply for a ``wire`` parser."""
        ...

    async def generation(self) -> str:
        """The server generation, ``wire.GEN_07`` or ``wire.GEN_015`` (detected once)."""
        ...

    async def pop(self, spec: PopSpec) -> List[Message]:
        """One pop, normalised over both generations (``queen.ops.pop``)."""
        ...

    async def ack(self, message: Any, status: Any = None,
                  context: Optional[Mapping[str, Any]] = None
                  ) -> Union[AckResult, List[AckResult]]:
        """Ack one message or a list (``queen.ops.ack``)."""
        ...

    async def renew(self, target: Any, seconds: Optional[int] = None
                    ) -> Union[RenewResult, List[RenewResult]]:
        """Extend leases (``queen.ops.renew``)."""
        ...

    async def trace(self, message: Mapping[str, Any], event: Mapping[str, Any]) -> Dict[str, Any]:
        """Record a trace event for a message; never raises (``queen.ops.trace``)."""
        ...


__all__ = ["Buffers", "Host"]
