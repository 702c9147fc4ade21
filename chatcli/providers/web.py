"""Fetch a web page or document for ``ask -f URL`` and ``summarize URL``.

Goes through the profile's proxy like every other request and fetches exactly the URL given.
Redirects are followed by hand (at most ``MAX_REDIRECTS``) and only to http(s) URLs. The
profile's ``timeout`` bounds the whole fetch, not each read: a server dripping a byte every
half second is cut off at the deadline, and what came before the cut is an error, never
the page (a body without Content-Length ends at a close, so a cut looks like its end). The
body is read through ``bodies``, so a compressed page cannot expand past ``limit`` in memory; a
body in a compression chatcli does not decode (``br``, ``zstd``, ``gzip, gzip``, an unknown
coding: it asks for gzip and deflate only) is refused, never sent as page text.
Failures become ``chatcli.errors``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from chatcli.errors import APIError, ChatcliError, NetworkError, UsageError
from chatcli.providers import bodies, clients
from chatcli.safetext import one_line
from chatcli.settings.loading import Profile

MAX_REDIRECTS = 5
USER_AGENT = "chatcli (+https://github.com/) document fetcher"
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Fetched:
    """The body of a URL and what the server said it is."""

    url: str
    data: bytes
    content_type: str | None


def fetch(url: str, profile: Profile, *, limit: int, timeout: float | None = None) -> Fetched:
    """GET ``url`` (through the profile's proxy); at most ``limit`` bytes of body, all of it
    within ``timeout`` (default: the profile's) seconds."""
    import httpx2

    seconds = timeout or profile.timeout
    deadline = time.monotonic() + seconds
    client = clients.build(
        profile, seconds=seconds, headers={"User-Agent": USER_AGENT, "Accept": "*/*"}
    )

    def watchdog() -> None:
        if time.monotonic() > deadline:
            raise NetworkError(f"fetching {shown(url)} took longer than {seconds:g} s")

    # A server dripping its status line and headers is not seen by ``watchdog`` (no body
    # has started): at the deadline a timer shuts the connection down under the read.
    sockets: list[Any] = []

    def trace(event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete" and info.get("return_value") is not None:
            sockets.append(info["return_value"].get_extra_info("socket"))

    timed_out = threading.Event()

    def cut() -> None:
        timed_out.set()
        for sock in sockets:
            with contextlib.suppress(OSError, AttributeError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(seconds, cut)
    timer.daemon = True
    timer.start()

    current = url
    try:
        with client:
            for _ in range(MAX_REDIRECTS + 1):
                # the exact URL as given: httpx2.URL keeps `//` and a trailing `/`
                request = client.build_request(
                    "GET", httpx2.URL(current), extensions={"trace": trace}
                )
                response = client.send(request, stream=True)
                try:
                    watchdog()
                    if response.status_code in _REDIRECTS:
                        current = _next(current, response.headers.get("location"))
                        continue
                    if response.status_code >= 400:
                        raise APIError(
                            f"{shown(current)} answered HTTP {response.status_code} "
                            f"{one_line(response.reason_phrase, 80)}",
                            status=response.status_code,
                        )
                    coding = _undecoded(response.headers.get("content-encoding"))
                    if coding:
                        raise APIError(
                            f"{shown(current)} sent its content compressed with {coding}, "
                            "which chatcli does not decode (it asks for gzip or deflate)",
                            hint="download it (e.g. curl --compressed -o FILE URL) and "
                            "pass the file",
                        )
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > limit:
                        raise _too_big(url, limit)
                    try:
                        data = bodies.read(
                            response, limit=limit, what=shown(url), watchdog=watchdog
                        )
                    except bodies.TooLarge:
                        raise _too_big(url, limit) from None
                    if timed_out.is_set():
                        # the timer shut the socket down under the read: a body with neither
                        # Content-Length nor chunks ends at a close, so the cut looks like
                        # its end. It is the part that came in time, never the document.
                        raise NetworkError(
                            f"fetching {shown(url)} took longer than {seconds:g} s "
                            f"(the page arrived too slowly: {len(data)} bytes came)"
                        )
                    return Fetched(current, data, response.headers.get("content-type"))
                finally:
                    response.close()
    except ChatcliError:
        raise
    except httpx2.TimeoutException:  # silent for the whole time: as the overall deadline says
        raise NetworkError(f"fetching {shown(url)} took longer than {seconds:g} s") from None
    except httpx2.HTTPError as exc:
        if timed_out.is_set() or time.monotonic() > deadline:  # the timer cut it
            raise NetworkError(f"fetching {shown(url)} took longer than {seconds:g} s") from None
        from chatcli.providers.transport import TLS_HINT, tls_failure

        tls = tls_failure(exc)
        if tls is not None:
            raise NetworkError(
                f"cannot fetch {shown(url)}: its TLS certificate was refused ({tls})",
                hint=TLS_HINT,
            ) from None
        raise NetworkError(f"cannot fetch {shown(url)}: {one_line(str(exc), 200)}") from None
    finally:
        timer.cancel()
    raise APIError(f"{shown(url)} redirects more than {MAX_REDIRECTS} times")


def shown(url: str) -> str:
    """``url`` for a message: one line, terminal-safe, credentials masked."""
    return one_line(url, 300)


def _next(current: str, location: str | None) -> str:
    """Where a redirect points, resolved against ``current``; only http(s) is followed."""
    if not location:
        raise APIError(f"{shown(current)} redirects without saying where (no Location)")
    target = urljoin(current, location.strip())
    scheme = target.partition(":")[0].lower()
    if scheme not in ("http", "https"):
        raise APIError(
            f"{shown(current)} redirects to {shown(target)}; only http(s) redirects are followed"
        )
    return target


def _undecoded(encoding: str | None) -> str:
    """The ``Content-Encoding`` of a body ``bodies`` cannot undo, as said ("" when none)."""
    names = [e.strip().lower() for e in (encoding or "").split(",") if e.strip()]
    names = [n for n in names if n != "identity"]
    if not names or (len(names) == 1 and names[0] in ("gzip", "x-gzip", "deflate")):
        return ""
    return one_line(", ".join(names), 80)


def _too_big(url: str, limit: int) -> UsageError:
    return UsageError(
        f"{shown(url)} is larger than {limit // (1024 * 1024)} MiB",
        hint="download it and pass the file, or summarise a smaller page",
    )
