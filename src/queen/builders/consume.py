"""``queue(...).consume(handler)``: the awaitable that runs the consume engine.

The builder is a real coroutine object (a ``collections.abc.Coroutine``), so it
works with ``await``, ``asyncio.create_task`` and ``asyncio.gather`` alike, while
``.on_success()`` / ``.on_error()`` can still be chained before it starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Callable, Generator, Optional

from ..consumer import Callback, Consumer
from ..errors import QueenValidationError
from ..seam import Host
from ..types import ConsumeOptions


class ConsumeBuilder(Coroutine[Any, Any, None]):
    """Created by ``QueueBuilder.consume(handler, signal=None)``.

    ``on_success(cb)``: ``cb(message_or_messages, handler_result)`` after a
    successful handler. ``on_error(cb)``: ``cb(message_or_messages, error)`` when the
    handler (or ``on_success``) raised. As with the upstream client, setting either
    turns auto-ack off for the whole consume: the callbacks ack (``queen.ack``).
    Callbacks may be sync or async.
    """

    __slots__ = ("_host", "_options", "_handler", "_signal", "_on_success", "_on_error",
                 "_coro", "_consumer")

    def __init__(
        self,
        host: Host,
        options: ConsumeOptions,
        handler: Callable[[Any], Any],
        signal: Optional[asyncio.Event] = None,
    ) -> None:
        if not callable(handler):
            raise QueenValidationError("consume(handler): handler must be an async function")
        self._host = host
        self._options = options
        self._handler = handler
        self._signal = signal
        self._on_success: Optional[Callback] = None
        self._on_error: Optional[Callback] = None
        self._coro: Optional[Coroutine[Any, Any, None]] = None
        self._consumer: Optional[Consumer] = None

    @property
    def options(self) -> ConsumeOptions:
        """What this consume will do (from the queue builder's options)."""
        return self._options

    @property
    def consumer(self) -> Optional[Consumer]:
        """The running engine (None before the first await)."""
        return self._consumer

    def on_success(self, callback: Callback) -> ConsumeBuilder:
        """``callback(message_or_messages, handler_result)`` after each success."""
        self._check(callback, "on_success")
        self._on_success = callback
        return self

    def on_error(self, callback: Callback) -> ConsumeBuilder:
        """``callback(message_or_messages, error)`` when the handler (or an ack) failed."""
        self._check(callback, "on_error")
        self._on_error = callback
        return self

    def _check(self, callback: Any, name: str) -> None:
        if not callable(callback):
            raise QueenValidationError(f"{name}(callback): callback must be callable")
        if self._coro is not None:
            raise QueenValidationError(f"{name}() must be chained before the consume is awaited")

    async def _run(self) -> None:
        self._consumer = Consumer(self._host, self._options, self._handler, self._signal,
                                  self._on_success, self._on_error)
        await self._consumer.run()

    def _started(self) -> Coroutine[Any, Any, None]:
        if self._coro is None:
            self._coro = self._run()
        return self._coro

    # Coroutine protocol: delegate to the engine's coroutine, created on first use.
    def __await__(self) -> Generator[Any, None, None]:
        return self._started().__await__()

    def send(self, value: Any) -> Any:
        return self._started().send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        coro = self._started()
        if val is None and tb is None:
            return coro.throw(typ)
        return coro.throw(typ, val, tb)

    def close(self) -> None:
        if self._coro is not None:
            self._coro.close()


__all__ = ["ConsumeBuilder"]
