"""The Provider protocol and the request it takes, free of any HTTP or SDK type."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

from chatcli.events import Message, StreamEvent


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to make. ``model`` is the user-facing name, not a deployment."""

    model: str
    messages: list[Message]
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    """Something that can answer a chat request as a stream of events.

    ``chat`` returns a generator: closing it (``.close()``, or Ctrl-C inside it) closes the HTTP
    stream at once. It raises ``chatcli.errors`` exceptions, never transport exceptions.
    """

    name: str

    def chat(self, request: ChatRequest) -> Generator[StreamEvent, None, None]: ...
