"""``async for message in queen.queue(q).group(g).iterate():`` — consumption as iteration.

Built on the public builder and the seam only: ``QueueBuilder.pop()`` for the long polls
and ``Host.send`` with ``wire`` acks. A background task pops the next batch while the loop
body runs, bounded by ``prefetch`` batches.

Acks. With ``auto_ack=True`` (default) a message is acked as completed when its body
finished without error: when the loop asks for the next message, when the message's own
``async with message:`` block exits cleanly, or when an ``async with ... as messages:``
block around the loop exits cleanly (a ``break`` included). A body that raises inside one of
those ``async with`` blocks nacks the message (``failed``, retried by the server). When a
plain ``async for`` ends any other way (``break``, an exception, ``return``) the iterator
cannot tell which, so the message in hand goes back as ``failed``: delivered again, never
lost. Messages popped but never handed out (the rest of a batch, the prefetched batch) go
back as ``failed`` when the iteration ends. With ``auto_ack=False`` nothing is acked but
those: ack each message yourself with ``queen.ack(message, ...)``.

The iteration ends on ``break``, on the ``signal`` (an ``asyncio.Event``), when the client
closes, or on a pop error that is not transient. Each pop long-polls for at most
``timeout_millis`` (2 s by default; it replaces the builder's): an ending iteration waits for
the pop in flight rather than cancel it, since a cancelled long poll may still take a message
on the server, leased to nobody until the lease expires.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncGenerator,
    Awaitable,
    Callable,
    Deque,
    Dict,
    List,
    Optional,
    Type,
)

from .errors import QueenConnectionError, QueenHTTPError, QueenTimeoutError, QueenValidationError

if TYPE_CHECKING:
    from .builders.queue import QueueBuilder
    from .seam import Host

__all__ = ["IteratedMessage", "MessageIterator"]

RETRY_MIN = 0.1  # s, first back-off after a failed pop
RETRY_MAX = 5.0  # s, back-off cap
IDLE_MIN = 0.02  # s, first pause after an empty short poll
IDLE_MAX = 0.5
DEFAULT_POLL_MILLIS = 2000  # long-poll deadline of each pop


class IteratedMessage(dict):  # type: ignore[type-arg]
    """A popped message (the usual dict), which is also its own context manager:
    ``async with message:`` acks it when the block exits cleanly and nacks it (with the
    error's text) when the block raises. The exception is not swallowed."""

    __slots__ = ("_settle",)

    def __init__(self, message: Any, settle: Callable[..., Awaitable[None]]) -> None:
        super().__init__(message)
        self._settle = settle  # the iterator's: acks each message at most once

    async def __aenter__(self) -> IteratedMessage:
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]],
                        exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        if exc is None:
            await self._settle([self], True, None)
        else:
            await self._settle([self], False, str(exc) or type(exc).__name__)


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, (QueenConnectionError, QueenTimeoutError)):
        return True
    return isinstance(exc, QueenHTTPError) and (exc.status is None or exc.status >= 500
                                                 or exc.status in (408, 429))


class MessageIterator:
    """Returned by ``QueueBuilder.iterate()``: an async iterator of messages, and an async
    context manager that ends the iteration cleanly (see the module docstring)."""

    def __init__(self, builder: QueueBuilder, *, prefetch: int = 1, auto_ack: bool = True,
                 signal: Optional[asyncio.Event] = None, wait: bool = True,
                 timeout_millis: int = DEFAULT_POLL_MILLIS) -> None:
        if not isinstance(prefetch, int) or isinstance(prefetch, bool) or prefetch < 1:
            raise QueenValidationError(f"prefetch must be an int >= 1, got {prefetch!r}")
        if not isinstance(auto_ack, bool):
            raise QueenValidationError(f"auto_ack takes True or False, got {auto_ack!r}")
        if signal is not None and not isinstance(signal, asyncio.Event):
            raise QueenValidationError("signal must be an asyncio.Event")
        # long polls, short ones: an end waits for the one in flight (see _finish)
        self._builder = builder.wait(wait).timeout_millis(timeout_millis)
        self._host: Host = builder.host
        self._prefetch = prefetch
        self._auto_ack = auto_ack
        self._signal = signal
        # a weak reference: the generator's frame holds this object, and a cycle would keep
        # a plain ``async for`` that was left by break from being finalized promptly
        self._gen: Optional[weakref.ref[AsyncGenerator[IteratedMessage, None]]] = None
        self._entered = False
        self._outstanding: Dict[int, IteratedMessage] = {}  # made, not yet acked or nacked
        self._ending = False  # no new pops: the iteration is ending
        self._popping = False  # a pop is in flight
        self._strong: Optional[AsyncGenerator[IteratedMessage, None]] = None
        self._exit_error: Optional[str] = None  # set by __aexit__ when the block raised
        self._clean_exit = False

    # --------------------------------------------------------------- the protocols

    def __aiter__(self) -> AsyncGenerator[IteratedMessage, None]:
        gen = None if self._gen is None else self._gen()
        if gen is None:
            gen = self._run()
            self._gen = weakref.ref(gen)
            if self._entered:  # ``async with``: its exit closes the generator, at once
                self._strong = gen
        return gen

    async def __aenter__(self) -> MessageIterator:
        self._entered = True
        return self

    async def __aexit__(self, exc_type: Optional[Type[BaseException]],
                        exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        if exc is None:
            self._clean_exit = True
        else:
            self._exit_error = str(exc) or type(exc).__name__
        try:
            await self.aclose()
        finally:
            self._strong = None

    async def aclose(self) -> None:
        """End the iteration: settle the message in hand, release the unprocessed ones,
        stop prefetching."""
        gen = None if self._gen is None else self._gen()
        if gen is not None:
            await gen.aclose()

    # --------------------------------------------------------------- acks

    def _wrap(self, batch: List[Any]) -> List[IteratedMessage]:
        made = [IteratedMessage(m, self._settle) for m in batch]
        for m in made:
            self._outstanding[id(m)] = m
        return made

    async def _settle(self, messages: List[IteratedMessage], completed: bool,
                      error: Optional[str]) -> None:
        # every message made is outstanding until settled: settle each at most once
        todo = [m for m in messages if self._outstanding.pop(id(m), None) is not None]
        if not todo:
            return
        if self._host.closed:
            return  # nothing can be sent: the leases expire and the server redelivers
        # one pop's messages, in order: the seam's ack sends them as the server needs
        context = None if error is None else {"error": error}
        await self._host.ack(todo[0] if len(todo) == 1 else todo, completed, context)

    # --------------------------------------------------------------- the loop

    def _stopping(self) -> bool:
        return self._host.closed or (self._signal is not None and self._signal.is_set())

    async def _fetch(self, batches: asyncio.Queue[Any], slots: asyncio.Semaphore) -> None:
        """Pop ahead: at most ``prefetch`` batches popped and not yet taken."""
        delay = RETRY_MIN
        idle = IDLE_MIN
        while not self._stopping() and not self._ending:
            await slots.acquire()
            while not self._ending:
                self._popping = True
                try:
                    batch = await self._builder.pop()
                except Exception as exc:
                    if not _transient(exc) or self._stopping() or self._ending:
                        await batches.put(exc)
                        return
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RETRY_MAX)
                    continue
                finally:
                    self._popping = False
                delay = RETRY_MIN
                if batch:
                    idle = IDLE_MIN
                    await batches.put(batch)
                    break
                if self._stopping() or self._ending:
                    return
                await asyncio.sleep(idle)  # a short poll came back empty (wait=False)
                idle = min(idle * 2, IDLE_MAX)

    async def _next_batch(self, batches: asyncio.Queue[Any]) -> Optional[List[Any]]:
        """The next batch, or None when the iteration should end (a batch that arrives
        meanwhile stays queued, for the end of the iteration to release)."""
        get = asyncio.ensure_future(batches.get())
        stop = None if self._signal is None else asyncio.ensure_future(self._signal.wait())
        try:
            while not get.done() and not self._stopping():
                # the timeout notices a client closed meanwhile
                await asyncio.wait([get] if stop is None else [get, stop], timeout=1.0,
                                   return_when=asyncio.FIRST_COMPLETED)
        finally:
            if stop is not None:
                stop.cancel()
            if not get.done():
                get.cancel()
        if not get.done() or get.cancelled():
            return None
        item = get.result()
        if isinstance(item, BaseException):
            raise item
        if self._stopping():
            batches.put_nowait(item)
            return None
        return list(item)

    async def _run(self) -> AsyncGenerator[IteratedMessage, None]:
        batches: asyncio.Queue[Any] = asyncio.Queue()
        slots = asyncio.Semaphore(self._prefetch)
        fetcher = asyncio.ensure_future(self._fetch(batches, slots))
        pending: Deque[IteratedMessage] = deque()  # the current batch, not handed out yet
        current: Optional[IteratedMessage] = None
        finished = False
        try:
            while not self._stopping():
                if not pending:
                    batch = await self._next_batch(batches)
                    if batch is None:
                        break
                    slots.release()  # taken: the fetcher pops the next one meanwhile
                    pending.extend(self._wrap(batch))
                current = pending.popleft()
                yield current
                # the body asked for the next message: it finished this one
                if self._stopping():
                    finished = True  # acked below, once no pop is in flight any more
                    break
                if self._auto_ack:
                    await self._settle([current], True, None)
                current = None
        finally:
            # No new pops; a pop in flight is awaited, not cancelled (a cancelled long
            # poll may still take a message on the server, leased to nobody until its
            # lease expires); then what it brought goes back with the rest.
            self._ending = True
            if not self._popping:
                fetcher.cancel()
            try:
                await fetcher
            except BaseException:
                pass
            await self._finish(current, finished, list(pending), batches)

    async def _finish(self, current: Optional[IteratedMessage], finished: bool,
                      rest: List[IteratedMessage], batches: asyncio.Queue[Any]) -> None:
        """Settle the message in hand; send the popped but unprocessed ones back."""
        failed = rest
        if current is not None and self._auto_ack:
            if finished or self._clean_exit:
                await self._settle([current], True, None)
            else:  # with the rest of its batch: one request per batch
                failed = [current, *rest]
                error = self._exit_error or "the iteration ended while it was in hand"
                for m in rest:
                    m["_error"] = "not processed: the iteration ended"
                current["_error"] = error
        if failed:
            await self._settle(failed, False, None)
        while not batches.empty():
            item = batches.get_nowait()
            if not isinstance(item, BaseException):
                await self._settle(self._wrap(item), False,
                                   "not processed: the iteration ended")
