"""Client-side push buffering per (queue, partition).

Messages are encoded when they are buffered (bad input fails at push time) and sent
as one push request when a buffer reaches ``message_count`` or its oldest message has
waited ``time_millis``. Each (queue, partition) has one sender task, so its batches
go out in order and never two at a time; a semaphore bounds the requests in flight
over all buffers, and producers wait when too many batches are queued
(backpressure). A producer that never waits would starve the senders, so it gives
the loop a turn after sealing a batch, and every ``YIELD_EVERY`` messages while a
push is out (its reply can then be read and the next batch sent). A batch that cannot be delivered is retried a few times, then kept
as a failure that ``flush_all()`` reports by raising ``BufferFlushError``.

Flow control: ``max_in_flight`` push requests at once; at most ``max_messages``
messages and ``max_bytes`` encoded bytes held (buffered, queued or being sent), after
which a producer waits for room (``when_full="block"``) or gets ``BufferFullError``
(``"raise"``). A :class:`Delivery` attached to a push learns, per message, whether it
was stored or failed (a callback and an awaitable), as aiokafka's ``send()`` future.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Deque,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

from . import _core, log, wire, writes
from .errors import (
    BufferFlushError,
    BufferFullError,
    FailedBatch,
    QueenHTTPError,
    QueenTimeoutError,
    QueenValidationError,
)
from .retry import BUFFER_RETRIES, Retry
from .types import PushResult

if TYPE_CHECKING:
    from .seam import Host

Key = Tuple[str, str]
# send(queue, partition, body, txids) -> {index of a sent item: error text} for each
# item that was not stored (stored and duplicate items have no entry)
Sender = Callable[[str, str, bytes, List[str]], Awaitable[Mapping[int, str]]]

MAX_IN_FLIGHT = 4        # push requests in flight over all buffers
MAX_QUEUED_BATCHES = 16  # batches waiting to be sent before producers are held back
RETRIES = BUFFER_RETRIES  # re-sends of a batch after the transport gave up
YIELD_EVERY = 100        # buffered messages between two loop turns while a push is out


class Delivery:
    """The fate of each message of one buffered push: ``await delivery`` (or
    ``await delivery.wait()``) gives one PushResult per message, in order, with status
    ``queued`` (stored; a ``duplicate`` counts as stored) or ``failed`` (with
    ``error``); ``callback(results)`` is called once with the same list."""

    __slots__ = ("txids", "results", "pending", "callback", "_future")

    def __init__(self, txids: Sequence[str],
                 callback: Optional[Callable[[List[PushResult]], Any]] = None) -> None:
        self.txids = list(txids)
        self.results: List[Optional[PushResult]] = [None] * len(self.txids)
        self.pending = len(self.txids)
        self.callback = callback
        self._future: Optional[asyncio.Future[List[PushResult]]] = None

    @property
    def done(self) -> bool:
        return self.pending == 0

    def settle(self, index: int, error: Optional[str]) -> None:
        if self.results[index] is not None:
            return
        txid = self.txids[index]
        self.results[index] = (
            {"transactionId": txid, "status": "queued", "messageId": None} if error is None
            else {"transactionId": txid, "status": "failed", "messageId": None, "error": error})
        self.pending -= 1
        if self.pending == 0:
            final = [r for r in self.results if r is not None]
            if self._future is not None and not self._future.done():
                self._future.set_result(final)
            if self.callback is not None:
                try:
                    out = self.callback(final)
                    if asyncio.iscoroutine(out):
                        asyncio.get_running_loop().create_task(out)
                except Exception as exc:  # a report must never break the sender
                    log.error("BufferManager.delivery", {"error": str(exc)})

    async def wait(self) -> List[PushResult]:
        if self.pending == 0:
            return [r for r in self.results if r is not None]
        if self._future is None:
            self._future = asyncio.get_running_loop().create_future()
        return await asyncio.shield(self._future)

    def __await__(self) -> Any:
        return self.wait().__await__()


def unique_items(
    fragments: List[bytes], txids: List[str]
) -> Tuple[List[bytes], List[str], Optional[List[int]]]:
    """Drop repeated transactionIds from one request (0.7.5 cannot store such a request
    and keeps retrying it in the background). ``where[i]`` is the kept index of item
    ``i``, or ``-1 - j`` when it repeats kept item ``j``; None when all are unique."""
    if len(set(txids)) == len(txids):
        return fragments, txids, None
    seen: Dict[str, int] = {}
    kept_f: List[bytes] = []
    kept_t: List[str] = []
    where: List[int] = []
    for f, t in zip(fragments, txids):
        j = seen.get(t)
        if j is None:
            seen[t] = len(kept_t)
            where.append(len(kept_t))
            kept_f.append(f)
            kept_t.append(t)
        else:
            where.append(-1 - j)
    return kept_f, kept_t, where


def expand_results(
    results: List[PushResult], txids: List[str], where: Optional[List[int]]
) -> List[PushResult]:
    """Results for every original item: a repeat is a ``duplicate`` of its first copy
    (or shares its failure)."""
    if where is None:
        return results
    out: List[PushResult] = []
    for t, w in zip(txids, where):
        if w >= 0:
            out.append(results[w] if w < len(results) else
                       {"transactionId": t, "status": "failed", "messageId": None,
                        "error": "no result for this item"})
            continue
        first = results[-1 - w] if -1 - w < len(results) else {}
        if first.get("status") == "failed":
            out.append(dict(first))  # type: ignore[arg-type]
        else:
            out.append({"transactionId": t, "status": "duplicate",
                        "messageId": first.get("messageId")})
    return out


def buffer_options(options: Mapping[str, Any]) -> Tuple[int, int]:
    """``{'message_count', 'time_millis'}`` (camelCase accepted) -> validated pair."""
    if type(options) is dict and len(options) == 2:  # the usual spelling, checked cheaply
        count = options.get("message_count")
        millis = options.get("time_millis")
        if type(count) is int and type(millis) is int and count >= 1 and millis >= 1:
            return count, millis
    known = {"message_count", "messageCount", "time_millis", "timeMillis"}
    for key in options:
        if key not in known:
            raise QueenValidationError(
                f"unknown buffer option {key!r}: use 'message_count' and 'time_millis'"
            )
    count = options.get("message_count", options.get("messageCount", 100))
    millis = options.get("time_millis", options.get("timeMillis", 1000))
    for name, value in (("message_count", count), ("time_millis", millis)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise QueenValidationError(f"buffer option {name} must be an int >= 1, got {value!r}")
    return count, millis


class _Slot:
    __slots__ = ("buffer", "batches", "timer", "task", "sending", "reports", "nbytes", "current")

    def __init__(self, buffer: Any) -> None:
        self.buffer = buffer                  # _core.PushBuffer
        self.batches: Deque[Tuple[List[bytes], List[str], int]] = deque()
        self.timer: Optional[asyncio.TimerHandle] = None
        self.task: Optional[asyncio.Task[None]] = None
        self.sending = 0                      # messages of the batch being sent
        # transactionId -> the deliveries waiting to hear about it (only when asked)
        self.reports: Dict[str, List[Tuple[Delivery, int]]] = {}
        self.nbytes = 0                       # encoded bytes in ``buffer``
        self.current: List[str] = []          # transactionIds of the batch being sent


WHEN_FULL = ("block", "raise")


def host_sender(host: Host) -> Sender:
    """The sender of a client's buffers: one push request through the seam; only what
    was not stored comes back."""

    async def send(queue: str, partition: str, body: bytes, txids: List[str]) -> Dict[int, str]:
        async with writes.one_writer(host, ((queue, partition),)):  # 0.7: queen.writes
            reply = await host.send(wire.push(body, queue, partition))
        return wire.parse_push_failures(reply, len(txids))

    return send


class BufferManager:
    """The push buffers of one client (``seam.Buffers``); ``send`` delivers one batch."""

    @classmethod
    def for_host(cls, host: Host, max_in_flight: int = MAX_IN_FLIGHT,
                 max_messages: Optional[int] = None, max_bytes: Optional[int] = None,
                 when_full: str = "block") -> BufferManager:
        """Buffers that send through ``host`` (what ``Queen`` uses)."""
        return cls(host_sender(host), max_in_flight, max_messages, max_bytes, when_full)

    def __init__(self, send: Sender, max_in_flight: int = MAX_IN_FLIGHT,
                 max_messages: Optional[int] = None, max_bytes: Optional[int] = None,
                 when_full: str = "block") -> None:
        if when_full not in WHEN_FULL:
            raise QueenValidationError(f"when_full must be 'block' or 'raise', got {when_full!r}")
        self._send = send
        self._retry = Retry.for_buffer()
        self._slots: Dict[Key, _Slot] = {}
        self._max_in_flight = max_in_flight
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._when_full = when_full
        self._held = 0        # messages buffered, queued or being sent
        self._held_bytes = 0
        # Created on first use, inside the running loop (Queen() may be built outside one).
        self._gate_: Optional[asyncio.Semaphore] = None
        self._room_: Optional[asyncio.Condition] = None
        self._queued = 0
        self._in_flight = 0
        self._countdown = YIELD_EVERY
        self._failures: List[FailedBatch] = []
        self._failed_total = 0
        self._flushes = 0
        self._sent_messages = 0

    @property
    def _gate(self) -> asyncio.Semaphore:
        if self._gate_ is None:
            self._gate_ = asyncio.Semaphore(self._max_in_flight)
        return self._gate_

    @property
    def _room(self) -> asyncio.Condition:
        if self._room_ is None:
            self._room_ = asyncio.Condition()
        return self._room_

    # ------------------------------------------------------------ producer side

    async def add(
        self, queue: str, partition: str, fragments: List[bytes], txids: List[str],
        max_count: int, max_millis: int,
    ) -> None:
        """Buffer already encoded push items (``_core.encode_push_items``)."""
        if self.put(queue, partition, fragments, txids, max_count, max_millis):
            await self.settle()

    # ------------------------------------------------------------ flow control

    @property
    def limited(self) -> bool:
        return self._max_messages is not None or self._max_bytes is not None

    def _fits(self, count: int, nbytes: int) -> bool:
        if self._held == 0:
            return True  # one push bigger than the limits alone still goes
        if self._max_messages is not None and self._held + count > self._max_messages:
            return False
        return self._max_bytes is None or self._held_bytes + nbytes <= self._max_bytes

    async def reserve(self, fragments: Sequence[bytes]) -> None:
        """Wait (or raise ``BufferFullError``) until ``fragments`` fit the limits."""
        count, nbytes = len(fragments), sum(map(len, fragments))
        if self._fits(count, nbytes):
            return
        if self._when_full == "raise":
            raise BufferFullError(
                f"the push buffers are full ({self._held} messages, {self._held_bytes} bytes "
                f"held; limits {self._max_messages} messages, {self._max_bytes} bytes): "
                "wait for deliveries or flush_all_buffers(), or raise the limits"
            )
        for key in list(self._slots):  # what waits for its timer goes now
            self._seal(key)
        async with self._room:
            await self._room.wait_for(lambda: self._fits(count, nbytes))

    def put(
        self, queue: str, partition: str, fragments: List[bytes], txids: List[str],
        max_count: int, max_millis: int, report: Optional[Delivery] = None,
    ) -> bool:
        """The synchronous part of ``add``; True when the caller must then
        ``await settle()`` (a batch was sealed, or too many are queued)."""
        if not fragments:
            return False
        key = (queue, partition)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot(_core.PushBuffer(max_count, max_millis))
        if self.limited:
            nbytes = sum(map(len, fragments))
            self._held_bytes += nbytes
            slot.nbytes += nbytes
        self._held += len(fragments)
        if report is not None:
            for i, txid in enumerate(txids):
                slot.reports.setdefault(txid, []).append((report, i))
        buf = slot.buffer
        if buf.append(fragments, txids):
            self._seal(key)
            return True
        if slot.timer is None:  # the first item since the last seal: start its clock
            slot.timer = asyncio.get_running_loop().call_later(
                buf.max_millis / 1000.0, self._seal, key
            )
        self._countdown -= 1
        if self._countdown <= 0:
            self._countdown = YIELD_EVERY
            if self._in_flight:  # a reply may be waiting: read it, so the next batch goes
                return True
        return self._queued > MAX_QUEUED_BATCHES

    async def settle(self) -> None:
        """Let the sender start on a sealed batch while the producer fills the next
        one (one loop turn), and hold the producer while too many batches wait."""
        await asyncio.sleep(0)
        if self._queued > MAX_QUEUED_BATCHES:
            async with self._room:
                await self._room.wait_for(lambda: self._queued <= MAX_QUEUED_BATCHES)

    def _seal(self, key: Key) -> None:
        """Move what is buffered for ``key`` into its send queue."""
        slot = self._slots.get(key)
        if slot is None:
            return
        if slot.timer is not None:
            slot.timer.cancel()
            slot.timer = None
        if slot.buffer.count == 0:
            return
        slot.batches.append(slot.buffer.take() + (slot.nbytes,))  # type: ignore[arg-type]
        slot.nbytes = 0
        self._queued += 1
        if slot.task is None or slot.task.done():
            slot.task = asyncio.get_running_loop().create_task(self._drain(key, slot))

    # ------------------------------------------------------------ sender side

    async def _drain(self, key: Key, slot: _Slot) -> None:
        while slot.batches:
            fragments, txids, nbytes = slot.batches.popleft()
            slot.sending = len(txids)
            slot.current = txids
            try:
                await self._deliver(key, fragments, txids)
            finally:
                slot.sending = 0
                slot.current = []
                self._queued -= 1
                self._held -= len(txids)
                self._held_bytes -= nbytes
                async with self._room:
                    self._room.notify_all()

    async def _deliver(self, key: Key, fragments: List[bytes], txids: List[str]) -> None:
        queue, partition = key
        sent_f, sent_t, where = unique_items(fragments, txids)
        body = _core.join_items(sent_f)
        error = ""
        retry = self._retry
        failures = 0
        while True:
            final = False
            async with self._gate:
                self._in_flight += 1
                try:
                    failed: Optional[Mapping[int, str]] = await self._send(
                        queue, partition, body, sent_t
                    )
                except Exception as e:  # any failure is kept and reported, never lost
                    error = str(e) or type(e).__name__
                    failed = None
                    # refused, not lost: sending again cannot help (any status below
                    # 500); anything else may have been a lost batch: send it again
                    final = isinstance(e, QueenHTTPError) and (e.status or 0) < 500
                finally:
                    self._in_flight -= 1
            if failed is not None:
                self._flushes += 1
                self._record_items(key, txids, failed, where)
                return
            failures += 1
            log.warn("BufferManager.flush", {"queue": queue, "partition": partition,
                                              "attempt": failures, "error": error})
            if final or not retry.allows(failures):
                break
            await asyncio.sleep(retry.delay(failures))
        self._fail(FailedBatch(queue, partition, txids, error))

    def _report(self, key: Key, txids: Sequence[str], error: Optional[str]) -> None:
        slot = self._slots.get(key)
        if slot is None or not slot.reports:
            return
        for txid in txids:
            waiting = slot.reports.get(txid)
            if waiting:
                delivery, index = waiting.pop(0)
                if not waiting:
                    del slot.reports[txid]
                delivery.settle(index, error)

    def _record_items(self, key: Key, txids: List[str], failed: Mapping[int, str],
                      where: Optional[List[int]]) -> None:
        """Count what was stored; keep the rest (a repeat shares its first copy's fate)."""
        if not failed:
            self._sent_messages += len(txids)
            self._report(key, txids, None)
            return
        by_error: Dict[str, List[str]] = {}
        for i, txid in enumerate(txids):
            j = i if where is None else (where[i] if where[i] >= 0 else -1 - where[i])
            text = failed.get(j)
            if text is None:
                self._sent_messages += 1
                self._report(key, (txid,), None)
            else:
                by_error.setdefault(text, []).append(txid)
        for text, ids in by_error.items():
            self._fail(FailedBatch(key[0], key[1], ids, text))

    def _fail(self, batch: FailedBatch) -> None:
        self._report((batch.queue, batch.partition), batch.transaction_ids, batch.error)
        self._failures.append(batch)
        self._failed_total += 1
        log.error("BufferManager.flush", {"queue": batch.queue, "partition": batch.partition,
                                          "count": len(batch.transaction_ids),
                                          "error": batch.error})

    # ------------------------------------------------------------ flushing

    async def flush(self, queue: Optional[str] = None, partition: Optional[str] = None,
                    timeout: Optional[float] = None) -> None:
        """Send what is buffered (all, one queue, or one queue/partition) and wait
        for it; raise ``BufferFlushError`` for anything that could not be delivered.
        With ``timeout`` (seconds), raise ``QueenTimeoutError`` when it is not all
        delivered by then: nothing is dropped, the rest keeps being sent."""
        keys = [k for k in self._slots
                if (queue is None or k[0] == queue) and (partition is None or k[1] == partition)]
        for key in keys:
            self._seal(key)
        tasks = [t for k in keys if (t := self._slots[k].task) is not None and not t.done()]
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=timeout)
            if pending:
                left = sum(len(b[1]) for k in keys for b in self._slots[k].batches) + sum(
                    self._slots[k].sending for k in keys)
                raise QueenTimeoutError(
                    f"{left} buffered message(s) were not delivered within {timeout:g} s; "
                    "they are still being sent (flush again, or close(timeout=) to give up)"
                )
        mine = [f for f in self._failures
                if (queue is None or f.queue == queue) and (partition is None or f.partition == partition)]
        if mine:
            self._failures = [f for f in self._failures if f not in mine]
            raise BufferFlushError(mine)

    async def close(self, timeout: Optional[float] = None) -> None:
        """Flush everything; past ``timeout``, stop sending and report every message
        not delivered in ``BufferFlushError`` (those that were being sent as
        "outcome unknown": they may have been stored). Nothing goes silently."""
        try:
            await self.flush(timeout=timeout)
            return
        except QueenTimeoutError:
            pass
        self.cancel_timers()
        tasks = []
        for key, slot in self._slots.items():
            if slot.current:
                self._fail(FailedBatch(key[0], key[1], list(slot.current),
                                       "outcome unknown: the client closed while this batch "
                                       "was being sent; it may have been stored"))
                slot.current = []
            for _fragments, txids, _nbytes in slot.batches:
                self._fail(FailedBatch(key[0], key[1], txids,
                                       "not sent: the client closed (close timeout)"))
            slot.batches.clear()
            _fragments2, txids2 = slot.buffer.take()
            if txids2:
                self._fail(FailedBatch(key[0], key[1], txids2,
                                       "not sent: the client closed (close timeout)"))
            if slot.task is not None and not slot.task.done():
                slot.task.cancel()
                tasks.append(slot.task)
        await asyncio.gather(*tasks, return_exceptions=True)
        failures, self._failures = self._failures, []
        raise BufferFlushError(failures)

    def stats(self) -> Dict[str, Any]:
        now = time.monotonic()
        firsts = [s.buffer.first_at for s in self._slots.values() if s.buffer.count]
        buffered = sum(s.buffer.count for s in self._slots.values())
        queued = sum(len(b[1]) for s in self._slots.values() for b in s.batches)
        sending = sum(s.sending for s in self._slots.values())
        return {
            "activeBuffers": sum(1 for s in self._slots.values()
                                 if s.buffer.count or s.batches or s.sending),
            "totalBufferedMessages": buffered + queued + sending,
            "oldestBufferAge": int((now - min(firsts)) * 1000) if firsts else 0,
            "flushesInFlight": self._in_flight,
            "queuedBatches": self._queued,
            "completedFlushes": self._flushes,
            "sentMessages": self._sent_messages,
            "failedFlushes": self._failed_total,
            "undeliveredMessages": sum(len(f.transaction_ids) for f in self._failures),
            "heldMessages": self._held,
            "heldBytes": self._held_bytes,
        }

    def cancel_timers(self) -> None:
        for slot in self._slots.values():
            if slot.timer is not None:
                slot.timer.cancel()
                slot.timer = None
