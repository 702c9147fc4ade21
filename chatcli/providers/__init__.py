"""The only code that talks HTTP: one ``Provider`` protocol (``base``), one backend per endpoint
type, chosen from ``BACKENDS`` by the profile's ``type``.

``connect`` is the single entry point: it resolves the key once, builds the transport and hands
both to the backend. Chat, model lists, billing, batches and verify's raw requests go through the
lean transport (``chat``, ``transport``, ``batches``); audio and images go through the openai SDK
(``audio``, ``images``, ``sdk``), reached through the same provider object.
"""

from __future__ import annotations

from collections.abc import Callable

from chatcli.pricing import ModelInfo
from chatcli.providers import azure, openai_compat
from chatcli.providers.chat import ChatEndpoint, ChatProvider
from chatcli.providers.transport import HTTPSettings, Transport
from chatcli.settings.keys import resolve_key
from chatcli.settings.loading import Profile

Backend = Callable[[Profile, str], ChatEndpoint]
"""Builds the chat endpoint (URLs, auth header, quirks) of a profile from it and its key."""

BACKENDS: dict[str, Backend] = {
    "openai": openai_compat.endpoint,
    "relay": openai_compat.endpoint,
    "azure": azure.endpoint,
}
"""Profile type -> backend. A new endpoint type is one module and one line here."""


def connect(
    profile: Profile, model_info: Callable[[str], ModelInfo], *, debug: bool = False
) -> ChatProvider:
    """A ready provider for ``profile`` (no network traffic until the first request)."""
    key = resolve_key(profile)
    transport = Transport(
        HTTPSettings(
            timeout=profile.timeout,
            max_retries=profile.max_retries,
            max_retry_wait=profile.max_retry_wait,
            proxy=profile.proxy,
            debug=debug,
            secrets=(key,),
        )
    )
    endpoint = BACKENDS[profile.type](profile, key)
    return ChatProvider(profile, endpoint, transport, model_info, key=key, debug=debug)
