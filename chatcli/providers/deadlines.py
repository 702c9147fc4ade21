"""Limits on reading a response that a per-read timeout cannot set.

httpx2 gives each socket read ``timeout`` seconds, so a server that sends a byte a second
never trips it. Two rules need more, and both live in the reads of every connection the
clients of ``clients.build`` open (their trace events hand each new network stream to
``_watch``):

- the response head (status line and headers) must be complete ``timeout`` seconds after its
  first byte (``Deadlines``, armed per request while httpcore2 reads the head): a head dripped
  in is a ``SlowHead``, a read timeout, so every route retries it as it retries a silent
  server, and names it (``slow_head``);
- a streamed answer that is finished gives what may follow (its usage, ``[DONE]``) a short
  grace: ``until`` caps the reads of its connection (``Expired`` when the cap runs out).

httpcore2 is imported here: this module is loaded only where a client is built.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import httpcore2

if TYPE_CHECKING:
    import httpx2

SHORTEST = 0.05
"""Seconds a capped read may always wait: bytes already in the socket's buffer are read."""
_WATCHED = "_chatcli_watched"
_UNTIL = "_chatcli_until"
_head = threading.local()  # the head being read in this thread (requests are synchronous)


class SlowHead(httpcore2.ReadTimeout):
    """The response head began but was not complete in time (a server dripping headers)."""


class Expired(httpcore2.ReadTimeout):
    """A connection's reads went past the time ``until`` gave them."""


class _Head:
    """One response head being read: ``end`` is set by its first byte."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end: float | None = None


class Deadlines:
    """The head deadline of one client's requests: an httpx2 ``request`` event hook that
    wraps the request's ``trace`` extension (any trace already there still runs)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_request(self, request: httpx2.Request) -> None:
        inner = request.extensions.get("trace")
        seconds = self.seconds

        def trace(event: str, info: dict[str, Any]) -> None:
            step, _, phase = event.rpartition(".")
            if phase == "complete" and step.endswith(
                ("connect_tcp", "connect_unix_socket", "start_tls")
            ):
                _watch(info.get("return_value"))
            elif step.endswith("receive_response_headers"):
                _head.current = _Head(seconds) if phase == "started" else None
            if inner is not None:
                inner(event, info)

        request.extensions["trace"] = trace


def until(response: httpx2.Response, seconds: float | None) -> bool:
    """Let the reads of ``response``'s connection wait ``seconds`` from now at most (None:
    lift the cap, as before the connection goes back to the pool); whether it could (a
    connection of a ``clients.build`` client)."""
    stream = response.extensions.get("network_stream")
    if stream is None or not getattr(stream, _WATCHED, False):
        return False
    setattr(stream, _UNTIL, None if seconds is None else time.monotonic() + seconds)
    return True


def slow_head(exc: BaseException) -> bool:
    """Whether ``exc`` (an httpx2 or SDK timeout) was a ``SlowHead``."""
    from chatcli.errors import caused_by

    return caused_by(exc, SlowHead)


def _watch(stream: Any) -> None:
    """Make ``stream``'s reads honour the head deadline and the ``until`` cap."""
    read = getattr(stream, "read", None)
    if read is None or getattr(stream, _WATCHED, False):
        return

    def bounded(max_bytes: int, timeout: float | None = None) -> bytes:
        head: _Head | None = getattr(_head, "current", None)
        ends = [e for e in (head.end if head else None, getattr(stream, _UNTIL, None)) if e]
        if not ends:
            data: bytes = read(max_bytes, timeout)
        else:
            end = min(ends)
            left = end - time.monotonic()
            if left <= 0 and head is not None and end == head.end:
                raise _late(head, end)
            if timeout is not None and timeout <= left:
                data = read(max_bytes, timeout)
            else:
                try:
                    data = read(max_bytes, max(left, SHORTEST))
                except httpcore2.ReadTimeout:
                    raise _late(head, end) from None
        if head is not None and head.end is None and data:
            head.end = time.monotonic() + head.seconds
        return data

    stream.read = bounded
    setattr(stream, _WATCHED, True)


def _late(head: _Head | None, end: float) -> httpcore2.ReadTimeout:
    if head is not None and end == head.end:
        return SlowHead(f"the response headers were not complete within {head.seconds:g} s")
    return Expired("the time given to the rest of the response ran out")
