"""Requests in flight that another thread can cut: Ctrl-C reaches only the main thread, while
``summarize`` parts and ``transcribe`` inputs wait on the server in worker threads.

One ``Cutoff`` per provider, given to every httpx2 client the provider builds (``clients.build``:
the chat transport's and the SDK's under audio, speech and images). It remembers each socket
those clients connect; ``cut`` shuts them all down (closing a socket does not wake a thread
blocked reading it; shutting it down does), shuts down any connection that completes after it,
and refuses every request sent after it, so no retry opens a new connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import weakref
from typing import TYPE_CHECKING, Any

from chatcli.errors import Interrupted

if TYPE_CHECKING:
    import httpx2


class Cutoff:
    """The sockets of one provider's clients, and whether they were cut."""

    def __init__(self) -> None:
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._cut = False

    @property
    def is_cut(self) -> bool:
        return self._cut

    def cut(self) -> None:
        """Fail every request of these clients now, from any thread, and every later one."""
        with self._lock:
            self._cut = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def check(self) -> None:
        """Raise ``Interrupted`` once cut: before a request, a retry or a retry's wait."""
        if self._cut:
            raise Interrupted("interrupted")

    def on_request(self, request: httpx2.Request) -> None:
        """An httpx2 ``request`` event hook: refuse the request once cut, else trace its
        connection (httpcore's ``trace`` extension; a trace already there still runs)."""
        self.check()
        inner = request.extensions.get("trace")

        def trace(event: str, info: dict[str, Any]) -> None:
            if event == "connection.connect_tcp.complete":
                self._remember(info.get("return_value"))
            if inner is not None:
                inner(event, info)

        request.extensions["trace"] = trace

    def _remember(self, stream: Any) -> None:
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return
        with self._lock:
            self._sockets.add(sock)
            late = self._cut  # a connection that completes after ``cut`` went through the set
        if late:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
