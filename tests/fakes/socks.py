"""A minimal SOCKS5 proxy (no auth, CONNECT only) on 127.0.0.1:0, recording its targets.

Why: users behind Clash/V2Ray point a profile's ``proxy`` at ``socks5://127.0.0.1:7891``; this
proves such a profile really tunnels through SOCKS, end to end.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import struct
import threading

from tests.fakes.halting import Halting


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        conn: socket.socket = self.request
        server: _Server = self.server  # type: ignore[assignment]
        version, count = conn.recv(2)
        conn.recv(count)  # offered auth methods
        conn.sendall(b"\x05\x00")  # version 5, no authentication
        _, command, _, kind = conn.recv(4)
        if kind == 1:
            host = socket.inet_ntoa(conn.recv(4))
        elif kind == 3:
            host = conn.recv(conn.recv(1)[0]).decode()
        else:
            conn.sendall(b"\x05\x08\x00\x01" + b"\x00" * 6)  # address type not supported
            return
        (port,) = struct.unpack("!H", conn.recv(2))
        if version != 5 or command != 1:
            conn.sendall(b"\x05\x07\x00\x01" + b"\x00" * 6)  # command not supported
            return
        server.targets.append(f"{host}:{port}")
        upstream = socket.create_connection((host, port))
        conn.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack("!H", 0))
        pump = threading.Thread(target=_copy, args=(upstream, conn), daemon=True)
        pump.start()
        _copy(conn, upstream)
        pump.join(timeout=5)


def _copy(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


class _Server(Halting, socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.targets: list[str] = []


class FakeSocks:
    """``with FakeSocks() as socks:`` then use ``socks.url``; ``socks.targets`` lists host:port."""

    def __init__(self) -> None:
        self._server = _Server()
        self.url = f"socks5://127.0.0.1:{self._server.server_address[1]}"
        self.targets = self._server.targets
        self._thread = threading.Thread(target=self._server.serve_until_halted, daemon=True)

    def __enter__(self) -> FakeSocks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.halt()
        self._thread.join(timeout=5)
        self._server.server_close()
