"""The message operations over a :class:`~queen.seam.Host`: pop, ack, renew, trace.

Each takes the host as its first argument and uses only ``host.send``,
``host.generation``/``host.known_generation`` and the other operations. The
client's host binds them as its methods (``pop = ops.pop`` on the class), so
``host.pop(spec)`` runs this coroutine itself, with no wrapper in between: the
consume loop calls it for every message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from operator import itemgetter
from typing import Any, Dict, List, Optional, Sequence, Union

from . import fanin, log, wire, writes
from .errors import QueenValidationError
from .seam import Host
from .types import AckResult, Message, PopSpec, RenewResult

RENEW_CONCURRENCY = 8  # lease extensions in flight at once
_SUCCESS = itemgetter("success")


async def trace(host: Host, message: Mapping[str, Any], event: Mapping[str, Any]) -> Dict[str, Any]:
    """Record a trace event; never raises (failures are logged and returned)."""
    try:
        if not isinstance(event, Mapping):
            raise QueenValidationError("trace takes a dict like {'data': {...}}")
        reply = await host.send(wire.trace(message, event))
        return wire.parse_trace(reply)
    except Exception as e:  # tracing must never break a consumer
        log.error("Queen.trace", {"transactionId": message.get("transactionId"),
                                  "error": str(e)})
        return {"success": False, "error": str(e)}


async def pop(host: Host, spec: PopSpec) -> List[Message]:
    """One pop; with ``spec.auto_ack`` the messages come back without a lease.

    Where the server cannot do it in one request the client does it in several
    (``queen.fanin``): namespace/task pops on 0.15, ``partitions(n)`` on 0.7."""
    generation = host.known_generation or await host.generation()  # known after the first
    if spec.queue is None and generation == wire.GEN_015:
        return await fanin.fan_in(host, spec, pop_one)
    if spec.partitions > 1 and spec.partition is None and generation == wire.GEN_07:
        return await fanin.pop_partitions(host, spec, pop_one)
    return await pop_one(host, spec)


async def pop_one(host: Host, spec: PopSpec) -> List[Message]:
    """One pop request (one queue; on 0.15 possibly several partitions). 0.15.1 shows
    a pushed partition to the queue route only after the push answered: an empty
    ``wait=False`` pop soon after this client's push to the queue is asked again
    (``queen.writes``)."""
    messages = await _pop_request(host, spec)
    if messages or spec.wait or spec.partition is not None or spec.queue is None:
        return messages
    pushed = writes.pushed_at(host, spec.queue)
    pause = 0.005
    while not messages and pushed is not None:
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.05)
        messages = await _pop_request(host, spec)
        pushed = writes.pushed_at(host, spec.queue)
    return messages


async def _pop_request(host: Host, spec: PopSpec) -> List[Message]:
    generation = host.known_generation or await host.generation()
    reply = await host.send(wire.pop(spec, generation))
    messages = wire.parse_pop(reply, generation, host.trace)
    if spec.auto_ack and messages:
        if wire.client_acks_pop(True, spec.wait, generation):
            # 0.7 ignores autoAck on long polls: ack here so both behave alike.
            await host.ack(list(messages), True)
        for m in messages:
            m["leaseId"] = None
    return messages


async def ack(
    host: Host, message: Any, status: Any = None, context: Optional[Mapping[str, Any]] = None,
) -> Union[AckResult, List[AckResult]]:
    """Acknowledge one message or a list (see ``Queen.ack``)."""
    single = isinstance(message, Mapping)
    if not single and (isinstance(message, (str, bytes)) or not isinstance(message, Iterable)):
        raise QueenValidationError(
            f"ack takes a message (as returned by pop/consume) or a list of them, "
            f"not {type(message).__name__}"
        )
    messages: List[Mapping[str, Any]] = [message] if single else list(message)
    if context is not None and not isinstance(context, Mapping):
        raise QueenValidationError("ack context must be a dict like {'error': 'why'}")
    if not messages:
        return []  # never send an empty batch: 0.15.1 never answers it
    generation = host.known_generation or await host.generation()
    error = context.get("error") if context is not None else None
    items, groups = wire.ack_items(messages, status, error, generation)
    if context is not None and isinstance(context.get("group"), str):
        # upstream's ack(msg, status, {"group": g}) for messages that carry none
        groups = [g if g is not None else context["group"] for g in groups]
    if single:
        reply = await host.send(wire.ack_single(items[0], groups[0]))
        results = wire.parse_ack(reply, items, batch=False)
    else:
        results = await _ack_batches(host, items, groups, generation)
    # success is always a bool: count in C, look closer only when one was rejected
    if sum(map(_SUCCESS, results)) != len(results):
        # the caller gets these results (and the consume engine reports them): info
        bad = [r for r in results if not r.get("success")]
        log.info("Queen.ack", {"rejected": len(bad),
                               "errors": sorted({str(r.get("error")) for r in bad})})
    return results[0] if single else results


async def _ack_batches(
    host: Host, items: List[Dict[str, Any]], groups: List[Optional[str]], generation: str
) -> List[AckResult]:
    plan = wire.ack_plan(items, groups, generation)
    if plan is None:  # the usual case (one pop's messages): one request, in order
        reply = await host.send(wire.ack_batch(items, groups[0]))
        return wire.parse_ack(reply, items, batch=True)
    results: List[Optional[AckResult]] = [None] * len(items)
    for group, idx in plan:
        batch = [items[i] for i in idx]
        reply = await host.send(wire.ack_batch(batch, group))
        for i, r in zip(idx, wire.parse_ack(reply, batch, batch=True)):
            results[i] = r
    return [r for r in results if r is not None]


async def renew(
    host: Host, target: Any, seconds: Optional[int] = None
) -> Union[RenewResult, List[RenewResult]]:
    """Extend leases: a message, a lease id, or a list of either (see ``Queen.renew``)."""
    single = isinstance(target, (str, Mapping))
    targets: Sequence[Any] = [target] if single else list(target)
    if seconds is not None and (
            not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 1):
        raise QueenValidationError(f"renew seconds must be an int >= 1, got {seconds!r}")
    lease_ids: List[str] = []
    for t in targets:
        lease = t if isinstance(t, str) else (t.get("leaseId") if isinstance(t, Mapping) else None)
        if not isinstance(lease, str) or not lease:
            raise QueenValidationError(  # upstream's text first: code matches on it
                "No valid lease IDs found for renewal: renew takes messages with a "
                "leaseId (not auto-acked ones) or lease ids"
            )
        if lease not in lease_ids:
            lease_ids.append(lease)
    if not lease_ids:
        return []

    async def one(lease: str) -> RenewResult:
        reply = await host.send(wire.renew(lease, seconds))
        return wire.parse_renew(reply, lease)

    results: List[RenewResult] = []
    for start in range(0, len(lease_ids), RENEW_CONCURRENCY):  # a few at a time
        chunk = lease_ids[start:start + RENEW_CONCURRENCY]
        results.extend(await asyncio.gather(*(one(lid) for lid in chunk)))
    bad = [r for r in results if not r.get("success")]
    if bad:
        log.info("Queen.renew", {"failed": [r["leaseId"] for r in bad]})
    return results[0] if single else results


__all__ = ["ack", "pop", "renew", "trace"]
