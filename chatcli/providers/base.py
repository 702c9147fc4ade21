"""The Provider protocol and the value types of its signatures, free of any HTTP or SDK type.

This module imports no implementation (``providers/__init__.connect`` builds one), so every
caller can name what it sends and gets back without loading the transport or the SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from chatcli.events import Message, Notice, StreamEvent

if TYPE_CHECKING:
    from chatcli.providers.batches import BatchAPI
    from chatcli.providers.modelmeta import ListedModel


@dataclass(frozen=True)
class ResponseFormat:
    """Structured output asked for: the reply must be JSON matching ``schema`` (an object
    schema), enforced by the endpoint when ``strict`` (each wire protocol encodes it its way).
    ``json_object``: only "some JSON object" (older models), the schema being in the prompt."""

    name: str
    schema: dict[str, Any]
    strict: bool = True
    json_object: bool = False


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
    tools: list[dict[str, Any]] | None = None  # function specs: name, description, parameters
    reasoning: str | None = None  # reasoning effort: minimal, low, medium, high
    service_tier: str | None = None  # flex, priority, default, ... as the endpoint offers


@dataclass(frozen=True)
class AudioRequest:
    """One upload: ``model`` is the user-facing name (Azure maps it to a deployment)."""

    model: str
    response_format: str = "json"
    language: str | None = None
    prompt: str | None = None
    translate: bool = False


@dataclass(frozen=True)
class SpeechRequest:
    """One synthesis: ``model`` is the user-facing name (Azure maps it to a deployment)."""

    model: str
    text: str
    voice: str = "alloy"
    response_format: str = "mp3"


@dataclass(frozen=True)
class ImageJob:
    """One images request. ``image`` set: an edit (with ``prompt``) or a ``variation`` of it."""

    model: str
    prompt: str | None = None
    n: int = 1
    size: str | None = None
    response_format: str | None = None  # None: b64_json where the model takes the parameter
    image: Path | None = None
    mask: Path | None = None
    variation: bool = False

    @property
    def operation(self) -> str:
        if self.image is None:
            return "generation"
        return "variations" if self.variation else "edits"


@dataclass(frozen=True)
class Image:
    """One returned image and, for dall-e-3, the prompt it really drew."""

    data: bytes
    revised_prompt: str | None = None


class Chat(Protocol):
    """The part of a provider a conversation needs (``ChatSession`` takes only this, so its
    tests script it in a few lines).

    ``chat`` returns a generator: closing it (``.close()``, or Ctrl-C inside it) closes the HTTP
    stream at once. It raises ``chatcli.errors`` exceptions, never transport or SDK ones.
    """

    name: str
    deployment_only: bool
    """The endpoint routes by deployment and takes no model name (Azure): the model a reply
    names is then the only true name of what answered."""

    def chat(self, request: ChatRequest) -> Generator[StreamEvent, None, None]: ...


class Provider(Chat, Protocol):
    """What every caller sees of an endpoint: chat, plus the few other requests commands make.
    Every method raises ``chatcli.errors`` exceptions, never transport or SDK ones."""

    url_setting: str
    """The profile key that says where the endpoint is (``base_url``, ``endpoint``)."""

    def chat_url(self, model: str) -> str:
        """Where a chat request for ``model`` goes (for doctor and verify to show)."""
        ...

    def turn_url(self, model: str) -> str:
        """Where a conversation turn for ``model`` goes now: the Responses or the chat URL, as
        the profile's ``api`` and what the endpoint taught decide (doctor shows it)."""
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

    def model_list(self) -> list[ListedModel]:
        """The endpoint's models with what its list says of them (context window, shutdown
        date)."""
        ...

    def context_window(self, model: str) -> int | None:
        """The context window the endpoint states for ``model`` (remembered), or None."""
        ...

    def stated_windows(self) -> dict[str, int]:
        """Model -> context window of a gateway's model-info route (LiteLLM's ``/model/info``;
        {} where there is none), asked once."""
        ...

    def billing(self, *routes: str) -> tuple[str, list[Any]]:
        """A relay's ``/dashboard/billing/{route}`` bodies, and the base that answered; a
        ``ChatcliError`` where the endpoint type has no billing API at all."""
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
