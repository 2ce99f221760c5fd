"""A blocking TLS terminator in front of a plain-HTTP server, for client-certificate
tests. asyncio servers (the embedded one included) drop the TLS alert when a handshake
fails on their side (the alert stays in a memory buffer), so a client would only see
a closed connection; a blocking socket sends the alert at once, as nginx or envoy do."""

from __future__ import annotations

import socket
import ssl
import threading
from typing import Tuple


class TLSFront:
    def __init__(self, context: ssl.SSLContext, upstream: Tuple[str, int]) -> None:
        self.context = context
        self.upstream = upstream
        self.handshakes_failed = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        conn = self.context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        try:
            conn.do_handshake()
        except (ssl.SSLError, OSError):
            self.handshakes_failed += 1
            _drain_and_close(conn)  # the alert is out; no RST over it
            return
        back = socket.create_connection(self.upstream)
        threading.Thread(target=_pump, args=(back, conn), daemon=True).start()
        _pump(conn, back)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass


def _drain_and_close(conn: ssl.SSLSocket) -> None:
    """Half-close, read what the client still sends (plain bytes: TLS is broken), then
    close: closing with unread data would send a RST that can overtake the alert."""
    try:
        socket.socket.shutdown(conn, socket.SHUT_WR)
        conn.settimeout(2)
        while socket.socket.recv(conn, 65536):
            pass
    except OSError:
        pass
    finally:
        conn.close()
