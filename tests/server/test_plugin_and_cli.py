"""The pytest plugin fixtures, ``python -m queen.testing`` and connection handling."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx

from queen.testing import start_server

from .conftest import Raw, messages

PLUGIN_TEST = textwrap.dedent('''
    import re

    def test_fixtures(queen_server, queen_url, queen_compat, unique_name):
        assert queen_url == queen_server.url and queen_compat == queen_server.compat
        a, b = unique_name("orders"), unique_name("orders")
        assert a != b and re.fullmatch(r"[A-Za-z0-9._-]+", a)
        print("COMPAT", queen_compat, "BROKER", queen_server.broker is not None)

    def test_private_server(embedded_server):
        from queen.testing import FakeClock
        srv = embedded_server("0.15", clock=FakeClock())
        srv.advance(5)
        assert srv.compat == "0.15" and srv.url.startswith("http://127.0.0.1:")
''')


def run_pytest(tmp_path: Path, env_extra: dict) -> str:
    (tmp_path / "test_plugin_use.py").write_text(PLUGIN_TEST)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUEEN_")}
    env.update(env_extra)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-v", "-s", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_plugin_parametrizes_over_personalities(tmp_path: Path) -> None:
    out = run_pytest(tmp_path, {})
    assert "test_fixtures[0.7]" in out and "test_fixtures[0.15]" in out
    assert "COMPAT 0.7 BROKER True" in out and "COMPAT 0.15 BROKER True" in out
    assert "3 passed" in out


def test_plugin_uses_queen_url(tmp_path: Path) -> None:
    with start_server(compat="0.15") as srv:
        out = run_pytest(tmp_path, {"QUEEN_URL": srv.url})
    assert "[0.7]" not in out and "[0.15]" not in out
    assert "COMPAT 0.15 BROKER False" in out and "2 passed" in out


def test_plugin_detects_each_generation_with_the_clients_rule(monkeypatch: Any) -> None:
    from queen.testing.plugin import _detect

    monkeypatch.delenv("QUEEN_COMPAT", raising=False)
    for compat in ("0.7", "0.15"):
        with start_server(compat=compat) as srv:
            assert _detect(srv.url) == compat
    monkeypatch.setenv("QUEEN_COMPAT", "0.15")
    with start_server(compat="0.7") as srv:
        assert _detect(srv.url) == "0.15"  # the override wins


def test_plugin_honours_queen_test_compat(tmp_path: Path) -> None:
    out = run_pytest(tmp_path, {"QUEEN_TEST_COMPAT": "0.15"})
    assert "test_fixtures[0.15]" in out and "test_fixtures[0.7]" not in out
    assert "2 passed" in out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_python_m_queen_testing_serves_both_personalities() -> None:
    for compat, marker in (("0.7", "Acceptor/Worker"), ("0.15", "libqueen")):
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "queen.testing", "--port", str(port),
                                 "--compat", compat], stderr=subprocess.DEVNULL)
        try:
            body = None
            for _ in range(200):
                try:
                    body = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()
                    break
                except httpx.HTTPError:
                    time.sleep(0.05)
            assert body is not None and marker in body["server"]
        finally:
            proc.terminate()
            proc.wait(10)


def test_abandoned_long_poll_takes_no_lease(raw: Raw) -> None:
    raw.configure("q", leaseTime=300)
    host, port = raw.handle.url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    sock.sendall(b"GET /api/v1/pop/queue/q?wait=true&timeout=10000 HTTP/1.1\r\n"
                 b"Host: x\r\n\r\n")
    time.sleep(0.2)
    sock.close()
    time.sleep(0.2)
    raw.push("q", ["for-a-live-consumer"])
    assert [m["data"] for m in raw.pop("q")] == ["for-a-live-consumer"]


def test_server_survives_garbage(raw: Raw) -> None:
    host, port = raw.handle.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"\x00\x01garbage that is not http\r\n\r\n")
        sock.settimeout(2)
        try:
            sock.recv(100)
        except OSError:
            pass
    raw.configure("q", leaseTime=30)
    raw.push("q", [1])
    assert [m["data"] for m in messages(raw.pop_raw("q"))] == [1]


def test_handle_call_runs_in_the_server_thread() -> None:
    import threading

    with start_server() as srv:
        assert srv.broker is not None
        srv.call(srv.broker.configure, "direct", "", "", {"leaseTime": 5})
        name = srv.call(lambda: threading.current_thread().name)
        assert name.startswith("queen-embedded")
        assert httpx.get(srv.url + "/api/v1/resources/queues/direct").json()["name"] == "direct"
