"""What differs between the Queen server generations, as one object per generation.

``Rules`` names every difference the embedded server knows of; ``rules07.Rules07``
and ``rules15.Rules15`` fill it in (the way aiokafka keeps one class per protocol
version).  The broker asks its rules for semantics (retries, DLQ, pops, validation
texts); the HTTP layer (``app.py``, ``admin.py``) asks them for reply shapes and
which routes exist.  Nothing else in ``queen.testing`` branches on the generation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Callable, Dict, FrozenSet, List, Optional, Tuple, Type

import orjson

from .model import (
    QUEUE_MODE,
    AckOutcome,
    GroupState,
    Message,
    Partition,
    PopResult,
    PushOutcome,
    Query,
    Queue,
    Reply,
    Trace,
)

if TYPE_CHECKING:  # pragma: no cover
    from .admin_views import AdminViews
    from .broker import Broker

GENERATIONS = ("0.7", "0.15")

# Optional routes (``Rules.features``); the other routes exist in both generations.
NAMESPACE_POP = "pop-namespace"          # GET /api/v1/pop?namespace=&task=
WINDOWED_STREAMS = "streams-07"         # /api/v1/stream/* (the old 0.7 windows)
GROUP_SEEK = "consumer-group-seek"       # seek, per-queue group delete
PROMETHEUS = "prometheus"                # GET /metrics/prometheus
POP_MAINTENANCE = "pop-maintenance"      # /api/v1/system/maintenance/pop
STREAMS_V1 = "streams-v1"                # the 0.15 streams SDK routes (an area module)
STATS_REFRESH = "stats-refresh"          # POST /api/v1/stats/refresh
QUEUE_ANALYTICS = "queue-analytics"      # /api/v1/analytics/{worker-metrics,queue-*,...}
SHARED_STATE = "shared-state"            # GET /api/v1/system/shared-state


def encode(data: Any, status: int = 200) -> Reply:
    return status, orjson.dumps(data)


class Rules(ABC):
    """One server generation.  Plain attributes for the yes/no rules, methods for
    texts, shapes and the algorithms that differ (acks)."""

    name: str
    features: FrozenSet[str]
    validation_status: int            # HTTP status of a validation error (0.7 answers 200)
    # --- broker rules
    max_size_without_options: int     # maxSize stored when configure sends no options
    auto_namespace: bool              # a queue made by a push takes ns/task from 'ns.task.x'
    capacity_limited: bool            # maxSize refuses a batch that would overflow
    max_wait_hides_reads: bool        # maxWaitTimeSeconds also hides old messages from pops
    empty_claim_counts: bool          # a pop that claims nothing still reports its claim
    new_modes: Tuple[str, ...]        # subscriptionMode values meaning "new messages only"
    records_all_subscriptions: bool   # the 'all' subscription is recorded too
    txn_stops_at_first_error: bool
    negative_batch_error: Optional[str]
    auto_ack_on_wait: bool            # autoAck is honoured on a long-poll pop
    multi_partition_pop: bool         # the queue route takes ?partitions=N
    subscribes_at_claim: bool         # a group's subscription is recorded at its first
    #                                   claim of a partition, not at its first pop
    loses_overlapping_pushes: bool    # Broker(push_race=s) applies (0.7.5's push race)
    late_partition_lookup: bool       # Broker(lookup_lag=s) applies (0.15.1's lookup)
    # --- admin area: the class of its views (admin07.Views07 / admin15.Views15)
    admin_views: Type[AdminViews]

    # ---- broker rules

    @abstractmethod
    def lease_seconds(self, lease_time: int) -> float:
        """The lease a pop takes, from the queue's leaseTime option."""

    @abstractmethod
    def order_candidates(self, cands: List[Tuple[Partition, Optional[GroupState]]]) -> None:
        """Sort the partitions a queue-route pop may claim, best first (in place)."""

    @abstractmethod
    def pop_plan(self, partitions: int) -> Tuple[int, int]:
        """(how many candidates a queue pop may try, how many it may claim)."""

    @abstractmethod
    def type_error(self, value: Any, kind: str) -> str:
        """The configure error for an option value of the wrong type."""

    @abstractmethod
    def missing_queue_error(self, queue: str) -> Optional[str]:
        """Push result error for a queue that does not exist; None: the push creates it."""

    @abstractmethod
    def dlq_entry_id(self, m: Message) -> str: ...

    @abstractmethod
    def trace_id(self) -> str: ...

    @abstractmethod
    def txn_item_id(self) -> str:
        """transactionId of a transaction push item that has none."""

    @abstractmethod
    def txn_payload(self, item: Dict[str, Any]) -> Any: ...

    @abstractmethod
    def txn_trace_id(self) -> Optional[str]:
        """traceId of a transaction push item without a valid one."""

    @abstractmethod
    def txn_ack_error(self, found: bool, status: Any, lease_ok: bool,
                      has_state: bool) -> Optional[str]:
        """Why a transaction's ack operation fails (None: it succeeds)."""

    @abstractmethod
    def ack(self, b: Broker, txid: Any, partition_id: Any, status: Any, g: str, lease_id: Any,
            error: Any) -> AckOutcome:
        """One ack (``POST /api/v1/ack``): cursor, retries, DLQ, lease."""

    @abstractmethod
    def ack_batch(self, b: Broker, acks: List[Dict[str, Any]], g: str) -> List[AckOutcome]:
        """A batch ack (``POST /api/v1/ack/batch``) of validated items."""

    # ---- reply shapes: core routes

    @abstractmethod
    def ts(self, t: Optional[float]) -> Optional[str]:
        """A timestamp as the generation's admin replies print it."""

    @abstractmethod
    def configure_options(self, body: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """The options a configure body gives (None: none given)."""

    @abstractmethod
    def configure_error(self, text: str) -> Dict[str, Any]: ...

    @abstractmethod
    def configured(self, q: Queue) -> Dict[str, Any]: ...

    @abstractmethod
    def push_reply(self, results: List[PushOutcome]) -> Reply: ...

    @abstractmethod
    def buffered_reply(self, items: List[Dict[str, Any]]) -> Reply:
        """The push answer while push maintenance buffers the items."""

    @abstractmethod
    def bad_trace_reply(self, items: List[Dict[str, Any]], text: str) -> Reply:
        """A push with a non-UUID traceId (the database insert fails)."""

    @abstractmethod
    def pop_reply(self, res: Optional[PopResult], queue: str, partition: Optional[str],
                  group: str) -> Reply:
        """A pop's reply; ``res`` None means a long poll that timed out."""

    @abstractmethod
    def ack_reply(self, o: AckOutcome, group: Optional[str]) -> Any: ...

    @abstractmethod
    def ack_batch_reply(self, outs: List[AckOutcome]) -> Any: ...

    @abstractmethod
    def txn_reply(self, facts: Dict[str, Any],
                  partition_id: Callable[[Dict[str, Any]], Optional[str]]) -> Reply: ...

    @abstractmethod
    def extend_reply(self, lease_id: str, expiry: Optional[float], seconds: Any) -> Any: ...

    @abstractmethod
    def dlq_reply(self, b: Broker, get: Query, limit: int, offset: int) -> Any: ...

    @abstractmethod
    def trace_refused(self, partition_id: Any) -> Optional[Dict[str, Any]]:
        """A trace refused before lookup (0.15: partitionId must be a UUID)."""

    @abstractmethod
    def trace_recorded(self, t: Optional[Trace]) -> Dict[str, Any]: ...

    # ---- reply shapes: admin routes

    @abstractmethod
    def group_deleted(self, out: Dict[str, Any], n: int, queue: Optional[str]) -> None: ...

    @abstractmethod
    def subscription_error(self, text: str) -> Dict[str, Any]: ...

    @abstractmethod
    def subscription_updated(self, group: str, ts_text: str, n: int) -> Dict[str, Any]: ...

    @abstractmethod
    def traces_of_reply(self, rows: List[Dict[str, Any]]) -> Dict[str, Any]: ...

    @abstractmethod
    def traces_by_name_reply(self, traces: List[Trace], limit: int, offset: int,
                             row: Callable[[Trace], Dict[str, Any]]) -> Dict[str, Any]: ...

    @abstractmethod
    def trace_names_reply(self, rows: List[Dict[str, Any]], limit: int,
                          offset: int) -> Dict[str, Any]: ...


def consumed_by(p: Partition, m: Message) -> Dict[str, int]:
    """How many named groups consumed ``m`` (message views of both generations)."""
    named = [st for g, st in p.states.items() if g != QUEUE_MODE]
    return {"consumedBy": sum(1 for st in named if st.cursor >= m.seq),
            "totalGroups": len(named)}


def rules_for(compat: str) -> Rules:
    """The rules of a generation name ("0.7" or "0.15")."""
    if compat == "0.7":
        from .rules07 import Rules07

        return Rules07()
    if compat == "0.15":
        from .rules15 import Rules15

        return Rules15()
    raise ValueError("compat must be '0.7' or '0.15'")


__all__ = ["GENERATIONS", "GROUP_SEEK", "NAMESPACE_POP", "POP_MAINTENANCE", "PROMETHEUS",
           "SHARED_STATE", "STATS_REFRESH", "QUEUE_ANALYTICS", "STREAMS_V1", "WINDOWED_STREAMS", "Rules", "consumed_by", "encode", "rules_for"]
