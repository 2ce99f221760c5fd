"""A synchronous face over the asyncio client, for code that is not async (Django or Flask
views, scripts, notebooks, Celery tasks).

    from queen.sync import Queen

    with Queen('http://localhost:6632') as queen:
        queen.queue('tasks').push([{'data': {'job': 1}}])
        for message in queen.queue('tasks').batch(10).pop():
            queen.ack(message, True)

The names and builders are the async API's (``queen.Queen``); this module does not copy
them. Each ``Queen`` runs one event loop in a background thread, and every proxy runs what
the async API would have you ``await`` on that loop and waits for the result. Builder
setters run in the caller's thread (they only collect options). One ``Queen`` may be shared
by any number of threads. Differences from the async API, where blocking code needs them:

* ``push(messages, on_success=None, on_error=None, on_duplicate=None)`` sends (or buffers)
  at once and returns the results; callbacks are keyword arguments instead of a chain.
* ``consume(handler, signal=None, on_success=None, on_error=None)`` blocks until the consume
  ends (``limit``, ``idle_millis``, the signal, or an error). The handler and the callbacks
  are plain functions, run in a pool of ``concurrency`` worker threads, so they may call this
  client themselves. ``signal`` is a ``threading.Event``. Ctrl-C stops the consume.
* ``close()`` (or leaving the ``with`` block) flushes buffered messages, closes the
  connections and stops the thread; a client still open at interpreter exit is closed then.
* A process forked after the client was made (Celery, gunicorn and uWSGI workers) gets a
  fresh loop thread and connections of its own.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import inspect
import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Awaitable, Callable, Dict, List, Optional, TypeVar

from . import client as _client
from .config import ConfigInput
from .errors import QueenConnectionError

__all__ = ["Queen"]

T = TypeVar("T")
SIGNAL_POLL_SECONDS = 0.05  # how quickly a threading.Event stops a consume


class _LoopThread:
    """An event loop running forever in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="queen-sync-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run ``awaitable`` on the loop and wait for its result in this thread."""
        if threading.current_thread() is self._thread:
            raise RuntimeError(
                "queen.sync called from its own event loop thread (e.g. inside an async "
                "callback): use the async API there"
            )

        if self.loop.is_closed():
            if inspect.iscoroutine(awaitable):
                awaitable.close()
            raise QueenConnectionError("this Queen client is closed: create a new one")

        async def wrapper() -> T:
            return await awaitable

        future = asyncio.run_coroutine_threadsafe(wrapper(), self.loop)
        try:
            return future.result()
        except BaseException:  # KeyboardInterrupt in the caller: stop the work too
            if not future.done():
                future.cancel()
                try:
                    future.result(timeout=30)
                except BaseException:
                    pass
            raise

    def sync_trace(self, message: Any) -> Any:
        """Give a popped message a blocking ``message['trace'](event)``."""
        trace = message.get("trace") if isinstance(message, dict) else None
        if callable(trace) and not isinstance(trace, _BlockingTrace):
            message["trace"] = _BlockingTrace(trace, self.run)
        return message

    def in_thread(self, fn: Callable[..., Any], pool: Optional[ThreadPoolExecutor]
                  ) -> Callable[..., Awaitable[Any]]:
        """``fn`` as an async function that runs it in ``pool`` (default: the loop's),
        so blocking user code never stalls the loop."""

        async def call(*args: Any) -> Any:
            return await self.loop.run_in_executor(pool, functools.partial(fn, *args))

        return call

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class _BlockingTrace:
    """``message['trace'](event)`` that waits for the async trace call's result."""

    __slots__ = ("trace", "run")

    def __init__(self, trace: Callable[..., Any], run: Callable[[Any], Any]) -> None:
        self.trace = trace
        self.run = run

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.run(self.trace(*args, **kwargs))


class _ThreadSignal:
    """A ``threading.Event`` seen as the ``asyncio.Event`` the consume engine watches."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> bool:
        # A threading.Event cannot wake a loop, and a thread blocked in its wait() could
        # not be released when the consume ends: poll it, cheaply, instead.
        while not self._event.is_set():  # noqa: ASYNC110
            await asyncio.sleep(SIGNAL_POLL_SECONDS)
        return True


def _is_builder(value: Any) -> bool:
    """Objects of this package that carry methods (builders), as opposed to results."""
    module = type(value).__module__
    return module.startswith("queen.") and not isinstance(value, (BaseException, dict, list))


class _Proxy:
    """Wraps an async-API object: awaitable results are run on the loop, builders are
    wrapped again, anything else is returned as it is."""

    __slots__ = ("_target", "_loop")

    def __init__(self, target: Any, loop: _LoopThread) -> None:
        self._target = target
        self._loop = loop

    def __repr__(self) -> str:
        return f"<sync {self._target!r}>"

    def _wrap(self, value: Any) -> Any:
        if inspect.isawaitable(value):
            value = self._loop.run(value)
            if type(value) is list:
                for item in value:
                    self._loop.sync_trace(item)
        return _Proxy(value, self._loop) if _is_builder(value) else value

    def __getattr__(self, name: str) -> Any:
        if name in _SPECIAL:  # where blocking code needs another shape (see the module doc)
            return getattr(self, _SPECIAL[name])
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            return self._wrap(attr(*args, **kwargs))

        return call

    def _sync_push(self, messages: Any, on_success: Optional[Callable[..., Any]] = None,
                   on_error: Optional[Callable[..., Any]] = None,
                   on_duplicate: Optional[Callable[..., Any]] = None) -> Any:
        """``push(messages)``: send (or buffer) now and return one result per message."""
        builder = self._target.push(messages)
        for name, callback in (("on_success", on_success), ("on_error", on_error),
                               ("on_duplicate", on_duplicate)):
            if callback is not None:
                builder = getattr(builder, name)(self._loop.in_thread(callback, None))
        return self._wrap(builder)

    def _sync_consume(self, handler: Callable[..., Any],
                      signal: Optional[threading.Event] = None,
                      on_success: Optional[Callable[..., Any]] = None,
                      on_error: Optional[Callable[..., Any]] = None) -> None:
        """``consume(handler)``: run the consume engine until it ends; ``handler`` (a
        plain function) runs in a pool of ``concurrency`` threads."""
        loop = self._loop
        pools: List[ThreadPoolExecutor] = []

        def threaded(fn: Optional[Callable[..., Any]]) -> Any:
            if fn is None or not callable(fn):
                return fn  # None, or a bad value for the async API to refuse

            async def call(*args: Any) -> Any:
                for arg in args:  # a message, or a batch of them
                    for message in arg if type(arg) is list else (arg,):
                        loop.sync_trace(message)
                return await loop.loop.run_in_executor(pools[0], functools.partial(fn, *args))

            return call

        bridge: Any = None if signal is None else _ThreadSignal(signal)
        builder = self._target.consume(threaded(handler), bridge)
        if on_success is not None:
            builder = builder.on_success(threaded(on_success))
        if on_error is not None:
            builder = builder.on_error(threaded(on_error))
        workers = max(1, builder.options.concurrency or 1)
        with ThreadPoolExecutor(max_workers=workers,
                                thread_name_prefix="queen-sync-handler") as pool:
            pools.append(pool)
            loop.run(builder)


_SPECIAL: Dict[str, str] = {"push": "_sync_push", "consume": "_sync_consume"}
_ABANDONED: List[Any] = []



def _after_fork(method: weakref.WeakMethod[Callable[[], None]]) -> Callable[[], None]:
    def hook() -> None:
        reopen = method()
        if reopen is not None:
            reopen()

    return hook


class Queen(_Proxy):
    """The synchronous client: ``queen.Queen``'s API without ``await``.

    ``Queen(config)`` takes what ``queen.Queen`` takes (a URL, a list of URLs or a dict of
    options). Use it as a context manager, or call ``close()``.
    """

    __slots__ = ("_closing", "_config", "__weakref__")

    def __init__(self, config: ConfigInput = "http://localhost:6632") -> None:
        target = _client.Queen(config)  # bad options raise here, in the caller's thread
        super().__init__(target, _LoopThread())
        self._config = config
        self._closing = threading.Lock()
        atexit.register(self.close)
        if hasattr(os, "register_at_fork"):
            reopen = weakref.WeakMethod(self._reopen_after_fork)
            os.register_at_fork(after_in_child=_after_fork(reopen))

    def _reopen_after_fork(self) -> None:
        """In a forked child (a Celery or gunicorn worker made after this client): the
        loop thread did not survive the fork, and the connections are the parent's. Start
        afresh; what the parent had buffered stays the parent's to send."""
        if self._loop.loop.is_closed():
            return
        _ABANDONED.append((self._target, self._loop))  # the parent's: never touched, never freed
        self._target = _client.Queen(self._config)
        self._loop = _LoopThread()
        self._closing = threading.Lock()

    def __enter__(self) -> Queen:
        return self

    def __exit__(self, exc_type: Optional[type], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """True once ``close()`` has run."""
        return self._loop.loop.is_closed()

    def close(self) -> None:
        """Flush every buffer, close the connections and stop the loop thread. Safe to
        call twice. Raises ``BufferFlushError`` (after closing) like the async close."""
        with self._closing:
            if self._loop.loop.is_closed():
                return
            atexit.unregister(self.close)
            try:
                self._loop.run(self._target.close())
            finally:
                self._loop.stop()
