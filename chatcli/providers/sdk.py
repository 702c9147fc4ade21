"""Clients of the official openai SDK, for the routes the lean chat transport does not cover.

Images (and audio) send multipart uploads and binary bodies that the SDK already handles well, so
those commands use it; chat does not (see ``transport``: the SDK's import costs about a second).
``http_client`` and ``client`` build ``openai.OpenAI`` / ``openai.AzureOpenAI`` from a ``Profile``
with the base URL normalisation, proxy, timeout and retries the chat transport uses; ``errors``
turns SDK and httpx2 exceptions into ``chatcli.errors`` with the key redacted. The caller resolves
the key once (``settings.keys.resolve_key``) and keeps the httpx2 client for downloads of
returned URLs.
The SDK and httpx2 are imported inside the functions.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from chatcli.errors import APIError, ChatcliError, NetworkError
from chatcli.providers import errorbody
from chatcli.providers.transport import USER_AGENT, proxy_error
from chatcli.safetext import one_line
from chatcli.settings.keys import redact
from chatcli.settings.loading import Profile

if TYPE_CHECKING:
    import httpx2
    import openai


def client(profile: Profile, model: str, *, key: str, http: httpx2.Client) -> openai.OpenAI:
    """An SDK client for ``profile`` over ``http``; Azure clients are bound to ``model``'s
    deployment, since Azure puts the deployment in the URL of every model route."""
    import openai

    if profile.type == "azure":
        from chatcli.providers.azure import resource_url

        return openai.AzureOpenAI(
            azure_endpoint=resource_url(profile),
            azure_deployment=profile.deployment(model),
            api_version=profile.api_version,
            api_key=key,
            max_retries=profile.max_retries,
            http_client=http,
            default_headers={"User-Agent": USER_AGENT},
        )
    from chatcli.providers.openai_compat import base_url

    return openai.OpenAI(
        api_key=key,
        base_url=base_url(profile),
        max_retries=profile.max_retries,
        http_client=http,
        default_headers={"User-Agent": USER_AGENT},
    )


def http_client(
    profile: Profile, key: str, *, debug: bool = False, read_timeout: float | None = None
) -> httpx2.Client:
    """The httpx2 client under the SDK (and for downloads): proxy, timeouts, ``--debug`` lines.

    ``read_timeout`` (default: the profile's ``timeout``) is how long a response may take once
    sent: non-streaming routes such as image generation stay silent until they are done.
    """
    import httpx2
    import openai

    timeout = httpx2.Timeout(
        profile.timeout, connect=profile.timeout, read=read_timeout or profile.timeout
    )
    hooks: dict[str, list[Any]] = {}
    if debug:

        def show_request(request: httpx2.Request) -> None:
            _debug(f"> {request.method} {request.url}", key)

        def show_response(response: httpx2.Response) -> None:
            _debug(f"< {response.status_code} {response.reason_phrase} {response.url}", key)

        hooks = {"request": [show_request], "response": [show_response]}
    try:
        return openai.DefaultHttpxClient(
            proxy=profile.proxy,
            timeout=timeout,
            event_hooks=hooks,
            headers={"User-Agent": USER_AGENT},
        )
    except (ImportError, ValueError) as exc:
        raise proxy_error(exc, profile.proxy) from None


def _debug(line: str, key: str) -> None:
    print(redact(line, (key,)), file=sys.stderr, flush=True)


@contextmanager
def errors(key: str | None = None) -> Iterator[None]:
    """Turn SDK and httpx2 failures raised inside the block into ``chatcli.errors``."""
    import httpx2
    import openai

    try:
        yield
    except (openai.OpenAIError, httpx2.HTTPError) as exc:
        raise translate(exc, key) from None


def translate(exc: Exception, key: str | None = None) -> ChatcliError:
    """The ``chatcli.errors`` exception for an SDK or httpx2 failure, key redacted."""
    import httpx2
    import openai

    secrets = (key,) if key else ()
    if isinstance(exc, openai.APIStatusError):
        body = _body(exc)
        body = errorbody.ErrorBody(redact(body.message, secrets), body.code, body.type)
        error, _ = errorbody.classify(
            exc.response.status_code,
            body,
            errorbody.origin(str(exc.request.url)),
            exc.request.url.path,
        )
        if exc.response.status_code == 404:
            error.hint = "check base_url, the model (-m) or the Azure deployment name"
        return error
    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        return NetworkError(
            "no response within the time allowed",
            hint="raise `timeout` in the config if the endpoint is slow",
        )
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
        cause = exc.__cause__ or exc
        return NetworkError(
            redact(one_line(f"cannot reach the endpoint: {cause}"), secrets),
            hint="check the URL, the proxy and your connection",
        )
    if isinstance(exc, openai.APIResponseValidationError):
        return APIError(
            "malformed response: not what an OpenAI-compatible API sends",
            hint="the endpoint is not answering like an OpenAI-compatible API",
        )
    return APIError(redact(one_line(str(exc)), secrets))


def _body(exc: openai.APIStatusError) -> errorbody.ErrorBody:
    """The parsed error body (binary bodies summarised), whatever its shape."""
    response = exc.response
    try:
        raw = response.read()
    except Exception:
        return errorbody.ErrorBody(errorbody.clean(exc.message))
    return errorbody.parse(raw, response.headers.get("content-type"))
