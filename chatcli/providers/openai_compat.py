"""The official OpenAI API and OpenAI-compatible relays: base URL plus ``Authorization: Bearer``
on every route (chat, models, billing, files and batches, and the SDK's audio, speech and
images); the official API's ``OpenAI-Organization`` and ``OpenAI-Project`` headers.

Relays are typed by hand, so ``normalize_base_url`` forgives what users write: a trailing slash,
a missing ``/v1`` on a bare host, a doubled ``/v1/v1``, or the full ``/chat/completions`` URL.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from chatcli.errors import ConfigError
from chatcli.providers.endpoint import BatchLine, ChatEndpoint, SdkClient
from chatcli.settings.loading import OPENAI_URL, Profile, url_problem

if TYPE_CHECKING:
    import httpx2
    import openai

ORG_ENV = "OPENAI_ORG_ID"
PROJECT_ENV = "OPENAI_PROJECT_ID"


def normalize_base_url(url: str) -> str:
    """``https://host`` -> ``https://host/v1``; ``.../v1/v1/`` -> ``.../v1``; strips endpoints."""
    url = url.strip().rstrip("/")
    url = re.sub(r"/(chat/completions|completions|models)$", "", url)
    url = re.sub(r"(/v1)+$", "/v1", url)
    _, sep, rest = url.partition("://")
    if sep and "/" not in rest:
        url += "/v1"
    return url


def base_url(profile: Profile) -> str:
    """The API root; an ``openai`` profile honours OPENAI_BASE_URL, as the SDK does. A URL that
    cannot be an API root (no scheme, a query string) is a ConfigError naming where it came from."""
    url = profile.base_url
    where = profile.sources.get("base_url", "base_url")
    if not url and profile.type == "openai":
        url, where = os.environ.get("OPENAI_BASE_URL"), "env OPENAI_BASE_URL"
    if not url:
        return OPENAI_URL
    check_url(url, where, padded=True)  # normalize_base_url strips what is around it
    return normalize_base_url(url)


def check_url(url: str, where: str, *, padded: bool = False) -> None:
    """A ConfigError when ``url`` (from ``where``) cannot be an API root (``padded``: the
    whitespace around it is stripped before use)."""
    problem = url_problem(url, padded=padded)
    if problem is not None:
        hint = "drop the ?... part" if "query" in problem else "write it as https://host/..."
        if problem.startswith("holds"):
            hint = "type it again: a character that does not show came with it"
        raise ConfigError(f"{where}: {url!r} {problem}", hint=hint)


def endpoint(profile: Profile, key: str) -> ChatEndpoint:
    """Chat completions at ``{base_url}/chat/completions`` and the Responses API at
    ``{base_url}/responses``, with ``Authorization: Bearer``. ``api = "auto"`` takes Responses
    on ``openai`` profiles (the official API and whatever claims to be it), chat on relays."""
    root = base_url(profile)
    return ChatEndpoint(
        url_for=lambda _model: f"{root}/chat/completions",
        headers={"Authorization": f"Bearer {key}", **_organization(profile)},
        stream_usage=profile.stream_usage,
        models_url=f"{root}/models",
        root=root,
        no_billing="the official OpenAI API" if root == OPENAI_URL else None,
        states_windows=root != OPENAI_URL,  # the official list states none
        files_root=root,
        batch=batch_line(profile),
        sdk_client=sdk_client(root, key),
        responses_url=f"{root}/responses",
        responses_default=responses_default(profile),
    )


def _organization(profile: Profile) -> dict[str, str]:
    """The official API's organization and project headers (config, or the SDK's variables);
    relays get none."""
    if profile.type != "openai":
        return {}
    org = profile.organization or os.environ.get(ORG_ENV)
    proj = profile.project or os.environ.get(PROJECT_ENV)
    found = {"OpenAI-Organization": org, "OpenAI-Project": proj}
    return {name: value.strip() for name, value in found.items() if value}


def sdk_client(root: str, key: str) -> SdkClient:
    """SDK clients on the API root (one for every model)."""

    def make(_model: str, http: httpx2.Client, headers: dict[str, str]) -> openai.OpenAI:
        import openai

        return openai.OpenAI(
            api_key=key,
            base_url=root,
            max_retries=0,  # retried by ``sdk.call``, with the profile's waits
            http_client=http,
            default_headers=headers,
        )

    return make


def responses_route(profile: Profile) -> tuple[str, bool]:
    """The Responses API's URL, and whether ``api = "auto"`` takes it (no key needed)."""
    return f"{base_url(profile)}/responses", responses_default(profile)


def responses_default(profile: Profile) -> bool:
    """``api = "auto"`` takes the Responses API on ``openai`` profiles (the official API and
    whatever claims to be it), chat completions on relays."""
    return profile.type == "openai"


def batch_line(profile: Profile) -> BatchLine:
    """The official Batch API's line format: ``/v1/chat/completions``, the model by name."""
    return BatchLine()


def shown_url(profile: Profile) -> tuple[str, str] | None:
    """The API root an ``openai`` profile without ``base_url`` really uses, and why, for
    ``config show``; None when the profile's own ``base_url`` says it."""
    if profile.base_url:
        return None
    from_env = profile.type == "openai" and bool(os.environ.get("OPENAI_BASE_URL"))
    return base_url(profile), ("env OPENAI_BASE_URL" if from_env else "built-in")
