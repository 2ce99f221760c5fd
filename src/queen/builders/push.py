"""PushBuilder: ``await queen.queue(q).push([...]).on_success(cb).on_error(cb)``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Generator, List, Optional, Sequence, Tuple

from .. import _core, log, wire, writes
from ..buffer import Delivery, expand_results, unique_items
from ..errors import QueenConnectionError, QueenError, QueenHTTPError, QueenValidationError
from ..types import PushResult
from ._util import call_back, callable_or_fail

if TYPE_CHECKING:
    from ..seam import Host


_encode = _core.encode_push_items  # bound once: called for every push


def _as_list(messages: Any) -> List[Mapping[str, Any]]:
    if type(messages) is list:  # the common case, without the slow ABC check
        return messages
    if isinstance(messages, Mapping):
        return [messages]
    if isinstance(messages, (list, tuple)):
        return list(messages)
    raise QueenValidationError(
        f"push takes a list of message dicts like [{{'data': ...}}], not {type(messages).__name__}"
    )


class PushBuilder:
    """Awaiting it sends the push (or buffers it) and returns one ``PushResult`` per
    message: ``transactionId``, ``status`` (queued, duplicate, buffered, failed),
    ``messageId``, ``error``. Without an ``on_error`` callback a failed push raises
    ``QueenHTTPError`` with the server's text; duplicates never raise."""

    # Defaults on the class: a builder is made per push, often per message.
    _on_success: Optional[Callable[..., Any]] = None
    _on_error: Optional[Callable[..., Any]] = None
    _on_duplicate: Optional[Callable[..., Any]] = None
    _results: Optional[List[PushResult]] = None  # awaiting twice sends once
    delivery: Optional[Delivery] = None  # set by on_delivery()

    def __init__(
        self, host: Host, queue: str, partition: str, messages: Any,
        buffer: Optional[Tuple[int, int]] = None,
    ) -> None:
        self._host = host
        self._queue = queue
        self._partition = partition
        self._messages = messages if type(messages) is list else _as_list(messages)
        self._buffer = buffer
        # Encode now: bad input fails here, before anything is sent or buffered.
        try:
            self._fragments, self._txids = _encode(
                queue, partition, self._messages
            )
        except (TypeError, ValueError) as e:
            raise QueenValidationError(f"cannot push to {queue}/{partition}: {e}") from None

    def on_success(self, cb: Callable[..., Any]) -> PushBuilder:
        """``cb(messages)`` with the messages that were stored (or buffered)."""
        self._on_success = callable_or_fail("on_success callback", cb)
        return self

    def on_error(self, cb: Callable[..., Any]) -> PushBuilder:
        """``cb(messages, error)``; with it set, a failed push does not raise."""
        self._on_error = callable_or_fail("on_error callback", cb)
        return self

    def on_delivery(self, cb: Optional[Callable[[List[PushResult]], Any]] = None) -> PushBuilder:
        """Learn each message's fate once it is known, also for buffered pushes:
        ``cb(results)`` (sync or async) with one PushResult per message (``queued`` or
        ``failed`` with ``error``), and ``builder.delivery``, an awaitable of the same
        list (as aiokafka's ``send()`` future)."""
        if cb is not None:
            callable_or_fail("on_delivery callback", cb)
        self.delivery = Delivery(self._txids, cb)
        return self

    def on_duplicate(self, cb: Callable[..., Any]) -> PushBuilder:
        """``cb(messages, error)`` with messages whose transactionId already existed."""
        self._on_duplicate = callable_or_fail("on_duplicate callback", cb)
        return self

    def __await__(self) -> Generator[Any, None, List[PushResult]]:
        # A generator rather than a coroutine: buffered pushes (the hot path, often one
        # message per builder) then cost no extra coroutine object.
        if self._results is not None:
            return self._results
        if self._buffer is None or not self._fragments:
            self._results = yield from self._send().__await__()
            return self._results
        if log.enabled():
            self._log()
        host = self._host
        if host.closed:
            raise QueenConnectionError(  # upstream's (httpx's) text first
                "Cannot send a request, as the client has been closed: create a new Queen")
        buffers = host.buffers
        count, millis = self._buffer
        if buffers.limited:
            yield from buffers.reserve(self._fragments).__await__()
        if buffers.put(self._queue, self._partition, self._fragments, self._txids, count, millis,
                       self.delivery):
            yield from buffers.settle().__await__()
        if self._on_success is not None:
            yield from call_back(self._on_success, self._messages).__await__()
        txids = self._txids
        if len(txids) == 1:
            results: List[PushResult] = [
                {"transactionId": txids[0], "status": "buffered", "messageId": None}]
        else:
            results = [{"transactionId": t, "status": "buffered", "messageId": None}
                       for t in txids]
        self._results = results
        return results

    def _log(self) -> None:
        log.info("PushBuilder.push", {"queue": self._queue, "partition": self._partition,
                                       "count": len(self._fragments)})

    async def _send(self) -> List[PushResult]:
        if not self._fragments:
            return []
        if log.enabled():
            self._log()
        fragments, txids, where = unique_items(self._fragments, self._txids)
        try:
            async with writes.one_writer(self._host, ((self._queue, self._partition),)):
                reply = await self._host.send(
                    wire.push(_core.join_items(fragments), self._queue, self._partition))
            results = wire.parse_push(reply, txids)
        except QueenError as e:
            if self.delivery is not None:
                for i in range(len(self._txids)):
                    self.delivery.settle(i, str(e))
            if self._on_error is None:
                raise
            await call_back(self._on_error, self._messages, e)
            return [{"transactionId": t, "status": "failed", "messageId": None, "error": str(e)}
                    for t in self._txids]
        results = expand_results(results, self._txids, where)
        if self.delivery is not None:
            for i, r in enumerate(results):
                self.delivery.settle(i, r.get("error") or "push failed"
                                     if r.get("status") == "failed" else None)
        await self._dispatch(results)
        return results

    async def _dispatch(self, results: Sequence[PushResult]) -> None:
        ok: List[Mapping[str, Any]] = []
        dup: List[Mapping[str, Any]] = []
        bad: List[Mapping[str, Any]] = []
        errors: List[str] = []
        for m, r in zip(self._messages, results):
            status = r.get("status")
            if status == "duplicate":
                dup.append(m)
            elif status == "failed":
                bad.append(m)
                errors.append(r.get("error") or "push failed")
            else:
                ok.append(m)
        if ok and self._on_success is not None:
            await call_back(self._on_success, ok)
        if dup and self._on_duplicate is not None:
            err = QueenHTTPError(f"{len(dup)} message(s) had a transactionId that already "
                                 "exists in this partition; they were not stored again",
                                 body=list(results))
            await call_back(self._on_duplicate, dup, err)
        if bad:
            text = "; ".join(sorted(set(errors)))
            err = QueenHTTPError(f"push to {self._queue}/{self._partition} failed for "
                                 f"{len(bad)} of {len(results)} message(s): {text}",
                                 body=list(results))
            if self._on_error is None:
                raise err
            await call_back(self._on_error, bad, err)
