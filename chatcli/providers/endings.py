"""How every answer reader ends, whichever wire protocol and whether streamed or whole: one
order and one rule, so the four readers (``answers`` and ``responses``, stream and body) cannot
drift apart. The usage comes first; then a refusal, when no text came, is the finish; else the
tool calls (only when tools were offered: the readers refuse unasked ones before) and the
finish. A finish reason no API documents is taken as the end it seems to be, with a notice
naming it: an answer ended in a way chatcli does not know is not a plain success."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from chatcli.events import Finish, Notice, StreamEvent, ToolCall, ToolCalls, Usage

KNOWN = frozenset({
    "stop", "length", "tool_calls", "function_call", "content_filter", "refusal", "error",
    "end_turn", "stop_sequence", "eos", "eos_token",  # a normal end, as other servers say it
})  # fmt: skip
"""The finish reasons read as what they say; any other gets a notice."""


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
    finish = reason() if callable(reason) else reason
    if finish is not None and finish not in KNOWN:
        from chatcli.safetext import one_line

        yield Notice(
            f"the answer ended with finish_reason {one_line(finish, 60)!r}, which chatcli "
            "does not know: taken as finished"
        )
    yield Finish(finish, model)
