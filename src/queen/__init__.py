"""queen-mq: a fast asyncio client for Queen MQ.

    from queen import Queen

    async with Queen('http://localhost:6632') as queen:
        await queen.queue('tasks').push([{'data': {'job': 1}}])

The names below are loaded on first use (PEP 562), so importing a submodule such
as ``queen.testing`` or ``queen._core`` does not load the client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "run": "aio",
    "Admin": "admin",
    "BufferFlushError": "errors",
    "BufferFullError": "errors",
    "FailedBatch": "errors",
    "Queen": "client",
    "ClientConfig": "config",
    "DrainReport": "consumer",
    "QueenConnectionError": "errors",
    "QueenError": "errors",
    "QueenHTTPError": "errors",
    "QueenOutcomeUnknownError": "errors",
    "QueenTLSError": "errors",
    "QueenServerFeatureError": "errors",
    "QueenTimeoutError": "errors",
    "QueenValidationError": "errors",
    "AckResult": "types",
    "ConsumeOptions": "types",
    "Message": "types",
    "PopSpec": "types",
    "PushResult": "types",
    "RenewResult": "types",
    "Stream": "streams",
    "sliding_window_gate": "streams",
    "token_bucket_gate": "streams",
    "TraceEvent": "types",
}

if TYPE_CHECKING:
    from .admin import Admin as Admin
    from .aio import run as run
    from .client import Queen as Queen
    from .config import ClientConfig as ClientConfig
    from .consumer import DrainReport as DrainReport
    from .errors import BufferFlushError as BufferFlushError
    from .errors import BufferFullError as BufferFullError
    from .errors import FailedBatch as FailedBatch
    from .errors import (
        QueenConnectionError as QueenConnectionError,
    )
    from .errors import (
        QueenError as QueenError,
    )
    from .errors import (
        QueenHTTPError as QueenHTTPError,
    )
    from .errors import QueenOutcomeUnknownError as QueenOutcomeUnknownError
    from .errors import (
        QueenServerFeatureError as QueenServerFeatureError,
    )
    from .errors import (
        QueenTimeoutError as QueenTimeoutError,
    )
    from .errors import QueenTLSError as QueenTLSError
    from .errors import (
        QueenValidationError as QueenValidationError,
    )
    from .streams import Stream as Stream
    from .streams import sliding_window_gate as sliding_window_gate
    from .streams import token_bucket_gate as token_bucket_gate
    from .types import (
        AckResult as AckResult,
    )
    from .types import (
        ConsumeOptions as ConsumeOptions,
    )
    from .types import (
        Message as Message,
    )
    from .types import (
        PopSpec as PopSpec,
    )
    from .types import (
        PushResult as PushResult,
    )
    from .types import (
        RenewResult as RenewResult,
    )
    from .types import (
        TraceEvent as TraceEvent,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'queen' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted([*_EXPORTS, "__version__"])
