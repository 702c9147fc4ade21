"""Text to speech through the openai SDK (``/audio/speech``); the reply is the audio bytes.

Like ``audio``, only loaded by the command that needs it (``chatcli speak``); the SDK client is
built from the Profile by ``sdk`` (base URL or Azure deployment, key, proxy, timeout, retries).
"""

from __future__ import annotations

from chatcli.providers import sdk
from chatcli.providers.base import SpeechRequest
from chatcli.settings.loading import Profile

SPEECH_READ_TIMEOUT = 120.0
"""Seconds to wait for the audio: the endpoint synthesises all of it before answering."""


def synthesize(profile: Profile, request: SpeechRequest, *, key: str, debug: bool = False) -> bytes:
    """The audio bytes for ``request`` (raises chatcli errors)."""
    read_timeout = max(profile.timeout, SPEECH_READ_TIMEOUT)
    http = sdk.http_client(profile, key, debug=debug, read_timeout=read_timeout)
    try:
        client = sdk.client(profile, request.model, key=key, http=http)
        model = profile.deployment(request.model) if profile.type == "azure" else request.model
        with sdk.errors(key):
            raw = client.audio.speech.with_raw_response.create(
                model=model,
                input=request.text,
                voice=request.voice,  # relays offer more voices than the SDK lists
                response_format=request.response_format,  # type: ignore[arg-type]
            )
            return bytes(raw.http_response.content)
    finally:
        http.close()
