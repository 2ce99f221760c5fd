"""What differs between server generations, as data: one :class:`Rules` per
generation. The request builders of ``wire.core`` consult it (routes and
spellings a generation lacks), and so do the message operations (``queen.ops``):
how to split an ack batch, and whether the client must ack a long poll's
messages itself. Reply parsers still read each generation's own shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Set, Tuple

from .base import GEN_015, GEN_07


@dataclass(frozen=True)
class Rules:
    """One generation's rules."""

    #: the batch ack route books a batch against its first item's partition: one
    #: request per partition (0.7)
    ack_batch_per_partition: bool
    #: a failed item followed by completed items of its partition in one batch is
    #: silently lost: failures travel in their own request (0.15)
    ack_failures_apart: bool
    #: the server honours ``autoAck`` on long polls (0.7 ignores it there)
    auto_ack_on_long_poll: bool
    #: the ack statuses the server takes (0.15 added ``dlq`` and ``retry``)
    ack_statuses: FrozenSet[str]
    #: how ``subscription_mode('new-only')`` is spelled (0.15 dropped the old
    #: spelling and would treat it as 'all')
    new_only_spelling: str
    #: ``GET /api/v1/pop`` by namespace/task exists (removed in 0.15)
    namespace_pop: bool
    #: the DLQ listing is filtered (partition, from, to), paged and counted by the
    #: server (0.15 does none of it: the client does)
    dlq_server_filters: bool


RULES: Dict[str, Rules] = {
    GEN_07: Rules(ack_batch_per_partition=True, ack_failures_apart=False,
                  auto_ack_on_long_poll=False,
                  ack_statuses=frozenset({"completed", "failed"}),
                  new_only_spelling="new-only", namespace_pop=True, dlq_server_filters=True),
    GEN_015: Rules(ack_batch_per_partition=False, ack_failures_apart=True,
                   auto_ack_on_long_poll=True,
                   ack_statuses=frozenset({"completed", "failed", "dlq", "retry"}),
                   new_only_spelling="new", namespace_pop=False, dlq_server_filters=False),
}


def client_acks_pop(auto_ack: bool, wait: bool, generation: str) -> bool:
    """Whether the client must ack an auto-ack pop's messages itself."""
    return auto_ack and wait and not RULES[generation].auto_ack_on_long_poll


AckPlan = List[Tuple[Optional[str], List[int]]]


def ack_plan(items: Sequence[Mapping[str, Any]], groups: Sequence[Optional[str]],
             generation: str) -> Optional[AckPlan]:
    """How to send a list of ack items (``wire.ack_items``) over the batch route:
    ``(consumer group, item indexes)`` per request, in sending order; None when one
    request carries them all (the usual case: one pop's messages).

    The batch route takes the group from the top level only: one request per group.
    With ``ack_failures_apart`` a partition's completed items before its first
    failure go first, then the failures, then the completed items after it (input
    order is message order)."""
    rules = RULES[generation]
    group = groups[0]
    if groups.count(group) == len(groups) and (
        len({it["partitionId"] for it in items}) == 1 if rules.ack_batch_per_partition
        else not rules.ack_failures_apart or {it["status"] for it in items} == {"completed"}
    ):
        return None
    requests: Dict[Tuple[Any, ...], List[int]] = {}
    failed_seen: Set[Tuple[Optional[str], str]] = set()
    for i, (item, group) in enumerate(zip(items, groups)):
        if rules.ack_batch_per_partition:
            key: Tuple[Any, ...] = (0, group, item["partitionId"])
        elif rules.ack_failures_apart:
            where = (group, item["partitionId"])
            if item["status"] != "completed":
                failed_seen.add(where)
                key = (1, group)
            else:
                key = (2 if where in failed_seen else 0, group)
        else:
            key = (0, group)
        requests.setdefault(key, []).append(i)
    # sorted is stable: within one step, groups keep their order of appearance
    return [(key[1], requests[key]) for key in sorted(requests, key=lambda k: k[0])]


__all__ = ["RULES", "AckPlan", "Rules", "ack_plan", "client_acks_pop"]
