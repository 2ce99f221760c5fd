"""QueueBuilder: ``queen.queue(name)`` and everything chained on it.

Setters record options (and validate them at once) and return the builder; the
terminal calls (``create``, ``delete``, ``push``, ``pop``, ``consume``, ``dlq``,
``flush_buffer``) act. Pop and consume share the setters but not all defaults:
``pop`` does not wait and acks nothing by itself unless asked (``auto_ack`` is the
server's autoAck there); ``consume`` long-polls and acks client-side.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from .. import log, wire
from ..buffer import buffer_options
from ..errors import QueenValidationError
from ..types import ConsumeOptions, Message, PopSpec
from ._util import callable_or_fail, checked_timestamp, positive_int
from .dlq import DLQBuilder
from .push import PushBuilder

if TYPE_CHECKING:
    import asyncio

    from ..iterate import MessageIterator
    from ..seam import Host
    from .consume import ConsumeBuilder

SUBSCRIPTION_MODES = ("all", "new", "new-only")  # known; others are passed through
_std_log = logging.getLogger("queen")
DEFAULT_PARTITION = wire.DEFAULT_PARTITION
_GOOD_NAMES = wire.base.CHECKED_NAMES  # names wire.check_name already accepted (same dict)
MAX_LONG_POLL_MILLIS = 100_000


def _now_micros() -> str:
    # Microseconds, like the server's created_at: with milliseconds a message pushed
    # in the same millisecond just before the start would count as new.
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class QueueBuilder:
    """``queen.queue(name)``: chain options, then act (create, delete, push, pop,
    consume, dlq, flush_buffer). Made through the client's seam (:attr:`host`)."""

    # Option defaults live on the class: a builder is made per push, so __init__ sets
    # only what every builder has; setters shadow these per instance.
    _namespace: Optional[str] = None
    _task: Optional[str] = None
    _options: Dict[str, Any] = {}  # never mutated: config() replaces it
    _partition: Optional[str] = None
    _buffer: Optional[tuple[int, int]] = None
    _group: Optional[str] = None
    _concurrency = 1
    _batch: Optional[int] = None
    _limit: Optional[int] = None
    _idle_millis: Optional[int] = None
    _auto_ack: Optional[bool] = None
    _wait: Optional[bool] = None
    _timeout_millis = 30000
    _renew = False
    _renew_interval: Optional[int] = None
    _sub_mode: Optional[str] = None
    _sub_from: Optional[str] = None
    _each = False
    _partitions = 1

    def __init__(self, host: Host, name: Optional[str] = None) -> None:
        self._host = host
        if name is None or (type(name) is str and name in _GOOD_NAMES):
            self._name = name
        else:
            self._name = wire.check_name("queue name", name)

    @property
    def name(self) -> Optional[str]:
        """The queue name (None for namespace/task consumption)."""
        return self._name

    @property
    def host(self) -> Host:
        """The client seam this builder acts through (for extensions such as streams)."""
        return self._host

    # ------------------------------------------------------------ configuration

    def namespace(self, name: str) -> QueueBuilder:
        """The queue's namespace on ``create()``; without a queue name, pop/consume
        every queue of the namespace (0.7 only)."""
        self._namespace = wire.check_name("namespace", name)
        return self

    def task(self, name: str) -> QueueBuilder:
        """The queue's task on ``create()``; without a queue name, pop/consume every
        queue of the task (0.7 only)."""
        self._task = wire.check_name("task", name)
        return self

    def config(self, options: Mapping[str, Any]) -> QueueBuilder:
        """Queue options (guide table; snake_case or camelCase). Unset options are sent
        with the guide defaults: real servers reset anything not sent."""
        if not isinstance(options, Mapping):
            raise QueenValidationError("config() takes a dict of queue options")
        wire.queue_options(options)  # validate now
        self._options = {**self._options, **options}
        return self

    def _need_name(self, what: str) -> str:
        # ``what`` is upstream's wording ("push operation", ...): code matches on it.
        if self._name is None:
            raise QueenValidationError(
                f"Queue name is required for {what}: use queen.queue('name')")
        return self._name

    async def create(self) -> Dict[str, Any]:
        """Create the queue, or update its options (idempotent). Returns the
        server's answer (at least ``{'configured': True}``)."""
        name = self._need_name("create operation")
        log.info("QueueBuilder.create", {"queue": name, "namespace": self._namespace,
                                         "task": self._task})
        reply = await self._host.send(
            wire.configure(name, self._namespace, self._task, self._options)
        )
        return wire.parse_configure(reply)

    async def delete(self) -> Dict[str, Any]:
        """Delete the queue with its messages; returns the server's answer (at least
        ``{'deleted': True}``)."""
        name = self._need_name("delete operation")
        log.info("QueueBuilder.delete", {"queue": name})
        return wire.parse_delete_queue(await self._host.send(wire.delete_queue(name)))

    # ------------------------------------------------------------ push

    def partition(self, name: str) -> QueueBuilder:
        """The partition to push to (default ``'Default'``) or to pop/consume from
        (default: any partition)."""
        self._partition = wire.check_name("partition name", name)
        return self

    def buffer(self, options: Mapping[str, Any]) -> QueueBuilder:
        """Buffer pushes client-side: ``{'message_count': n, 'time_millis': ms}``."""
        if type(options) is dict and len(options) == 2:  # the usual spelling, cheaply
            count = options.get("message_count")
            millis = options.get("time_millis")
            if type(count) is int and type(millis) is int and count >= 1 and millis >= 1:
                self._buffer = (count, millis)
                return self
        if type(options) is not dict and not isinstance(options, Mapping):
            raise QueenValidationError("buffer() takes {'message_count': n, 'time_millis': ms}")
        self._buffer = buffer_options(options)
        return self

    def push(self, messages: Any) -> PushBuilder:
        """Push message dicts (``[{'data': ...}]``, or one dict); await the result for
        one ``PushResult`` per message. Encoded now: bad input raises
        ``QueenValidationError`` here. With ``buffer()`` the messages are batched."""
        name = self._name
        if name is None:
            name = self._need_name("push operation")
        return PushBuilder(self._host, name, self._partition or DEFAULT_PARTITION,
                           messages, self._buffer)

    async def flush_buffer(self) -> None:
        """Send this queue's buffered messages now (one partition if one was chosen)."""
        await self._host.buffers.flush(self._need_name("buffer flush"), self._partition)

    # ------------------------------------------------------------ pop / consume options

    def group(self, name: str) -> QueueBuilder:
        """Consume as this consumer group (each group gets every message); without
        one, queue mode (each message goes to one consumer)."""
        self._group = wire.check_name("consumer group", name)
        return self

    def concurrency(self, count: int) -> QueueBuilder:
        """How many workers ``consume`` runs, each with its own pop loop (default 1)."""
        self._concurrency = positive_int("concurrency", count)
        return self

    def batch(self, size: int) -> QueueBuilder:
        """Messages per pop (default 1). ``consume`` hands the handler one message
        when it is 1, else the list (see ``each()``)."""
        self._batch = positive_int("batch", size)
        return self

    def limit(self, count: int) -> QueueBuilder:
        """consume(): each worker stops after handling ``count`` messages, checked
        before each pop (a popped batch is handled whole). 0 means no limit."""
        self._limit = positive_int("limit", count, minimum=0) or None
        return self

    def idle_millis(self, millis: int) -> QueueBuilder:
        """``consume`` stops when no message arrived for this long."""
        self._idle_millis = positive_int("idle_millis", millis)
        return self

    def auto_ack(self, enabled: bool) -> QueueBuilder:
        """``pop``: ask the server to ack on delivery (default False). ``consume``:
        ack after the handler returned, nack when it raised (default True); with
        False the handler (or ``on_error``) acks."""
        if not isinstance(enabled, bool):
            raise QueenValidationError(f"auto_ack takes True or False, got {enabled!r}")
        self._auto_ack = enabled
        return self

    def wait(self, enabled: bool) -> QueueBuilder:
        """Long-poll: the server holds the pop until a message arrives or
        ``timeout_millis`` passes (default: False for ``pop``, True for ``consume``)."""
        if not isinstance(enabled, bool):
            raise QueenValidationError(f"wait takes True or False, got {enabled!r}")
        self._wait = enabled
        return self

    def timeout_millis(self, millis: int) -> QueueBuilder:
        """Long-poll deadline on the server, at most 100 s: real servers drop a waiting
        request after 120 s without answering it."""
        self._timeout_millis = positive_int("timeout_millis", millis)
        if millis > MAX_LONG_POLL_MILLIS:
            raise QueenValidationError(
                f"timeout_millis {millis} is too long: real servers drop long polls after "
                f"120 s; use at most {MAX_LONG_POLL_MILLIS} (consume polls again by itself)"
            )
        return self

    def renew_lease(self, enabled: bool, interval_millis: Optional[int] = None) -> QueueBuilder:
        """``consume``: extend the leases of messages whose handler is still running,
        every ``interval_millis`` (default 30 s)."""
        if not isinstance(enabled, bool):
            raise QueenValidationError(f"renew_lease takes True or False, got {enabled!r}")
        self._renew = enabled
        if interval_millis is not None:
            self._renew_interval = positive_int("renew interval_millis", interval_millis)
        return self

    def subscription_mode(self, mode: str) -> QueueBuilder:
        """'all' (the server default), 'new' (skip history; 'new-only' is the same)
        or any other string, which is sent as given (real servers treat an unknown
        mode as 'all'; a warning is logged)."""
        if not isinstance(mode, str) or not mode:
            raise QueenValidationError(
                f"subscription_mode takes a non-empty str such as 'new', got {mode!r}")
        if mode not in SUBSCRIPTION_MODES:
            log.warn("QueueBuilder.subscription_mode", {"mode": mode, "known": SUBSCRIPTION_MODES})
            _std_log.warning("subscription_mode %r is not one of %s: sent as given, and "
                             "servers treat an unknown mode as 'all'", mode, SUBSCRIPTION_MODES)
        self._sub_mode = mode
        return self

    def subscription_from(self, from_: Any) -> QueueBuilder:
        """``'now'``, an ISO-8601 timestamp, or a datetime."""
        self._sub_from = checked_timestamp(from_, "subscription_from")
        return self

    def partitions(self, count: int) -> QueueBuilder:
        """Pop from up to ``count`` partitions at once (pop and consume); ``batch`` is
        one budget across them. 0.15 claims them in one request under one lease;
        on 0.7 the client pops partition after partition (each with its own lease)
        until the budget or the count is reached. ``count <= 0`` means unset (1)."""
        if not isinstance(count, int) or isinstance(count, bool):
            raise QueenValidationError(f"partitions takes an int, got {count!r}")
        self._partitions = max(1, count)
        return self

    def each(self) -> QueueBuilder:
        """``consume`` with ``batch(n)``: call the handler once per message (acked
        together) instead of once per list."""
        self._each = True
        return self

    def _spec(self, batch: int, wait: bool, auto_ack: bool) -> PopSpec:
        if self._name is None and self._namespace is None and self._task is None:
            raise QueenValidationError(  # upstream's wording first: code matches on it
                "Must specify queue, namespace, or task: use queen.queue('name'), or "
                "queen.queue().namespace(n)/.task(t)"
            )
        return PopSpec(
            queue=self._name,
            partition=self._partition,
            namespace=self._namespace if self._name is None else None,
            task=self._task if self._name is None else None,
            group=self._group,
            batch=batch,
            wait=wait,
            timeout_millis=self._timeout_millis,
            auto_ack=auto_ack,
            subscription_mode=self._sub_mode,
            subscription_from=self._sub_from,
            partitions=self._partitions if self._partition is None else 1,
            new_since=_now_micros()
            if self._sub_mode in ("new", "new-only") and self._sub_from is None else None,
        )

    async def pop(self) -> List[Message]:
        """One pop: ``batch`` (1), ``wait`` (False), server-side ``auto_ack`` (False).
        Returns ``[]`` when nothing is available."""
        spec = self._spec(self._batch or 1, bool(self._wait), bool(self._auto_ack))
        return await self._host.pop(spec)

    def consume(
        self, handler: Callable[..., Any], signal: Optional[asyncio.Event] = None
    ) -> ConsumeBuilder:
        """Run ``handler`` on messages until ``limit``, ``idle_millis``, the
        ``signal`` (an ``asyncio.Event``) or a fatal error; await it (or make it a
        task). Chain ``.on_success(cb)`` / ``.on_error(cb)`` before awaiting."""
        from .consume import ConsumeBuilder

        callable_or_fail("consume handler", handler)
        batch = self._batch or 1
        wait = True if self._wait is None else self._wait
        options = ConsumeOptions(
            pop=self._spec(batch, wait, False),  # consume acks client-side
            concurrency=self._concurrency,
            batch=batch,
            limit=self._limit,
            idle_millis=self._idle_millis,
            auto_ack=True if self._auto_ack is None else self._auto_ack,
            each=self._each,
            renew_lease=self._renew,
            renew_interval_millis=self._renew_interval,
        )
        return ConsumeBuilder(self._host, options, handler, signal)

    def iterate(self, *, prefetch: int = 1, auto_ack: bool = True,
                signal: Optional[asyncio.Event] = None, wait: bool = True,
                timeout_millis: int = 2000) -> MessageIterator:
        """``async for message in queue.group(g).iterate():`` one message at a time, the
        next batch popped while the body runs; see ``queen.iterate`` for the acks."""
        from ..iterate import MessageIterator

        return MessageIterator(self, prefetch=prefetch, auto_ack=auto_ack, signal=signal,
                               wait=wait, timeout_millis=timeout_millis)

    # ------------------------------------------------------------ DLQ

    def dlq(self, consumer_group: Optional[str] = None) -> DLQBuilder:
        """The queue's dead-letter messages (of one group, if given): chain
        ``limit``/``offset``/``from_``/``to``, then ``await .get()``."""
        group = wire.check_name("consumer group", consumer_group) if consumer_group else None
        return DLQBuilder(self._host, self._need_name("DLQ operations"), group, self._partition)
