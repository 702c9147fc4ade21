"""The only code that talks HTTP: one ``Provider`` protocol (``base``), one backend per endpoint
type, chosen from ``BACKENDS`` by the profile's ``type``.

``connect`` is the single entry point: it resolves the key once, builds the transport and hands
both to the backend. Chat, model lists, billing, batches and verify's raw requests go through the
lean transport (``chat``, ``transport``, ``batches``); audio, speech and images go through the
openai SDK (``audio``, ``speech``, ``images``, ``sdk``), reached through the same provider.
Importing this package (as ``providers.base`` does) loads nothing: the backends are imported by
``connect``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chatcli.pricing import ModelInfo
    from chatcli.providers.chat import ChatProvider
    from chatcli.settings.loading import Profile

BACKENDS: dict[str, str] = {
    "openai": "openai_compat",
    "relay": "openai_compat",
    "azure": "azure",
}
"""Profile type -> the module in this package whose ``endpoint(profile, key)`` builds its chat
endpoint (URLs, auth header, quirks). A new endpoint type is one module and one line here."""


def connect(
    profile: Profile, model_info: Callable[[str], ModelInfo], *, debug: bool = False
) -> ChatProvider:
    """A ready provider for ``profile`` (no network traffic until the first request)."""
    from chatcli.providers.chat import ChatProvider
    from chatcli.providers.transport import Transport
    from chatcli.settings.keys import resolve_key

    key = resolve_key(profile)
    transport = Transport(profile, debug=debug, secrets=(key,))
    backend = importlib.import_module(f"chatcli.providers.{BACKENDS[profile.type]}")
    endpoint = backend.endpoint(profile, key)
    return ChatProvider(profile, endpoint, transport, model_info, key=key, debug=debug)
