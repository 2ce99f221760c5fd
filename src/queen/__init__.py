"""queen-mq: a fast asyncio client for Queen MQ.

    from queen import Queen

    async with Queen('http://localhost:6632') as queen:
        await queen.queue('tasks').push([{'data': {'job': 1}}])
"""

from .aio import run
from .buffer import BufferFlushError, FailedBatch
from .client import Queen
from .config import ClientConfig
from .errors import (
    QueenConnectionError,
    QueenError,
    QueenHTTPError,
    QueenServerFeatureError,
    QueenTimeoutError,
    QueenValidationError,
)
from .types import AckResult, ConsumeOptions, Message, PopSpec, PushResult, RenewResult, TraceEvent

__version__ = "0.1.0"

__all__ = [
    "AckResult",
    "BufferFlushError",
    "ClientConfig",
    "ConsumeOptions",
    "FailedBatch",
    "Message",
    "PopSpec",
    "PushResult",
    "Queen",
    "QueenConnectionError",
    "QueenError",
    "QueenHTTPError",
    "QueenServerFeatureError",
    "QueenTimeoutError",
    "QueenValidationError",
    "RenewResult",
    "TraceEvent",
    "__version__",
    "run",
]
