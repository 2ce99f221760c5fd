"""Queen: the client object. Lifecycle, acks, leases, transactions, consumer-group
admin, and the entry points to queues and streams.

One client speaks to both server generations (detected once via ``GET /health``, or
set with ``server_version``); where they differ, the client evens things out:

* push results, pop messages, ack/renew/transaction/DLQ answers have one shape;
* a push never repeats a transactionId inside one request (0.7.5 cannot store that);
* 0.7 ignores ``autoAck`` on long polls: the client acks those messages itself;
* 0.15 has no total and no partition/from/to/offset filters on the DLQ listing: the
  client filters, counts and pages it;
* 0.15 loses a failed ack followed by completed acks of its partition in one batch:
  failures travel in their own request; an empty ack batch is never sent;
* namespace/task pops and the ``dlq``/``retry`` ack statuses raise
  ``QueenServerFeatureError`` where the server lacks them (0.15 / 0.7).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from operator import itemgetter
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
    overload,
)

from . import log, wire
from .buffer import BufferManager
from .builders._util import positive_int, timestamp_text
from .builders.queue import QueueBuilder
from .builders.transaction import TransactionBuilder
from .config import ClientConfig, ConfigInput, parse_config
from .errors import QueenValidationError
from .http.transport import Transport
from .types import AckResult, Message, PopSpec, PushResult, RenewResult

if TYPE_CHECKING:
    from types import TracebackType

    from .builders.stream import StreamBuilder
    from .stream.consumer import StreamConsumer

AckTarget = Union[Message, Mapping[str, Any]]
RENEW_CONCURRENCY = 8  # lease extensions in flight at once
_SUCCESS = itemgetter("success")


class _ClientHost:
    """The client's side of the seam (``seam.Host``) handed to builders and engines."""

    __slots__ = ("_queen",)

    def __init__(self, queen: Queen) -> None:
        self._queen = queen

    @property
    def closed(self) -> bool:
        return self._queen._closed

    async def send(self, request: wire.Request) -> wire.Reply:
        return await self._queen._request(request)  # type: ignore[no-any-return]

    async def generation(self) -> str:
        return self._queen._gen or await self._queen._generation()


class Queen:
    """A Queen MQ client: ``Queen('http://localhost:6632')``, ``Queen([urls])`` or
    ``Queen({...options})``. Use ``async with`` (or ``await close()``) so buffered
    messages are flushed and connections closed."""

    def __init__(self, config: ConfigInput = "http://localhost:6632") -> None:
        self._config: ClientConfig = parse_config(config)
        self._transport = Transport(self._config)
        self._buffers = BufferManager(self._send_buffered)
        self._gen: Optional[str] = wire.normalise_version(self._config.server_version)
        self._gen_lock: Optional[asyncio.Lock] = None
        self._closed = False
        self._host = _ClientHost(self)
        log.info("Queen.constructor", {"status": "initialized", "urls": len(self._config.urls)})

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Queen {', '.join(self._config.urls)} server={self._gen or '?'} {state}>"

    # ------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Queen:
        return self

    async def __aexit__(
        self, exc_type: Optional[type], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Flush every buffer, then close all connections. Safe to call twice. Raises
        ``BufferFlushError`` (after closing) if buffered messages could not be sent."""
        if self._closed:
            return
        self._closed = True
        log.info("Queen.close", {"status": "closing"})
        try:
            await self._buffers.flush()
        finally:
            self._buffers.cancel_timers()
            await self._transport.aclose()
            log.info("Queen.close", {"status": "closed"})

    # ------------------------------------------------------------ plumbing

    async def _request(self, req: wire.Request) -> Any:
        return await self._transport.request(
            req.method, req.path, body=req.body, affinity_key=req.affinity_key,
            timeout=req.timeout, idempotent=req.idempotent,
        )

    async def _generation(self) -> str:
        """The server generation ('0.7' or '0.15'): configured, or detected once."""
        if self._gen is not None:
            return self._gen
        if self._gen_lock is None:
            self._gen_lock = asyncio.Lock()
        async with self._gen_lock:
            if self._gen is None:
                self._gen = wire.parse_health(await self._request(wire.health()))
                log.info("Queen.generation", {"server": self._gen})
        return self._gen

    async def _send_push(
        self, queue: str, partition: str, body: bytes, txids: List[str]
    ) -> List[PushResult]:
        reply = await self._request(wire.push(body, queue, partition))
        return wire.parse_push(reply, txids)

    async def _send_buffered(
        self, queue: str, partition: str, body: bytes, txids: List[str]
    ) -> Dict[int, str]:
        """The buffer's sender: only what was not stored comes back."""
        reply = await self._request(wire.push(body, queue, partition))
        return wire.parse_push_failures(reply, len(txids))

    async def _trace(self, message: Mapping[str, Any], event: Mapping[str, Any]) -> Dict[str, Any]:
        """Record a trace event; never raises (failures are logged and returned)."""
        try:
            if not isinstance(event, Mapping):
                raise QueenValidationError("trace takes a dict like {'data': {...}}")
            reply = await self._request(wire.trace(message, event))
            return wire.parse_trace(reply)
        except Exception as e:  # tracing must never break a consumer
            log.error("Queen.trace", {"transactionId": message.get("transactionId"),
                                      "error": str(e)})
            return {"success": False, "error": str(e)}

    async def _pop(self, spec: PopSpec) -> List[Message]:
        generation = self._gen or await self._generation()  # known after the first call
        reply = await self._request(wire.pop(spec, generation))
        messages = wire.parse_pop(reply, generation, self._trace)
        if spec.auto_ack and messages:
            if generation == wire.GEN_07 and spec.wait:
                # 0.7 ignores autoAck on long polls: ack here so both behave alike.
                await self.ack(list(messages), True)
            for m in messages:
                m["leaseId"] = None
        return messages

    # ------------------------------------------------------------ builders

    def queue(self, name: Optional[str] = None) -> QueueBuilder:
        """A queue by name; without one, for namespace/task consumption."""
        return QueueBuilder(self, name)

    def transaction(self) -> TransactionBuilder:
        return TransactionBuilder(self)

    def stream(self, name: str, namespace: str) -> StreamBuilder:
        from .builders.stream import StreamBuilder

        return StreamBuilder(self, name, namespace)

    def consumer(self, stream_name: str, consumer_group: str) -> StreamConsumer:
        from .stream.consumer import StreamConsumer

        return StreamConsumer(self, stream_name, consumer_group)

    # ------------------------------------------------------------ acks

    @overload
    async def ack(self, message: AckTarget, status: Any = ...,
                  context: Optional[Mapping[str, Any]] = ...) -> AckResult: ...

    @overload
    async def ack(self, message: Sequence[AckTarget], status: Any = ...,
                  context: Optional[Mapping[str, Any]] = ...) -> List[AckResult]: ...

    async def ack(
        self, message: Union[AckTarget, Sequence[AckTarget]], status: Any = None,
        context: Optional[Mapping[str, Any]] = None,
    ) -> Union[AckResult, List[AckResult]]:
        """Acknowledge one message or a list.

        ``status``: True/``'completed'`` (default), False/``'failed'``, and on 0.15 also
        ``'dlq'``/``'retry'``. A message's own ``_status``/``_error`` win over the
        arguments. ``context={'error': text}`` records why it failed. Returns one
        ``AckResult`` (or a list, in input order); a rejected item (e.g. an expired
        lease) has ``success: False`` and is logged, it does not raise.
        """
        single = isinstance(message, Mapping)
        messages: List[Mapping[str, Any]] = [message] if single else list(message)  # type: ignore[list-item, arg-type]
        if context is not None and not isinstance(context, Mapping):
            raise QueenValidationError("ack context must be a dict like {'error': 'why'}")
        if not messages:
            return []  # never send an empty batch: 0.15.1 never answers it
        generation = self._gen or await self._generation()
        error = context.get("error") if context is not None else None
        items, groups = wire.ack_items(messages, status, error, generation)
        if single:
            reply = await self._request(wire.ack_single(items[0], groups[0]))
            results = wire.parse_ack(reply, items, batch=False)
        else:
            results = await self._ack_batches(items, groups, generation)
        # success is always a bool: count in C, look closer only when one was rejected
        if sum(map(_SUCCESS, results)) != len(results):
            bad = [r for r in results if not r.get("success")]
            log.warn("Queen.ack", {"rejected": len(bad), "errors": sorted({str(r.get("error")) for r in bad})})
        return results[0] if single else results

    async def _ack_batches(
        self, items: List[Dict[str, Any]], groups: List[Optional[str]], generation: str
    ) -> List[AckResult]:
        group = groups[0]
        if groups.count(group) == len(groups) and (
            len({it["partitionId"] for it in items}) == 1 if generation == wire.GEN_07
            else {it["status"] for it in items} == {"completed"}
        ):  # the usual case (one pop's messages): one request, in order
            reply = await self._request(wire.ack_batch(items, group))
            return wire.parse_ack(reply, items, batch=True)
        # The batch route takes the group from the top level only: one request per
        # group. 0.7 books a batch against its first item's partition: one request per
        # partition. 0.15 silently loses a failed item that is followed by completed
        # items of its partition in the same request, so failures travel on their own:
        # completed items before the partition's first failure, then the failures,
        # then the completed items after it (input order = message order).
        requests: Dict[Tuple[Any, ...], List[int]] = {}
        failed_seen: Set[Tuple[Optional[str], str]] = set()
        for i, (item, group) in enumerate(zip(items, groups)):
            if generation == wire.GEN_07:
                key: Tuple[Any, ...] = (0, group, item["partitionId"])
            else:
                where = (group, item["partitionId"])
                if item["status"] != "completed":
                    failed_seen.add(where)
                    key = (1, group)
                else:
                    key = (2 if where in failed_seen else 0, group)
            requests.setdefault(key, []).append(i)
        results: List[Optional[AckResult]] = [None] * len(items)
        for key in sorted(requests, key=lambda k: k[0]):  # stable: groups keep their order
            idx = requests[key]
            batch = [items[i] for i in idx]
            reply = await self._request(wire.ack_batch(batch, key[1]))
            for i, r in zip(idx, wire.parse_ack(reply, batch, batch=True)):
                results[i] = r
        return [r for r in results if r is not None]

    # ------------------------------------------------------------ leases

    @overload
    async def renew(self, target: Union[str, AckTarget], seconds: Optional[int] = ...) -> RenewResult: ...

    @overload
    async def renew(self, target: Union[List[Union[str, AckTarget]], List[Message], List[str]],
                    seconds: Optional[int] = ...) -> List[RenewResult]: ...

    async def renew(
        self, target: Union[str, AckTarget, Sequence[Union[str, AckTarget]]],
        seconds: Optional[int] = None,
    ) -> Union[RenewResult, List[RenewResult]]:
        """Extend leases: a message, a lease id, or a list of either (each lease once).
        ``seconds`` defaults to the server's 60. A lease that is gone gives
        ``success: False``."""
        single = isinstance(target, (str, Mapping))
        targets = [target] if single else list(target)  # type: ignore[arg-type]
        if seconds is not None:
            positive_int("renew seconds", seconds)
        lease_ids: List[str] = []
        for t in targets:
            lease = t if isinstance(t, str) else (t.get("leaseId") if isinstance(t, Mapping) else None)
            if not isinstance(lease, str) or not lease:
                raise QueenValidationError(
                    "renew takes messages with a leaseId (not auto-acked ones) or lease ids"
                )
            if lease not in lease_ids:
                lease_ids.append(lease)
        if not lease_ids:
            return []

        async def one(lease: str) -> RenewResult:
            reply = await self._request(wire.renew(lease, seconds))
            return wire.parse_renew(reply, lease)

        results: List[RenewResult] = []
        for start in range(0, len(lease_ids), RENEW_CONCURRENCY):  # a few at a time
            chunk = lease_ids[start:start + RENEW_CONCURRENCY]
            results.extend(await asyncio.gather(*(one(lid) for lid in chunk)))
        bad = [r for r in results if not r.get("success")]
        if bad:
            log.warn("Queen.renew", {"failed": [r["leaseId"] for r in bad]})
        return results[0] if single else results

    # ------------------------------------------------------------ buffering

    async def flush_all_buffers(self) -> None:
        """Send every buffered message now; raises ``BufferFlushError`` listing what
        could not be delivered."""
        await self._buffers.flush()

    def get_buffer_stats(self) -> Dict[str, Any]:
        return self._buffers.stats()

    # ------------------------------------------------------------ consumer groups

    async def delete_consumer_group(self, group: str, delete_metadata: bool = True) -> Dict[str, Any]:
        """Forget a group's positions on every queue (and, by default, its
        subscription metadata)."""
        if not isinstance(delete_metadata, bool):
            raise QueenValidationError("delete_metadata takes True or False")
        reply = await self._request(wire.delete_consumer_group(group, delete_metadata))
        return wire.parse_group_admin(reply)

    async def update_consumer_group_timestamp(
        self, group: str, timestamp: Union[str, datetime]
    ) -> Dict[str, Any]:
        """Move the group's subscription time (affects partitions it has not read yet)."""
        text = timestamp_text(timestamp, "timestamp")
        reply = await self._request(wire.update_subscription(group, text))
        return wire.parse_group_admin(reply)
