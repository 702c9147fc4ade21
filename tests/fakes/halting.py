"""Servers that stop the moment they are told.

Why: ``socketserver``'s ``serve_forever`` notices ``shutdown()`` only at its next poll (every
0.5 s by default), and the fakes are stopped at the end of every test that starts one: the
wait was most of a short test's time. A socket pair wakes the loop at once instead.
"""

from __future__ import annotations

import selectors
import socket
import socketserver
from typing import Any


class Halting(socketserver.TCPServer):
    """Mix in before a ``socketserver`` TCP server class; serve with ``serve_until_halted``,
    stop with ``halt`` (from another thread), then ``server_close``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake, self._waker = socket.socketpair()
        self._halted = False

    def serve_until_halted(self) -> None:
        """Accept connections until ``halt``."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake, selectors.EVENT_READ)
            while not self._halted:
                for key, _ in selector.select():
                    if key.fileobj is self.socket and not self._halted:
                        self.handle_request()  # ready: accepts without waiting

    def halt(self) -> None:
        """End ``serve_until_halted`` now."""
        self._halted = True
        self._waker.send(b"x")

    def server_close(self) -> None:
        super().server_close()
        self._wake.close()
        self._waker.close()
