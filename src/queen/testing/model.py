"""The embedded server's data model and the small helpers both generations share.

Plain classes with ``__slots__`` (the hot path allocates many of them), the option
defaults, id and timestamp helpers, and the text formats replies use.  No rules here:
what differs between generations lives in ``rules07.py`` / ``rules15.py``.
"""

from __future__ import annotations

import bisect
import random
import re
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple

from queen._core import uuid7 as uuid7

QUEUE_MODE = "__QUEUE_MODE__"
Clock = Callable[[], float]
Reply = Tuple[int, bytes]  # HTTP status and JSON body
Query = Callable[[str], Optional[str]]  # a query-string getter

# Option name -> default, in the order the real server stores them.
DEFAULT_OPTIONS: Dict[str, Any] = {
    "leaseTime": 300,
    "retryLimit": 3,
    "retryDelay": 1000,
    "maxSize": 0,
    "ttl": 3600,
    "priority": 0,
    "delayedProcessing": 0,
    "windowBuffer": 0,
    "retentionSeconds": 0,
    "completedRetentionSeconds": 0,
    "retentionEnabled": False,
    "encryptionEnabled": False,
    "maxWaitTimeSeconds": 0,
    "deadLetterQueue": False,
    "dlqAfterMaxRetries": False,
}
_BOOL_OPTIONS = {k for k, v in DEFAULT_OPTIONS.items() if isinstance(v, bool)}



_rand = random.Random()


def uuid4() -> str:
    return str(uuid.UUID(int=_rand.getrandbits(128), version=4))


_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and _UUID_RE.match(value) is not None


_TS_RE = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?\s*$"
)


def parse_ts(text: Any) -> Optional[float]:
    """ISO-8601 or PostgreSQL text timestamp -> epoch seconds (None if unparsable)."""
    if not isinstance(text, str):
        return None
    m = _TS_RE.match(text)
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    try:
        dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0),
                      tzinfo=timezone.utc)
    except ValueError:
        return None
    value = dt.timestamp() + (float("0." + frac) if frac else 0.0)
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = int(digits[:2]) * 3600 + (int(digits[2:4]) * 60 if len(digits) > 2 else 0)
        value -= sign * offset
    return value


class FakeClock:
    """A manual clock for tests: ``clock()`` returns the current fake time."""

    def __init__(self, start: Optional[float] = None) -> None:
        self.t = time.time() if start is None else start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class BrokerError(Exception):
    """A request the broker refuses as a whole (text is the server's error)."""


# --------------------------------------------------------------------------- model


class Message:
    __slots__ = ("seq", "gseq", "id", "txid", "data", "trace_id", "created", "producer_sub",
                 "hidden")

    def __init__(self, seq: int, gseq: int, mid: str, txid: str, data: Any,
                 trace_id: Optional[str], created: float) -> None:
        self.seq = seq
        self.gseq = gseq
        self.id = mid
        self.txid = txid
        self.data = data
        self.trace_id = trace_id
        self.created = created
        self.producer_sub: Optional[str] = None
        self.hidden = False  # written but not yet committed (Broker push_race)


class GroupState:
    """Consumer state of one group on one partition."""

    __slots__ = ("cursor", "lease_id", "lease_expires", "batch_size", "acked", "retries",
                 "last_consumed_at", "total_consumed", "batch_last")

    def __init__(self, cursor: int) -> None:
        self.cursor = cursor          # seq of the last consumed message (0 = none)
        self.lease_id: Optional[str] = None
        self.lease_expires = 0.0
        self.batch_size = 0
        self.acked = 0
        self.retries = 0
        self.last_consumed_at: Optional[float] = None
        self.total_consumed = 0
        self.batch_last = 0           # seq of the last message of the leased batch

    def leased(self, now: float) -> bool:
        return self.lease_id is not None and self.lease_expires > now

    def release(self) -> None:
        self.lease_id = None
        self.lease_expires = 0.0


class Partition:
    __slots__ = ("id", "name", "queue", "created", "messages", "seqs", "by_txid", "next_seq",
                 "states")

    def __init__(self, pid: str, name: str, queue: Queue, created: float) -> None:
        self.id = pid
        self.name = name
        self.queue = queue
        self.created = created
        self.messages: List[Message] = []
        self.seqs: List[int] = []
        self.by_txid: Dict[str, Message] = {}
        self.next_seq = 1
        self.states: Dict[str, GroupState] = {}

    def after(self, cursor: int) -> int:
        """Index of the first message with seq > cursor."""
        return bisect.bisect_right(self.seqs, cursor)

    def has_after(self, cursor: int) -> bool:
        return bool(self.seqs) and self.seqs[-1] > cursor

    def newest_created(self) -> Optional[float]:
        return self.messages[-1].created if self.messages else None


class Queue:
    __slots__ = ("id", "name", "namespace", "task", "options", "created", "partitions",
                 "bare_config")

    def __init__(self, qid: str, name: str, created: float) -> None:
        self.id = qid
        self.name = name
        self.namespace = ""
        self.task = ""
        self.options: Dict[str, Any] = dict(DEFAULT_OPTIONS)
        self.created = created
        self.partitions: Dict[str, Partition] = {}
        self.bare_config = False

    def opt(self, name: str) -> Any:
        return self.options.get(name, DEFAULT_OPTIONS[name])


class DlqEntry:
    __slots__ = ("id", "message", "partition", "group", "error", "retry_count", "moved_at")

    def __init__(self, eid: str, message: Message, partition: Partition, group: str,
                 error: Optional[str], retry_count: int, moved_at: float) -> None:
        self.id = eid
        self.message = message
        self.partition = partition
        self.group = group
        self.error = error
        self.retry_count = retry_count
        self.moved_at = moved_at


class Trace:
    __slots__ = ("id", "message", "partition", "group", "names", "event_type", "data", "created")

    def __init__(self, tid: str, message: Message, partition: Partition, group: str,
                 names: List[str], event_type: str, data: Any, created: float) -> None:
        self.id = tid
        self.message = message
        self.partition = partition
        self.group = group
        self.names = names
        self.event_type = event_type
        self.data = data
        self.created = created


class Subscription:
    __slots__ = ("mode", "start", "created")

    def __init__(self, mode: str, start: Optional[float], created: float) -> None:
        self.mode = mode              # "all" | "new" | "timestamp"
        self.start = start            # None = from the oldest message
        self.created = created


class PopResult:
    """What one pop attempt produced.  ``status``: ``ok`` (claimed, maybe empty),
    ``none`` (no candidate), ``lease_held``, ``partition_not_found``,
    ``window_buffer``, ``error`` (``error`` holds the text)."""

    __slots__ = ("status", "lease_id", "items", "claimed", "error", "auto_ack", "group", "queue")

    def __init__(self, status: str, queue: Optional[Queue] = None, group: str = QUEUE_MODE) -> None:
        self.status = status
        self.lease_id: Optional[str] = None
        self.items: List[Tuple[Partition, Message]] = []
        self.claimed: List[Partition] = []
        self.error: Optional[str] = None
        self.auto_ack = False
        self.group = group
        self.queue = queue


class AckOutcome:
    """Facts about one acknowledgement; ``app.py`` turns them into wire shapes."""

    __slots__ = ("success", "error", "status", "dlq", "lease_released", "partition", "txid")

    def __init__(self, txid: Any, partition: Optional[Partition] = None) -> None:
        self.txid = txid
        self.partition = partition
        self.success = False
        self.error: Optional[str] = None
        self.status = "completed"     # 0.7: completed | failed_retry | failed_dlq
        self.dlq = False
        self.lease_released: Optional[bool] = False


class PushOutcome:
    __slots__ = ("status", "message", "partition", "queue", "txid", "trace_id", "error")

    def __init__(self, status: str, txid: str, queue: str, trace_id: Any = None) -> None:
        self.status = status          # queued | duplicate | failed
        self.message: Optional[Message] = None
        self.partition: Optional[Partition] = None
        self.queue = queue
        self.txid = txid
        self.trace_id = trace_id
        self.error: Optional[str] = None


# --------------------------------------------------------------------------- text forms


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=timezone.utc)


_last_sec = -1
_last_prefix = ""


def _sec_prefix(t: float) -> str:
    """``_dt(t).strftime("%Y-%m-%dT%H:%M:%S")``, cached for the last whole second:
    pops and acks format timestamps of the same second over and over."""
    global _last_sec, _last_prefix
    s = int(t)
    if t < 0 or t - s >= 0.9999995:  # datetime may round up into the next second
        return _dt(t).strftime("%Y-%m-%dT%H:%M:%S")
    if s != _last_sec:
        _last_prefix = _dt(s).strftime("%Y-%m-%dT%H:%M:%S")
        _last_sec = s
    return _last_prefix


def iso_ms(t: Optional[float]) -> Optional[str]:
    if t is None:
        return None
    return f"{_sec_prefix(t)}.{int(t * 1000) % 1000:03d}Z"


def iso_us(t: float) -> str:
    return _dt(t).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_sec(t: float) -> str:
    return _sec_prefix(t) + ".000Z"


def pg_ts(t: Optional[float]) -> Optional[str]:
    """PostgreSQL text form: microseconds with trailing zeros trimmed."""
    if t is None:
        return None
    d = _dt(t)
    frac = f"{d.microsecond:06d}".rstrip("0")
    return d.strftime("%Y-%m-%d %H:%M:%S") + ("." + frac if frac else "") + "+00"
