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

``connect(..., guard=...)`` puts ``Guarded`` in front of the provider: every request that costs
money (a chat turn, verify's raw requests, a transcription, speech, images, a Batch API batch)
first calls ``guard(model)``, which raises to refuse it (the command's budgets:
``features.usage.budget.connect``); and a request cut by ``abort`` (Ctrl-C in a bulk command)
ends as ``Interrupted`` however the cut connection failed, so it is logged as interrupted.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from collections.abc import Generator

    from chatcli.environment import Clock
    from chatcli.events import Notice, StreamEvent
    from chatcli.pricing import ModelInfo
    from chatcli.providers.base import (
        AudioRequest,
        ChatRequest,
        Image,
        ImageJob,
        Provider,
        SpeechRequest,
    )
    from chatcli.providers.batches import BatchAPI
    from chatcli.providers.endpoint import BatchLine
    from chatcli.providers.modelmeta import ListedModel
    from chatcli.settings.loading import Profile
    from chatcli.store import Store

Guard = Callable[[str | None], None]
"""Called with a paid request's model (None: a batch of any) before it is sent; raises to
refuse it."""
T = TypeVar("T")


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
    guard: Guard | None = None,
) -> Provider:
    """A ready provider for ``profile`` (no network traffic until the first request).
    ``clock``: the command's (its environment's), which retry waits and ``Retry-After`` dates
    take. ``store``: the command's open database, where the provider reads and notes what the
    endpoint taught it (``quirks``) instead of opening a connection of its own. ``guard``:
    judges each paid request before it is sent (``Guarded``)."""
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
    transport.renew = endpoint.renew  # a 401: an Entra token fetched again (Azure)
    provider = ChatProvider(profile, endpoint, transport, model_info, key=key, debug=debug)
    if store is not None:
        from chatcli.providers.quirks import Quirks

        provider.quirks = Quirks(store)
    if guard is not None:
        return Guarded(provider, guard)
    return provider


class Guarded:
    """A ``Provider`` whose paid requests pass ``guard`` first, and whose requests cut by
    ``abort`` fail as ``Interrupted`` (a cut stream would otherwise read as a network error,
    and be logged as a failed request instead of an interrupted one)."""

    def __init__(self, inner: Provider, guard: Guard) -> None:
        self.inner = inner
        self.guard = guard
        self.aborted = False
        self.name = inner.name
        self.deployment_only = inner.deployment_only
        self.url_setting = inner.url_setting

    def _paid(self, model: str | None, send: Callable[[], T]) -> T:
        self.guard(model)
        return self._cut(send)

    def _cut(self, send: Callable[[], T]) -> T:
        from chatcli.errors import ChatcliError, Interrupted

        try:
            return send()
        except ChatcliError as exc:
            if self.aborted and not isinstance(exc, Interrupted):
                raise Interrupted("interrupted") from None
            raise

    def chat(self, request: ChatRequest) -> Generator[StreamEvent, None, None]:
        """The turn's events. The guard judges it now, when it is asked for: a refused turn
        raises here, before any generator exists, so nothing records a request never sent."""
        self.guard(request.model)
        return self._chat(request)

    def _chat(self, request: ChatRequest) -> Generator[StreamEvent, None, None]:
        from chatcli.errors import ChatcliError, Interrupted

        try:
            yield from self.inner.chat(request)
        except ChatcliError as exc:
            if self.aborted and not isinstance(exc, Interrupted):
                raise Interrupted("interrupted") from None
            raise

    def raw_complete(self, request: ChatRequest, on_notice: Callable[[Notice], None]) -> Any:
        return self._paid(request.model, lambda: self.inner.raw_complete(request, on_notice))

    def raw_stream(
        self, request: ChatRequest, on_notice: Callable[[Notice], None]
    ) -> tuple[list[Any], bool]:
        return self._paid(request.model, lambda: self.inner.raw_stream(request, on_notice))

    def transcribe(self, filename: str, data: bytes, mime: str, request: AudioRequest) -> str:
        return self._paid(
            request.model, lambda: self.inner.transcribe(filename, data, mime, request)
        )

    def speak(self, request: SpeechRequest) -> bytes:
        return self._paid(request.model, lambda: self.inner.speak(request))

    def images(self, job: ImageJob) -> list[Image]:
        return self._paid(job.model, lambda: self.inner.images(job))

    def batches(self, on_notice: Callable[[Notice], None]) -> BatchAPI:
        """The Batch API, whose ``create`` (a batch that will be billed) passes the guard;
        uploads, polls, downloads and cancels are free."""
        return cast("BatchAPI", _GuardedBatches(self.inner.batches(on_notice), self.guard))

    def chat_url(self, model: str) -> str:
        return self.inner.chat_url(model)

    def turn_url(self, model: str) -> str:
        return self.inner.turn_url(model)

    def warm(self, model: str) -> None:
        self.inner.warm(model)

    def close(self) -> None:
        self.inner.close()

    def abort(self) -> None:
        self.aborted = True
        self.inner.abort()

    def list_models(self) -> list[str]:
        return self.inner.list_models()

    def model_list(self) -> list[ListedModel]:
        return self.inner.model_list()

    def context_window(self, model: str) -> int | None:
        return self.inner.context_window(model)

    def stated_windows(self) -> dict[str, int]:
        return self.inner.stated_windows()

    def billing(self, *routes: str) -> tuple[str, list[Any]]:
        return self.inner.billing(*routes)


class _GuardedBatches:
    """A ``BatchAPI`` whose ``create`` passes the guard first; everything else is the API's."""

    def __init__(self, api: BatchAPI, guard: Guard) -> None:
        self._api = api
        self._guard = guard

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    def create(self, *args: Any, **kwargs: Any) -> Any:
        self._guard(None)
        return self._api.create(*args, **kwargs)
