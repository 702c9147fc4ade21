"""Reading response bodies within bounds: size after decompression, line length, time.

Every byte a server sends passes through here, so one place refuses what would exhaust memory
or hold the command forever: a 4 MB gzip body that expands to 4 GB stops at ``limit`` with a
few MB in memory (bodies are inflated in small steps, never whole), an SSE line stops at
``MAX_LINE``, and a ``watchdog`` runs on every read so a server dripping bytes or keep-alive
comments cannot outlast the caller's deadline; a whole body (an answer, an error) given
``grace`` (the profile's ``timeout``) must keep up ``MIN_RATE`` after it, so one dripped a byte
at a time, which no single read's timeout catches, cannot hold the command for ever.
Encodings: we ask for gzip and deflate only; a body in another encoding, or one labelled gzip
that is not, is passed on as sent, so its text (the server's own message) is what the user
sees. Secrets are masked here too (``redact``). ``peek`` looks at a body's start without
consuming it (a stream mislabelled JSON, ``sse_start``).
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from chatcli.errors import APIError, NetworkError
from chatcli.safetext import mask, redact, secrets

if TYPE_CHECKING:
    import httpx2

ACCEPT_ENCODING = "gzip, deflate"
MiB = 1024 * 1024
MAX_BODY = 8 * MiB
"""A non-streamed API answer (a chat completion, a model list, a batch's status)."""
MAX_ERROR_BODY = 256 * 1024
"""An error body: what is past this is not read (the message is at its start)."""
MAX_LINE = 4 * MiB
"""One line of a server-sent-events stream."""
MIN_RATE = 16 * 1024
"""Bytes a second a body must average once its ``grace`` seconds are over (a dial-up modem
does 7, a slow proxy a few hundred)."""
_STEP = 64 * 1024  # the most one inflate step produces
_EOL = re.compile(rb"\r\n|\r|\n")


class TooLarge(APIError):
    """A body or line past its cap (exit 5): the server sent more than any answer needs."""


def _human(size: int) -> str:
    return f"{size // MiB} MiB" if size >= MiB else f"{size // 1024} KiB"


class Decoder:
    """Undo ``Content-Encoding`` in bounded steps; unknown or false labels pass bytes as sent."""

    def __init__(self, encoding: str | None) -> None:
        names = [e.strip().lower() for e in (encoding or "").split(",") if e.strip()]
        names = [n for n in names if n != "identity"]
        self._kind = (
            names[0] if len(names) == 1 and names[0] in ("gzip", "x-gzip", "deflate") else ""
        )
        self._z: Any = None
        self._produced = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not self._kind or not data:
            if data:
                yield data
            return
        if self._z is None:
            self._z = self._new(data)
        try:
            yield from self._inflate(data)
        except zlib.error:
            if self._produced:
                raise APIError("the compressed response is corrupt") from None
            self._kind = ""  # labelled compressed, but is not: show it as it came
            yield data

    def _new(self, data: bytes) -> Any:
        if self._kind == "deflate" and not (
            len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] * 256 + data[1]) % 31 == 0
        ):
            return zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send
        return zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, by the header

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        buf = data
        while True:
            piece = self._z.decompress(buf, _STEP)
            buf = self._z.unconsumed_tail
            if piece:
                self._produced = True
                yield piece
            if self._z.eof and self._z.unused_data:  # concatenated gzip members
                rest = self._z.unused_data
                self._z = self._new(rest)
                buf = rest
                continue
            if not buf and len(piece) < _STEP:
                return


def chunks(
    response: httpx2.Response,
    *,
    limit: int,
    what: str,
    watchdog: Callable[[], None] | None = None,
    strict: bool = True,
    grace: float | None = None,
) -> Iterator[bytes]:
    """The decoded body of ``response``, piece by piece, at most ``limit`` bytes: past it a
    ``TooLarge`` error (or, with ``strict`` False, the end of the body: for error bodies).
    ``watchdog`` is called on every read and may raise to stop a slow body; ``grace``: the
    body must arrive at ``MIN_RATE`` after that many seconds (``in_time``)."""
    decoder = Decoder(response.headers.get("content-encoding"))
    total = 0
    pace = Pace(grace, what) if grace is not None else None
    for raw in response.iter_raw():
        if watchdog is not None:
            watchdog()
        if pace is not None:
            pace.got(len(raw))
        for piece in decoder.feed(raw):
            total += len(piece)
            if total > limit:
                if not strict:
                    yield piece[: len(piece) - (total - limit)]
                    return
                raise TooLarge(
                    f"{what} is larger than {_human(limit)}; refused",
                    hint="the endpoint sent far more than any answer needs",
                )
            yield piece


def read(
    response: httpx2.Response,
    *,
    limit: int = MAX_BODY,
    what: str = "the response",
    watchdog: Callable[[], None] | None = None,
    strict: bool = True,
    grace: float | None = None,
) -> bytes:
    """The whole decoded body, bounded as ``chunks`` bounds it."""
    body = bytearray()
    for piece in chunks(
        response, limit=limit, what=what, watchdog=watchdog, strict=strict, grace=grace
    ):
        body += piece
    return bytes(body)


class Pace:
    """A body's arrival: after ``grace`` seconds it must average ``MIN_RATE`` bytes a second,
    else a ``NetworkError`` (exit 6) saying how much came in how long."""

    def __init__(self, grace: float, what: str) -> None:
        self.grace = grace
        self.what = what
        self.started = time.monotonic()
        self.received = 0

    def got(self, n: int) -> None:
        self.received += n
        took = time.monotonic() - self.started
        if took > self.grace + self.received / MIN_RATE:
            raise NetworkError(
                f"{self.what} arrived too slowly ({self.received} bytes in {took:.0f} s)",
                hint="raise `timeout` in the config if the link is really that slow",
            )


def lines(pieces: Iterable[bytes], *, max_line: int = MAX_LINE) -> Iterator[str]:
    """Text lines (CR, LF or CRLF ended) of a byte stream, keys masked; a line longer than
    ``max_line`` is a ``TooLarge`` error."""
    buf = bytearray()
    for piece in pieces:
        buf += piece
        start = 0
        while True:
            match = _EOL.search(buf, start)
            if match is None or (match.group() == b"\r" and match.end() == len(buf)):
                break  # a CR at the end may be half of a CRLF
            yield redact(buf[start : match.start()].decode("utf-8", "replace"))
            start = match.end()
        del buf[:start]
        if len(buf) > max_line:
            raise TooLarge(
                f"a line of the stream is longer than {_human(max_line)}; refused",
                hint="the endpoint is not streaming like an OpenAI-compatible API",
            )
    if buf:
        yield redact(buf.decode("utf-8", "replace"))


_BOM = b"\xef\xbb\xbf"


def peek(response: httpx2.Response, *, grace: float, enough: int = 8) -> bytes:
    """The decoded start of ``response``'s body (``enough`` bytes past a BOM and blank space,
    as few as tell SSE from JSON, or all of a shorter body; at most 64 KiB of blank space, at
    ``MIN_RATE`` after ``grace`` seconds), without consuming it: the raw pieces read are put
    back in front of the rest (``response.stream``). httpx2's read errors pass through."""
    import httpx2

    stream = response.stream
    assert isinstance(stream, httpx2.SyncByteStream)
    inner: httpx2.SyncByteStream = stream
    source = iter(inner)
    taken: list[bytes] = []
    decoder = Decoder(response.headers.get("content-encoding"))
    pace = Pace(grace, "the response")
    seen = b""

    def short() -> bool:
        return len(seen) < 64 * 1024 and len(seen.lstrip(_BOM).lstrip()) < enough

    try:
        while short():
            raw = next(source, None)
            if raw is None:
                break
            taken.append(raw)
            pace.got(len(raw))
            for piece in decoder.feed(raw):  # a step at a time: a gzip bomb stays small
                seen += piece
                if not short():
                    break
    except APIError:
        pass  # a corrupt compressed start: the reader says so

    class Replay(httpx2.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield from taken
            yield from source

        def close(self) -> None:
            inner.close()

    response.stream = Replay()
    return seen


def sse_start(start: bytes) -> bool:
    """Whether a body's start is a server-sent-events stream (``data:``, ``event:``, ``id:``
    or a ``:`` comment, after a BOM and blank space) rather than JSON."""
    return start.lstrip(_BOM).lstrip().startswith((b"data:", b"event:", b"id:", b":"))


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
"""Half of a surrogate pair, which a JSON ``\\ud83d`` escape decodes to (an emoji cut in two
by a relay): not Unicode, so no terminal, file or database can take it."""


def scrub(value: Any) -> Any:
    """``value`` (parsed JSON) with keys masked in every string, however the JSON spelled them
    (a key written with ``\\u`` escapes is a key all the same), and each lone surrogate
    replaced by U+FFFD: every answer, tool call and error is whole Unicode from here on."""
    if isinstance(value, str):
        return redact(_LONE_SURROGATE.sub("\ufffd", value))
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def bound_sdk_response(response: httpx2.Response, limit: int, *, grace: float) -> None:
    """Make ``response`` (about to be read by the openai SDK) decode and cap its body here:
    the SDK reads bodies whole, so a compressed bomb must be stopped below it. An httpx2
    response hook; the ``TooLarge`` it raises reaches the caller as the SDK's connection error's
    cause (``sdk.translate`` unwraps it). ``grace``: as for ``chunks``, so a dripped body (an
    answer or an error) cannot hold an upload for ever. The body of an answer that is not a
    success (3xx, 4xx, 5xx) is only the error's text: it is read to ``MAX_ERROR_BODY`` and
    cut there, as on chat, whatever ``limit`` the route gives its answers, so a compressed
    bomb sent with a 500 costs no more than any error and the 500 is retried as one."""
    import httpx2

    decoder = Decoder(response.headers.get("content-encoding"))
    if "content-encoding" in response.headers:
        del response.headers["content-encoding"]
    inner = response.stream
    from chatcli.providers.shapes import origin

    what = f"the response from {origin(str(response.request.url))}"  # as the chat route says
    failed = response.status_code >= 300
    if failed:
        limit = min(limit, MAX_ERROR_BODY)

    class Bounded(httpx2.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            total = 0
            masker = ByteRedactor()
            pace = Pace(grace, what)
            assert isinstance(inner, httpx2.SyncByteStream)
            for raw in inner:
                pace.got(len(raw))
                for piece in decoder.feed(raw):
                    total += len(piece)
                    if total > limit and failed:  # an error's start is its message
                        yield masker.push(piece[: len(piece) - (total - limit)])
                        yield masker.flush()
                        return
                    if total > limit:
                        raise TooLarge(
                            f"{what} is larger than {_human(limit)}; refused",
                            hint="the endpoint sent far more than any answer needs",
                        )
                    yield masker.push(piece)
            yield masker.flush()

        def close(self) -> None:
            if isinstance(inner, httpx2.SyncByteStream):
                inner.close()

        @property
        def elapsed(self) -> Any:
            return getattr(inner, "elapsed", None)

    response.stream = Bounded()


class ByteRedactor:
    """Keys masked in a byte stream (keys are ASCII, so their bytes are found as they are),
    holding back a tail that may be the start of a key split across two pieces."""

    def __init__(self) -> None:
        self._held = b""

    def push(self, piece: bytes) -> bytes:
        keys = [k.encode() for k in secrets()]
        if not keys:
            return piece
        data = self._held + piece
        for key in keys:
            if key in data:
                data = data.replace(key, mask(key.decode()).encode())
        self._held = b""
        for size in range(min(len(keys[0]) - 1, len(data)), 0, -1):
            if any(k.startswith(data[-size:]) for k in keys):
                self._held = data[-size:]
                return data[:-size]
        return data

    def flush(self) -> bytes:
        held, self._held = self._held, b""
        return held
