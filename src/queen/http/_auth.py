"""A bearer token from a provider (``bearer_token=callable``, sync or async): asked
once before the first request and again whenever a server answers 401, for tokens
from an identity provider that expire. Concurrent 401s cause one refresh."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable, Optional

from ..errors import QueenConnectionError, QueenValidationError


class TokenAuth:
    def __init__(self, source: Callable[[], Any], apply: Callable[[str], None]) -> None:
        self._source = source
        self._apply = apply  # sets "Authorization: Bearer <token>" on every backend
        self._lock: Optional[asyncio.Lock] = None
        self.version = 0  # how many tokens have been fetched

    async def ensure(self) -> int:
        """The current token's version (fetching the first token if needed)."""
        if self.version == 0:
            await self.refresh(0)
        return self.version

    async def refresh(self, seen: int) -> None:
        """Fetch a new token unless one newer than version ``seen`` arrived meanwhile."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.version != seen:
                return
            try:
                token = self._source()
                if inspect.isawaitable(token):
                    token = await token
            except Exception as exc:
                raise QueenConnectionError(
                    f"the bearer_token provider failed: {type(exc).__name__}: {exc}"
                ) from exc
            if not isinstance(token, str) or not token or "\r" in token or "\n" in token:
                raise QueenValidationError(
                    "the bearer_token provider must return a non-empty string without line "
                    f"breaks, got {type(token).__name__}"
                )
            self._apply(f"Bearer {token}")
            self.version += 1
