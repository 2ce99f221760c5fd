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
    Tuple,
)

from . import _core, log, wire, writes
from .errors import BufferFlushError, FailedBatch, QueenHTTPError, QueenValidationError
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
    __slots__ = ("buffer", "batches", "timer", "task", "sending")

    def __init__(self, buffer: Any) -> None:
        self.buffer = buffer                  # _core.PushBuffer
        self.batches: Deque[Tuple[List[bytes], List[str]]] = deque()
        self.timer: Optional[asyncio.TimerHandle] = None
        self.task: Optional[asyncio.Task[None]] = None
        self.sending = 0                      # messages of the batch being sent


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
    def for_host(cls, host: Host) -> BufferManager:
        """Buffers that send through ``host`` (what ``Queen`` uses)."""
        return cls(host_sender(host))

    def __init__(self, send: Sender, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self._send = send
        self._retry = Retry.for_buffer()
        self._slots: Dict[Key, _Slot] = {}
        self._max_in_flight = max_in_flight
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

    def put(
        self, queue: str, partition: str, fragments: List[bytes], txids: List[str],
        max_count: int, max_millis: int,
    ) -> bool:
        """The synchronous part of ``add``; True when the caller must then
        ``await settle()`` (a batch was sealed, or too many are queued)."""
        if not fragments:
            return False
        key = (queue, partition)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot(_core.PushBuffer(max_count, max_millis))
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
        slot.batches.append(slot.buffer.take())
        self._queued += 1
        if slot.task is None or slot.task.done():
            slot.task = asyncio.get_running_loop().create_task(self._drain(key, slot))

    # ------------------------------------------------------------ sender side

    async def _drain(self, key: Key, slot: _Slot) -> None:
        while slot.batches:
            fragments, txids = slot.batches.popleft()
            slot.sending = len(txids)
            try:
                await self._deliver(key, fragments, txids)
            finally:
                slot.sending = 0
                self._queued -= 1
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

    def _record_items(self, key: Key, txids: List[str], failed: Mapping[int, str],
                      where: Optional[List[int]]) -> None:
        """Count what was stored; keep the rest (a repeat shares its first copy's fate)."""
        if not failed:
            self._sent_messages += len(txids)
            return
        by_error: Dict[str, List[str]] = {}
        for i, txid in enumerate(txids):
            j = i if where is None else (where[i] if where[i] >= 0 else -1 - where[i])
            text = failed.get(j)
            if text is None:
                self._sent_messages += 1
            else:
                by_error.setdefault(text, []).append(txid)
        for text, ids in by_error.items():
            self._fail(FailedBatch(key[0], key[1], ids, text))

    def _fail(self, batch: FailedBatch) -> None:
        self._failures.append(batch)
        self._failed_total += 1
        log.error("BufferManager.flush", {"queue": batch.queue, "partition": batch.partition,
                                          "count": len(batch.transaction_ids),
                                          "error": batch.error})

    # ------------------------------------------------------------ flushing

    async def flush(self, queue: Optional[str] = None, partition: Optional[str] = None) -> None:
        """Send what is buffered (all, one queue, or one queue/partition) and wait
        for it; raise ``BufferFlushError`` for anything that could not be delivered."""
        keys = [k for k in self._slots
                if (queue is None or k[0] == queue) and (partition is None or k[1] == partition)]
        for key in keys:
            self._seal(key)
        tasks = [t for k in keys if (t := self._slots[k].task) is not None and not t.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        mine = [f for f in self._failures
                if (queue is None or f.queue == queue) and (partition is None or f.partition == partition)]
        if mine:
            self._failures = [f for f in self._failures if f not in mine]
            raise BufferFlushError(mine)

    def stats(self) -> Dict[str, Any]:
        now = time.monotonic()
        firsts = [s.buffer.first_at for s in self._slots.values() if s.buffer.count]
        buffered = sum(s.buffer.count for s in self._slots.values())
        queued = sum(len(t) for s in self._slots.values() for _, t in s.batches)
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
        }

    def cancel_timers(self) -> None:
        for slot in self._slots.values():
            if slot.timer is not None:
                slot.timer.cancel()
                slot.timer = None
