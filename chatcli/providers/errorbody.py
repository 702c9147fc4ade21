"""What an error answer says, and which chatcli error it becomes (transport and SDK alike).

Relays reshape errors: LiteLLM appends ``\\n\\nLiteLLM: model group ... failed`` tails, rewrites
``insufficient_quota`` as ``code "429"`` / ``type "throttling_error"``, and answers a wrong key
with 400 ``no_db_connection`` or ``Authentication Error``. So the message is cut to one clean
line, and quota and auth failures are recognised by their words as well as by their codes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from chatcli.errors import APIError, AuthError, ChatcliError
from chatcli.safetext import one_line, summarize_bytes

RETRYABLE = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})
KEY_HINT = "check the profile's key; `chatcli config show` says where it comes from"
BILLING_HINT = "add credit or raise the limit on the provider's billing page"

_TAIL = re.compile(
    r"\s*(?:\n\s*\n\s*LiteLLM\b|LiteLLM Retried:|Received Model Group=|"
    r"Available Model Group Fallbacks=).*",
    re.DOTALL,
)
_QUOTA = re.compile(r"exceeded your current quota|insufficient[_ ]quota|quota exhausted", re.I)
_AUTH_CODES = {
    "no_db_connection", "invalid_api_key", "authentication_error", "auth_error",
    "invalid_request_error_auth", "unauthorized",
}  # fmt: skip
_AUTH = re.compile(
    r"authentication error|invalid api key|incorrect api key|invalid_api_key|"
    r"api key (?:is )?(?:not valid|invalid|missing)|no_db_connection|unauthori[sz]ed",
    re.I,
)


@dataclass(frozen=True)
class ErrorBody:
    """The useful parts of an error answer: a one-line message, ``code`` and ``type``."""

    message: str
    code: str | None = None
    type: str | None = None


def parse(raw: bytes, content_type: str | None = None) -> ErrorBody:
    """Read an error body of any shape; binary bodies are summarised, never echoed."""
    summary = summarize_bytes(raw, content_type)
    if summary is not None:
        return ErrorBody(summary)
    return parse_text(raw.decode("utf-8", "replace"))


def parse_text(text: str) -> ErrorBody:
    """``error.message`` / ``code`` / ``type`` of an OpenAI-style body, or the trimmed body."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        obj = None
    if isinstance(obj, dict):
        err = obj.get("error", obj)
        if isinstance(err, dict):
            msg = _said(err.get("message") or err.get("msg") or err.get("detail"))
            if msg is None:
                msg = json.dumps(err, ensure_ascii=False, default=str)[:500]
            inner = err.get("innererror")
            fired = filtered(inner.get("content_filter_result")) if isinstance(inner, dict) else ""
            if fired:  # Azure's content filter says which category fired
                msg = f"{msg} (filtered: {fired})"
            return ErrorBody(clean(msg), _label(err.get("code")), _label(err.get("type")))
        if isinstance(err, str):
            return ErrorBody(clean(err))
    flat = " ".join(text.split())
    if flat.lower().startswith(("<!doctype", "<html", "<?xml", "<head", "<body")):
        said = html_text(flat)
        return ErrorBody(f"an HTML page instead of JSON: {said}" if said else "an HTML page")
    return ErrorBody(one_line(flat, 300) or "empty body")


def filtered(results: object) -> str:
    """The categories Azure's content filter fired on, from its ``content_filter_result(s)``
    (``violence (medium), jailbreak``); "" when it names none."""
    if not isinstance(results, dict):
        return ""
    fired = []
    for name, verdict in results.items():
        if isinstance(verdict, dict) and verdict.get("filtered") is True:
            level = verdict.get("severity")
            shown = f" ({level})" if isinstance(level, str) and level.isalpha() else ""
            fired.append(one_line(f"{name}{shown}", 60))
    return ", ".join(fired[:8])


_REPR = re.compile(r"""^(?:\d{3}: )?\{['"](?:error|message)['"]: ['"](.*)['"]\}$""", re.S)
"""LiteLLM's Python repr of its own error inside ``message``: ``400: {'error': '...'}``."""


def _said(value: object, depth: int = 0) -> str | None:
    """The text of an error field: a string (LiteLLM's ``400: {'error': '...'}`` repr
    unwrapped), or the ``error``/``message`` of a nested object (FastAPI's ``{"detail":
    {"error": ...}}``, as LiteLLM answers); None for anything else."""
    if isinstance(value, str):
        inner = _REPR.match(value.strip())
        return inner.group(1) if inner else value
    if isinstance(value, dict) and depth < 3:
        for key in ("error", "message", "msg", "detail"):
            found = _said(value.get(key), depth + 1)
            if found:
                return found
    return None


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)
_SKIP = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")


def html_text(page: str, limit: int = 200) -> str:
    """What an HTML page says, in one line: its title, then its visible text."""
    import html

    title = _TITLE.search(page)
    body = _TAG.sub(" ", _SKIP.sub(" ", page))
    parts = [html.unescape(title.group(1)) if title else "", html.unescape(body)]
    words = [one_line(p, limit) for p in parts if p.strip()]
    if len(words) == 2 and words[1].startswith(words[0]):
        words = words[1:]
    return one_line(" — ".join(words), limit)


def clean(message: str) -> str:
    """One line: relay tails dropped (when something is left), whitespace collapsed."""
    cut = _TAIL.sub("", message)
    return one_line(cut if cut.strip() else message)


def _label(value: object) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool):
        return one_line(str(value), 80) or None
    return None


def is_quota(body: ErrorBody) -> bool:
    """Quota exhaustion by code or by message (relays rewrite the code)."""
    return "insufficient_quota" in (body.code, body.type) or bool(_QUOTA.search(body.message))


def is_auth(body: ErrorBody) -> bool:
    """A key refusal dressed as a 400 (LiteLLM without a database answers so)."""
    labels = {(body.code or "").lower(), (body.type or "").lower()}
    return bool(labels & _AUTH_CODES) or bool(_AUTH.search(body.message))


_GONE_MODEL = re.compile(
    r"model\s*[`'\"]?([\w.:/-]+?)[`'\"]?\s+(?:has been deprecated|does not exist|was not found|"
    r"not found|is not supported|has been shut down|is no longer available)",
    re.I,
)


_AZURE_ROUTE = re.compile(r"(?:^|/)openai/(?:deployments|v1|models)(?:/|$)")
"""Azure OpenAI's routes (``/openai/deployments/...``, ``/openai/v1/...``): its own
retirement schedule, not OpenAI's (Groq's ``/openai/v1`` matches too, and is not OpenAI's
either)."""


def model_hint(body: ErrorBody, path: str = "") -> str | None:
    """For a "model not found / deprecated" answer about a model OpenAI retired or retires:
    when, and the replacement it names (``OpenAI shut dall-e-3 down on ...; use -m ...``);
    never for an answer from Azure's routes (``path``), which retires on its own dates."""
    found = _GONE_MODEL.search(body.message)
    if found is None:
        return None
    from chatcli.retirements import replacement_hint

    own = _AZURE_ROUTE.search(path) is not None
    return replacement_hint(found.group(1), own_schedule=own)


class ContextTooLong(APIError):
    """The endpoint refused a request longer than the model's context window; ``window`` is
    the size its message states, if it does. The session that sent it adds the hint
    (``hints.window_hint``), as only it knows the model and the window chatcli assumed."""

    def __init__(self, message: str, window: int | None, status: int) -> None:
        super().__init__(message, status=status)
        self.window = window


_CONTEXT = re.compile(
    r"context[_ ]length[_ ]exceeded|maximum context (?:length|window|size)|"
    r"exceeds? (?:the )?(?:model'?s? |available )?context (?:window|length|size)|"
    r"context window (?:of|is) \d|prompt is too long|too many tokens in (?:the )?prompt",
    re.I,
)
_WINDOW = re.compile(
    r"(?:context (?:length|window|size)|n_ctx)\D{0,25}?(\d{1,3}(?:,\d{3})+|\d{3,})", re.I
)


def context_too_long(status: int, body: ErrorBody, where: str) -> ContextTooLong | None:
    """A 400 (or 413/422) saying the request is longer than the context window: by its code
    (``context_length_exceeded``) or its words; the window it states (``maximum context
    length is 8192 tokens``) is kept."""
    if status not in (400, 413, 422):
        return None
    code = {(body.code or "").lower(), (body.type or "").lower()}
    if "context_length_exceeded" not in code and not _CONTEXT.search(body.message):
        return None
    stated = _WINDOW.search(body.message)
    window = int(stated.group(1).replace(",", "")) if stated else None
    return ContextTooLong(f"{where} answered {status}: {body.message}", window, status)


def classify(
    status: int,
    body: ErrorBody,
    where: str,
    path: str,
    proxy: str | None = None,
    *,
    profile: str | None = None,
) -> tuple[ChatcliError, bool]:
    """The chatcli error for a non-2xx answer and whether a retry may help; ``proxy`` is the
    profile's (None: the environment's, if any), named when it is the one answering 407;
    ``profile``: its name, for hints that say where to fix a setting."""
    message = body.message
    if status == 407:
        from chatcli.providers.proxies import proxy_auth

        return proxy_auth(where, proxy), False
    if status == 400 and where.startswith("http:") and _TLS_PORT.search(message):
        from chatcli.providers.schemes import mismatch

        return mismatch(where), False  # the TLS front's own answer: the API never saw it
    if status in (400, 404) and (gone := model_hint(body, path)) is not None:
        return APIError(f"{where} answered {status}: {message}", hint=gone, status=status), False
    if status == 401 or (status == 400 and is_auth(body)):
        return AuthError(f"{where} refused the API key ({status}): {message}", hint=KEY_HINT), False
    if status == 403:
        return AuthError(
            f"{where} refused access (403): {message}",
            hint=_key_disabled(body, profile)
            or "the key lacks permission for this model or endpoint",
        ), False
    if is_quota(body) and status in (400, 402, 403, 429):
        code = " insufficient_quota" if "insufficient_quota" in (body.code, body.type) else ""
        return APIError(
            f"quota exhausted ({status}{code}): {message}", hint=BILLING_HINT, status=status
        ), False
    if (too_long := context_too_long(status, body, where)) is not None:
        return too_long, False
    if status in (400, 404) and (version := api_version_hint(status, body, path, profile)):
        said = f" for {path}" if status == 404 else ""
        return APIError(f"{where} answered {status}{said}: {message}", hint=version,
                        status=status), False  # fmt: skip
    if status in (400, 404) and (unknown := unknown_model_hint(status, body, path)) is not None:
        return APIError(f"{where} answered {status}: {message}", hint=unknown, status=status), False
    if status == 404:
        return APIError(
            f"{where} answered 404 for {path}: {message}",
            hint=not_found_hint(path, body, profile),
            status=status,
        ), False
    if status == 429:
        return APIError(f"rate limited (429): {message}", status=status), True
    return APIError(f"{where} answered {status}: {message}", status=status), status in RETRYABLE


_TLS_PORT = re.compile(
    r"plain HTTP request was sent to HTTPS port|HTTP request to an HTTPS server", re.I
)
"""What a TLS server answers a plain-HTTP request with (nginx's 400 page; Go's servers,
Ollama's among them): the URL's scheme is wrong, not the request."""

MODELS_HINT = "`chatcli models` lists what this endpoint serves"
_INVALID_MODEL = re.compile(
    r"invalid model name passed in model\s*=\s*([\w.:/-]+?)\.?(?:\s|$)", re.I
)
"""LiteLLM's words for a model its config does not route (400, no code)."""


def unknown_model_hint(status: int, body: ErrorBody, path: str) -> str | None:
    """The hint of an answer saying the model is not served (``code: model_not_found``, or a
    404 whose message says the model does not exist): the nearest names chatcli knows (no
    request is made for the endpoint's list) and where to see what it serves; not the
    base_url hint, since the server named the problem. None for anything else, and for an
    Azure deployment URL (``not_found_hint`` names the deployment there)."""
    if "/deployments/" in path:
        return None
    named = _GONE_MODEL.search(body.message)
    invalid = _INVALID_MODEL.search(body.message)  # a gateway's "not one of mine"
    if invalid is not None:
        named = invalid
    elif (body.code or "").lower() != "model_not_found" and not (status == 404 and named):
        return None
    name = named.group(1) if named is not None else None
    if name is None:
        return f"check the model name; {MODELS_HINT}"
    import difflib

    from chatcli.pricing import CHAT_MODELS

    if name in CHAT_MODELS:
        return f"this key may have no access to {name}, or it is not served here; {MODELS_HINT}"
    close = difflib.get_close_matches(name, CHAT_MODELS, n=2, cutoff=0.8)
    nearest = f" (nearest known: {', '.join(close)})" if close else ""
    return f"check the model name{nearest}; {MODELS_HINT}"


def not_found_hint(path: str, body: ErrorBody | None = None, profile: str | None = None) -> str:
    """What a 404 for ``path`` most likely means: on an Azure-style deployment URL (or with
    Azure's ``DeploymentNotFound``), a deployment the resource does not have (base_url plays
    no part there); elsewhere, a base_url or model the endpoint does not know."""
    from urllib.parse import unquote

    found = re.search(r"/deployments/([^/]+)/", path)
    if found is not None:
        return deployment_hint(unquote(found[1]), profile)
    if body is not None and (body.code or "").lower() == "deploymentnotfound":
        return deployment_hint(None, profile)
    if path.rstrip("/").endswith("/audio/translations"):  # LiteLLM routes none
        return (
            "this endpoint has no translations route (it may still transcribe): transcribe "
            "without --translate, then translate the text with `chatcli ask`"
        )
    return "check base_url (most relays end in /v1) and the model or deployment name"


def deployment_hint(name: str | None, profile: str | None) -> str:
    """The hint of a deployment the Azure resource does not have (``name``: None when the
    answer does not say which)."""
    named = f"no deployment named {name!r}" if name is not None else "no such deployment"
    return (
        f"the resource has {named}: check the name in the Azure portal, or map the model to "
        f"its deployment under [profiles.{profile or 'NAME'}.deployments]"
    )


_VERSIONED = re.compile(r"(?:^|/)openai/(?!v1(?:/|$))")
"""Azure's routes that carry ``api-version`` (its v1 API takes none)."""
_NO_RESOURCE = re.compile(r"^resource not found\.?$", re.I)
_BAD_VERSION = re.compile(r"api[- ]?version\b.*\b(?:not supported|unsupported|invalid)", re.I)


def api_version_hint(status: int, body: ErrorBody, path: str, profile: str | None) -> str | None:
    """The hint of an answer blaming the ``api_version`` sent: Azure's 400 "API version not
    supported", and its bare 404 "Resource not found", which it gives on every route (its
    model list too) to an api-version it does not know, while a missing deployment has its
    own ``DeploymentNotFound``. None for anything else."""
    setting = f"api_version in [profiles.{profile or 'NAME'}]"
    example = "e.g. 2024-10-21, or the one the portal's target URI shows after api-version="
    if _BAD_VERSION.search(body.message):
        return f"set {setting} to a version this resource supports ({example})"
    versioned = _VERSIONED.search(path) is not None
    if status == 404 and versioned and _NO_RESOURCE.match(body.message):
        return (
            f"Azure says this for an API version it does not know: check {setting} ({example}); "
            "if that is right, the endpoint is not the resource's"
        )
    return None


def _key_disabled(body: ErrorBody, profile: str | None) -> str | None:
    """The hint of an Azure resource whose key authentication is off (Entra ID only)."""
    code = (body.code or "").lower()
    if code != "authenticationtypedisabled" and "authentication is disabled" not in (
        body.message.lower()
    ):
        return None
    from chatcli.settings.keys import ENTRA_CMD

    return (
        f'this resource takes Microsoft Entra ID tokens, not keys: set auth = "entra" and '
        f"api_key_cmd = {ENTRA_CMD!r} in [profiles.{profile or 'NAME'}]"
    )


ANSWER_KEYS = ("id", "object", "choices", "output", "data", "text")
"""Members of an answer (a completion, a response, a list, a transcript, a billing object):
a body holding one of them is an answer that may carry an ``error`` field of its own (a
failed Responses object), not an error envelope."""


def envelope(obj: object) -> APIError | None:
    """The error of a 2xx body that is an error envelope, ``{"error": {...}}`` or
    ``{"error": "..."}`` and no answer (``ANSWER_KEYS``): relays send those with 200 on every
    route. None for anything else. Every JSON body is checked here (``transport.read_json``,
    ``sdk.answer``), so no route takes such a body as its answer: quota and rate limits are
    named as for a 429, anything else is the endpoint's own words (exit 5)."""
    if not isinstance(obj, dict):
        return None
    error = obj.get("error")
    if not ((isinstance(error, dict) and error) or (isinstance(error, str) and error.strip())):
        return None
    if any(obj.get(key) is not None for key in ANSWER_KEYS):
        return None
    body = parse_text(json.dumps({"error": error}, ensure_ascii=False, default=str))
    if is_quota(body):
        code = " insufficient_quota" if "insufficient_quota" in (body.code, body.type) else ""
        return APIError(f"quota exhausted (200{code}): {body.message}", hint=BILLING_HINT)
    return APIError(f"the endpoint reported an error: {body.message}")
