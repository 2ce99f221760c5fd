"""DLQBuilder: ``await queen.queue(q).dlq(group).limit(10).offset(0).from_(t).to(t).get()``.

Both generations answer ``{'messages', 'total', 'limit', 'offset'}``. On 0.15 the
server has no total and ignores partition/from/to/limit/offset (and answers any
offset > 0 with null), so the client fetches the queue's whole DLQ listing once and
filters, counts and pages it itself. Entries carry ``dlqTimestamp`` (the time the
message was dead-lettered) besides the server's own field names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from .. import wire
from ..errors import QueenValidationError
from ._util import positive_int, timestamp_text

if TYPE_CHECKING:
    from ..seam import Host


class DLQBuilder:
    """``queen.queue(q).dlq(group)``: a page of the queue's dead-letter messages."""

    def __init__(
        self, host: Host, queue: str, group: Optional[str], partition: Optional[str]
    ) -> None:
        self._host = host
        self._queue = queue
        self._group = group
        self._partition = partition
        self._limit = 100
        self._offset = 0
        self._from: Optional[str] = None
        self._to: Optional[str] = None

    def limit(self, n: int) -> DLQBuilder:
        """Entries per page (default 100)."""
        self._limit = positive_int("dlq limit", n)
        return self

    def offset(self, n: int) -> DLQBuilder:
        """Entries to skip (default 0)."""
        self._offset = positive_int("dlq offset", n, 0)
        return self

    def from_(self, when: Any) -> DLQBuilder:
        """Only entries dead-lettered at or after this time (ISO-8601 or datetime)."""
        self._from = self._time(when, "dlq from_")
        return self

    def to(self, when: Any) -> DLQBuilder:
        """Only entries dead-lettered at or before this time (ISO-8601 or datetime)."""
        self._to = self._time(when, "dlq to")
        return self

    @staticmethod
    def _time(when: Any, name: str) -> str:
        text = timestamp_text(when, name)
        if wire.parse_time(text) is None:
            raise QueenValidationError(f"{name} {text!r} is not an ISO-8601 date or timestamp")
        return text

    async def get(self) -> Dict[str, Any]:
        """``{'messages': [...], 'total', 'limit', 'offset'}`` on both generations."""
        generation = await self._host.generation()
        req = wire.dlq(self._queue, self._group, self._partition, self._limit, self._offset,
                       self._from, self._to, generation)
        reply = await self._host.send(req)
        return wire.parse_dlq(reply, generation, self._partition, self._limit, self._offset,
                              self._from, self._to)
