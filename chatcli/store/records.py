"""The rows the store reads and writes: plain dataclasses, no SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from chatcli.events import Content

Status = Literal["ok", "error", "interrupted"]
"""How a logged request ended."""

UNKNOWN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
"""What a timestamp the store cannot read stands for (a hand edit, another tool's row)."""


def stored_time(value: object) -> datetime:
    """A stored timestamp as an aware UTC datetime; one that is not ISO text (garbage, a
    number, NULL) becomes ``UNKNOWN_TIME``, so one bad row cannot break every listing."""
    if not isinstance(value, str):
        return UNKNOWN_TIME
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return UNKNOWN_TIME
    if when.tzinfo is None:  # naive: chatcli writes UTC
        when = when.replace(tzinfo=UTC)
    try:
        when.astimezone()  # representable in local time (not year 1 or 9999 at the edge)
    except (OverflowError, ValueError):
        return UNKNOWN_TIME
    return when


@dataclass(frozen=True)
class SessionRow:
    """A stored session; ``title`` is its first user message, shortened, for listings;
    ``one_shot`` marks a conversation recorded by ``ask`` without a name. ``head_id`` is the
    message the next one attaches to (the end of the current branch); ``forked_from`` is
    ``"SESSION@TURN"`` for a fork, and ``forked_from_id`` that session's id (None once it
    is deleted: ``forked_from`` then keeps the name it had)."""

    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    profile: str | None
    model: str | None
    system: str | None
    role: str | None
    title: str | None
    one_shot: bool = False
    head_id: int | None = None
    forked_from: str | None = None
    forked_from_id: int | None = None

    @property
    def source_deleted(self) -> bool:
        """Whether this is a fork whose source session is no longer stored."""
        return self.forked_from is not None and self.forked_from_id is None


@dataclass(frozen=True, kw_only=True)
class SessionSummary(SessionRow):
    """A session as listed, with how many messages its current branch holds, and, where
    that is none, how many its other branches hold (``elsewhere``: an undone first turn)."""

    message_count: int
    elsewhere: int = 0


@dataclass(frozen=True)
class SearchHit:
    """A stored message that matched ``sessions search``: where it is and a snippet."""

    session: str
    message_id: int
    role: str
    created_at: datetime
    snippet: str


@dataclass(slots=True)
class NewMessage:
    """A message to store. ``tokens`` is what it adds to a request (framing included);
    prompt/completion tokens and cost are the request's, on the assistant reply."""

    role: str
    content: Content
    tokens: int
    model: str | None = None
    profile: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    estimated: bool = False
    cost_usd: float | None = None
    finish_reason: str | None = None
    interrupted: bool = False
    ttft_ms: int | None = None
    duration_ms: int | None = None
    tool_calls: list[dict[str, Any]] | None = None  # assistant: [{"id", "name", "arguments"}]
    tool_call_id: str | None = None  # role "tool": the call this result answers
    tool_info: dict[str, Any] | None = None  # role "tool": name, approved, duration_ms, error
    reasoning: str | None = None  # assistant: the reasoning summary shown while it thought
    system: str | None = None  # user: the system prompt its turn was sent with ("" for none)


@dataclass(slots=True, kw_only=True)
class MessageRow(NewMessage):
    """A stored message; ``parent_id`` is the message before it on its branch (None for the
    first), ``turn`` the number of user messages on its branch up to and including it.
    ``system`` None on a user message: stored by a chatcli that did not record it (the
    session's own system prompt stands for it)."""

    id: int
    session_id: int
    created_at: datetime
    parent_id: int | None = None
    turn: int = 0


@dataclass(frozen=True)
class UsageRecord:
    """One request for the usage log. ``cost_usd`` None means the price is unknown, not zero.

    ``model`` is the model asked for (what is priced and grouped); ``served_model`` the name the
    response gave, when it gave one: a relay substituting a cheaper model shows up there.
    """

    model: str
    profile: str | None
    command: str
    status: Status
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False
    cost_usd: float | None = None
    latency_ms: int | None = None
    ttft_ms: int | None = None
    session_id: int | None = None
    served_model: str | None = None
    cached_tokens: int = 0  # of prompt_tokens, read from the prompt cache
    reasoning_tokens: int = 0  # of completion_tokens, spent thinking


@dataclass(frozen=True, kw_only=True)
class UsageRow(UsageRecord):
    """A logged request."""

    id: int
    created_at: datetime


def content_text(content: Content) -> str:
    """The text of a message's content, image parts left out (titles, search, undo)."""
    if isinstance(content, str):
        return content
    return "\n".join(str(p.get("text", "")) for p in content if p.get("type") == "text")


def images_attached(content: Content) -> str:
    """How a message's images are noted where its text is shown (``sessions show``, the
    REPL's resume preview and ``/history``, each in its own brackets): ``image attached``,
    ``2 images attached``, or "" for none (a stored image part keeps no file name)."""
    count = 0 if isinstance(content, str) else sum(p.get("type") == "image_url" for p in content)
    if not count:
        return ""
    return "image attached" if count == 1 else f"{count} images attached"


@dataclass(frozen=True)
class RequestResult:
    """What became of one request."""

    idx: int
    ok: bool
    answer: str | None = None
    served_model: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    error: str | None = None
    cached_tokens: int | None = None  # of prompt_tokens, from the provider's prompt cache
    reasoning_tokens: int | None = None  # of completion_tokens, spent thinking
