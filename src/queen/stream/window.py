"""Window: one tumbling time window handed to a stream consumer's callback.

The heavy lifting (dot paths, filter, group-by, aggregate) is done by the
``queen._core`` kernels; this class only keeps the original messages and the
current (filtered) view.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional

from .. import _core
from ..errors import QueenValidationError
from ..wire import streams07

WindowMessage = Dict[str, Any]
"""One message of a window as the server sends it: ``{"id", "data", "created_at"}``."""


class Window:
    """A leased time window of stream messages.

    ``messages`` is the current view: ``filter`` narrows it (chainable),
    ``reset`` restores every message the server delivered. ``group_by`` and
    ``aggregate`` work on the current view. Dot paths (``"data.user.id"``,
    list indices like ``"data.items.0"``) address fields of each message.
    Missing paths and non-numeric values are skipped by ``aggregate``; a
    missing ``group_by`` path groups the message under ``None``.
    """

    __slots__ = ("id", "key", "start", "end", "lease_id", "stream_name",
                 "consumer_group", "_original", "messages")

    def __init__(
        self,
        *,
        id: str,
        key: str,
        start: str,
        end: str,
        lease_id: str,
        messages: List[WindowMessage],
        stream_name: Optional[str] = None,
        consumer_group: Optional[str] = None,
    ) -> None:
        self.id = id
        self.key = key
        self.start = start
        self.end = end
        self.lease_id = lease_id
        self.stream_name = stream_name
        self.consumer_group = consumer_group
        self._original: List[WindowMessage] = list(messages)
        self.messages: List[WindowMessage] = list(self._original)

    @classmethod
    def from_wire(
        cls,
        window: Mapping[str, Any],
        *,
        stream_name: Optional[str] = None,
        consumer_group: Optional[str] = None,
    ) -> Window:
        """Build a Window from the ``window`` object of a poll reply."""
        return cls(**streams07.window_fields(dict(window)), stream_name=stream_name,
                   consumer_group=consumer_group)

    def size(self) -> int:
        """Number of messages in the current view."""
        return len(self.messages)

    def original_size(self) -> int:
        """Number of messages the server delivered in this window."""
        return len(self._original)

    def filter(self, predicate: Callable[[WindowMessage], Any]) -> Window:
        """Keep only messages for which ``predicate(message)`` is truthy; returns self."""
        if not callable(predicate):
            raise QueenValidationError("Window.filter needs a callable predicate")
        self.messages = _core.window_filter(self.messages, predicate)
        return self

    def group_by(self, path: str) -> Dict[Any, List[WindowMessage]]:
        """Group the current view by the value at a dot path (missing -> ``None``)."""
        try:
            groups: Dict[Any, List[WindowMessage]] = _core.window_group_by(self.messages, path)
        except (TypeError, ValueError) as exc:
            raise QueenValidationError(f"Window.group_by({path!r}): {exc}") from exc
        return groups

    def aggregate(self, spec: Mapping[str, Any]) -> Dict[str, Any]:
        """Aggregate the current view.

        ``spec`` keys: ``count`` (truthy), ``sum``/``avg``/``min``/``max`` (lists
        of dot paths). Returns ``{"count": n, "sum": {path: x}, "avg": {path: x},
        ...}`` with only the requested keys. Values that are missing or not
        numbers (bools included) are skipped; the sum of nothing is 0 and the
        avg/min/max of nothing is ``None``.
        """
        try:
            result: Dict[str, Any] = _core.window_aggregate(self.messages, spec)
        except (TypeError, ValueError) as exc:
            raise QueenValidationError(f"Window.aggregate: {exc}") from exc
        return result

    def reset(self) -> Window:
        """Restore the view to every delivered message; returns self."""
        self.messages = list(self._original)
        return self

    def __len__(self) -> int:
        return len(self.messages)

    def __repr__(self) -> str:
        return (f"Window(key={self.key!r}, start={self.start!r}, end={self.end!r}, "
                f"size={self.size()}/{self.original_size()})")
