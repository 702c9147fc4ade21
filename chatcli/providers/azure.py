"""Azure OpenAI: per-deployment URLs with ``api-version`` and the ``api-key`` header."""

from __future__ import annotations

from urllib.parse import quote

from chatcli.providers.endpoint import BatchLine, ChatEndpoint
from chatcli.settings.loading import Profile


def resource_url(profile: Profile) -> str:
    """The resource URL, tolerating a trailing slash or ``/openai`` as users paste it."""
    from chatcli.providers.openai_compat import check_url

    if profile.endpoint:  # AZURE_OPENAI_ENDPOINT is not checked when the config is read
        check_url(profile.endpoint, profile.sources.get("endpoint", "endpoint"))
    return (profile.endpoint or "").rstrip("/").removesuffix("/openai")


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
        responses_url=f"{resource_url(profile)}/openai/v1/responses",
        responses_model=profile.deployment,
    )


def batch_line(profile: Profile) -> BatchLine:
    """Azure's Batch API takes ``/chat/completions`` and a deployment as the body's model."""
    return BatchLine(chat_path="/chat/completions", deployments=True)


def shown_url(profile: Profile) -> tuple[str, str] | None:
    """Where the profile points, for ``config show`` (its ``endpoint`` is shown already)."""
    return None
