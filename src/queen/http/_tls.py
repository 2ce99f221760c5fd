"""The client's TLS context (for https:// URLs), built once from the configuration and
shared by every backend, and the words for a TLS failure."""

from __future__ import annotations

import ssl
from typing import Optional

from .. import log
from ..config import ClientConfig
from ..errors import QueenTLSError, QueenValidationError

_warned_unverified = False


def context_for(config: ClientConfig) -> Optional[ssl.SSLContext]:
    """The SSLContext for https:// servers; None when no URL is https://.

    ``ssl_context`` is used as given; otherwise the system trust store (or
    ``tls_ca_file``), a client certificate when ``tls_cert_file`` is set, and
    verification unless ``tls_verify=False`` (logged once per process).
    """
    if config.ssl_context is not None:
        return config.ssl_context
    if not any(u.startswith("https:") for u in config.urls):
        return None
    try:
        context = ssl.create_default_context(cafile=config.tls_ca_file)
        if config.tls_cert_file:
            context.load_cert_chain(config.tls_cert_file, config.tls_key_file)
    except (ssl.SSLError, OSError) as exc:
        raise QueenValidationError(
            f"cannot use the TLS files given (tls_ca_file/tls_cert_file/tls_key_file): {exc}"
        ) from None
    if not config.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        _warn_unverified()
    return context


def _warn_unverified() -> None:
    global _warned_unverified
    if not _warned_unverified:
        _warned_unverified = True
        log.warn("Queen.tls", {"verify": False,
                               "warning": "TLS certificates are NOT verified (tls_verify=False): "
                                          "anyone on the path can read and change the traffic"})


def is_tls_failure(exc: BaseException) -> bool:
    """A TLS handshake or certificate problem (not a plain connection loss)."""
    seen = 0
    cause: Optional[BaseException] = exc
    while cause is not None and seen < 6:  # backends wrap the ssl error once or twice
        if isinstance(cause, ssl.SSLError) and not isinstance(
            cause, (ssl.SSLEOFError, ssl.SSLZeroReturnError)
        ):
            return True
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return False


def tls_error(what: str, server: str, exc: BaseException) -> QueenTLSError:
    detail = log.redact(str(exc) or type(exc).__name__)
    hint = "check tls_ca_file (the CA that signed the server's certificate)"
    if "certificate required" in detail or "alert" in detail:
        hint = "the server wants a client certificate: set tls_cert_file and tls_key_file"
    return QueenTLSError(f"{what}: TLS with {log.redact(server)} failed ({detail}): {hint}")
