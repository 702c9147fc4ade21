"""Azure OpenAI: per-deployment URLs with ``api-version`` and the ``api-key`` header, on every
route: chat, models, files and batches (``/openai/files``, ``/openai/batches``), and the SDK's
audio, speech and images (an ``AzureOpenAI`` client bound to the model's deployment, which the
bodies name); no billing route."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from chatcli.providers.endpoint import BatchLine, ChatEndpoint, SdkClient
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
    scheme, sep, rest = endpoint.partition("://")
    host, slash, path = rest.partition("/")
    segments = path.split("/") if slash else []
    if "openai" in (s.lower() for s in segments):
        at = [s.lower() for s in segments].index("openai")
        segments = segments[:at]
    kept = "/".join(segments).rstrip("/")
    return f"{scheme}{sep}{host}" + (f"/{kept}" if kept else "")


def deployment_url(profile: Profile, model: str, operation: str = "chat/completions") -> str:
    """``{endpoint}/openai/deployments/{deployment}/{operation}?api-version=...``."""
    endpoint = resource_url(profile)
    dep = quote(profile.deployment(model), safe="")
    return f"{endpoint}/openai/deployments/{dep}/{operation}?api-version={profile.api_version}"


def endpoint(profile: Profile, key: str) -> ChatEndpoint:
    """Per-deployment chat URLs with the ``api-key`` header; the model is not sent. The
    Responses API is Azure's v1 route, ``{endpoint}/openai/v1/responses``: no api-version
    (the v1 API is versionless since its GA in August 2025), the deployment as the body's
    ``model``; ``api = "auto"`` stays on chat here."""
    return ChatEndpoint(
        url_for=lambda model: deployment_url(profile, model),
        headers={"api-key": key},
        stream_usage=profile.stream_usage,
        send_model=False,
        models_url=f"{resource_url(profile)}/openai/models?api-version={profile.api_version}",
        label="Azure OpenAI",
        url_setting="endpoint",
        states_windows=False,  # deployments are listed without windows
        files_root=f"{resource_url(profile)}/openai",
        files_query={"api-version": profile.api_version or ""},
        batch=batch_line(profile),
        sdk_client=sdk_client(profile, key),
        upload_model=profile.deployment,
        responses_url=responses_route(profile)[0],
        responses_model=profile.deployment,
    )


def sdk_client(profile: Profile, key: str) -> SdkClient:
    """SDK clients bound to a model's deployment: Azure puts it in the URL of every route."""

    def make(model: str, http: httpx2.Client, headers: dict[str, str]) -> openai.OpenAI:
        import openai

        return openai.AzureOpenAI(
            azure_endpoint=resource_url(profile),
            azure_deployment=profile.deployment(model),
            api_version=profile.api_version,
            api_key=key,
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
        failure_hint="Azure runs batches only on a Global-Batch deployment: create one and map "
        "the model to it under [profiles.NAME.deployments]",
    )


def shown_url(profile: Profile) -> tuple[str, str] | None:
    """Where the profile points, for ``config show`` (its ``endpoint`` is shown already)."""
    return None
