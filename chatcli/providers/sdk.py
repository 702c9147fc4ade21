"""Clients of the official openai SDK, for the routes the lean chat transport does not cover.

Images (and audio) send multipart uploads and binary bodies that the SDK already handles well, so
those commands use it; chat does not (see ``transport``: the SDK's import costs about a second).
``http_client`` builds the httpx2 client under the SDK (``clients.build``: the proxy and timeout
every client has); ``client`` asks the endpoint's own module for the SDK client of a model
(``ChatEndpoint.sdk_client``: base URL or Azure deployment, auth, headers); ``call`` retries
like the chat transport; ``errors`` turns SDK and httpx2 exceptions into ``chatcli.errors`` with
the key redacted (a dead proxy named as the proxy, as the chat transport names it); ``answer``
checks a 200's body before a route reads it, since the SDK hands over whatever came (a login
page as the images "response", an HTML page as the audio bytes). The caller keeps the httpx2
client for downloads of returned URLs. The SDK and httpx2 are imported inside the functions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from chatcli.environment import Clock
from chatcli.errors import APIError, ChatcliError, NetworkError
from chatcli.events import Notice
from chatcli.providers import bodies, clients, errorbody, shapes
from chatcli.providers.endpoint import ChatEndpoint
from chatcli.providers.waits import backoff, describe, retry_after
from chatcli.safetext import one_line, redact_fragments, sanitize, summarize_bytes
from chatcli.settings.keys import redact
from chatcli.settings.loading import Profile

if TYPE_CHECKING:
    import httpx2
    import openai
    from openai._legacy_response import LegacyAPIResponse

    from chatcli.providers.cutoff import Cutoff


def client(endpoint: ChatEndpoint, model: str, http: httpx2.Client) -> openai.OpenAI:
    """The SDK client for ``model``'s routes over ``http``, as the endpoint's type builds it
    (Azure's is bound to the model's deployment), with the endpoint's headers."""
    if endpoint.sdk_client is None:
        raise APIError(f"{endpoint.label} offers no audio, speech or image routes")
    return endpoint.sdk_client(model, http, {"User-Agent": clients.USER_AGENT, **endpoint.headers})


def http_client(
    profile: Profile,
    key: str,
    *,
    debug: bool = False,
    limit: int = bodies.MAX_BODY,
    cutoff: Cutoff | None = None,
) -> httpx2.Client:
    """The httpx2 client under the SDK (and for downloads): proxy, the profile's ``timeout``
    (connect, and the longest a response may stay silent: raise it for slow image models),
    ``--debug`` lines, every body capped at ``limit`` bytes after decompression, and the
    provider's ``cutoff``."""
    import openai

    def bound(response: httpx2.Response) -> None:
        bodies.bound_sdk_response(response, limit, grace=profile.timeout)

    hooks: dict[str, list[Any]] = {"response": [bound]}
    if debug:

        def show_request(request: httpx2.Request) -> None:
            _debug(f"> {request.method} {request.url}", key)

        def show_response(response: httpx2.Response) -> None:
            _debug(f"< {response.status_code} {response.reason_phrase} {response.url}", key)

        hooks = {"request": [show_request], "response": [show_response, bound]}
    # API requests never follow a redirect, as on chat (the key would go along: ``moved``);
    # downloads of returned URLs ask for it per request
    return clients.build(
        profile, factory=openai.DefaultHttpxClient, event_hooks=hooks, cutoff=cutoff
    )


def _debug(line: str, key: str) -> None:
    """A ``--debug`` line of the SDK routes, masked as the transport's (``redact_fragments``)."""
    logging.getLogger("chatcli").warning(sanitize(redact_fragments(line, (key,))))


T = TypeVar("T")


def call(
    fn: Callable[[], T],
    profile: Profile,
    key: str | None,
    clock: Clock,
    on_notice: Callable[[Notice], None] | None = None,
    cutoff: Cutoff | None = None,
    renew: Callable[[], dict[str, str] | None] | None = None,
) -> T:
    """``fn()`` (one SDK request) with the profile's retry policy, the one the chat transport
    follows: ``max_retries`` for 429, 5xx and dropped connections, ``Retry-After`` honoured up
    to ``max_retry_wait`` (longer: fail at once, saying so), a silent server retried once; SDK
    and httpx2 failures come out as ``chatcli.errors``. Once ``cutoff`` is cut (Ctrl-C) the
    failure it caused is ``Interrupted``, and no retry or wait follows. ``renew``: the
    endpoint's, asked once on a 401 (an Entra token fetched again; the client reads it)."""
    import httpx2
    import openai

    from chatcli.providers.transport import SILENT_RETRIES, countdown, stderr_notice

    notify = on_notice or stderr_notice
    attempt = silent = 0
    renewed = False
    while True:
        try:
            return fn()
        except (openai.OpenAIError, httpx2.HTTPError) as exc:
            if cutoff is not None:
                cutoff.check()
            refused = isinstance(exc, openai.AuthenticationError)  # a 401
            if refused and renew is not None and not renewed and renew():
                renewed = True
                continue
            error, retryable = _translate(exc, key, profile.proxy, profile.name,
                                          timeout=profile.timeout)  # fmt: skip
            if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
                silent += 1
                retryable = silent <= SILENT_RETRIES
            if not retryable or attempt >= profile.max_retries:
                raise error from None
            response = getattr(exc, "response", None)
            asked = retry_after(response.headers, clock.time()) if response is not None else None
            if asked is not None and asked > profile.max_retry_wait:
                error.message += f" (the server asked to wait {describe(asked)})"
                error.hint = (
                    f"that is longer than max_retry_wait ({profile.max_retry_wait:g} s); "
                    "try again later, or raise max_retry_wait in [defaults]"
                )
                raise error from None
            delay = backoff(attempt) if asked is None else asked
            attempt += 1
            why = f"{one_line(error.message, 80)}; retry {attempt}/{profile.max_retries}"
            for notice in countdown(delay, why, attempt, clock):
                if cutoff is not None:
                    cutoff.check()
                notify(notice)


@contextmanager
def errors(key: str | None = None, proxy: str | None = None) -> Iterator[None]:
    """Turn SDK and httpx2 failures raised inside the block into ``chatcli.errors``
    (``proxy``: the profile's, named when it cannot be reached)."""
    import httpx2
    import openai

    try:
        yield
    except (openai.OpenAIError, httpx2.HTTPError) as exc:
        raise translate(exc, key, proxy) from None


def translate(exc: Exception, key: str | None = None, proxy: str | None = None) -> ChatcliError:
    """The ``chatcli.errors`` exception for an SDK or httpx2 failure, key redacted."""
    return _translate(exc, key, proxy)[0]


def _translate(
    exc: Exception,
    key: str | None,
    proxy: str | None = None,
    profile: str | None = None,
    *,
    timeout: float | None = None,
) -> tuple[ChatcliError, bool]:
    """``translate``, and whether a retry may help; ``timeout``: the profile's, which a
    timeout's message names (as the chat transport's do)."""
    import httpx2
    import openai

    secrets = (key,) if key else ()
    via = _dead_proxy(exc, proxy)
    if via is not None:
        return via, True
    if isinstance(exc, openai.APIStatusError):
        body = _body(exc)
        body = errorbody.ErrorBody(redact(body.message, secrets), body.code, body.type)
        if 300 <= exc.response.status_code < 400:  # not followed: the key would go along
            from chatcli.providers.transport import moved

            return moved(exc.response), False
        error, retryable = errorbody.classify(
            exc.response.status_code,
            body,
            shapes.origin(str(exc.request.url)),
            one_line(exc.request.url.path, 200),
            profile=profile,
        )
        return error, retryable
    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        return _timed_out(exc, proxy, timeout), True
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
        cause = exc.__cause__ or exc
        if isinstance(cause, ChatcliError):  # a body refused by ``bodies`` (too large)
            return cause, False
        if isinstance(cause, httpx2.RemoteProtocolError | httpx2.ReadError):  # reached, then cut
            from chatcli.providers import schemes

            url = _url_of(exc) or _url_of(cause)
            if url is not None and schemes.speaks_tls(url, proxy, timeout or 10.0):
                return schemes.mismatch(url, "cannot reach the endpoint at"), False
            where = shapes.origin(url) if url is not None else "the endpoint"
            return NetworkError(
                redact(one_line(f"the connection to {where} closed mid-response: {cause}"),
                       secrets),
                hint="try again; if it keeps happening, the endpoint or a proxy is cutting it",
            ), True  # fmt: skip
        url = _url_of(exc) or _url_of(cause)
        if isinstance(cause, httpx2.ProxyError) and url is not None:
            from chatcli.providers.proxies import proxy_failure

            error, retryable = proxy_failure(url, proxy, cause)  # as the chat transport says it
            error.unsent = True
            return error, retryable
        if isinstance(cause, httpx2.ConnectError) and url is not None:
            from chatcli.providers.transport import connect_failure

            error, retryable = connect_failure(
                url, proxy, cause, words="cannot reach the endpoint at", timeout=timeout or 10.0
            )
            error.message = redact(error.message, secrets)
            return error, retryable
        where = f" at {shapes.origin(url)}" if url is not None else ""
        return NetworkError(
            redact(one_line(f"cannot reach the endpoint{where}: {cause}"), secrets),
            hint="check the URL, the proxy and your connection",
        ), True
    if isinstance(exc, openai.APIResponseValidationError):
        return APIError(
            "malformed response: not what an OpenAI-compatible API sends",
            hint="the endpoint is not answering like an OpenAI-compatible API",
        ), False
    return APIError(redact(one_line(str(exc)), secrets)), False


def _timed_out(exc: Exception, proxy: str | None, timeout: float | None) -> NetworkError:
    """A request that timed out, in the chat transport's words (``connect_timeout``,
    ``silence``): the endpoint named, and the seconds when the profile's are known."""
    import httpx2

    from chatcli.providers import transport
    from chatcli.providers.deadlines import slow_head

    cause = exc.__cause__ if isinstance(exc.__cause__, httpx2.TimeoutException) else exc
    url = _url_of(exc) or _url_of(cause)
    if url is not None and timeout is not None:
        if isinstance(cause, httpx2.ConnectTimeout):
            return transport.connect_timeout(url, proxy, timeout)
        return transport.silence(url, timeout, exc)
    where = shapes.origin(url) if url is not None else "the endpoint"
    if slow_head(exc):  # a head begun and dripped: retried as a silent server is
        return NetworkError(
            f"{where} sent its response headers too slowly",
            hint="a server or proxy is dripping its headers; raise `timeout` in the "
            "config if the link is really that slow",
        )
    return NetworkError(
        f"no response from {where} within the time allowed",
        hint="raise `timeout` in the config if the endpoint is slow",
    )


def _url_of(exc: BaseException) -> str | None:
    """The URL of the request an SDK or httpx2 error is about (None: raised without one)."""
    try:
        request = getattr(exc, "request", None)
        return str(request.url) if request is not None else None
    except (RuntimeError, AttributeError):  # httpx2's ``request`` property raises when unset
        return None


def _dead_proxy(exc: Exception, proxy: str | None) -> NetworkError | None:
    """A failure to connect while a proxy (the profile's ``proxy`` or the environment's) is
    in the way, named as the proxy's, in the chat transport's words: the endpoint itself was
    never tried, so "cannot reach the endpoint" would send the user to the wrong place."""
    import httpx2

    from chatcli.providers.transport import reason_of, via_proxy

    cause = exc.__cause__ if isinstance(exc.__cause__, httpx2.HTTPError) else exc
    if not isinstance(cause, httpx2.ConnectError | httpx2.ConnectTimeout):
        return None
    from chatcli.providers.transport import tls_failure

    if tls_failure(cause) is not None:  # the endpoint's certificate: ``connect_failure``
        return None
    try:
        url = str(cause.request.url)
    except RuntimeError:  # an httpx2 error raised without its request
        return None
    reason = "timed out" if isinstance(cause, httpx2.ConnectTimeout) else reason_of(cause)
    return via_proxy(url, proxy, reason)


PAGES = ("text/html", "application/xhtml+xml")
"""Content types of a web page: a login page, a captive portal or a wrong ``base_url`` answering
200, never an API's answer on any route."""
_HINT = "the endpoint is not answering like an OpenAI-compatible API"


@dataclass(frozen=True)
class Answer:
    """One SDK answer whose body passed ``answer``'s checks, for the route to read."""

    response: httpx2.Response
    what: str  # "speech answer", "images answer" ...

    @property
    def body(self) -> bytes:
        return self.response.content

    @property
    def text(self) -> str:
        return self.response.text

    @property
    def media(self) -> str:
        """The media type, lower case, without parameters ("" when the server sent none)."""
        return _media(self.response)

    @property
    def is_json(self) -> bool:
        return self.media == "application/json" or self.media.endswith("+json")

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object: every OpenAI JSON answer is one, so anything else (not
        JSON, an array, a bare string) is a malformed answer (exit 5), as in chat."""
        try:
            value = json.loads(self.body)
        except (ValueError, RecursionError):
            value = None
        if not isinstance(value, dict):
            where, said = _where(self.response), _said(self.response)
            raise APIError(f"malformed {self.what} from {where}: {said}", hint=_HINT)
        return value


def answer(
    raw: LegacyAPIResponse[Any],
    what: str,
    expected: str,
    *,
    refuse: tuple[str, ...] = PAGES,
    empty: bool = False,
) -> Answer:
    """The body of a 200 (``with_raw_response``) once it can be the ``expected`` answer:
    refused (``APIError``, exit 5) when its content type is one of ``refuse`` (``text/``
    matches every text type, ``+json`` every JSON one), or when it is empty and ``empty`` is
    not allowed; and whatever its type, a JSON error envelope (``{"error": ...}``) is the
    error it reports. Every SDK route checks its answers here, before parsing or writing
    anything, so a relay's login page or error object is never an image, a sound file or a
    transcript."""
    response = raw.http_response
    media = _media(response)
    if any(_matches(media, pattern) for pattern in refuse):
        where, said = _where(response), _said(response)
        raise APIError(f"the {what} from {where} is not {expected} ({media}): {said}", hint=_HINT)
    if not empty and not response.content:
        raise APIError(f"the {what} from {_where(response)} is empty", hint=_HINT)
    reported = _reported(response.content)
    if reported is not None:  # ``{"error": ...}`` sent with 200, whatever its content type
        raise reported
    return Answer(response, what)


def _reported(raw: bytes) -> APIError | None:
    """The error of a body that is a JSON error envelope (``errorbody.envelope``), as the
    chat transport reads it (keys masked); None for anything else, audio and images
    included (they never start with ``{``)."""
    if len(raw) > bodies.MAX_BODY or raw[:64].lstrip()[:1] != b"{":
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return errorbody.envelope(bodies.scrub(value))


def _matches(media: str, pattern: str) -> bool:
    if pattern.endswith("/"):
        return media.startswith(pattern)
    if pattern.startswith("+"):
        return media.endswith(pattern)
    return media == pattern


def _media(response: httpx2.Response) -> str:
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _where(response: httpx2.Response) -> str:
    return shapes.origin(str(response.request.url))


def _said(response: httpx2.Response) -> str:
    """What a refused body says, in one line: an HTML page's title and text, an error
    object's message, the start of other text, or the size and type of binary data."""
    raw = response.content
    summary = summarize_bytes(raw, _media(response))
    if summary is not None:
        return summary
    text = " ".join(raw[:4000].decode("utf-8", "replace").split())
    if not text:
        return "an empty body"
    if text.startswith("<"):
        return redact(errorbody.html_text(text)) or "an HTML page"
    return redact(one_line(errorbody.parse_text(text).message, 160))


def _body(exc: openai.APIStatusError) -> errorbody.ErrorBody:
    """The parsed error body (binary bodies summarised), whatever its shape."""
    response = exc.response
    try:
        raw = response.read()
    except Exception:
        return errorbody.ErrorBody(errorbody.clean(redact(exc.message)))
    return errorbody.parse(raw, response.headers.get("content-type"))
