"""TLS for production: a private CA, a client certificate (mTLS), a ready SSLContext,
on every backend (httptools, aiohttp, httpx), against the embedded server serving
HTTPS with a throwaway CA made here."""

from __future__ import annotations

import io
import os
import ssl
from pathlib import Path
from typing import Any, AsyncIterator, Dict

import pytest
from tls_front import TLSFront

from queen import Queen, QueenConnectionError, QueenTLSError, QueenValidationError, log
from queen.testing.cluster import Cluster, serve_cluster

trustme = pytest.importorskip("trustme")

BACKENDS = ["httptools", "aiohttp", "http2"]


@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme.CA()


@pytest.fixture(scope="module")
def files(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    where = tmp_path_factory.mktemp("tls")
    out = {"ca": str(where / "ca.pem"), "client": str(where / "client.pem"),
           "other_ca": str(where / "other-ca.pem")}
    ca.cert_pem.write_to_path(out["ca"])
    ca.issue_cert("client.example").private_key_and_cert_chain_pem.write_to_path(out["client"])
    trustme.CA().cert_pem.write_to_path(out["other_ca"])
    return out


def server_context(ca: Any, client_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    if client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        ca.configure_trust(context)
    return context


@pytest.fixture(params=["0.7", "0.15"])
async def tls_server(request: pytest.FixtureRequest, ca: Any) -> AsyncIterator[Cluster]:
    if os.environ.get("QUEEN_URL"):
        pytest.skip("serves its own HTTPS embedded server")
    async with serve_cluster(1, compat=request.param, ssl=server_context(ca, False)) as c:
        yield c


@pytest.fixture
async def mtls_server(ca: Any) -> AsyncIterator[TLSFront]:
    """An embedded server behind a TLS front that requires a client certificate."""
    if os.environ.get("QUEEN_URL"):
        pytest.skip("serves its own embedded server")
    async with serve_cluster(1, compat="0.15") as c:
        front = TLSFront(server_context(ca, True), ("127.0.0.1", c.nodes[0].port))
        front.cluster = c  # type: ignore[attr-defined]
        try:
            yield front
        finally:
            front.close()


def options(backend: str, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> Dict[str, Any]:
    monkeypatch.setenv("QUEEN_HTTP1_BACKEND", "aiohttp" if backend == "aiohttp" else "httptools")
    return {"retry_attempts": 0, "http2": backend == "http2", **extra}


async def round_trip(q: Queen, name: str) -> None:
    await q.queue(name).create()
    await q.queue(name).push([{"data": {"tls": True}}])
    messages = await q.queue(name).batch(1).wait(False).pop()
    assert [m["data"] for m in messages] == [{"tls": True}]
    await q.ack(messages)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_private_ca(tls_server: Cluster, files: Dict[str, str], backend: str,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    url = tls_server.urls[0]
    assert url.startswith("https://")
    async with Queen({"url": url, "tls_ca_file": files["ca"],
                      **options(backend, monkeypatch)}) as q:
        await round_trip(q, f"tls-{backend}")


@pytest.mark.parametrize("backend", BACKENDS)
async def test_ready_ssl_context(tls_server: Cluster, ca: Any, backend: str,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with Queen({"url": tls_server.urls[0], "ssl_context": context,
                      **options(backend, monkeypatch)}) as q:
        await round_trip(q, f"ctx-{backend}")


@pytest.mark.parametrize("backend", BACKENDS)
async def test_wrong_ca_is_a_tls_error(tls_server: Cluster, files: Dict[str, str], backend: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    opts = options(backend, monkeypatch, retry_attempts=3)
    for trust in ({"tls_ca_file": files["other_ca"]}, {}):  # another CA; the system's
        async with Queen({"url": tls_server.urls[0], **trust, **opts}) as q:
            with pytest.raises(QueenTLSError, match="tls_ca_file") as info:
                await q.queue("never").create()
        assert isinstance(info.value, QueenConnectionError)
    assert tls_server.requests() == [0]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_client_certificate(mtls_server: TLSFront, files: Dict[str, str], backend: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    url = mtls_server.url
    cluster: Cluster = mtls_server.cluster  # type: ignore[attr-defined]
    async with Queen({"url": url, "tls_ca_file": files["ca"], "tls_cert_file": files["client"],
                      **options(backend, monkeypatch)}) as q:
        await round_trip(q, f"mtls-{backend}")
    served = cluster.requests()
    async with Queen({"url": url, "tls_ca_file": files["ca"],
                      **options(backend, monkeypatch, retry_attempts=3)}) as q:
        with pytest.raises(QueenTLSError, match="client certificate"):
            await q.queue("never").create()
    assert cluster.requests() == served  # the request never got through
    assert mtls_server.handshakes_failed >= 1


async def test_verification_off_is_explicit_and_logged_once(
    tls_server: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from queen.http import _tls

    monkeypatch.setattr(_tls, "_warned_unverified", False)
    buf = io.StringIO()
    monkeypatch.setenv("QUEEN_CLIENT_LOG", "true")
    log.refresh()
    log.set_stream(buf)
    try:
        for _ in range(2):
            async with Queen({"url": tls_server.urls[0], "tls_verify": False}) as q:
                await q.queue("unverified").create()
    finally:
        log.set_stream(None)
        monkeypatch.delenv("QUEEN_CLIENT_LOG")
        log.refresh()
    assert buf.getvalue().count("NOT verified") == 1


def test_bad_tls_options(tmp_path: Path) -> None:
    with pytest.raises(QueenValidationError, match="no such file"):
        Queen({"url": "https://h", "tls_ca_file": str(tmp_path / "missing.pem")})
    with pytest.raises(QueenValidationError, match="tls_cert_file"):
        Queen({"url": "https://h", "tls_key_file": __file__})
    with pytest.raises(QueenValidationError, match="SSLContext"):
        Queen({"url": "https://h", "ssl_context": "yes"})
    with pytest.raises(QueenValidationError, match="True or False"):
        Queen({"url": "https://h", "tls_verify": "no"})
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(QueenValidationError, match="TLS files"):
        Queen({"url": "https://h", "tls_ca_file": str(junk)})
