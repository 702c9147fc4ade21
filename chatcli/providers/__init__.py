"""The only code that talks HTTP: the ``Provider`` protocol and its value types (``base``), one
module per endpoint type (``openai_compat``, ``azure``) chosen by the profile's ``type`` from
the one registry, ``settings.endpoint_types.ENDPOINT_TYPES``, the chat wire protocol (``chat``)
and one transport (``transport``).

``connect`` is the single entry point: it resolves the key once, builds the transport from the
profile's HTTP settings (passed whole) and returns a ``Provider``. Chat, model lists, billing,
batches and verify's raw requests go through the lean transport (``chat``, ``batches``); audio,
speech and images go through the openai SDK (``audio``, ``speech``, ``images``, ``sdk``),
reached through the same provider. Importing this package loads nothing: the backends are
imported by ``connect``, ``batch_line`` and ``shown_url``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chatcli.environment import Clock
    from chatcli.pricing import ModelInfo
    from chatcli.providers.base import Provider
    from chatcli.providers.endpoint import BatchLine
    from chatcli.settings.loading import Profile
    from chatcli.store import Store


def _backend(profile: Profile) -> Any:
    """The module of this package that owns ``profile``'s endpoint type (registered in
    ``settings.endpoint_types``): its ``endpoint(profile, key)`` (URLs, auth, headers and quirks
    of every route), ``batch_line(profile)`` and ``shown_url(profile)``. See
    docs/architecture.md for adding one."""
    from chatcli.settings.endpoint_types import endpoint_type

    return importlib.import_module(f"chatcli.providers.{endpoint_type(profile).module}")


def batch_line(profile: Profile) -> BatchLine:
    """How a Batch API input line for ``profile`` names its route and model (no key needed:
    ``batch submit --dry-run`` builds lines too)."""
    line: BatchLine = _backend(profile).batch_line(profile)
    return line


def shown_url(profile: Profile) -> tuple[str, str] | None:
    """The URL a profile really uses when its config does not say it, and where it came from
    (``config show``)."""
    shown: tuple[str, str] | None = _backend(profile).shown_url(profile)
    return shown


def connect(
    profile: Profile,
    model_info: Callable[[str], ModelInfo],
    *,
    clock: Clock,
    debug: bool = False,
    store: Store | None = None,
) -> Provider:
    """A ready provider for ``profile`` (no network traffic until the first request).
    ``clock``: the command's (its environment's), which retry waits and ``Retry-After`` dates
    take. ``store``: the command's open database, where the provider reads and notes what the
    endpoint taught it (``quirks``) instead of opening a connection of its own."""
    from chatcli.providers.chat import ChatProvider
    from chatcli.providers.transport import Transport
    from chatcli.settings.headers import extra_headers
    from chatcli.settings.keys import resolve_key

    key = resolve_key(profile)
    extra = extra_headers(profile)
    secrets = (key, *(v for v in extra.values() if len(v) >= 6))
    transport = Transport(profile, clock, debug=debug, secrets=secrets)
    endpoint = _backend(profile).endpoint(profile, key)
    if extra:  # the profile's own headers on every request; auth stays the endpoint's
        from dataclasses import replace

        endpoint = replace(endpoint, headers={**extra, **endpoint.headers})
    provider = ChatProvider(profile, endpoint, transport, model_info, key=key, debug=debug)
    if store is not None:
        from chatcli.providers.quirks import Quirks

        provider.quirks = Quirks(store)
    return provider
