"""Plain stream events: the seam between providers and everything that shows or stores a reply.

Providers yield these; ``session`` passes them on; ``render`` and the CLI consume them. None of
them carries an HTTP or SDK type, so the layers above are tested without a network. Failures are
not events: a provider raises a ``chatcli.errors`` exception instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text, in arrival order."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning summary (Responses API), shown while it thinks: dim
    above the answer on a terminal, on stderr off one, never on stdout; kept in the session
    but never sent back to the model as text."""

    text: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts for the request; ``estimated`` when counted locally, not reported.

    ``cached_tokens`` are the part of ``prompt_tokens`` read from the provider's prompt cache
    (billed at a lower rate); ``reasoning_tokens`` the part of ``completion_tokens`` spent
    thinking; ``service_tier`` the tier the response says it was served on.
    """

    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    service_tier: str | None = None


@dataclass(frozen=True, slots=True)
class Finish:
    """The end of a reply: why it stopped, and the model the endpoint says answered."""

    reason: str | None
    model: str | None = None
    refusal: str | None = None  # the model's refusal (reason "refusal"): no answer, but a reason
    filtered: str | None = None  # reason "content_filter": the categories it fired on (Azure)


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the user should see on stderr while waiting (retry countdown, fallbacks).

    Notices sharing a non-None ``key`` replace each other on a terminal (a live countdown).
    """

    message: str
    key: str | None = None


Content = str | list[dict[str, Any]]
"""A message's content: plain text, or OpenAI content parts (text and images)."""

Message = dict[str, Any]
"""An OpenAI-style chat message: ``{"role": ..., "content": Content}``."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One function call the model asked for: ``arguments`` is its JSON text as sent."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolCalls:
    """The calls of a reply, whole (streamed pieces joined), before its ``Finish``."""

    calls: tuple[ToolCall, ...]


@dataclass(frozen=True, slots=True)
class ToolNote:
    """A line about a tool call for stderr (``⚙ time.now {} → 1 line, 0.2 s``), shown above
    the live region like a notice but without the ``chatcli:`` prefix."""

    text: str


@dataclass(frozen=True, slots=True)
class Thought:
    """Reasoning a chat completions model streams before its answer (DeepSeek-style
    ``reasoning_content``): never shown nor kept, only counted as output (and reasoning)
    tokens when the endpoint reports no usage (``accounting``)."""

    reasoning: str


StreamEvent = TextDelta | ReasoningDelta | Thought | Usage | Finish | Notice | ToolCalls | ToolNote
