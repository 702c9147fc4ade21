"""The only code that talks HTTP: one ``Provider`` protocol, one module per endpoint type.

``connect`` is the single entry point: it resolves the key, builds the transport and picks the
module for the profile's type (``openai`` and ``relay`` share one; ``azure`` has its own).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing this package (``providers.base``) must not load the transport
    from chatcli.pricing import ModelInfo
    from chatcli.providers.chat import ChatProvider
    from chatcli.settings.loading import Profile


def connect(
    profile: Profile, model_info: Callable[[str], ModelInfo], *, debug: bool = False
) -> ChatProvider:
    """A ready chat provider for ``profile`` (no network traffic until the first request)."""
    from chatcli.providers.transport import HTTPSettings, Transport
    from chatcli.settings.keys import resolve_key

    key = resolve_key(profile)
    transport = Transport(
        HTTPSettings(
            timeout=profile.timeout,
            max_retries=profile.max_retries,
            proxy=profile.proxy,
            debug=debug,
            secrets=(key,),
        )
    )
    if profile.type == "azure":
        from chatcli.providers import azure

        return azure.make(profile, key, transport, model_info)
    from chatcli.providers import openai_compat

    return openai_compat.make(profile, key, transport, model_info)
