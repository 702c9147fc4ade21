"""How every answer reader ends, whichever wire protocol and whether streamed or whole: one
order and one rule, so the four readers (``answers`` and ``responses``, stream and body) cannot
drift apart. The usage comes first; then a refusal, when no text came, is the finish; else the
tool calls (only when tools were offered: the readers refuse unasked ones before) and the
finish."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from chatcli.events import Finish, StreamEvent, ToolCall, ToolCalls, Usage


def ending(
    model: str | None,
    reason: str | Callable[[], str | None] | None,
    *,
    usage: Usage | None,
    refusal: str,
    said: bool,
    calls: Sequence[ToolCall],
    tools_offered: bool,
) -> Iterator[StreamEvent]:
    """The closing events of an answer. ``said``: text came. ``reason`` may be a function: a
    chat stream decides its finish only when no refusal ended the answer (a stream cut before
    its finish is an error then, and only then)."""
    if usage is not None:
        yield usage
    if refusal.strip() and not said:
        yield Finish("refusal", model, refusal=refusal)
        return
    if calls and tools_offered:
        yield ToolCalls(tuple(calls))
    yield Finish(reason() if callable(reason) else reason, model)
