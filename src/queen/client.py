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
* 0.15 has no namespace/task pop: the client lists the matching queues and pops
  them in turn (``queen.fanin``); 0.7 ignores ``partitions=N``: the client pops
  partition after partition; the ``dlq``/``retry`` ack statuses raise
  ``QueenServerFeatureError`` on 0.7.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    List,
    Optional,
    Sequence,
    Set,
    Union,
    overload,
)

from . import log, ops, wire
from .buffer import BufferManager
from .builders._util import checked_timestamp
from .builders.queue import QueueBuilder
from .builders.transaction import TransactionBuilder
from .config import ClientConfig, ConfigInput, parse_config
from .consumer import Consumer, DrainReport
from .errors import BufferFlushError, FailedBatch, QueenTimeoutError, QueenValidationError
from .http.transport import Transport
from .types import AckResult, Message, RenewResult

if TYPE_CHECKING:
    from types import TracebackType

    from .admin import Admin
    from .builders.stream import StreamBuilder
    from .stream.consumer import StreamConsumer

AckTarget = Union[Message, Mapping[str, Any]]


class _ClientHost:
    """The client's side of the seam (``seam.Host``) handed to builders and engines:
    the transport, the buffers, the generation, and the message operations of
    ``queen.ops`` bound as methods (no wrapper coroutine on the hot paths)."""

    # __weakref__: queen.writes and queen.fanin keep per-client state keyed by the host
    __slots__ = ("closed", "known_generation", "buffers", "consumers", "_transport",
                 "_gen_lock", "__weakref__")

    pop = ops.pop
    ack = ops.ack
    renew = ops.renew
    trace = ops.trace

    def __init__(self, config: ClientConfig) -> None:
        self.closed = False
        self.consumers: Set[Consumer] = set()  # running consume() calls (they add themselves)
        self.known_generation: Optional[str] = wire.normalise_version(config.server_version)
        self._transport = Transport(config)
        self._gen_lock: Optional[asyncio.Lock] = None
        self.buffers = BufferManager.for_host(
            self, config.buffer_max_in_flight, config.buffer_max_messages,
            config.buffer_max_bytes, config.buffer_when_full)

    async def send(self, request: wire.Request) -> wire.Reply:
        return await self._transport.request(
            request.method, request.path, body=request.body, affinity_key=request.affinity_key,
            timeout=request.timeout, idempotent=request.idempotent,
        )

    async def generation(self) -> str:
        """The server generation ('0.7' or '0.15'): configured, or detected once."""
        if self.known_generation is not None:
            return self.known_generation
        if self._gen_lock is None:
            self._gen_lock = asyncio.Lock()
        async with self._gen_lock:
            if self.known_generation is None:
                self.known_generation = wire.parse_health(await self.send(wire.health()))
                log.info("Queen.generation", {"server": self.known_generation})
        return self.known_generation

    async def drain(self, timeout: Optional[float] = None) -> DrainReport:
        """Stop every consumer (no new fetches; unstarted messages given back), let
        running handlers finish and ack until ``timeout``, cancel what is still
        running then, and flush the buffers in the time left."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        running = list(self.consumers)
        for consumer in running:
            consumer.stop("drain", give_back=True)
        me = asyncio.current_task()
        # Called from a handler: that consumer cannot end before we do, so do not wait on it.
        running = [c for c in running if not c.runs(me)]
        unfinished = 0
        if running:
            waits = [asyncio.ensure_future(c.finished.wait()) for c in running]
            _, pending = await asyncio.wait(waits, timeout=timeout)
            for wait in pending:
                wait.cancel()
            late = [c for c in running if not c.finished.is_set()]
            for consumer in late:
                unfinished += consumer.abort()
            if late:
                await asyncio.wait([asyncio.ensure_future(c.finished.wait()) for c in late])
        left = None if deadline is None else max(0.0, deadline - loop.time())
        undelivered: List[FailedBatch] = []
        try:
            await self.buffers.flush(timeout=left)
        except BufferFlushError as exc:
            undelivered = exc.failures
        except QueenTimeoutError:
            pass  # still being sent: close() reports them, drain() leaves them going
        return DrainReport(
            released=sum(c.released for c in running), unfinished=unfinished,
            undelivered=undelivered,
            unsent=self.buffers.stats()["totalBufferedMessages"])

    async def aclose(self, timeout: Optional[float] = None) -> None:
        """Stop the consumers (their running handlers finish and ack), flush the
        buffers, then close the connections -- all within ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        try:
            if self.consumers:
                await self.drain(timeout)
            self.closed = True
            left = None if deadline is None else max(0.0, deadline - loop.time())
            await self.buffers.close(left)
        finally:
            self.closed = True
            self.buffers.cancel_timers()
            await self._transport.aclose()


class Queen:
    """A Queen MQ client: ``Queen('http://localhost:6632')``, ``Queen([urls])`` or
    ``Queen({...options})``. Use ``async with`` (or ``await close()``) so buffered
    messages are flushed and connections closed."""

    def __init__(self, config: ConfigInput = "http://localhost:6632") -> None:
        self._config: ClientConfig = parse_config(config)
        self._host = _ClientHost(self._config)
        self._admin: Optional[Admin] = None
        self._closing = False
        log.refresh()  # QUEEN_CLIENT_LOG and the logging setup as they are now
        log.info("Queen.constructor", {"status": "initialized", "urls": len(self._config.urls)})

    def __repr__(self) -> str:
        state = "closed" if self._host.closed else "open"
        gen = self._host.known_generation or "?"
        return f"<Queen {log.redact(', '.join(self._config.urls))} server={gen} {state}>"

    # ------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Queen:
        return self

    async def __aexit__(
        self, exc_type: Optional[type], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        await self.close()

    async def close(self, timeout: Optional[float] = None) -> None:
        """Stop every running ``consume()`` (it returns once its running handlers have
        finished and acked; fetched messages not started yet are given back), flush
        every buffer, then close all connections. Safe to call twice. Raises
        ``BufferFlushError`` (after closing) if buffered messages could not be sent.
        With ``timeout`` (seconds) all of it ends by then: handlers still running are
        cancelled and every message not delivered is listed (those being sent as
        "outcome unknown")."""
        if self._closing:
            return
        self._closing = True
        log.info("Queen.close", {"status": "closing"})
        try:
            await self._host.aclose(timeout)
        finally:
            log.info("Queen.close", {"status": "closed"})

    async def _generation(self) -> str:
        """The server generation ('0.7' or '0.15'): configured, or detected once."""
        return await self._host.generation()

    @property
    def admin(self) -> Admin:
        """The admin API (upstream 2.6.0's ``Admin`` method names): one per client."""
        if self._admin is None:
            from .admin import Admin

            self._admin = Admin(self._host)
        return self._admin

    # ------------------------------------------------------------ builders

    def queue(self, name: Optional[str] = None) -> QueueBuilder:
        """A queue by name; without one, for namespace/task consumption."""
        return QueueBuilder(self._host, name)

    def transaction(self) -> TransactionBuilder:
        """An atomic group of acks and pushes over several queues:
        ``await queen.transaction().ack(msg).queue('out').push([...]).commit()``.
        Nothing is sent before ``commit()``; the server applies all or nothing."""
        return TransactionBuilder(self._host)

    def stream(self, name: str, namespace: str) -> StreamBuilder:
        """Define (or delete) a 0.7 windowed stream over source queues:
        ``await queen.stream('s', 'ns').sources(['q']).tumbling_time(60).define()``.
        Raises ``QueenServerFeatureError`` on 0.15 servers, which removed them."""
        from .builders.stream import StreamBuilder

        return StreamBuilder(self._host, name, namespace)

    def consumer(
        self, stream_name: str, consumer_group: str, *, poll_timeout_millis: int = 30000,
        renew_interval_millis: Optional[int] = None, extend_millis: int = 30000,
        max_backoff_millis: int = 2000,
    ) -> StreamConsumer:
        """A consumer of a 0.7 windowed stream's windows for one group:
        ``await queen.consumer('s', 'g').process(callback, signal)``. Options: the
        long-poll deadline, the lease renewal interval (default: 20 s, or half the
        stream's window lease when shorter) and extension, the idle back-off cap."""
        from .stream.consumer import StreamConsumer

        return StreamConsumer(self._host, stream_name, consumer_group,
                              poll_timeout_millis=poll_timeout_millis,
                              renew_interval_millis=renew_interval_millis,
                              extend_millis=extend_millis, max_backoff_millis=max_backoff_millis)

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
        return await self._host.ack(message, status, context)  # type: ignore[return-value]

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
        return await self._host.renew(target, seconds)  # type: ignore[return-value]

    # ------------------------------------------------------------ buffering

    async def drain(self, timeout: Optional[float] = None) -> DrainReport:
        """Wind down without closing: every running ``consume()`` stops fetching,
        gives back the messages it fetched but did not start (on 0.15 at once; on 0.7
        their leases run out), lets running handlers finish and ack, and returns;
        then the buffers are flushed. Past ``timeout`` (seconds) running handlers are
        cancelled. The report says what could not be finished."""
        return await self._host.drain(timeout)

    async def flush_all_buffers(self, timeout: Optional[float] = None) -> None:
        """Send every buffered message now; raises ``BufferFlushError`` listing what
        could not be delivered, or ``QueenTimeoutError`` when ``timeout`` (seconds)
        passes first (the messages are kept and still sent)."""
        await self._host.buffers.flush(timeout=timeout)

    def get_buffer_stats(self) -> Dict[str, Any]:
        """Counters of the push buffers: ``activeBuffers``, ``totalBufferedMessages``,
        ``oldestBufferAge`` (ms), ``flushesInFlight``, ``queuedBatches``,
        ``completedFlushes``, ``sentMessages``, ``failedFlushes`` and
        ``undeliveredMessages`` (kept for the next ``flush_all_buffers`` to report)."""
        return self._host.buffers.stats()

    # ------------------------------------------------------------ consumer groups

    async def delete_consumer_group(self, group: str, delete_metadata: bool = True) -> Dict[str, Any]:
        """Forget a group's positions on every queue (and, by default, its
        subscription metadata)."""
        if not isinstance(delete_metadata, bool):
            raise QueenValidationError("delete_metadata takes True or False")
        reply = await self._host.send(wire.delete_consumer_group(group, delete_metadata))
        return wire.parse_group_admin(reply)

    async def update_consumer_group_timestamp(
        self, group: str, timestamp: Union[str, datetime]
    ) -> Dict[str, Any]:
        """Move the group's subscription time (affects partitions it has not read yet)."""
        text = checked_timestamp(timestamp, "timestamp")
        reply = await self._host.send(wire.update_subscription(group, text))
        return wire.parse_group_admin(reply)
