"""What every area of the protocol shares: the Request/Reply types, generations,
name checks, query strings and reply checking.
"""

from __future__ import annotations

import re
from typing import Any, Dict, NamedTuple, Optional, Protocol, Sequence, Tuple
from urllib.parse import quote

import orjson

from .._core._push_py import _check_finite
from ..errors import QueenHTTPError, QueenServerFeatureError, QueenValidationError

GEN_07 = "0.7"
GEN_015 = "0.15"
QUEUE_MODE = "__QUEUE_MODE__"
DEFAULT_PARTITION = "Default"

API = "/api/v1"


class Reply(Protocol):
    """What the transport hands back (``queen.http.transport.Response``)."""

    status: int
    body: bytes
    method: str
    url: str


class Request(NamedTuple):  # a NamedTuple: built once or twice per message, cheaply
    method: str
    path: str                       # includes the query string
    body: Optional[bytes] = None
    affinity_key: Optional[str] = None
    timeout: Optional[float] = None  # seconds; None = the client default
    # May it be sent again once its bytes were written (after a timeout, a reset, or
    # to another server)? True for reads and pushes (client transactionIds make a
    # second copy a duplicate); False for pop, ack, transaction and lease extend,
    # which then fail with QueenOutcomeUnknownError (queen.http._failure.may_resend).
    idempotent: bool = True


# ---------------------------------------------------------------- helpers

_BAD_NAME = re.compile(r"[/?#%\s\x00-\x1f\x7f]")


CHECKED_NAMES: Dict[str, None] = {}  # names already checked; cleared, never rebound (aliased)
CHECKED_NAMES_SIZE = 4096


def check_name(kind: str, value: Any) -> str:
    """Names go into URL paths, which real servers do not URL-decode: keep them plain."""
    if type(value) is str and value in CHECKED_NAMES:
        return value
    if not isinstance(value, str) or not value:
        raise QueenValidationError(f"{kind} must be a non-empty str, got {value!r}")
    if len(value) > 255:
        raise QueenValidationError(f"{kind} is longer than 255 characters")
    if _BAD_NAME.search(value):
        raise QueenValidationError(
            f"{kind} {value!r} contains '/', '?', '#', '%' or whitespace; "
            "use letters, digits and . _ - : only"
        )
    if type(value) is str:
        if len(CHECKED_NAMES) >= CHECKED_NAMES_SIZE:
            CHECKED_NAMES.clear()
        CHECKED_NAMES[value] = None
    return value


def _q(value: str) -> str:
    return quote(value, safe="")


def _query(params: Sequence[Tuple[str, Any]]) -> str:
    parts = []
    for k, v in params:
        if v is None:
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        parts.append(f"{k}={_q(str(v))}")
    return ("?" + "&".join(parts)) if parts else ""


def _dumps(obj: Any) -> bytes:
    """JSON for a request body; NaN/Infinity (which orjson writes as null) and values
    JSON cannot carry are a QueenValidationError, before anything is sent."""
    try:
        out = orjson.dumps(obj)
        if b"null" in out:
            _check_finite(obj, "the request")
    except (TypeError, ValueError) as exc:
        raise QueenValidationError(f"cannot send this request: {exc}") from None
    return out


def _missing_route(reply: Reply) -> bool:
    """uWebSockets' HTML 404 page (or the dashboard's plain-text 404): no such route."""
    return reply.status == 404 and reply.body.lstrip()[:1] not in (b"{", b"[")


def _decode(reply: Reply, retriable: Optional[bool] = None) -> Any:
    if not reply.body:
        return None
    try:
        return orjson.loads(reply.body)
    except orjson.JSONDecodeError:
        text = reply.body[:200].decode("utf-8", "replace")
        raise QueenHTTPError(
            f"the server answered with non-JSON text: {text!r}",
            status=reply.status, body=reply.body, method=reply.method, url=reply.url,
            retriable=retriable,
        ) from None


def _http_error(reply: Reply, text: str, body: Any,
                retriable: Optional[bool] = None) -> QueenHTTPError:
    return QueenHTTPError(text, status=reply.status, body=body, method=reply.method,
                          url=reply.url, retriable=retriable)


def check(reply: Reply, feature: Optional[str] = None, generation: Optional[str] = None,
          *, retriable: Optional[bool] = None) -> Any:
    """Decode a reply; raise for a missing route, an ``error`` field or an error status.
    ``retriable`` overrides what the status says about the error raised."""
    if _missing_route(reply):
        if feature:
            raise QueenServerFeatureError(feature, generation, "the server has no such route (404)")
        raise _http_error(reply, "no such route on this server (404)", reply.body, retriable)
    data = _decode(reply, retriable)
    if isinstance(data, dict) and data.get("error"):
        raise _http_error(reply, str(data["error"]), data, retriable)
    if isinstance(data, dict) and data.get("success") is False:
        raise _http_error(reply, "the server reported success: false", data, retriable)
    if reply.status >= 400:
        raise _http_error(reply, f"HTTP {reply.status}", data, retriable)
    return data


# ---------------------------------------------------------------- generation


def health() -> Request:
    return Request("GET", "/health")


def parse_health(reply: Reply) -> str:
    """``libqueen`` in ``server`` or a ``shared_state`` key means 0.15, else 0.7."""
    data = _decode(reply)
    if isinstance(data, dict):
        if "libqueen" in str(data.get("server", "")) or "shared_state" in data:
            return GEN_015
    return GEN_07


def normalise_version(value: Any) -> Optional[str]:
    """Config ``server_version`` -> a generation, or None for auto-detection."""
    if value is None or value == "auto":
        return None
    text = str(value)
    if text.startswith("0.7"):
        return GEN_07
    if text.startswith("0.15"):
        return GEN_015
    raise QueenValidationError(f"server_version must be 'auto', '0.7' or '0.15', got {value!r}")


