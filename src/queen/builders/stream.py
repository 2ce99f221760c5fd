"""StreamBuilder: define a 0.7 windowed stream (``wire.streams07.define``).

    await (queen.stream('user-events', 'analytics')
        .sources(['events', 'clicks']).partitioned()
        .tumbling_time(60).grace_period(30).lease_timeout(60)
        .define())

Durations are given in seconds and sent as milliseconds (the ``_ms`` fields).
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from ..errors import QueenValidationError
from ..seam import Host
from ..stream.consumer import stream_request
from ..wire import streams07


def _millis(label: str, seconds: Any, *, allow_zero: bool) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise QueenValidationError(f"{label} takes a number of seconds, got {seconds!r}")
    millis = int(round(seconds * 1000))
    if millis < 0 or (millis == 0 and not allow_zero):
        raise QueenValidationError(f"{label} must be {'>= 0' if allow_zero else '> 0'} seconds")
    return millis


class StreamBuilder:
    """Collects a stream definition; ``define()`` sends it (idempotent by name)."""

    def __init__(self, host: Host, name: str, namespace: str) -> None:
        for label, value in (("stream name", name), ("stream namespace", namespace)):
            if not isinstance(value, str) or not value:
                raise QueenValidationError(f"{label} must be a non-empty string")
        self._host = host
        self._name = name
        self._namespace = namespace
        self._sources: List[str] = []
        self._partitioned = False
        self._duration_ms: Optional[int] = None
        self._grace_ms: Optional[int] = None
        self._lease_ms: Optional[int] = None

    def sources(self, queues: Iterable[str]) -> StreamBuilder:
        """Source queues (they must exist; unknown names are skipped by the server)."""
        if isinstance(queues, str):
            raise QueenValidationError("sources takes a list of queue names, not one string")
        names = list(queues)
        if not names or not all(isinstance(q, str) and q for q in names):
            raise QueenValidationError("sources needs a non-empty list of queue names")
        self._sources = names
        return self

    def partitioned(self, enabled: bool = True) -> StreamBuilder:
        """One window sequence per partition name (merged across source queues)."""
        self._partitioned = bool(enabled)
        return self

    def tumbling_time(self, seconds: float) -> StreamBuilder:
        """Window length, aligned to multiples of it since the Unix epoch."""
        self._duration_ms = _millis("tumbling_time", seconds, allow_zero=False)
        return self

    def grace_period(self, seconds: float) -> StreamBuilder:
        """How long after a window's end late messages are still waited for."""
        self._grace_ms = _millis("grace_period", seconds, allow_zero=True)
        return self

    def lease_timeout(self, seconds: float) -> StreamBuilder:
        """How long a consumer holds a window before it is offered again."""
        self._lease_ms = _millis("lease_timeout", seconds, allow_zero=False)
        return self

    def to_payload(self) -> Dict[str, Any]:
        """The definition's request body; unset durations are left to the server defaults."""
        return streams07.define_body(self._name, self._namespace, self._sources,
                                     self._partitioned, self._duration_ms, self._grace_ms,
                                     self._lease_ms)

    async def define(self) -> Dict[str, Any]:
        """Create or update the stream; returns ``{"success", "stream_id", "name"}``."""
        request = streams07.define(self._name, self._namespace, self._sources, self._partitioned,
                                   self._duration_ms, self._grace_ms, self._lease_ms)
        return dict(await stream_request(self._host, request) or {})

    async def delete(self) -> Dict[str, Any]:
        """Delete the stream with its leases and bookmarks (its queues stay)."""
        return dict(await stream_request(self._host, streams07.delete(self._name)) or {})
