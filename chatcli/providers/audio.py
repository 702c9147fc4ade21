"""Speech to text through the openai SDK (``/audio/transcriptions`` and ``/audio/translations``).

Uploads are multipart and rarely made, so the SDK's encoder is worth its import cost here; this
module is only loaded by ``chatcli transcribe``. ``sdk`` builds the client the endpoint's type
describes (base URL or Azure deployment URL, key, proxy, timeout, max_retries) and turns
every SDK failure into ``chatcli.errors`` (401/403 AuthError, other statuses APIError,
connection and timeouts NetworkError). The reply comes back as the raw body text in every
format, so srt/vtt/verbose_json reach the caller unparsed and nothing is lost to SDK models;
``sdk.answer`` checks it first (see ``AudioClient.transcribe`` for what is refused).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from chatcli.environment import Clock
from chatcli.errors import APIError
from chatcli.providers import sdk, shapes
from chatcli.providers.base import AudioRequest
from chatcli.providers.endpoint import ChatEndpoint
from chatcli.settings.loading import Profile

if TYPE_CHECKING:
    import openai

    from chatcli.providers.cutoff import Cutoff

MAX_TRANSCRIPT = 16 * 1024 * 1024
"""The largest transcript body read (hours of verbose_json are a few MB)."""
JSON_FORMATS = ("json", "verbose_json")
"""Formats whose answer is a JSON object, never empty (``{"text": ""}`` for silence)."""


class AudioClient:
    """Transcribes or translates audio files for one profile; the SDK client is made lazily."""

    def __init__(
        self, profile: Profile, endpoint: ChatEndpoint, key: str, clock: Clock, *,
        debug: bool = False, cutoff: Cutoff | None = None,
    ) -> None:  # fmt: skip
        self.profile = profile
        self.cutoff = cutoff
        self.clock = clock
        self.endpoint = endpoint
        self._key = key
        self._http = sdk.http_client(
            profile, self._key, debug=debug, limit=MAX_TRANSCRIPT, cutoff=cutoff
        )
        self._clients: dict[str, openai.OpenAI] = {}

    def transcribe(self, filename: str, data: bytes, mime: str, request: AudioRequest) -> str:
        """Upload one file; the response body as text (raises chatcli errors).

        Refused with ``APIError`` (exit 5): a web page (a login page's 200 is no transcript);
        in the JSON formats, or whenever the body says it is JSON, anything but a JSON object
        with a string ``text`` (a chat completion is no transcript, in any format); so an
        empty body in the JSON formats, which always carry at least ``{"text": ""}``.
        In text, srt and vtt an empty body stays an empty transcript: silence transcribes to
        nothing, and a recording without speech is no endpoint failure.
        """
        client = self._clients.get(request.model)
        if client is None:  # two threads may both make one: the same, over the same ``_http``
            client = self._clients.setdefault(
                request.model, sdk.client(self.endpoint, request.model, self._http)
            )
        options: dict[str, Any] = {
            "file": (filename, data, mime),
            "model": self.endpoint.upload_model(request.model),
            "response_format": request.response_format,
        }
        if request.prompt:
            options["prompt"] = request.prompt
        if request.language and not request.translate:
            options["language"] = request.language

        def send() -> Any:
            if request.translate:
                with warnings.catch_warnings():  # the SDK marks translations deprecated
                    warnings.simplefilter("ignore", DeprecationWarning)
                    return client.audio.translations.with_raw_response.create(**options)
            return client.audio.transcriptions.with_raw_response.create(**options)

        raw = sdk.call(send, self.profile, self._key, self.clock, cutoff=self.cutoff,
                       renew=self.endpoint.renew)  # fmt: skip
        fmt = request.response_format
        what = "translation answer" if request.translate else "transcription answer"
        with sdk.errors(self._key, self.profile.proxy):
            got = sdk.answer(raw, what, "a transcript", empty=fmt not in JSON_FORMATS)
            if fmt in JSON_FORMATS or got.is_json or _json_object(got.text):
                obj = got.json_object()
                if not isinstance(obj.get("text"), str):
                    raise APIError(
                        f"malformed {what} from {shapes.origin(str(got.response.url))}: no "
                        f"`text` in {shapes.excerpt(obj, 160)}",
                        hint="the endpoint is not answering like an OpenAI-compatible API",
                    )
            return unwrap(got.text, fmt)

    def close(self) -> None:
        """Drop the connections (the SDK clients share the one httpx2 client)."""
        self._http.close()


def _json_object(body: str) -> bool:
    """Whether a body of the text formats is a JSON object anyway (a relay's answer that
    says text/plain): then it is read as one, and must be a transcript."""
    if not body.lstrip().startswith("{"):
        return False
    import json

    try:
        return isinstance(json.loads(body), dict)
    except (ValueError, RecursionError):
        return False


def unwrap(body: str, response_format: str) -> str:
    """The transcript itself when a relay wrapped a text/srt/vtt answer as JSON ``{"text": ...}``
    (LiteLLM does); JSON formats and plain bodies come back unchanged."""
    if response_format in ("json", "verbose_json") or not body.lstrip().startswith("{"):
        return body
    import json

    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):
        return body
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        text: str = obj["text"]
        return text
    return body
