"""Result types of ``queen.admin`` (``Admin``): the servers' JSON, normalised across
0.7 and 0.15 where the shapes differ (docs/admin.md says where). Every TypedDict is
``total=False``: a key one generation does not send is absent, not invented.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, TypedDict


class MessageCounts(TypedDict, total=False):
    total: int
    pending: int
    processing: int
    completed: int
    failed: int
    deadLetter: int


class LagFigures(TypedDict, total=False):
    avg: float
    median: float
    min: float
    max: float


class Overview(TypedDict, total=False):
    queues: int
    partitions: int
    namespaces: int
    tasks: int
    messages: MessageCounts
    lag: Dict[str, LagFigures]           # "time" (seconds) and "offset" (messages)
    throughput: Dict[str, float]         # 0.15 only
    statsAge: Any                        # 0.15 only
    timestamp: str


class GroupingInfo(TypedDict, total=False):
    namespace: str                       # in namespace lists
    task: str                            # in task lists
    queues: int
    partitions: int
    messages: MessageCounts


class NamespaceList(TypedDict, total=False):
    namespaces: List[GroupingInfo]


class TaskList(TypedDict, total=False):
    tasks: List[GroupingInfo]


class QueueSummary(TypedDict, total=False):
    id: str
    name: str
    namespace: Optional[str]             # None when unset (0.15 sends "")
    task: Optional[str]
    createdAt: str
    partitions: int
    priority: int                        # get_queue_stats on 0.7
    messages: MessageCounts


class QueueList(TypedDict, total=False):
    queues: List[QueueSummary]


class PartitionInfo(TypedDict, total=False):
    id: str
    name: str
    queue: str                           # get_partitions
    createdAt: str
    newestMessage: Optional[str]
    oldestMessage: Optional[str]
    stats: MessageCounts


class QueueInfo(TypedDict, total=False):
    id: str
    name: str
    namespace: Optional[str]
    task: Optional[str]
    createdAt: str
    partitions: List[PartitionInfo]
    totals: MessageCounts


class QueueDepth(TypedDict, total=False):
    queue: str
    group: Optional[str]
    depth: int                           # messages not finished, or the group's lag
    pending: int
    processing: int
    partitions: Dict[str, int]           # partition name -> its share of ``depth``


class PartitionList(TypedDict, total=False):
    partitions: List[PartitionInfo]


class MessageMode(TypedDict, total=False):
    type: str                            # queue | bus | hybrid | none
    hasQueueMode: bool
    busGroupsCount: int
    consumedByGroups: int                # message detail on 0.15


class MessageSummary(TypedDict, total=False):
    id: str
    transactionId: str
    partition: str
    partitionId: str
    queue: str
    queuePath: str
    namespace: str
    task: str
    status: str                          # pending | processing | completed | failed | dead_letter
    queueStatus: str
    busStatus: Dict[str, int]            # consumedBy, totalGroups
    createdAt: str
    leaseExpiresAt: Optional[str]
    traceId: Optional[str]
    producerSub: Optional[str]           # 0.15 only
    queuePriority: int


class MessageList(TypedDict, total=False):
    messages: List[MessageSummary]
    mode: MessageMode


class MessageDetail(MessageSummary, total=False):
    payload: Any
    errorMessage: Optional[str]
    retryCount: Optional[int]
    isEncrypted: bool                    # 0.15 only
    queueConfig: Dict[str, Any]
    consumerGroups: List[Dict[str, Any]]  # 0.15 only: name, consumed, leaseExpiresAt
    mode: MessageMode


class DeleteMessageResult(TypedDict, total=False):
    success: bool                        # False when the message was not there (both)
    message: str
    partitionId: str
    transactionId: str


class TraceEntry(TypedDict, total=False):
    id: str
    transaction_id: str
    partition_id: str
    partition_name: str
    queue_name: str
    consumer_group: str
    event_type: str
    data: Any
    trace_names: List[str]
    message_payload: Any
    worker_id: str
    created_at: str


class TracePage(TypedDict, total=False):
    traces: List[TraceEntry]
    total: int
    count: int
    limit: int
    offset: int


class TraceName(TypedDict, total=False):
    trace_name: str
    trace_count: int
    message_count: int
    last_seen: str


class TraceNamePage(TypedDict, total=False):
    trace_names: List[TraceName]
    total: int
    count: int
    limit: int
    offset: int


class MessageTraces(TypedDict, total=False):
    traces: List[TraceEntry]
    count: int


class QueueStatsPage(TypedDict, total=False):
    queues: List[QueueSummary]
    pagination: Dict[str, int]           # limit, offset (+ total on 0.7)
    timeRange: Dict[str, str]            # 0.7 only


class ConsumerGroupSummary(TypedDict, total=False):
    name: str                            # "__QUEUE_MODE__" for queue-mode consumers
    queueName: str
    topics: List[str]
    members: int
    state: str
    totalLag: Optional[int]              # None on 0.15 (not reported)
    maxTimeLag: int
    partitionsWithLag: Optional[int]     # None on 0.7 (not reported)
    subscriptionMode: Optional[str]
    subscriptionTimestamp: Optional[str]
    subscriptionCreatedAt: Optional[str]


class GroupPartition(TypedDict, total=False):
    partition: str
    totalConsumed: int
    offsetLag: int
    timeLagSeconds: int
    lastConsumedAt: Optional[str]
    leaseActive: bool
    workerId: Optional[str]              # the lease id of a leased partition


class GroupQueue(TypedDict, total=False):
    partitions: List[GroupPartition]


class LaggingPartition(TypedDict, total=False):
    consumer_group: str
    queue_name: str
    partition_name: str
    partition_id: str
    worker_id: Optional[str]
    offset_lag: int
    time_lag_seconds: int
    lag_hours: float
    oldest_unconsumed_at: Optional[str]
    last_consumed_at: Optional[str]


class RefreshResult(TypedDict, total=False):
    queue: Dict[str, int]
    partition: Dict[str, int]
    namespace: Dict[str, int]
    task: Dict[str, int]
    system: Dict[str, int]
    cleanup: Dict[str, int]
    refreshed: bool                      # False on 0.7: its views are computed live


class GroupQueueDeleted(TypedDict, total=False):
    success: bool
    consumerGroup: str
    queueName: str
    deletedPartitions: int
    metadataDeleted: bool


class SeekResult(TypedDict, total=False):
    success: bool
    consumerGroup: str
    queueName: str
    seekToEnd: bool
    targetTimestamp: Optional[str]
    partitionsUpdated: int
    partitionName: str                   # per-partition seek
    updated: bool                        # per-partition seek
    cursorMovedTo: Optional[str]         # per-partition seek


class HealthInfo(TypedDict, total=False):
    status: str
    database: str
    server: str
    version: str
    worker_id: Any
    queen: Dict[str, Any]                # 0.15 only
    shared_state: Dict[str, Any]         # 0.15 only


class MetricsInfo(TypedDict, total=False):
    uptime: float
    requests: Dict[str, float]
    messages: Dict[str, float]
    database: Dict[str, int]
    memory: Dict[str, int]
    cpu: Dict[str, int]


class MaintenanceStatus(TypedDict, total=False):
    maintenanceMode: bool
    popMaintenanceMode: bool             # 0.15 only
    bufferedMessages: int
    bufferHealthy: bool
    bufferStats: Dict[str, Any]
    message: str


__all__ = [
    "ConsumerGroupSummary", "DeleteMessageResult", "GroupPartition", "GroupQueue",
    "GroupQueueDeleted", "GroupingInfo", "HealthInfo", "LagFigures", "LaggingPartition",
    "MaintenanceStatus", "MessageCounts", "MessageDetail", "MessageList", "MessageMode",
    "MessageSummary", "MessageTraces", "MetricsInfo", "NamespaceList", "Overview",
    "PartitionInfo", "PartitionList", "QueueDepth", "QueueInfo", "QueueList", "QueueStatsPage",
    "QueueSummary", "RefreshResult", "SeekResult", "TaskList", "TraceEntry", "TraceName",
    "TraceNamePage", "TracePage",
]
