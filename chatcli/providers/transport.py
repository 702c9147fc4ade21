"""The lean HTTP transport every chat request goes through: httpx2, a small SSE reader, retries.

Why not the openai SDK here: importing it costs about a second, more than the rest of ``ask``
together, and its retry/timeout defaults are not ours. This module owns them instead:
``timeout`` is the connect timeout and the longest silence allowed between stream chunks;
``max_retries`` covers 429, 5xx and connection resets with exponential backoff, honouring
``Retry-After`` with a countdown up to ``max_retry_wait`` (longer: give up and say so); a
server that stays silent is retried once only; quota exhaustion, a host name DNS does not know,
a refused TLS certificate and a URL whose scheme the server does not speak (``schemes``) fail
at once (``connect_failure``, shared with the SDK routes), marked ``unsent`` as every failure
to reach the endpoint is (no usage row: ``accounting.logs``);
a 200 that is an error envelope is that error (``read_json``); a response head that begins
and is not complete ``timeout`` seconds later is retried as a silent server is (``deadlines``,
``silence``); a finished streamed answer waits ``FINISH_GRACE`` for its usage and ``[DONE]``,
then ends, whether the server ends the stream or not. Every httpx2
failure is translated into ``chatcli.errors`` here and nowhere else (error bodies are read by
``errorbody``). Every body is read through ``bodies`` (capped after decompression, keys
masked); a stream that sends nothing but keep-alive comments for ``timeout`` seconds is as
silent as one that sends nothing (and so is one of empty events, named keep-alives such as
``event: ping``, or chunks that carry nothing). Streams are read as the SSE standard says (a
leading BOM ignored, an event with empty data not dispatched, a body that ends inside a line
a cut stream), and one labelled JSON by a
relay is known by its start (``streamed``). A whole JSON body that is not UTF-8 is read with
U+FFFD, as a stream is. Every request says ``User-Agent: chatcli/<version>``.
httpx2 is imported lazily.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from chatcli.errors import APIError, ChatcliError, ConfigError, NetworkError
from chatcli.events import Notice
from chatcli.providers import bodies, clients, errorbody
from chatcli.providers.cutoff import Cutoff
from chatcli.providers.shapes import origin as _origin
from chatcli.providers.waits import backoff as _backoff
from chatcli.providers.waits import describe, retry_after
from chatcli.safetext import one_line, redact, redact_fragments, sanitize, summarize_bytes
from chatcli.settings.keys import redact_key

if TYPE_CHECKING:
    import httpx2

    from chatcli.environment import Clock

SILENT_RETRIES = 1
"""A server that accepted the request but said nothing for ``timeout`` seconds is retried this
often: more would make one silent server cost ``max_retries`` times the timeout."""
FINISH_GRACE = 1.0
"""Seconds (at most ``timeout``) a stream whose answer is finished, its finish reason come,
waits each time for what may follow (its usage, ``[DONE]``): a server that then neither ends
the stream nor closes the connection costs no more than that."""


class HTTPSettings(Protocol):
    """What the transport reads of a profile (``settings.loading.Profile`` is one): passed
    whole, never copied field by field, so a setting cannot be left behind on the way."""

    @property
    def timeout(self) -> float: ...
    @property
    def max_retries(self) -> int: ...
    @property
    def max_retry_wait(self) -> float: ...
    @property
    def proxy(self) -> str | None: ...


class Transport:
    """One lazily created httpx2 client plus the retry/SSE logic shared by every provider."""

    def __init__(
        self,
        settings: HTTPSettings,
        clock: Clock,
        *,
        debug: bool = False,
        secrets: tuple[str, ...] = (),
    ) -> None:
        """``clock``: the command's, for retry waits; ``secrets`` are scrubbed from anything
        printed (``--debug`` lines, error bodies)."""
        self.settings = settings
        self.clock = clock
        self.debug = debug
        self.secrets = secrets
        self._client: httpx2.Client | None = None
        self._tls = True
        self.cutoff = Cutoff()  # shared with the SDK clients of the same provider
        self.renew: Callable[[], dict[str, str] | None] | None = None
        """The endpoint's ``renew``: on a 401, the auth headers of a credential fetched again
        (an Azure Entra token), put in the request's headers and sent once more."""

    def client(self, url: str) -> httpx2.Client:
        """Create the client on first use; plain-http endpoints skip loading CA certificates."""
        if self._client is None:
            s = self.settings
            needs_tls = url.startswith("https:") or bool(s.proxy and s.proxy.startswith("https:"))
            self._client = clients.build(s, verify=needs_tls, cutoff=self.cutoff)
        return self._client

    def close(self) -> None:
        """Close the connections. A cut transport stays cut: a worker still ending after
        Ctrl-C must not open a new client and wait on the server."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def abort(self) -> None:
        """Fail every request of this transport now, from any thread (``Cutoff``)."""
        self.cutoff.cut()

    def _wait(self, delay: float, why: str, attempt: int) -> Iterator[Notice]:
        """``countdown`` before a retry, cut short by ``abort``."""
        for notice in countdown(delay, why, attempt, self.clock):
            self.cutoff.check()
            yield notice

    # -- debugging --------------------------------------------------------------------------

    def _debug(self, line: str) -> None:
        """The one writer of the ``--debug`` trace: to the command's stderr through the
        output layer (``output.log_to``), with keys and pieces of keys masked (a stream is
        shown line by line, and a key spelt over two chunks lands in two lines)."""
        if self.debug:
            logging.getLogger("chatcli").warning(sanitize(redact_fragments(line, self.secrets)))

    def _debug_request(self, request: httpx2.Request) -> None:
        if not self.debug:
            return
        self._debug(f"> {request.method} {request.url}")
        for name, value in request.headers.items():
            secret = name.lower() in ("authorization", "api-key", "x-api-key")
            self._debug(f"> {name}: {redact_key(value) if secret else value}")
        if request.url.userinfo and "authorization" not in request.headers:  # clients.build's
            self._debug("> authorization: Basic **** (the URL's USER:PASS@)")
        if not request.headers.get("content-type", "").startswith("multipart/") and (
            request.content and len(request.content) < 4000
        ):
            self._debug(f"> {request.content.decode('utf-8', 'replace')}")

    # -- requests ---------------------------------------------------------------------------

    def open(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        json_body: Any = None,
        on_status: Callable[[int, str], bool] | None = None,
        files: Callable[[], dict[str, Any]] | None = None,
        data: dict[str, str] | None = None,
    ) -> Iterator[Notice | httpx2.Response]:
        """Send a request with retries; yield countdown notices, then the open 2xx response.

        ``files`` (a multipart upload, with ``data`` as its plain fields) is a callable giving
        fresh file objects, so a retry re-sends the file from its start.

        ``on_status(status, body)`` may return True to ask for one immediate re-send (used for
        the stream_options fallback); the caller changes the body through a closure.
        """
        import httpx2

        client = self.client(url)
        s = self.settings
        attempt = 0
        silent = 0
        renewed = False
        while True:
            self.cutoff.check()
            body = json_body() if callable(json_body) else json_body
            request = client.build_request(
                method, url, headers=headers, json=body, files=files() if files else None,
                data=data,
            )  # fmt: skip
            self._debug_request(request)
            started = time.perf_counter()
            try:
                response = client.send(request, stream=True)
            except httpx2.ConnectTimeout:
                error: ChatcliError = connect_timeout(url, s.proxy, s.timeout)
            except httpx2.ProxyError as exc:
                from chatcli.providers.proxies import proxy_failure

                error, retryable = proxy_failure(url, s.proxy, exc)
                error.unsent = True  # the proxy did not pass it on
                if not retryable:
                    raise error from None  # credentials or a policy refused: the same again
            except httpx2.ConnectError as exc:
                error, retryable = connect_failure(url, s.proxy, exc, timeout=s.timeout)
                if not retryable:
                    raise error from None  # unknown host, refused certificate, wrong scheme
            except httpx2.TimeoutException as exc:
                error = silence(url, s.timeout, exc)
                silent += 1
                if silent > SILENT_RETRIES:
                    raise error from None
            except (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError) as exc:
                from chatcli.providers import schemes

                if schemes.speaks_tls(url, s.proxy, s.timeout):  # http:// on a TLS port
                    raise schemes.mismatch(url) from None
                error = NetworkError(f"connection to {_origin(url)} was reset: {reason_of(exc)}")
            except httpx2.UnsupportedProtocol as exc:
                error = ConfigError(f"cannot call {url}: {exc}")
                error.unsent = True
                raise error from None
            else:
                self._debug(
                    f"< {response.status_code} {response.reason_phrase} "
                    f"({(time.perf_counter() - started) * 1000:.0f} ms)"
                )
                for name, value in response.headers.items():
                    self._debug(f"< {name}: {value}")
                if response.status_code < 300:
                    yield response
                    return
                raw = _read_body(response, s.timeout)
                body = errorbody.parse(raw, response.headers.get("content-type"))
                body = errorbody.ErrorBody(redact(body.message), body.code, body.type)
                self._debug(f"< {body.message}")
                if on_status is not None and on_status(response.status_code, body.message):
                    continue
                if response.status_code == 401 and not renewed and self._renewed(headers):
                    renewed = True  # once: a fresh credential refused is refused
                    continue
                error, retryable = self._status_error(response, body)
                if retryable and attempt < s.max_retries:
                    asked = retry_after(response.headers, self.clock.time())
                    if asked is not None and asked > s.max_retry_wait:
                        error.message += f" (the server asked to wait {describe(asked)})"
                        error.hint = (
                            f"that is longer than max_retry_wait ({s.max_retry_wait:g} s); "
                            "try again later, or raise max_retry_wait in [defaults]"
                        )
                        raise error
                    delay = _backoff(attempt) if asked is None else asked
                    attempt += 1
                    yield from self._wait(
                        delay, f"{_short(error)}; retry {attempt}/{s.max_retries}", attempt
                    )
                    continue
                raise error
            self.cutoff.check()  # the connection failed because it was cut: no retry
            if attempt >= s.max_retries:
                raise error
            delay = _backoff(attempt)
            attempt += 1
            yield from self._wait(
                delay, f"{error.message}; retry {attempt}/{s.max_retries}", attempt
            )

    def _renewed(self, headers: dict[str, str]) -> bool:
        """Whether ``renew`` gave new auth headers; put into ``headers`` (the endpoint's own,
        so later requests send them too) and masked in what is shown."""
        fresh = self.renew() if self.renew is not None else None
        if not fresh:
            return False
        headers.update(fresh)
        self.secrets = (*self.secrets, *fresh.values())
        return True

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        json_body: Any = None,
        on_notice: Callable[[Notice], None] | None = None,
        files: Callable[[], dict[str, Any]] | None = None,
        data: dict[str, str] | None = None,
    ) -> httpx2.Response:
        """``open`` for callers that are not generators: notices (a retry's countdown) go to
        ``on_notice``, by default to stderr (``stderr_notice``), so no route waits out a
        ``Retry-After`` in silence; the caller closes the response."""
        on_notice = on_notice or stderr_notice
        response = None
        items = self.open(method, url, headers=headers, json_body=json_body, files=files, data=data)
        for item in items:
            if isinstance(item, Notice):
                on_notice(item)
            else:
                response = item
        assert response is not None
        return response

    def _status_error(
        self, response: httpx2.Response, body: errorbody.ErrorBody
    ) -> tuple[ChatcliError, bool]:
        """Turn a non-2xx answer into the right exception and whether a retry may help."""
        body = errorbody.ErrorBody(redact(body.message, self.secrets), body.code, body.type)
        if response.status_code in (301, 302, 303, 307, 308):
            return moved(response), False
        from chatcli.providers.proxies import own_answer, refusal

        url = str(response.request.url)
        json_body = "json" in (response.headers.get("content-type") or "")
        if own_answer(url, self.settings.proxy, response.status_code, response.headers, json_body):
            error, retryable = refusal(url, self.settings.proxy, response.status_code, body.message)
            error.unsent = True  # the proxy's own answer: the endpoint never saw the request
            return error, retryable
        return errorbody.classify(
            response.status_code,
            body,
            _origin(str(response.request.url)),
            one_line(response.request.url.path, 200),
            self.settings.proxy,
            profile=getattr(self.settings, "name", None),  # hints name [profiles.NAME]
        )

    def events(
        self,
        response: httpx2.Response,
        *,
        carries: Callable[[dict[str, Any]], bool] | None = None,
        finishes: Callable[[dict[str, Any]], bool] | None = None,
    ) -> SSEStream:
        """The JSON objects of an SSE body (``.done`` tells whether ``[DONE]`` came);
        transport failures, ``event: error`` and a body that is no stream become chatcli
        errors. ``carries(obj)``: whether an object is news for the silence watchdog (chat's
        chunks with empty ``choices`` and no usage are not); by default every one is.
        ``finishes(obj)``: whether an object says the answer is finished (chat's finish
        reason): after it the stream waits ``FINISH_GRACE`` for more, then ends there."""
        return SSEStream(self, response, carries=carries, finishes=finishes)

    def streamed(self, response: httpx2.Response) -> bool:
        """Whether the answer to a ``stream: true`` request is a server-sent-events body:
        any content type but JSON is, and so is a body labelled JSON whose start is SSE
        (``bodies.sse_start``), as relays that mislabel their streams send. The bytes looked
        at are given back (``bodies.peek``)."""
        import httpx2

        if "json" not in response.headers.get("content-type", "").lower():
            return True
        try:
            return bodies.sse_start(bodies.peek(response, grace=self.settings.timeout))
        except httpx2.TimeoutException:
            raise NetworkError(
                f"no response from {_origin(str(response.request.url))} within "
                f"{self.settings.timeout:g} s",
                hint="raise `timeout` in the config if the endpoint is slow",
            ) from None
        except (httpx2.RemoteProtocolError, httpx2.ReadError) as exc:
            raise NetworkError(f"the connection closed mid-response: {reason_of(exc)}") from None

    def read_json(
        self, response: httpx2.Response, *, limit: int = bodies.MAX_BODY, what: str = ""
    ) -> Any:
        """Read a whole JSON body (at most ``limit`` bytes decoded; keys masked in every
        string), mapping truncation and garbage to chatcli errors."""
        import httpx2

        where = _origin(str(response.request.url))
        try:
            raw = bodies.read(response, limit=limit, what=what or f"the response from {where}",
                              grace=self.settings.timeout)  # fmt: skip
        except httpx2.TimeoutException:
            raise NetworkError(
                f"the response from {where} did not arrive within {self.settings.timeout:g} s",
                hint="raise `timeout` in the config if the endpoint is slow",
            ) from None
        except (httpx2.RemoteProtocolError, httpx2.ReadError) as exc:
            raise NetworkError(f"the connection closed mid-response: {reason_of(exc)}") from None
        try:
            obj = bodies.scrub(_loads(raw))
        except (ValueError, RecursionError):
            raise APIError(
                f"malformed response from {where}: "
                f"{_preview(raw, response.headers.get('content-type'))}",
                hint="the endpoint is not answering like an OpenAI-compatible API",
            ) from None
        reported = errorbody.envelope(obj)  # a 200 that is an error, on every route
        if reported is not None:
            raise reported
        return obj


class SSEStream:
    """The JSON objects of one server-sent-events body, read through ``bodies`` (capped lines,
    keys masked) with a watchdog: ``timeout`` seconds without an event that carries something
    end it, however many keep-alive comments, stray bytes, empty events, named events that are
    not JSON objects (``event: ping`` / ``data: ping``) or objects ``carries`` calls empty
    arrive meanwhile. One leading U+FEFF (BOM) of the stream is ignored. Once an object
    ``finishes`` the answer, each wait for more is ``FINISH_GRACE`` at most, and a stream
    that then goes quiet, or breaks, has ended (its answer is complete): a server that sends
    no ``[DONE]`` and keeps the connection open does not turn a whole answer into a cut one."""

    def __init__(
        self,
        transport: Transport,
        response: httpx2.Response,
        *,
        carries: Callable[[dict[str, Any]], bool] | None = None,
        finishes: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        self._transport = transport
        self._response = response
        self._carries = carries or (lambda _obj: True)
        self._finishes = finishes or (lambda _obj: False)
        self.done = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        import httpx2

        from chatcli.providers import deadlines

        transport, response = self._transport, self._response
        timeout = transport.settings.timeout
        grace = min(FINISH_GRACE, timeout)
        last_data = time.monotonic()
        before: float | None = None  # last_data before the event being read began
        stray: list[str] = []  # the start of a body that is not SSE at all, to show it
        finished: float | None = None  # when the finished answer last asked for more
        tail = [b"\n"]  # the body's last byte: a line it ends inside was cut, not sent whole

        def watchdog() -> None:
            if finished is not None and time.monotonic() - finished > grace:
                raise _Ended  # only keep-alives after a finished answer
            if time.monotonic() - last_data > timeout:
                raise NetworkError(
                    f"the stream sent no data for more than {timeout:g} s (only keep-alives)",
                    hint="raise `timeout` in the config if the model thinks for long",
                )

        def tracked() -> Iterator[bytes]:
            for piece in bodies.chunks(
                response, limit=1 << 62, what="the stream", watchdog=watchdog
            ):
                tail[0] = piece[-1:] or tail[0]
                yield piece

        def lines() -> Iterator[str]:
            nonlocal last_data, before
            for n, line in enumerate(bodies.lines(tracked())):
                if n == 0:
                    line = line.removeprefix("\ufeff")
                if transport.debug:
                    transport._debug(f"< {line}")
                if line.startswith("data:"):
                    if line[5:].strip():  # news until its event proves empty (see below)
                        before = last_data if before is None else before
                        last_data = time.monotonic()
                elif (
                    line
                    and not line.startswith((":", "event:", "id:", "retry:"))
                    and sum(map(len, stray)) < 2000
                ):
                    stray.append(line)
                watchdog()
                yield line

        count = 0
        try:
            for event, payload in sse_events(lines()):
                if payload.strip() == "[DONE]":
                    self.done = True
                    return
                if event == "error":
                    message = errorbody.parse_text(payload).message
                    raise APIError(f"the endpoint reported an error mid-stream: {message}")
                try:
                    obj = _parse_chunk(payload, event)
                except APIError:
                    if tail[0] in (b"\n", b"\r"):
                        raise
                    if finished is not None:  # trailing bytes after a finished answer
                        return
                    raise _cut_mid_line() from None
                if obj is None or not self._carries(obj):
                    last_data = before if before is not None else last_data
                before = None
                if obj is not None:
                    count += 1
                    ends = finished is not None or self._finishes(obj)
                    yield obj
                    if ends:  # each read from now on waits ``grace`` at most
                        finished = time.monotonic()
                        deadlines.until(response, grace)
        except _Ended:
            return
        except httpx2.ReadTimeout:
            if finished is not None:
                return  # nothing more after the finished answer: it is complete
            raise NetworkError(
                f"the stream went silent for more than {timeout:g} s",
                hint="raise `timeout` in the config if the model thinks for long",
            ) from None
        except (httpx2.RemoteProtocolError, httpx2.ReadError) as exc:
            if finished is not None:
                return
            raise NetworkError(
                f"the connection closed before the answer was complete: {reason_of(exc)}"
            ) from None
        except httpx2.TimeoutException:
            raise NetworkError(f"the stream timed out after {timeout:g} s") from None
        finally:
            if finished is not None:  # the connection may serve another request
                deadlines.until(response, None)
        if count == 0 and stray:
            text = errorbody.parse_text("\n".join(stray)).message
            raise APIError(
                f"the endpoint answered without a stream: {text}",
                hint="the endpoint is not streaming like an OpenAI-compatible API",
            )


class _Ended(Exception):
    """A finished answer's stream sent only keep-alives for its grace: it ends there."""


def _cut_mid_line() -> NetworkError:
    """A stream whose body ended inside its last line (``data: {"id": "c1", "obj``): the
    connection dropped there, as the SSE standard reads it (an unterminated event is never
    dispatched), so it is a cut stream (exit 6), not a malformed chunk (exit 5)."""
    return NetworkError(
        "the stream ended before the answer was complete (the connection closed in the "
        "middle of an event)",
        hint="the endpoint closed the connection early; try again",
    )


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """``(event name, data)`` of each event of a server-sent-events stream.

    Multi-line data fields are joined with newlines; comments (``: keep-alive``) and ``id:``
    fields are skipped; the event name is ``message`` unless an ``event:`` field names it; a
    last event without its blank line still counts (a body that ends inside its last line
    was cut: ``SSEStream`` makes that a cut stream when its data is not whole); an event
    whose data is empty (``data:`` alone) is not dispatched, as the SSE standard says.
    """
    data: list[str] = []
    event = "message"
    for line in lines:
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
            continue
        if line.startswith("event:"):
            event = line[6:].strip() or "message"
            continue
        if line or not data:
            if not line:
                event = "message"
            continue
        if data != [""]:
            yield event, "\n".join(data)
        data = []
        event = "message"
    if data and data != [""]:
        yield event, "\n".join(data)


def sse_payloads(lines: Iterable[str]) -> Iterator[str]:
    """The ``data:`` payloads of a server-sent-events stream, up to ``[DONE]``."""
    for _event, payload in sse_events(lines):
        if payload.strip() == "[DONE]":
            return
        yield payload


def _loads(raw: bytes) -> Any:
    """A whole JSON body; bytes that are not UTF-8 (a relay cutting a character) become
    U+FFFD, as in a stream, instead of losing the answer (``json.loads`` of bytes refuses
    them; UTF-16 and UTF-32 bodies, which it detects, are still read as such)."""
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        return json.loads(raw.decode("utf-8", "replace"))


def _parse_chunk(payload: str, event: str = "message") -> dict[str, Any] | None:
    """The JSON object of one event; None for a keep-alive: an event named other than
    ``message`` whose data is not a JSON object (``event: ping`` with ``data: ping``).
    Unnamed data that is not an object is a malformed chunk."""
    try:
        obj = bodies.scrub(json.loads(payload))
    except (ValueError, RecursionError):
        if event != "message":
            return None
        raise APIError(
            f"malformed stream chunk: {one_line(payload, 120)!r}",
            hint="the endpoint is not streaming like an OpenAI-compatible API",
        ) from None
    if not isinstance(obj, dict):
        if event != "message":
            return None
        raise APIError(f"malformed stream chunk: {one_line(payload, 120)!r}")
    if isinstance(obj.get("error"), dict | str):
        message = errorbody.parse_text(payload).message
        raise APIError(f"the endpoint reported an error mid-stream: {message}")
    return obj


def moved(response: httpx2.Response) -> ChatcliError:
    """A redirect from the API, on any route: name where it points (a moved relay, http ->
    https); it is not followed."""
    status = response.status_code
    where = _origin(str(response.request.url))
    location = one_line(redact(response.headers.get("location", "")), 300)
    target = f" to {location}" if location else " (no Location given)"
    return APIError(
        f"{where} answered {status}, redirecting {one_line(response.request.url.path, 200)}"
        f"{target}",
        hint="point base_url at the new address (chatcli does not follow redirects of API "
        "requests: the key would go along)",
        status=status,
    )


def _preview(raw: bytes, content_type: str | None) -> str:
    """A short, terminal-safe look at a body that is not JSON."""
    summary = summarize_bytes(raw, content_type)
    if summary is not None:
        return summary
    text = raw[:4000].decode("utf-8", "replace")
    if text.lstrip().startswith("<"):
        return errorbody.parse_text(text).message
    return repr(one_line(text, 120))


def silence(url: str, timeout: float, exc: Exception) -> NetworkError:
    """The error for a request that timed out waiting for its response: a silent server, or
    one that began its response head and dripped the rest (``deadlines.SlowHead``)."""
    from chatcli.providers.deadlines import slow_head

    if slow_head(exc):
        return NetworkError(
            f"{_origin(url)} sent its response headers too slowly (not complete "
            f"{timeout:g} s after they began)",
            hint="a server or proxy is dripping its headers; raise `timeout` in the config "
            "if the link is really that slow",
        )
    return NetworkError(
        f"no response from {_origin(url)} within {timeout:g} s",
        hint="raise `timeout` in the config if the endpoint is slow",
    )


def _read_body(response: httpx2.Response, grace: float) -> bytes:
    """The start of an error body (keys masked later, on its parsed message); "" when it
    cannot be read, or not in time (``bodies``: a body that trickles in)."""
    try:
        return bodies.read(response, limit=bodies.MAX_ERROR_BODY, strict=False, grace=grace)
    except Exception:
        return b""
    finally:
        response.close()


def countdown(delay: float, why: str, attempt: int, clock: Clock) -> Iterator[Notice]:
    """Sleep ``delay`` seconds on ``clock``, yielding a notice per second for a live countdown
    on stderr.

    Each retry has its own notice key, so off a terminal every retry prints one line (with the
    real wait), and on one the countdown updates in place. The clock is the command's
    environment's, so tests do not wait.
    """
    end = clock.monotonic() + delay
    first = True
    while True:
        left = end - clock.monotonic()
        if left <= 0 and not first:
            return
        shown = describe(max(0.0, left)) if first else f"{math.ceil(left)} s"
        first = False
        yield Notice(f"{why}; retrying in {shown}", key=f"retry-{attempt}")
        if left <= 0:
            return
        clock.sleep(min(1.0, left))


def stderr_notice(notice: Notice) -> None:
    """The notice handler of every route that has no event stream of its own (model lists,
    billing, batches, uploads): to the command's stderr through the ``chatcli`` logger, which
    ``output.log_to`` shows (a retry countdown updated in place on a terminal)."""
    logging.getLogger("chatcli").warning(notice.message, extra={"notice": notice})


def _short(error: ChatcliError) -> str:
    return error.message.split(": ", 1)[0] if len(error.message) > 80 else error.message


def reason_of(exc: Exception) -> str:
    """A connection failure's reason in a few words (the chat transport's and ``sdk``'s)."""
    text = str(exc) or type(exc).__name__
    if "Connection refused" in text or "[Errno 111]" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "host name not found"
    said = _OPENSSL.fullmatch(text.splitlines()[0])
    if said is not None:  # "[SSL: CODE] words (_ssl.c:1006)": OpenSSL's words alone
        return f"the TLS handshake failed: {said[1]}"
    return text.splitlines()[0][:200]


_OPENSSL = re.compile(r"\[SSL(?:: \w+)?\] (.{1,200}?)(?: \(_ssl\.c:\d+\))?")
"""How Python words an OpenSSL error (``[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in
violation of protocol (_ssl.c:1006)``)."""


def tls_failure(exc: BaseException) -> str | None:
    """Why the TLS handshake refused the server's certificate (``self-signed certificate``,
    ``IP address mismatch ...``), when that is what ``exc`` is; else None."""
    import ssl

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return one_line(str(current.verify_message or "certificate verify failed"), 200)
        current = current.__cause__ or current.__context__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        reason = text.split("certificate verify failed", 1)[-1].lstrip(": ")
        return one_line(reason.split(" (_ssl.c", 1)[0] or "certificate verify failed", 200)
    return None


TLS_HINT = (
    "the server's certificate is not trusted (a private CA, or a company proxy that re-signs "
    "TLS): point SSL_CERT_FILE (or SSL_CERT_DIR) at the CA certificates to trust, and check "
    "that the URL names the host the certificate is for"
)


def connect_failure(
    url: str,
    proxy: str | None,
    exc: Exception,
    *,
    words: str = "cannot connect to",
    timeout: float = 10.0,
) -> tuple[NetworkError, bool]:
    """The error for a failed connection to ``url`` (every route's: chat, SDK uploads; the
    message starts with ``words``, then names the endpoint) and whether a retry may help: a
    refused certificate, a host name DNS does not know or an https URL on a port that speaks
    plain HTTP (``schemes``; ``timeout`` bounds its probe) will not fix itself; a refused or
    reset connection may. The request never reached the endpoint (``unsent``)."""
    from chatcli.providers import schemes

    where = _origin(url)
    tls = tls_failure(exc)
    if tls is not None:
        error = NetworkError(f"{words} {where}: its TLS certificate was refused ({tls})",
                             hint=TLS_HINT)  # fmt: skip
        error.unsent = True
        return error, False
    if schemes.plain_http(url, proxy, exc, timeout):
        return schemes.mismatch(url, words), False
    reason = reason_of(exc)
    error = via_proxy(url, proxy, reason) or NetworkError(
        f"{words} {where}: {reason}", hint=_network_hint(proxy, tls="TLS handshake" in reason)
    )
    error.unsent = True
    return error, reason != "host name not found"


def connect_timeout(url: str, proxy: str | None, timeout: float) -> NetworkError:
    """The error for a connection to ``url`` (or its proxy) not made within ``timeout``
    seconds (every route's): nothing was sent."""
    error = via_proxy(url, proxy, "timed out") or NetworkError(
        f"timed out connecting to {_origin(url)} after {timeout:g} s", hint=_network_hint(proxy)
    )
    error.unsent = True
    return error


def via_proxy(url: str, proxy: str | None, reason: str) -> NetworkError | None:
    """A failure to connect to the proxy ``url`` goes through, named as the proxy's."""
    from chatcli.providers.proxies import proxy_for

    via = proxy_for(url, proxy)
    if via is None:
        return None
    hint = "check that the proxy is running"
    if via.source.startswith("from the environment"):
        name = via.source.rsplit(" ", 1)[-1]
        hint += f", or unset {name} (or list the host in NO_PROXY) to connect directly"
    error = NetworkError(f"cannot connect to {via.describe()}: {reason}", hint=hint)
    error.unsent = True  # the endpoint was never tried
    return error


def _network_hint(proxy: str | None, *, tls: bool = False) -> str:
    if proxy:
        return f"check that the proxy {proxy} is running and the endpoint URL is right"
    if tls:  # a handshake that failed otherwise than on the certificate
        return (
            "check that the server speaks TLS on this port (if it speaks plain HTTP, use "
            "http://) and your connection"
        )
    return "check the URL and your connection; set `proxy` in the profile if you need one"
