"""The lean HTTP transport every chat request goes through: httpx2, a small SSE reader, retries.

Why not the openai SDK here: importing it costs about a second, more than the rest of ``ask``
together, and its retry/timeout defaults are not ours. This module owns them instead (SPEC §2):
``timeout`` is the connect timeout and the longest silence allowed between stream chunks;
``max_retries`` covers 429, 5xx and connection resets with exponential backoff, honouring
``Retry-After`` with a countdown; ``insufficient_quota`` fails at once. Every httpx2 failure is
translated into ``chatcli.errors`` here and nowhere else. httpx2 itself is imported lazily.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from chatcli.errors import APIError, AuthError, ChatcliError, ConfigError, NetworkError
from chatcli.events import Notice
from chatcli.settings.keys import redact, redact_key

if TYPE_CHECKING:
    import httpx2

RETRYABLE = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})
MAX_BACKOFF = 20.0


@dataclass
class HTTPSettings:
    """How to reach one endpoint. ``secrets`` are scrubbed from anything we print."""

    timeout: float = 60.0
    max_retries: int = 3
    proxy: str | None = None
    debug: bool = False
    secrets: tuple[str, ...] = field(default=(), repr=False)


def proxy_error(exc: ImportError | ValueError, proxy: str | None) -> Exception:
    """What a client that cannot be built for ``proxy`` should raise (SOCKS without socksio)."""
    if isinstance(exc, ImportError):
        if "socksio" not in str(exc):
            return exc
        return ConfigError(
            f"proxy {proxy} is a SOCKS proxy, but SOCKS support is not installed",
            hint="pip install 'chatcli[socks]' (it adds the socksio package)",
        )
    return ConfigError(f"cannot use proxy {proxy!r}: {exc}")


class Transport:
    """One lazily created httpx2 client plus the retry/SSE logic shared by every provider."""

    def __init__(self, settings: HTTPSettings) -> None:
        self.settings = settings
        self._client: httpx2.Client | None = None
        self._tls = True

    def client(self, url: str) -> httpx2.Client:
        """Create the client on first use; plain-http endpoints skip loading CA certificates."""
        if self._client is None:
            import httpx2

            s = self.settings
            needs_tls = url.startswith("https:") or bool(s.proxy and s.proxy.startswith("https:"))
            timeout = httpx2.Timeout(s.timeout, connect=s.timeout, read=s.timeout)
            try:
                self._client = httpx2.Client(
                    timeout=timeout,
                    proxy=s.proxy,
                    verify=needs_tls,
                    follow_redirects=False,
                )
            except (ImportError, ValueError) as exc:
                raise proxy_error(exc, s.proxy) from None
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- debugging --------------------------------------------------------------------------

    def _debug(self, line: str) -> None:
        if self.settings.debug:
            print(redact(line, self.settings.secrets), file=sys.stderr, flush=True)

    def _debug_request(self, request: httpx2.Request) -> None:
        if not self.settings.debug:
            return
        self._debug(f"> {request.method} {request.url}")
        for name, value in request.headers.items():
            secret = name.lower() in ("authorization", "api-key", "x-api-key")
            self._debug(f"> {name}: {redact_key(value) if secret else value}")
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
        while True:
            body = json_body() if callable(json_body) else json_body
            request = client.build_request(
                method, url, headers=headers, json=body, files=files() if files else None, data=data
            )
            self._debug_request(request)
            started = time.perf_counter()
            try:
                response = client.send(request, stream=True)
            except httpx2.ConnectTimeout:
                error: ChatcliError = NetworkError(
                    f"timed out connecting to {_origin(url)} after {s.timeout:g} s",
                    hint=_network_hint(s.proxy),
                )
            except httpx2.ProxyError as exc:
                error = NetworkError(f"proxy {s.proxy} failed: {exc}", hint="check the proxy")
            except httpx2.ConnectError as exc:
                reason = _reason(exc)
                error = NetworkError(
                    f"cannot connect to {_origin(url)}: {reason}", hint=_network_hint(s.proxy)
                )
                if reason == "host name not found":
                    raise error from None  # retrying will not make DNS know the name
            except httpx2.TimeoutException:
                error = NetworkError(
                    f"no response from {_origin(url)} within {s.timeout:g} s",
                    hint="raise `timeout` in the config if the endpoint is slow",
                )
            except (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError) as exc:
                error = NetworkError(f"connection to {_origin(url)} was reset: {_reason(exc)}")
            except httpx2.UnsupportedProtocol as exc:
                raise ConfigError(f"cannot call {url}: {exc}") from None
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
                text = _read_text(response)
                self._debug(f"< {text[:2000]}")
                if on_status is not None and on_status(response.status_code, text):
                    continue
                error, retryable = self._status_error(response, text)
                if retryable and attempt < s.max_retries:
                    delay = _retry_after(response)
                    delay = _backoff(attempt) if delay is None else delay
                    attempt += 1
                    yield from _countdown(
                        delay, f"{_short(error)}; retry {attempt}/{s.max_retries}"
                    )
                    continue
                raise error
            if attempt >= s.max_retries:
                raise error
            delay = _backoff(attempt)
            attempt += 1
            yield from _countdown(delay, f"{error.message}; retry {attempt}/{s.max_retries}")

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        json_body: Any = None,
        on_notice: Callable[[Notice], None] = lambda _notice: None,
        files: Callable[[], dict[str, Any]] | None = None,
        data: dict[str, str] | None = None,
    ) -> httpx2.Response:
        """``open`` for callers that are not generators: notices go to ``on_notice``; the
        caller closes the response."""
        response = None
        items = self.open(method, url, headers=headers, json_body=json_body, files=files, data=data)
        for item in items:
            if isinstance(item, Notice):
                on_notice(item)
            else:
                response = item
        assert response is not None
        return response

    def _status_error(self, response: httpx2.Response, text: str) -> tuple[ChatcliError, bool]:
        """Turn a non-2xx answer into the right exception and whether a retry may help."""
        status = response.status_code
        message, code = _error_message(text)
        message = redact(message, self.settings.secrets)
        where = _origin(str(response.request.url))
        if status == 401:
            return AuthError(
                f"{where} refused the API key (401): {message}",
                hint="check the profile's key; `chatcli config show` says where it comes from",
            ), False
        if status == 403:
            return AuthError(
                f"{where} refused access (403): {message}",
                hint="the key lacks permission for this model or endpoint",
            ), False
        if status == 429 and code == "insufficient_quota":
            return APIError(
                f"quota exhausted (429 insufficient_quota): {message}",
                hint="add credit or raise the limit on the provider's billing page",
                status=status,
            ), False
        if status == 404:
            return APIError(
                f"{where} answered 404 for {response.request.url.path}: {message}",
                hint="check base_url (most relays end in /v1) and the model or deployment name",
                status=status,
            ), False
        if status == 429:
            return APIError(f"rate limited (429): {message}", status=status), True
        return APIError(f"{where} answered {status}: {message}", status=status), (
            status in RETRYABLE
        )

    def events(self, response: httpx2.Response) -> Iterator[dict[str, Any]]:
        """Parse an SSE body into JSON objects; transport failures become chatcli errors."""
        import httpx2

        timeout = self.settings.timeout
        data: list[str] = []
        try:
            for line in response.iter_lines():
                if self.settings.debug:
                    self._debug(f"< {line}")
                if line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))
                    continue
                if line or not data:
                    continue  # comments (": keep-alive"), event:/id: fields
                payload = "\n".join(data)
                data = []
                if payload.strip() == "[DONE]":
                    return
                yield _parse_chunk(payload)
            if data and data[0].strip() != "[DONE]":
                yield _parse_chunk("\n".join(data))
        except httpx2.ReadTimeout:
            raise NetworkError(
                f"the stream went silent for more than {timeout:g} s",
                hint="raise `timeout` in the config if the model thinks for long",
            ) from None
        except (httpx2.RemoteProtocolError, httpx2.ReadError) as exc:
            raise NetworkError(
                f"the connection closed before the answer was complete: {_reason(exc)}"
            ) from None
        except httpx2.TimeoutException:
            raise NetworkError(f"the stream timed out after {timeout:g} s") from None

    def read_json(self, response: httpx2.Response) -> Any:
        """Read a whole JSON body, mapping truncation and garbage to chatcli errors."""
        import httpx2

        try:
            raw = response.read()
        except httpx2.TimeoutException:
            raise NetworkError("the response did not arrive in time") from None
        except (httpx2.RemoteProtocolError, httpx2.ReadError) as exc:
            raise NetworkError(f"the connection closed mid-response: {_reason(exc)}") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise APIError(
                f"malformed response from {_origin(str(response.request.url))}: "
                f"{raw[:120].decode('utf-8', 'replace')!r}",
                hint="the endpoint is not answering like an OpenAI-compatible API",
            ) from None


def _parse_chunk(payload: str) -> dict[str, Any]:
    try:
        obj = json.loads(payload)
    except ValueError:
        raise APIError(
            f"malformed stream chunk: {payload[:120]!r}",
            hint="the endpoint is not streaming like an OpenAI-compatible API",
        ) from None
    if not isinstance(obj, dict):
        raise APIError(f"malformed stream chunk: {payload[:120]!r}")
    if isinstance(obj.get("error"), dict | str):
        message, _ = _error_message(payload)
        raise APIError(f"the endpoint reported an error mid-stream: {message}")
    return obj


def _read_text(response: httpx2.Response) -> str:
    try:
        return response.read().decode("utf-8", "replace")
    except Exception:
        return ""
    finally:
        response.close()


def _error_message(text: str) -> tuple[str, str | None]:
    """The ``error.message`` and ``error.code`` of an OpenAI-style body, or a trimmed body."""
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        err = obj.get("error", obj)
        if isinstance(err, dict):
            msg = err.get("message") or err.get("msg") or json.dumps(err, ensure_ascii=False)
            code = err.get("code") or err.get("type")
            return str(msg)[:500], str(code) if code else None
        if isinstance(err, str):
            return err[:500], None
    flat = " ".join(text.split())
    if flat.lower().startswith("<!doctype") or flat.lower().startswith("<html"):
        return "an HTML error page instead of JSON", None
    return (flat[:300] or "empty body"), None


def _retry_after(response: httpx2.Response) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, ``Retry-After`` secs or date)."""
    ms = response.headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _backoff(attempt: int) -> float:
    return float(min(MAX_BACKOFF, 0.5 * 2**attempt) * (0.75 + random.random() / 2))


def _countdown(delay: float, why: str) -> Iterator[Notice]:
    """Sleep ``delay`` seconds, yielding a notice per second for a live countdown on stderr."""
    end = time.monotonic() + delay
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        yield Notice(f"{why}; retrying in {math.ceil(left)} s", key="retry")
        time.sleep(min(1.0, left))


def _short(error: ChatcliError) -> str:
    return error.message.split(": ", 1)[0] if len(error.message) > 80 else error.message


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0]}"


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if "Connection refused" in text or "[Errno 111]" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "host name not found"
    return text.splitlines()[0][:200]


def _network_hint(proxy: str | None) -> str:
    if proxy:
        return f"check that the proxy {proxy} is running and the endpoint URL is right"
    return "check the URL and your connection; set `proxy` in the profile if you need one"
