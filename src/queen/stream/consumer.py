"""StreamConsumer: long-poll windows of a 0.7 windowed stream, run a callback, ack.

The loop: poll (long poll) -> callback(Window) while the window lease is renewed
in the background -> ack with ``success`` true (bookmark moves on) or false when
the callback raised (the same window is delivered again). It stops when
``signal`` (an ``asyncio.Event``) is set. The protocol is ``wire.streams07``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Dict, Optional, Union

from .. import log
from ..errors import (
    QueenConnectionError,
    QueenError,
    QueenHTTPError,
    QueenTimeoutError,
    QueenValidationError,
)
from ..retry import Retry
from ..seam import Host
from ..wire import Request, streams07
from .window import Window

WindowCallback = Callable[[Window], Union[Awaitable[Any], Any]]
ErrorCallback = Callable[[Window, Exception], Union[Awaitable[Any], Any]]

DEFAULT_RENEW_MILLIS = 20000
STREAM_FEATURE = streams07.STREAM_FEATURE
STREAMS_REMOVED = streams07.STREAMS_REMOVED


async def stream_request(host: Host, request: Request) -> Any:
    """Send one stream request; return the decoded reply (None for an empty body).

    Raises QueenServerFeatureError on a 0.15 server (detected up front, or by
    the 404 page its router answers), QueenHTTPError for any ``error`` reply.
    """
    streams07.check_generation(host.known_generation or await host.generation())
    return streams07.parse(await host.send(request))


def timestamp_text(value: Union[datetime, str]) -> str:
    """A seek timestamp as ISO-8601 UTC text (naive datetimes are taken as UTC)."""
    if isinstance(value, str):
        if not value:
            raise QueenValidationError("seek needs a timestamp")
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    raise QueenValidationError(
        f"seek timestamp must be a datetime or an ISO-8601 string, got {type(value).__name__}"
    )


# ---------------------------------------------------------------------------


class StreamConsumer:
    """Consumes the windows of one stream for one consumer group."""

    def __init__(
        self,
        host: Host,
        stream_name: str,
        consumer_group: str,
        *,
        poll_timeout_millis: int = 30000,
        renew_interval_millis: Optional[int] = None,
        extend_millis: int = 30000,
        max_backoff_millis: int = 2000,
    ) -> None:
        for label, value in (("stream name", stream_name), ("consumer group", consumer_group)):
            if not isinstance(value, str) or not value:
                raise QueenValidationError(f"{label} must be a non-empty string")
        for label, number in (("poll_timeout_millis", poll_timeout_millis),
                              ("renew_interval_millis",
                               1 if renew_interval_millis is None else renew_interval_millis),
                              ("extend_millis", extend_millis),
                              ("max_backoff_millis", max_backoff_millis)):
            if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
                raise QueenValidationError(f"{label} must be a positive integer (milliseconds)")
        self._host = host
        self.stream_name = stream_name
        self.consumer_group = consumer_group
        self.poll_timeout_millis = poll_timeout_millis
        # None: every 20 s, or half the stream's window lease when that is shorter
        # (looked up at the first window; a renewal after the lease ran out is too late).
        self._renew_auto = renew_interval_millis is None
        self.renew_interval_millis: int = renew_interval_millis or DEFAULT_RENEW_MILLIS
        self.extend_millis = extend_millis
        self.max_backoff_millis = max_backoff_millis

    async def _call(self, request: Request) -> Dict[str, Any]:
        return dict(await stream_request(self._host, request) or {})

    async def poll(self, timeout_millis: Optional[int] = None) -> Optional[Window]:
        """Long-poll one ready window (leased to this group), or None on timeout."""
        wait = self.poll_timeout_millis if timeout_millis is None else timeout_millis
        if isinstance(wait, bool) or not isinstance(wait, int) or wait < 0:
            raise QueenValidationError("timeout_millis must be an int >= 0")
        reply = await stream_request(self._host,
                                     streams07.poll(self.stream_name, self.consumer_group, wait))
        fields = streams07.poll_window(reply)
        if fields is None:
            return None
        return Window(**fields, stream_name=self.stream_name, consumer_group=self.consumer_group)

    async def ack(self, window: Window, success: bool = True) -> Dict[str, Any]:
        """Ack (``success=True``: move on) or nack (the window comes back) a window."""
        return await self._call(streams07.ack(self.stream_name, self.consumer_group, window.id,
                                              window.lease_id, success))

    async def renew(self, window: Window, extend_millis: Optional[int] = None) -> Dict[str, Any]:
        """Extend the window lease to now + ``extend_millis``."""
        extend = self.extend_millis if extend_millis is None else extend_millis
        return await self._call(streams07.renew(self.stream_name, self.consumer_group,
                                                window.lease_id, extend))

    async def seek(self, timestamp: Union[datetime, str]) -> Dict[str, Any]:
        """Move this group's bookmark to ``timestamp`` (0.7.5 honours it for
        non-partitioned streams only)."""
        return await self._call(streams07.seek(self.stream_name, self.consumer_group,
                                               timestamp_text(timestamp)))

    async def process(
        self,
        callback: WindowCallback,
        signal: Optional[asyncio.Event] = None,
        *,
        limit: Optional[int] = None,
        on_error: Optional[ErrorCallback] = None,
    ) -> int:
        """Run ``callback`` on every window until ``signal`` is set (or ``limit``
        windows were handled). Success acks; an exception nacks the window (it is
        delivered again) and goes to ``on_error(window, exc)``, or to the
        ``queen.stream`` logger when there is none. Returns the windows handled."""
        if not callable(callback):
            raise QueenValidationError("process needs a callable callback(window)")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 1):
            raise QueenValidationError("limit must be a positive int (or None)")
        if on_error is not None and not callable(on_error):
            raise QueenValidationError("on_error must be callable(window, exc)")
        handled, idle = 0, 0
        retry = Retry.for_stream_poll(self.max_backoff_millis)
        loop = asyncio.get_running_loop()
        while not (signal is not None and signal.is_set()) and (limit is None or handled < limit):
            started = loop.time()
            try:
                window = await self._poll_or_stop(signal)
            except QueenError as exc:  # network trouble and 5xx: wait and poll again
                if not retry.retriable(exc):
                    raise
                log.warn("StreamConsumer.poll", {"stream": self.stream_name, "error": str(exc)})
                window = None
            if window is None:
                # A server that answered before the long-poll deadline is not waiting
                # for us: back off (doubling) so the loop does not spin.
                if loop.time() - started < self.poll_timeout_millis / 2000:
                    idle += 1
                    await _sleep_or_stop(retry.delay(idle), signal)
                continue
            idle = 0
            await self._handle(callback, window, on_error)
            handled += 1
        return handled

    async def _fit_renewals(self) -> None:
        try:
            info = await stream_request(self._host, streams07.describe(self.stream_name,
                                                                       self.consumer_group))
            lease = streams07.lease_millis(info)
        except (QueenHTTPError, QueenConnectionError, QueenTimeoutError):
            return  # the poll that follows reports real problems
        if lease is not None:
            self.renew_interval_millis = max(10, min(DEFAULT_RENEW_MILLIS, lease // 2))
        self._renew_auto = False

    async def _poll_or_stop(self, signal: Optional[asyncio.Event]) -> Optional[Window]:
        if signal is None:
            return await self.poll()
        poll = asyncio.ensure_future(self.poll())
        stop = asyncio.ensure_future(signal.wait())
        try:
            await asyncio.wait({poll, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not poll.done():
                poll.cancel()  # aborts the HTTP request; a lease it got expires on the server
            await asyncio.gather(poll, stop, return_exceptions=True)
        return poll.result() if not poll.cancelled() else None

    async def _handle(self, callback: WindowCallback, window: Window,
                      on_error: Optional[ErrorCallback]) -> None:
        if self._renew_auto:
            await self._fit_renewals()
        renewer = asyncio.ensure_future(self._keep_leased(window))
        error: Optional[Exception] = None
        try:
            result = callback(window)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            error = exc
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        await self._settle(window, error is None)
        if error is not None:
            await self._report(window, error, on_error)

    async def _report(self, window: Window, error: Exception,
                      on_error: Optional[ErrorCallback]) -> None:
        # an error when nobody else will see it; a warning when on_error does
        report = log.error if on_error is None else log.warn
        report("StreamConsumer.process", {"stream": self.stream_name, "window": window.id,
                                          "error": repr(error), "status": "nacked"}, error)
        if on_error is None:
            return
        try:
            result = on_error(window, error)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:  # a failing error handler must not stop the loop
            log.error("StreamConsumer.on_error", {"stream": self.stream_name,
                                                  "window": window.id, "error": repr(exc)}, exc)

    async def _settle(self, window: Window, success: bool) -> None:
        try:
            await self.ack(window, success)
        except (QueenHTTPError, QueenConnectionError, QueenTimeoutError) as exc:
            # The lease is gone (expired, or the server failed): the window comes back.
            log.warn("StreamConsumer.ack", {"stream": self.stream_name, "window": window.id,
                                            "success": success, "error": str(exc)})

    async def _keep_leased(self, window: Window) -> None:
        while True:
            await asyncio.sleep(self.renew_interval_millis / 1000)
            try:
                await self.renew(window)
            except (QueenHTTPError, QueenConnectionError, QueenTimeoutError) as exc:
                log.warn("StreamConsumer.renew", {"stream": self.stream_name,
                                                  "window": window.id, "error": str(exc)})


async def _sleep_or_stop(seconds: float, signal: Optional[asyncio.Event]) -> None:
    if signal is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(signal.wait(), seconds)
