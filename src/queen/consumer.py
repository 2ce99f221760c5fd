"""The consume engine: workers, long-poll loop, auto-ack, lease renewal, limits,
idle stop and the stop signal.

One task per worker, each with its own pop loop, plus (only when needed) one task
watching the user's signal and one renewing the leases of running handlers. The
per-message path creates no tasks and no objects beyond what pop returns.
Stopping cancels only workers that are waiting for messages; workers inside a
handler finish it (and ack) and then leave.

Upstream's semantics (queen-mq 0.7.4 / 2.6.0), kept so code written for it runs
unchanged: ``limit`` counts per worker and is checked before each pop, so a popped
batch is never cut (``batch(100).limit(1)`` handles one whole batch and
``concurrency(2).batch(1).limit(5)`` up to ten messages); setting ``on_success`` or
``on_error`` turns auto-ack off for the whole consume (the callbacks ack).
"""

from __future__ import annotations

import asyncio
import inspect
import math
from dataclasses import dataclass, field, replace
from time import monotonic
from typing import Any, Awaitable, Callable, Dict, List, Optional

from . import log
from .errors import FailedBatch, QueenHTTPError, QueenValidationError
from .retry import ExponentialBackoff, Retry
from .seam import Host
from .types import ConsumeOptions, Message, PopSpec

Callback = Callable[[Any, Any], Any]


@dataclass
class DrainReport:
    """What ``Queen.drain()`` could not finish: ``released`` fetched-but-unstarted
    messages given back to the queue (0.15), ``unfinished`` handler runs cancelled at
    the deadline (their messages come back when the lease runs out), ``undelivered``
    buffered batches that failed, ``unsent`` buffered messages still being sent."""

    released: int = 0
    unfinished: int = 0
    undelivered: List[FailedBatch] = field(default_factory=list)
    unsent: int = 0

    @property
    def complete(self) -> bool:
        return not (self.unfinished or self.undelivered or self.unsent)

EMPTY_DELAY_MIN = 0.02    # s, first pause after an empty short poll (wait=False)
EMPTY_DELAY_MAX = 0.5     # s, cap of that pause
DEFAULT_RENEW_MILLIS = 30000


def _error_text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _rejected(result: Any) -> Optional[str]:
    """The server's complaint when an ack result says ``success: False``."""
    if isinstance(result, dict):
        return None if result.get("success", True) else str(result.get("error") or "rejected")
    if isinstance(result, list):
        bad = {str(r.get("error") or "rejected") for r in result
               if isinstance(r, dict) and not r.get("success", True)}
        return "; ".join(sorted(bad)) if bad else None
    return None


def _uncancel() -> None:
    # We swallow a cancel we sent ourselves; keep the task's cancel count right (3.11+).
    task = asyncio.current_task()
    uncancel = getattr(task, "uncancel", None)
    if uncancel is not None:
        uncancel()


class Consumer:
    """Runs one ``consume`` call to its end (limit, idle, signal or fatal error)."""

    def __init__(
        self,
        host: Host,
        options: ConsumeOptions,
        handler: Callable[[Any], Any],
        signal: Optional[asyncio.Event] = None,
        on_success: Optional[Callback] = None,
        on_error: Optional[Callback] = None,
    ) -> None:
        if not callable(handler):
            raise QueenValidationError("consume handler must be callable (an async function)")
        if options.concurrency < 1 or options.batch < 1:
            raise QueenValidationError("consume concurrency and batch must be at least 1")
        if options.limit is not None and options.limit < 1:
            raise QueenValidationError("consume limit must be at least 1 (or None/0 for no limit)")
        if options.idle_millis is not None and options.idle_millis < 1:
            raise QueenValidationError("consume idle_millis must be at least 1 (or None)")
        self._host = host
        self._handler = handler
        self._handler_is_coro = inspect.iscoroutinefunction(handler)
        self._signal = signal
        self._on_success = on_success
        self._on_error = on_error
        self._concurrency = options.concurrency
        self._batch = options.batch
        self._single = options.each or options.batch == 1
        # Upstream: a callback turns auto-ack off for the whole consume (it acks itself).
        self._auto_ack = options.auto_ack and on_success is None and on_error is None
        self._limit = options.limit
        self._idle = options.idle_millis / 1000.0 if options.idle_millis is not None else None
        self._renew = options.renew_lease
        self._renew_every = (options.renew_interval_millis or DEFAULT_RENEW_MILLIS) / 1000.0
        base = options.pop
        if base.batch != options.batch:
            base = replace(base, batch=options.batch)
        self._wait = base.wait
        self._spec_full = base
        self._where = base.queue or f"{base.namespace or ''}/{base.task or ''}"

        self._stopping = False
        self._giving_back = False  # drain: unstarted messages go back to the queue now
        self._aborted = False      # the deadline passed: running handlers were cancelled
        self.released = 0          # messages given back unstarted (drain)
        self.finished = asyncio.Event()  # set when run() has returned
        self._reason = ""
        self._error: Optional[BaseException] = None
        self._tasks: List[asyncio.Task[None]] = []
        self._polling: List[bool] = [False] * options.concurrency
        self._done = 0            # messages handed to the handler and finished
        self._busy = 0            # dispatches in progress (idle clock is paused meanwhile)
        self._last = monotonic()  # last activity, for idle_millis
        self._leased: Dict[int, List[Message]] = {}

    @property
    def processed(self) -> int:
        """Messages handed to the handler so far (finished ones)."""
        return self._done

    @property
    def polling(self) -> int:
        """Workers in their pop step right now (a long poll waiting for messages)."""
        return sum(self._polling)

    # ---- lifecycle -----------------------------------------------------------------

    async def run(self) -> None:
        signal = self._signal
        if signal is not None and signal.is_set():
            return
        log.info("Consumer.run", {
            "queue": self._where, "concurrency": self._concurrency, "batch": self._batch,
            "limit": self._limit, "auto_ack": self._auto_ack, "wait": self._wait,
        })
        helpers: List[asyncio.Task[None]] = []
        self._tasks = [asyncio.ensure_future(self._worker(i)) for i in range(self._concurrency)]
        if signal is not None:
            helpers.append(asyncio.ensure_future(self._watch(signal)))
        if self._renew:
            helpers.append(asyncio.ensure_future(self._renewer()))
        registry = getattr(self._host, "consumers", None)  # so close()/drain() find us
        if registry is not None:
            registry.add(self)
        try:
            try:
                await asyncio.gather(*self._tasks)
            except asyncio.CancelledError:
                if not self._aborted:
                    raise
                # workers cancelled by abort() (the drain deadline) end the run
        finally:
            if registry is not None:
                registry.discard(self)
            self.finished.set()
            # Cancelled from outside, or a worker died of a BaseException: leave no orphans.
            left = [t for t in self._tasks if not t.done()]
            if left:
                self.stop("cancelled")
                for task in left:
                    task.cancel()
            for task in helpers:
                task.cancel()
            if left or helpers:
                await asyncio.gather(*left, *helpers, return_exceptions=True)
        if not self._reason:
            self._reason = "limit"  # every worker reached its own limit
        log.info("Consumer.run", {
            "status": "completed", "reason": self._reason, "processed": self._done,
        })
        if self._error is not None:
            raise self._error

    def stop(self, reason: str = "stopped", give_back: bool = False) -> None:
        """Stop polling now; handlers in progress finish and ack first. With
        ``give_back`` (drain), fetched messages not yet handed to the handler are
        given back to the queue at once (0.15: ack ``retry``, no retry counted; 0.7
        has no such ack: their leases run out)."""
        if give_back:
            self._giving_back = True
        if self._stopping:
            return
        self._stopping = True
        self._reason = reason
        # Cancel only waiting pops (cheaper than racing every pop against a stop
        # future). A reply landing in the same loop turn is dropped; its lease runs out
        # and the message comes back.
        current = asyncio.current_task()
        for i, task in enumerate(self._tasks):
            if self._polling[i] and task is not current:
                task.cancel()

    def runs(self, task: Optional[asyncio.Task[Any]]) -> bool:
        """Whether ``task`` is one of this consumer's workers (a handler runs in one)."""
        return task is not None and task in self._tasks

    def abort(self) -> int:
        """Past the deadline: cancel every worker, running handlers included (their
        messages come back when the lease runs out). Returns how many were cut."""
        self.stop("deadline")
        self._aborted = True
        cut = self._busy
        for task in self._tasks:
            if not task.done():
                task.cancel()
        return cut

    async def _give_back(self, messages: List[Message]) -> None:
        """Return unstarted messages to the queue now rather than at lease expiry."""
        leased = [m for m in messages if m.get("leaseId")]
        if not leased or self._host.known_generation == "0.7":
            return  # 0.7 has no free release: a 'failed' ack would count a retry
        try:
            await self._host.ack(leased, "retry")
            self.released += len(leased)
        except Exception as exc:
            log.warn("Consumer.drain", {"queue": self._where, "count": len(leased),
                                        "error": _error_text(exc)})

    def _fail(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc
        log.error("Consumer.worker", {"queue": self._where, "error": _error_text(exc),
                                      "fatal": True}, exc)
        self.stop("error")

    async def _watch(self, signal: asyncio.Event) -> None:
        await signal.wait()
        self.stop("signal")

    async def _renewer(self) -> None:
        # One task renews the leases of every running handler, so a handler costs no task.
        while True:
            await asyncio.sleep(self._renew_every)
            held = [m for batch in self._leased.values() for m in batch if m.get("leaseId")]
            if not held:
                continue
            try:
                await self._host.renew(held)
            except Exception as exc:
                log.warn("Consumer.renew", {"error": _error_text(exc), "count": len(held)})

    # ---- the pop loop ----------------------------------------------------------------

    async def _worker(self, index: int) -> None:
        # Pop failures worth another try (network trouble, timeouts, 5xx/429/408, the
        # HTTP-200 database errors of 0.7 servers) wait and poll again, for as long
        # as the consume runs; any other stops it.
        retry = Retry.for_pop()
        failures = 0
        empty_pause = ExponentialBackoff(EMPTY_DELAY_MIN, EMPTY_DELAY_MAX)
        empties = 0
        polling = self._polling
        limit = self._limit
        handled = 0  # this worker's count: upstream's limit is per worker
        pop = self._host.pop
        try:
            while not self._stopping and (limit is None or handled < limit):
                polling[index] = True
                try:
                    spec = self._spec()
                    if spec is None:
                        return
                    messages: List[Message] = await pop(spec)
                    if not messages:
                        if not self._wait:
                            empties += 1
                            await asyncio.sleep(self._pause(empty_pause.compute(empties)))
                        continue
                except asyncio.CancelledError:
                    if not self._stopping:
                        raise
                    _uncancel()
                    return
                except Exception as exc:
                    if self._stopping:
                        return  # stopped (close, drain, signal) while this pop failed
                    if not retry.retriable(exc) or self._host.closed:
                        self._fail(exc)  # a closed client never comes back
                        return
                    failures += 1
                    delay = retry.delay(failures)
                    log.warn("Consumer.worker", {
                        "queue": self._where, "worker_id": index, "error": _error_text(exc),
                        "retry_in": round(delay, 3),
                    })
                    try:
                        await asyncio.sleep(delay)
                    except asyncio.CancelledError:
                        if not self._stopping:
                            raise
                        _uncancel()
                        return
                    continue
                finally:
                    polling[index] = False
                failures = empties = 0
                if self._giving_back:  # fetched while a drain began: not started, give back
                    await self._give_back(messages)
                    return
                await self._dispatch(index, messages)
                handled += len(messages)  # a whole batch counts, even past the limit
        except Exception as exc:  # a bug or a failing callback machinery: stop everyone
            self._fail(exc)

    def _spec(self) -> Optional[PopSpec]:
        """The pop to send, or None when idle_millis has run out."""
        spec = self._spec_full
        idle = self._idle
        if idle is None:
            return spec
        left = idle if self._busy else idle - (monotonic() - self._last)
        if left <= 0:
            self.stop("idle")
            return None
        if self._wait:
            timeout = max(1, math.ceil(left * 1000))
            if timeout < spec.timeout_millis:
                spec = replace(spec, timeout_millis=timeout)
        return spec

    def _pause(self, delay: float) -> float:
        if self._idle is None:
            return delay
        left = self._idle - (monotonic() - self._last)
        return max(0.0, min(delay, left))

    # ---- handing messages to the handler ---------------------------------------------

    async def _dispatch(self, index: int, messages: List[Message]) -> None:
        self._busy += 1
        renew = self._renew
        if renew:
            self._leased[index] = messages
        try:
            if not self._single:
                await self._run_batch(messages)
            elif len(messages) == 1:
                await self._run_one(messages[0])
            else:
                await self._run_each(messages)
        finally:
            if renew:
                del self._leased[index]
            self._busy -= 1
            self._last = monotonic()
            self._done += len(messages)

    async def _call(self, message: Any) -> Any:
        if self._handler_is_coro:
            return await self._handler(message)
        result = self._handler(message)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _run_one(self, message: Message) -> None:
        try:
            result = await self._call(message)
        except Exception as exc:
            await self._handler_failed(message, exc)
            return
        if self._auto_ack and not await self._ack(message, True):
            return
        if self._on_success is not None:
            await self._succeeded(message, result)

    async def _run_batch(self, messages: List[Message]) -> None:
        try:
            result = await self._call(messages)
        except Exception as exc:
            await self._handler_failed(messages, exc)
            return
        if self._auto_ack and not await self._ack(messages, True):
            return
        if self._on_success is not None:
            await self._succeeded(messages, result)

    async def _run_each(self, messages: List[Message]) -> None:
        # Successes are acked together (one request); before a nack the successes so
        # far are acked first, so the cursor never skips a failed message.
        done: List[Message] = []
        results: List[Any] = []
        for i, message in enumerate(messages):
            if self._giving_back:  # a drain began: finish here, give the rest back
                if done:
                    await self._finish(done, results)
                    done, results = [], []
                await self._give_back(messages[i:])
                self._done -= len(messages) - i  # (counted as finished by _dispatch)
                break
            try:
                result = await self._call(message)
            except Exception as exc:
                if done:
                    await self._finish(done, results)
                    done, results = [], []
                await self._handler_failed(message, exc)
                continue
            done.append(message)
            results.append(result)
        if done:
            await self._finish(done, results)

    async def _finish(self, done: List[Message], results: List[Any]) -> None:
        if self._auto_ack:
            if not await self._ack(done if len(done) > 1 else done[0], True):
                return
        if self._on_success is not None:
            for message, result in zip(done, results):
                await self._succeeded(message, result)

    async def _succeeded(self, target: Any, result: Any) -> None:
        """``on_success``; if it raises, the failure is handled like the handler's
        (``on_error`` hears it, as upstream)."""
        assert self._on_success is not None
        try:
            value = self._on_success(target, result)
            if inspect.isawaitable(value):
                await value
        except Exception as exc:
            await self._handler_failed(target, exc)

    async def _handler_failed(self, target: Any, exc: Exception) -> None:
        text = _error_text(exc)
        count = len(target) if isinstance(target, list) else 1
        user_decides = not self._auto_ack and self._on_error is not None
        # an error when nobody else will see it; a warning when on_error does
        report = log.error if self._on_error is None else log.warn
        report("Consumer.handler", {
            "queue": self._where, "count": count, "error": text,
            "status": "handed-to-on_error" if user_decides else "nacked",
        }, exc)
        if not user_decides:
            await self._ack(target, False, {"error": text}, report=False)
        if self._on_error is not None:
            await self._callback(self._on_error, target, exc)

    async def _ack(self, target: Any, status: bool, context: Optional[Dict[str, Any]] = None,
                   report: bool = True) -> bool:
        """Ack or nack; False when the request failed or the server rejected it (e.g.
        an expired lease: the message comes back). ``report`` sends that to on_error."""
        try:
            if context is None:
                result = await self._host.ack(target, status)
            else:
                result = await self._host.ack(target, status, context)
            rejected = _rejected(result)
            if rejected is None:
                return True
            exc: Exception = QueenHTTPError(f"ack rejected by the server: {rejected}", body=result)
        except Exception as error:
            exc = error
        text = _error_text(exc)
        log.warn("Consumer.ack", {"queue": self._where, "status": status, "error": text})
        if report and self._on_error is not None:
            await self._callback(self._on_error, target, exc)
        return False

    async def _callback(self, callback: Callback, target: Any, value: Any) -> None:
        try:
            result = callback(target, value)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            log.error("Consumer.callback", {"queue": self._where, "callback": repr(callback),
                                            "error": _error_text(exc)}, exc)


async def consume(
    host: Host,
    options: ConsumeOptions,
    handler: Callable[[Any], Awaitable[Any]],
    signal: Optional[asyncio.Event] = None,
    on_success: Optional[Callback] = None,
    on_error: Optional[Callback] = None,
) -> None:
    """Run a consume to its end; see :class:`Consumer`."""
    await Consumer(host, options, handler, signal, on_success, on_error).run()


__all__ = ["Consumer", "DrainReport", "consume"]
