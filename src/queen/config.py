"""Client configuration: ``str | list | dict`` -> one frozen :class:`ClientConfig`.

Every default lives here. Keys follow the guide's Client Configuration reference
(snake_case); the JS client's camelCase spellings are accepted too.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)
from urllib.parse import urlsplit

from .errors import QueenValidationError
from .log import redact

Strategy = Literal["affinity", "round-robin", "session"]
# bearer_token: a string, or a callable returning one (or an awaitable of one)
TokenSource = Union[str, Callable[[], Union[str, Awaitable[str]]]]
ServerVersion = Literal["auto", "0.7", "0.15"]

DEFAULT_URL = "http://localhost:6632"
STRATEGIES: Tuple[str, ...] = ("affinity", "round-robin", "session")
SERVER_VERSIONS: Tuple[str, ...] = ("auto", "0.7", "0.15")

_EMPTY_HEADERS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class ClientConfig:
    """Validated client settings. Build it with :func:`parse_config`."""

    urls: Tuple[str, ...] = (DEFAULT_URL,)
    timeout_millis: int = 30000
    # Retries after the first attempt on each server (0 disables retries).
    retry_attempts: int = 3
    retry_delay_millis: int = 1000
    load_balancing_strategy: Strategy = "affinity"
    affinity_hash_ring: int = 128
    enable_failover: bool = True
    health_retry_after_millis: int = 5000
    # A token, or a callable (sync or async) giving one: asked again after a 401.
    bearer_token: Optional[TokenSource] = field(default=None, repr=False, compare=False)
    headers: Mapping[str, str] = field(default_factory=lambda: _EMPTY_HEADERS, repr=False, hash=False)
    http2: bool = False
    server_version: ServerVersion = "auto"
    pool_size: int = 100
    # Cap on TCP connect time (never above timeout_millis), so a dead host fails over fast.
    connect_timeout_millis: int = 10000
    # TLS for https:// URLs: a private CA bundle, a client certificate (mTLS), or a ready
    # ssl.SSLContext (which wins). Verification is on unless tls_verify=False.
    tls_ca_file: Optional[str] = None
    tls_cert_file: Optional[str] = None
    tls_key_file: Optional[str] = None
    tls_verify: bool = True
    ssl_context: Optional[ssl.SSLContext] = field(default=None, repr=False, compare=False)
    # Producer flow control over all push buffers: requests in flight; messages and
    # encoded bytes held (None: no limit); when full, "block" the producer or "raise".
    buffer_max_in_flight: int = 4
    buffer_max_messages: Optional[int] = None
    buffer_max_bytes: Optional[int] = None
    buffer_when_full: Literal["block", "raise"] = "block"

    def __repr__(self) -> str:  # the URLs without their passwords; no token, no headers
        shown = ", ".join(f"{k}={v!r}" for k, v in self._shown())
        return f"ClientConfig({shown})"

    def _shown(self) -> List[Tuple[str, Any]]:
        out: List[Tuple[str, Any]] = []
        for f in fields(self):
            if f.repr:
                value = getattr(self, f.name)
                out.append((f.name, tuple(redact(value)) if f.name == "urls" else value))
        return out

    def request_headers(self) -> Dict[str, str]:
        """Headers sent with every request: extra headers, then a fixed bearer token
        (a token provider's token is added per request by the transport)."""
        out = dict(self.headers)
        if isinstance(self.bearer_token, str):
            out["Authorization"] = f"Bearer {self.bearer_token}"
        return out


# accepted spelling -> field name
_ALIASES: Dict[str, str] = {
    "url": "url",
    "urls": "urls",
    "timeout_millis": "timeout_millis",
    "timeoutMillis": "timeout_millis",
    "retry_attempts": "retry_attempts",
    "retryAttempts": "retry_attempts",
    "retry_delay_millis": "retry_delay_millis",
    "retryDelayMillis": "retry_delay_millis",
    "load_balancing_strategy": "load_balancing_strategy",
    "loadBalancingStrategy": "load_balancing_strategy",
    "affinity_hash_ring": "affinity_hash_ring",
    "affinityHashRing": "affinity_hash_ring",
    "enable_failover": "enable_failover",
    "enableFailover": "enable_failover",
    "health_retry_after_millis": "health_retry_after_millis",
    "healthRetryAfterMillis": "health_retry_after_millis",
    "bearer_token": "bearer_token",
    "bearerToken": "bearer_token",
    "headers": "headers",
    "http2": "http2",
    "server_version": "server_version",
    "serverVersion": "server_version",
    "pool_size": "pool_size",
    "poolSize": "pool_size",
    "connect_timeout_millis": "connect_timeout_millis",
    "connectTimeoutMillis": "connect_timeout_millis",
    "tls_ca_file": "tls_ca_file",
    "tlsCaFile": "tls_ca_file",
    "tls_cert_file": "tls_cert_file",
    "tlsCertFile": "tls_cert_file",
    "tls_key_file": "tls_key_file",
    "tlsKeyFile": "tls_key_file",
    "tls_verify": "tls_verify",
    "tlsVerify": "tls_verify",
    "ssl_context": "ssl_context",
    "sslContext": "ssl_context",
    "buffer_max_in_flight": "buffer_max_in_flight",
    "bufferMaxInFlight": "buffer_max_in_flight",
    "buffer_max_messages": "buffer_max_messages",
    "bufferMaxMessages": "buffer_max_messages",
    "buffer_max_bytes": "buffer_max_bytes",
    "bufferMaxBytes": "buffer_max_bytes",
    "buffer_when_full": "buffer_when_full",
    "bufferWhenFull": "buffer_when_full",
}

# name -> minimum allowed value
_INTS: Dict[str, int] = {
    "timeout_millis": 1,
    "retry_attempts": 0,
    "retry_delay_millis": 0,
    "affinity_hash_ring": 1,
    "health_retry_after_millis": 0,
    "pool_size": 1,
    "connect_timeout_millis": 1,
    "buffer_max_in_flight": 1,
}
_OPTIONAL_INTS = ("buffer_max_messages", "buffer_max_bytes")  # None = no limit
_BOOLS = ("enable_failover", "http2", "tls_verify")
_FILES = ("tls_ca_file", "tls_cert_file", "tls_key_file")

ConfigInput = Union[str, Sequence[str], Mapping[str, Any], ClientConfig]


def parse_config(arg: ConfigInput) -> ClientConfig:
    """Turn what the user passed to ``Queen(...)`` into a :class:`ClientConfig`.

    Accepts one URL, a list of URLs, a dict of options, or a ready ``ClientConfig``.
    Raises :class:`QueenValidationError` on anything it cannot use.
    """
    if isinstance(arg, ClientConfig):
        return arg
    if isinstance(arg, str):
        return ClientConfig(urls=_parse_urls(arg))
    if isinstance(arg, Mapping):
        return _from_dict(arg)
    if isinstance(arg, (list, tuple)):
        return ClientConfig(urls=_parse_urls(arg))
    raise QueenValidationError(
        f"Queen() takes a URL string, a list of URLs or a dict of options, not "
        f"{type(arg).__name__}: e.g. Queen('http://localhost:6632')"
    )


def _from_dict(raw: Mapping[str, Any]) -> ClientConfig:
    opts: Dict[str, Any] = {}
    for key, value in raw.items():
        name = _ALIASES.get(key) if isinstance(key, str) else None
        if name is None:
            known = ", ".join(sorted(set(_ALIASES.values())))
            raise QueenValidationError(
                f"unknown client option {key!r}: remove it or use one of {known}"
            )
        if name in opts and opts[name] != value:
            raise QueenValidationError(
                f"client option {name!r} given twice with different values "
                f"(snake_case and camelCase): keep one"
            )
        opts[name] = value

    kwargs: Dict[str, Any] = {}
    if "url" in opts and "urls" in opts:
        raise QueenValidationError("give either 'url' or 'urls', not both")
    if "url" in opts or "urls" in opts:
        kwargs["urls"] = _parse_urls(opts.pop("url") if "url" in opts else opts.pop("urls"))

    for name, minimum in _INTS.items():
        if name in opts:
            kwargs[name] = _int(name, opts.pop(name), minimum)
    for name in _BOOLS:
        if name in opts:
            value = opts.pop(name)
            if not isinstance(value, bool):
                raise QueenValidationError(f"client option {name!r} must be True or False, got {value!r}")
            kwargs[name] = value

    for name in _OPTIONAL_INTS:
        if name in opts:
            value = opts.pop(name)
            kwargs[name] = None if value is None else _int(name, value, 1)
    if "buffer_when_full" in opts:
        kwargs["buffer_when_full"] = _choice(
            "buffer_when_full", opts.pop("buffer_when_full"), ("block", "raise"))
    if "load_balancing_strategy" in opts:
        kwargs["load_balancing_strategy"] = _choice(
            "load_balancing_strategy", opts.pop("load_balancing_strategy"), STRATEGIES
        )
    if "server_version" in opts:
        version = opts.pop("server_version")
        if isinstance(version, (int, float)) and not isinstance(version, bool):
            version = str(version)
        kwargs["server_version"] = _choice("server_version", version, SERVER_VERSIONS)
    if "bearer_token" in opts:
        token = opts.pop("bearer_token")
        if token is not None and not callable(token) and (
            not isinstance(token, str) or _bad_header_text(token)
        ):
            raise QueenValidationError(
                "client option 'bearer_token' must be a string without line breaks, a "
                "callable returning one (sync or async), or None"
            )
        kwargs["bearer_token"] = token or None
    for name in _FILES:
        if name in opts:
            kwargs[name] = _file(name, opts.pop(name))
    if kwargs.get("tls_key_file") and not kwargs.get("tls_cert_file"):
        raise QueenValidationError("'tls_key_file' needs 'tls_cert_file' (the client certificate)")
    if "ssl_context" in opts:
        context = opts.pop("ssl_context")
        if context is not None and not isinstance(context, ssl.SSLContext):
            raise QueenValidationError(
                f"client option 'ssl_context' must be an ssl.SSLContext, got {type(context).__name__}"
            )
        kwargs["ssl_context"] = context
    if "headers" in opts:
        kwargs["headers"] = _parse_headers(opts.pop("headers"))
    return ClientConfig(**kwargs)


def _parse_urls(value: Any) -> Tuple[str, ...]:
    items: List[Any] = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise QueenValidationError(
            f"'urls' must be a URL string or a list of them, got {type(value).__name__}"
        )
    if not items:
        raise QueenValidationError(  # upstream's text first: code matches on it
            "URLs must be a non-empty list: give at least one server, e.g. "
            "'http://localhost:6632'"
        )
    out: List[str] = []
    for item in items:
        url = _normalise_url(item)
        if url in out:
            raise QueenValidationError(
                f"server URL {redact(url)!r} is listed twice: list each server once"
            )
        out.append(url)
    return tuple(out)


def _normalise_url(item: Any) -> str:
    if not isinstance(item, str) or not item.strip():
        raise QueenValidationError(
            f"server URL must be a non-empty string like 'http://localhost:6632', got {item!r}"
        )
    text = item.strip().rstrip("/")
    shown = redact(text)  # errors never show a password from the URL
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise QueenValidationError(f"server URL {shown!r} is not valid ({redact(str(exc))})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise QueenValidationError(
            f"Invalid URL: {shown!r} must start with http:// or https:// and name a host, "
            "e.g. 'http://localhost:6632'"
        )
    if parts.query or parts.fragment:
        raise QueenValidationError(f"server URL {shown!r} must not carry a query or fragment")
    return f"{parts.scheme.lower()}://{parts.netloc}{parts.path}"


def _int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise QueenValidationError(
            f"client option {name!r} must be a whole number, got {value!r}"
        )
    if value < minimum:
        what = "positive" if minimum > 0 else "zero or more"
        raise QueenValidationError(f"client option {name!r} must be {what}, got {value}")
    return value


def _file(name: str, value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise QueenValidationError(f"client option {name!r} must be a file path, got {value!r}")
    if not os.path.isfile(value):
        raise QueenValidationError(f"client option {name!r}: no such file {value!r}")
    return value


def _choice(name: str, value: Any, allowed: Tuple[str, ...]) -> Any:
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise QueenValidationError(f"client option {name!r} must be one of {choices}, got {value!r}")
    return value


def _bad_header_text(text: str) -> bool:
    return "\r" in text or "\n" in text


def _parse_headers(value: Any) -> Mapping[str, str]:
    if value is None:
        return _EMPTY_HEADERS
    if not isinstance(value, Mapping):
        raise QueenValidationError(
            f"client option 'headers' must be a dict of header name -> value, got {type(value).__name__}"
        )
    out: Dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip() or _bad_header_text(key) or ":" in key:
            raise QueenValidationError(f"header name {key!r} is not valid: use a plain token like 'X-Team'")
        if not isinstance(item, str) or _bad_header_text(item):
            raise QueenValidationError(
                f"header {key!r} must have a string value without line breaks, got {item!r}"
            )
        out[key] = item
    return MappingProxyType(out)


__all__ = ["ClientConfig", "ConfigInput", "DEFAULT_URL", "parse_config"]
