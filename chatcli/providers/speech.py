"""Text to speech through the openai SDK (``/audio/speech``); the reply is the audio bytes.

Like ``audio``, only loaded by the command that needs it (``chatcli speak``); the SDK client is
the one the endpoint's type describes (base URL or Azure deployment, key, headers), over
``sdk``'s httpx2 client (proxy, timeout) and retries. A 200 that is not audio (see
``NOT_AUDIO``) or is empty is an ``APIError`` (exit 5), so no file is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatcli.environment import Clock
from chatcli.providers import sdk
from chatcli.providers.base import SpeechRequest
from chatcli.providers.endpoint import ChatEndpoint
from chatcli.settings.loading import Profile

if TYPE_CHECKING:
    from chatcli.providers.cutoff import Cutoff

MAX_AUDIO = 64 * 1024 * 1024
"""The largest audio body read (4,096 characters of speech as WAV is about 30 MB)."""
NOT_AUDIO = ("text/", "application/json", "+json", *sdk.PAGES)
"""Content types a speech answer never has: a web page, text, a JSON error object sent with
200. Anything else is taken as audio (``audio/*``, ``application/octet-stream``, none at all:
relays label audio loosely), as long as it is not empty."""


def synthesize(
    profile: Profile,
    endpoint: ChatEndpoint,
    request: SpeechRequest,
    *,
    key: str,
    clock: Clock,
    debug: bool = False,
    cutoff: Cutoff | None = None,
) -> bytes:
    """The audio bytes for ``request`` (raises chatcli errors)."""
    http = sdk.http_client(profile, key, debug=debug, limit=MAX_AUDIO, cutoff=cutoff)
    try:
        client = sdk.client(endpoint, request.model, http)
        model = endpoint.upload_model(request.model)
        raw = sdk.call(
            lambda: client.audio.speech.with_raw_response.create(
                model=model,
                input=request.text,
                voice=request.voice,  # relays offer more voices than the SDK lists
                response_format=request.response_format,  # type: ignore[arg-type]
            ),
            profile,
            key,
            clock,
            cutoff=cutoff,
            renew=endpoint.renew,
        )
        with sdk.errors(key, profile.proxy):
            return sdk.answer(raw, "speech answer", "audio", refuse=NOT_AUDIO).body
    finally:
        http.close()
