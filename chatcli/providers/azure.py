"""Azure OpenAI: per-deployment URLs with ``api-version`` and the ``api-key`` header (or, with
``auth = "entra"``, an Entra ID token as ``Authorization: Bearer``), on every route: chat,
models, files and batches (``/openai/files``, ``/openai/batches``), and the SDK's audio, speech
and images (an ``AzureOpenAI`` client bound to the model's deployment, which the bodies name);
no billing route."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, unquote

from chatcli.errors import ConfigError
from chatcli.providers.endpoint import BatchLine, ChatEndpoint, SdkClient
from chatcli.settings.endpoint_types import API_VERSION_HINT, api_version_problem
from chatcli.settings.loading import Profile

if TYPE_CHECKING:
    import httpx2
    import openai


def resource_url(profile: Profile) -> str:
    """The resource URL, forgiving as a relay's ``base_url`` is: a trailing slash, or any
    path from an ``/openai`` segment on (``/openai``, or the portal's target URI
    ``/openai/deployments/NAME/chat/completions``), is dropped, so the deployment path is not
    doubled (and a 404 then blames the deployment). A path before ``/openai`` (a gateway's
    prefix) stays."""
    from chatcli.providers.openai_compat import check_url

    endpoint = profile.endpoint or ""
    if endpoint:  # AZURE_OPENAI_ENDPOINT is not checked when the config is read
        check_url(endpoint, profile.sources.get("endpoint", "endpoint"))
    return portal_url(endpoint)[0]


def portal_url(url: str) -> tuple[str, str | None, str | None]:
    """The resource URL of an endpoint or of the portal's target URI
    (``https://res.openai.azure.com/openai/deployments/DEP/chat/completions?api-version=V``),
    and the deployment and the api-version that URI names (None where it names none)."""
    found = url.partition("#")[0]
    found, _, query = found.partition("?")
    versions: list[str | None] = [*parse_qs(query).get("api-version", []), None]
    scheme, sep, rest = found.partition("://")
    host, slash, path = rest.partition("/")
    segments = path.split("/") if slash else []
    lowered = [s.lower() for s in segments]
    deployment = None
    if "openai" in lowered:
        at = lowered.index("openai")
        if lowered[at + 1 : at + 2] == ["deployments"] and len(segments) > at + 2:
            deployment = unquote(segments[at + 2]) or None
        segments = segments[:at]
    kept = "/".join(segments).rstrip("/")
    return f"{scheme}{sep}{host}" + (f"/{kept}" if kept else ""), deployment, versions[0]


def api_version(profile: Profile) -> str:
    """The profile's ``api_version``, once it is one Azure can take (checked here, when a
    request is made, as ``OPENAI_API_VERSION`` is not read with the config): a ConfigError
    naming where it was set otherwise (``2024-10-21&foo=1`` would be sent as two params)."""
    version = profile.api_version or ""
    problem = api_version_problem(version)
    if problem is not None:
        where = profile.sources.get("api_version", f"[profiles.{profile.name}]")
        raise ConfigError(f"api_version {problem} ({where})", hint=API_VERSION_HINT)
    return version


def deployment_url(profile: Profile, model: str, operation: str = "chat/completions") -> str:
    """``{endpoint}/openai/deployments/{deployment}/{operation}?api-version=...``."""
    endpoint = resource_url(profile)
    dep = quote(profile.deployment(model), safe="")
    return f"{endpoint}/openai/deployments/{dep}/{operation}?api-version={api_version(profile)}"


def endpoint(profile: Profile, key: str) -> ChatEndpoint:
    """Per-deployment chat URLs with the ``api-key`` header (an Entra token: ``Authorization:
    Bearer``); the model is not sent. The Responses API is Azure's v1 route,
    ``{endpoint}/openai/v1/responses``: no api-version (the v1 API is versionless since its
    GA in August 2025), the deployment as the body's ``model``; ``api = "auto"`` stays on chat
    here."""
    version = api_version(profile)
    credential = Credential(profile, key)
    return ChatEndpoint(
        url_for=lambda model: deployment_url(profile, model),
        headers=credential.headers(),
        stream_usage=profile.stream_usage,
        send_model=False,
        models_url=f"{resource_url(profile)}/openai/models?api-version={version}",
        label="Azure OpenAI",
        url_setting="endpoint",
        states_windows=False,  # deployments are listed without windows
        files_root=f"{resource_url(profile)}/openai",
        files_query={"api-version": version},
        batch=batch_line(profile),
        sdk_client=sdk_client(profile, credential),
        upload_model=profile.deployment,
        responses_url=responses_route(profile)[0],
        responses_model=profile.deployment,
        renew=credential.renew if profile.auth == "entra" else None,
    )


class Credential:
    """The profile's key, or its Entra ID token (``auth = "entra"``), for every route. Entra
    tokens last about an hour: on a 401 one from ``api_key_cmd`` is fetched again (``renew``,
    once per refused request), and the SDK's clients read the current one for each request."""

    def __init__(self, profile: Profile, key: str) -> None:
        self.profile = profile
        self.token = key
        self._lock = threading.Lock()

    @property
    def entra(self) -> bool:
        return self.profile.auth == "entra"

    def headers(self) -> dict[str, str]:
        if self.entra:
            return {"Authorization": f"Bearer {self.token}"}
        return {"api-key": self.token}

    def renew(self) -> dict[str, str] | None:
        """The auth headers with a token fetched again, or None when there is no other one to
        be had (a token from a variable or the file: the 401 stands)."""
        from chatcli.settings.keys import fetch_again

        with self._lock:
            fresh = fetch_again(self.profile)
            if fresh is None or fresh == self.token:
                return None
            self.token = fresh
            return self.headers()


def sdk_client(profile: Profile, credential: Credential) -> SdkClient:
    """SDK clients bound to a model's deployment: Azure puts it in the URL of every route.
    An Entra token goes as the SDK's ``azure_ad_token_provider`` (read for each request, so a
    renewed one is used), a key as ``api_key``."""

    def make(model: str, http: httpx2.Client, headers: dict[str, str]) -> openai.OpenAI:
        import openai

        entra = credential.entra
        if entra:  # the provider's token, not one frozen into the client's headers
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        return openai.AzureOpenAI(
            azure_endpoint=resource_url(profile),
            azure_deployment=profile.deployment(model),
            api_version=api_version(profile),
            api_key=None if entra else credential.token,
            azure_ad_token_provider=(lambda: credential.token) if entra else None,
            max_retries=0,  # retried by ``sdk.call``, with the profile's waits
            http_client=http,
            default_headers=headers,
        )

    return make


def responses_route(profile: Profile) -> tuple[str, bool]:
    """The v1 Responses route, and that ``api = "auto"`` does not take it (no key needed)."""
    return f"{resource_url(profile)}/openai/v1/responses", False


def batch_line(profile: Profile) -> BatchLine:
    """Azure's Batch API takes ``/chat/completions`` and a deployment as the body's model; it
    answers 400 or 404 (not "no Batch API") when the deployment is not a Global-Batch one.
    Responses lines name ``/v1/responses`` while the batch is still created for
    ``/chat/completions``: Azure reads each line's route (its batch guide, as of 2026)."""
    return BatchLine(
        chat_path="/chat/completions",
        deployments=True,
        missing_is_404=False,
        responses_endpoint="/chat/completions",
        failure_hint="Azure runs batches only on a Global-Batch deployment: create one and name "
        f'it under [profiles.{profile.name}.batch_deployments] ("MODEL" = "DEPLOYMENT"), which '
        f"only batch submit uses; chat keeps [profiles.{profile.name}.deployments]",
    )


def shown_url(profile: Profile) -> tuple[str, str] | None:
    """Where the profile points, for ``config show`` (its ``endpoint`` is shown already)."""
    return None
