"""Public and shared types: Message, option records.

``Message`` is what pop/consume hand to user code: a plain dict with the fields
below (both server generations are normalised to this shape) plus ``trace``, an
async callable that records a trace event for this message and never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, List, Optional, TypedDict, Union


class TraceEvent(TypedDict, total=False):
    traceName: Union[str, List[str]]
    eventType: str
    data: Any


class Message(TypedDict, total=False):
    id: str
    transactionId: str
    partitionId: str
    leaseId: Optional[str]          # None when the pop was auto-acked
    queue: str
    partition: str
    data: Any
    createdAt: str
    consumerGroup: Optional[str]    # None in queue mode (both generations)
    traceId: Optional[str]
    retryCount: int                 # always 0: real servers never report it
    priority: int                   # always 0: real servers never report it
    producerSub: Optional[str]
    trace: Callable[[TraceEvent], Awaitable[Any]]
    _status: Union[bool, str]       # per-message status for batch ack
    _error: str                     # per-message error text for batch ack


@dataclass(frozen=True)
class PopSpec:
    """What one pop asks the server for. Built by QueueBuilder and the consume
    engine; turned into a request only by ``wire``."""

    queue: Optional[str] = None          # None with namespace/task pops
    partition: Optional[str] = None      # None = any partition (queue route)
    namespace: Optional[str] = None
    task: Optional[str] = None
    group: Optional[str] = None          # None = queue mode
    batch: int = 1
    wait: bool = False
    timeout_millis: int = 30000          # long-poll deadline on the server
    auto_ack: bool = False               # server-side autoAck
    subscription_mode: Optional[str] = None
    subscription_from: Optional[str] = None
    partitions: int = 1                  # claim up to this many partitions in one pop
    new_since: Optional[str] = None      # mode 'new': when the pop/consume started (ISO)


@dataclass(frozen=True)
class ConsumeOptions:
    """Everything ``consume`` needs; defaults are the guide's."""

    pop: PopSpec
    concurrency: int = 1
    batch: int = 1
    limit: Optional[int] = None
    idle_millis: Optional[int] = None
    auto_ack: bool = True                # client-side: ack on success, nack on exception
    each: bool = False
    renew_lease: bool = False
    renew_interval_millis: Optional[int] = None


class PushResult(TypedDict, total=False):
    """One pushed item's outcome, the same on both server generations."""

    transactionId: str
    status: str                     # queued | duplicate | buffered | failed
    messageId: Optional[str]        # the existing message's id for a duplicate
    error: str                      # only when status is failed


class AckResult(TypedDict, total=False):
    """One acknowledged message's outcome, the same on both server generations."""

    transactionId: str
    partitionId: str
    success: bool
    status: str                     # completed | failed_retry | failed_dlq | <sent status>
    error: Optional[str]
    dlq: Optional[bool]


class RenewResult(TypedDict, total=False):
    """One lease extension's outcome."""

    leaseId: str
    success: bool
    expiresAt: Optional[str]        # 0.15 only
    error: Optional[str]
