"""The Queen HTTP protocol: the only place that knows endpoint paths, query
parameters, JSON field names and what differs between server generations.

One module per area: ``base`` (what they share), ``core`` (queues, push, pop, ack,
leases, transactions, DLQ, traces, consumer groups), ``rules`` (what differs between
generations in how the client acts, as data), ``streams07`` (the 0.7 windowed
streams), ``admin`` (the admin and read routes of ``queen.admin``). Each operation is a request builder returning a :class:`Request`
(nothing is sent here) and a reply parser.
"""

from __future__ import annotations

from .base import (
    API,
    DEFAULT_PARTITION,
    GEN_015,
    GEN_07,
    QUEUE_MODE,
    Reply,
    Request,
    check,
    check_name,
    health,
    normalise_version,
    parse_health,
)
from .core import (
    ACK_STATUSES,
    QUEUE_DEFAULTS,
    ack_batch,
    ack_item,
    ack_items,
    ack_single,
    ack_status,
    camel,
    configure,
    delete_consumer_group,
    delete_queue,
    dlq,
    parse_ack,
    parse_configure,
    parse_delete_queue,
    parse_dlq,
    parse_group_admin,
    parse_pop,
    parse_push,
    parse_push_failures,
    parse_renew,
    parse_time,
    parse_trace,
    parse_transaction,
    pop,
    push,
    queue_options,
    renew,
    trace,
    transaction,
    tx_ack_op,
    tx_push_op,
    update_subscription,
)
from .listing import list_queues, parse_queue_names
from .rules import RULES, Rules, ack_plan, client_acks_pop

__all__ = [
    "ACK_STATUSES", "API", "DEFAULT_PARTITION", "GEN_015", "GEN_07", "QUEUE_DEFAULTS",
    "QUEUE_MODE", "RULES", "Reply", "Request", "Rules", "ack_batch", "ack_item", "ack_items", "ack_single",
    "ack_plan", "ack_status", "camel", "client_acks_pop", "check", "check_name", "configure", "delete_consumer_group",
    "delete_queue", "dlq", "health", "list_queues", "normalise_version", "parse_ack", "parse_configure",
    "parse_delete_queue", "parse_dlq", "parse_group_admin", "parse_health", "parse_pop",
    "parse_push", "parse_push_failures", "parse_queue_names", "parse_renew", "parse_time", "parse_trace",
    "parse_transaction", "pop", "push", "queue_options", "renew", "trace", "transaction",
    "tx_ack_op", "tx_push_op", "update_subscription",
]
