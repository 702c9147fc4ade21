"""The Provider protocol and the request it takes, free of any HTTP or SDK type."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from chatcli.events import Message, Notice, StreamEvent

if TYPE_CHECKING:
    from chatcli.providers.audio import AudioRequest
    from chatcli.providers.batches import BatchAPI
    from chatcli.providers.images import Image, ImageJob
    from chatcli.providers.speech import SpeechRequest


@dataclass(frozen=True)
class ResponseFormat:
    """Structured output asked for: the reply must be JSON matching ``schema`` (an object
    schema), enforced by the endpoint when ``strict`` (each wire protocol encodes it its way)."""

    name: str
    schema: dict[str, Any]
    strict: bool = True


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to make. ``model`` is the user-facing name, not a deployment."""

    model: str
    messages: list[Message]
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    response_format: ResponseFormat | None = None


class Chat(Protocol):
    """The part of a provider a conversation needs (``ChatSession`` takes only this, so its
    tests script it in a few lines).

    ``chat`` returns a generator: closing it (``.close()``, or Ctrl-C inside it) closes the HTTP
    stream at once. It raises ``chatcli.errors`` exceptions, never transport or SDK ones.
    """

    name: str

    def chat(self, request: ChatRequest) -> Generator[StreamEvent, None, None]: ...


class Provider(Chat, Protocol):
    """What every caller sees of an endpoint: chat, plus the few other requests commands make.
    Every method raises ``chatcli.errors`` exceptions, never transport or SDK ones."""

    def chat_url(self, model: str) -> str:
        """Where a chat request for ``model`` goes (for doctor and verify to show)."""
        ...

    def warm(self, model: str) -> None:
        """Do the one-off set-up of the first request now (the REPL does it while you type)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

    def abort(self) -> None:
        """Cut every connection now, from any thread: requests in flight in other threads fail
        at once instead of waiting for the server (Ctrl-C in a bulk command)."""
        ...

    def list_models(self) -> list[str]:
        """The model ids the endpoint lists."""
        ...

    def billing(self, *routes: str) -> tuple[str, list[Any]]:
        """A relay's ``/dashboard/billing/{route}`` bodies, and the base that answered."""
        ...

    def raw_complete(self, request: ChatRequest, on_notice: Callable[[Notice], None]) -> Any:
        """One non-streamed completion's whole JSON body (verify's probes)."""
        ...

    def raw_stream(
        self, request: ChatRequest, on_notice: Callable[[Notice], None]
    ) -> tuple[list[Any], bool]:
        """A streamed completion's raw chunks, and whether it really streamed."""
        ...

    def transcribe(self, filename: str, data: bytes, mime: str, request: AudioRequest) -> str:
        """Speech to text for one upload: the response body."""
        ...

    def speak(self, request: SpeechRequest) -> bytes:
        """Text to speech: the audio bytes."""
        ...

    def images(self, job: ImageJob) -> list[Image]:
        """Generated, edited or varied images."""
        ...

    def batches(self, on_notice: Callable[[Notice], None]) -> BatchAPI:
        """The endpoint's Files and Batches APIs."""
        ...
