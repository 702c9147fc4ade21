"""What every wire protocol does to an answer on its way up: a key the model spells out over
several deltas is masked whole, a usage report beyond what the model can hold is dropped (the
tokens are then counted locally), an empty answer is said to be one, and a 400 blaming the
``tools`` or the reasoning effort sent is explained (chat completions and the Responses API
alike)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from chatcli.errors import APIError
from chatcli.events import Finish, Notice, ReasoningDelta, StreamEvent, TextDelta, ToolCalls, Usage
from chatcli.safetext import Redactor

if TYPE_CHECKING:
    from chatcli.pricing import ModelInfo
    from chatcli.providers.base import ChatRequest

UNKNOWN_WINDOW_FACTOR = 100
UNKNOWN_WINDOW_SLACK = 100_000
"""A model whose context window chatcli does not know: a reported prompt above this many times
the local count plus the slack is absurd (a 2-token "hi" billed as 10 million)."""


def masked(events: Iterator[StreamEvent]) -> Iterator[StreamEvent]:
    """A key the model spells out over several deltas is masked whole, in the answer and in
    its reasoning summary alike (one delta at a time is masked by the transport already)."""
    answer, thought = Redactor(), Redactor()

    def flush(redactor: Redactor, kind: type[TextDelta] | type[ReasoningDelta]) -> Iterator[Any]:
        held = redactor.flush()
        if held:
            yield kind(held)

    try:
        for event in events:
            if isinstance(event, TextDelta):
                yield from flush(thought, ReasoningDelta)  # the summary ends where text starts
                text = answer.push(event.text)
                if text:
                    yield TextDelta(text)
                continue
            if isinstance(event, ReasoningDelta):
                text = thought.push(event.text)
                if text:
                    yield ReasoningDelta(text)
                continue
            if not isinstance(event, Notice):
                yield from flush(thought, ReasoningDelta)
                yield from flush(answer, TextDelta)
            yield event
    except Exception:
        yield from flush(thought, ReasoningDelta)  # what was held back arrived: it is kept
        yield from flush(answer, TextDelta)
        raise
    yield from flush(thought, ReasoningDelta)
    yield from flush(answer, TextDelta)


def plausible_usage(
    events: Iterator[StreamEvent], request: ChatRequest, info: ModelInfo
) -> Iterator[StreamEvent]:
    """``events``, but a usage report the model cannot have produced is dropped, with one
    notice, so the session counts the tokens locally (estimated), as for a negative one:
    prompt (input) tokens above the model's known context window, or, when the window is
    unknown, above 100 times the local count plus 100,000; completion (output) tokens above
    the known window (the catalog states no maximum output: the window bounds it too)."""
    for event in events:
        if isinstance(event, Usage):
            why = _absurd(event, request, info)
            if why is not None:
                yield Notice(
                    f"the endpoint reported {why}; ignored, the tokens are counted locally "
                    "(estimated)"
                )
                continue
        yield event


EMPTY = "the model returned an empty answer"


def noted_empty(events: Iterator[StreamEvent]) -> Iterator[StreamEvent]:
    """``events``, with a notice (``EMPTY``) before the finish of an answer that has no text,
    no tool call and no refusal and stopped normally: a script's ``x=$(chatcli ask ...)``
    would otherwise get "" with no sign why (still a success)."""
    said = False
    for event in events:
        if (isinstance(event, TextDelta) and event.text) or isinstance(event, ToolCalls):
            said = True
        elif isinstance(event, Finish) and event.reason == "stop" and not said:
            yield Notice(EMPTY)
        yield event


def _absurd(usage: Usage, request: ChatRequest, info: ModelInfo) -> str | None:
    """Why ``usage`` cannot be true for ``request``, or None when it may be."""

    def local() -> int:
        from chatcli.tokens import count_messages

        return count_messages(request.messages, info.tokenizer).n

    return implausible(usage, request.model, info.context_window, local)


def implausible(
    usage: Usage, model: str, window: int | None, local: Callable[[], int]
) -> str | None:
    """Why a usage report for one request to ``model`` cannot be true, or None when it may
    be: the one rule for every answer read (streamed, whole, a Batch API result file).
    ``window``: the model's context window when known; ``local()``: the request's prompt as
    counted here, asked for only when the window is unknown."""
    prompt, completion = usage.prompt_tokens, usage.completion_tokens
    if window:
        beyond = f"more than {model}'s context window ({window:,})"
        if prompt > window:
            return f"{prompt:,} prompt tokens, {beyond}"
        if completion > window:
            return f"{completion:,} completion tokens, {beyond}"
        return None
    if prompt <= UNKNOWN_WINDOW_SLACK:
        return None
    counted = local()
    if prompt > UNKNOWN_WINDOW_FACTOR * counted + UNKNOWN_WINDOW_SLACK:
        return f"{prompt:,} prompt tokens for a request of about {counted:,}"
    return None


# What endpoints say when they take no tools: "Unsupported parameter: 'tools'", "does not
# support tools", "tool choice requires --enable-auto-tool-choice", "does not support
# Function Calling", "tool use is not supported".
_TOOLS_REFUSED = re.compile(
    r"\btools\b|\btool[ _-]?choice|\btool[ _-]?(?:calling|use)\b|\bfunction[ _-]?call(?:ing|s)?\b"
    r"|\bfunctions\b|does not support (?:a )?tool\b",
    re.I,
)
# What they say about the history instead (a result without its call, a call without its
# result, an id used twice): the endpoint took the tools, the conversation is the problem.
_TOOL_HISTORY = re.compile(
    r"tool_call_id|\bcall_id\b|tool_use_id|role\W{0,3}tool\b|\btool messages?\b"
    r"|\btool[ _](?:call[ _])?(?:output|result)s?\b|function[ _]call[ _]output"
    r"|\bprece+ding\b|must be followed by|must be a response to",
    re.I,
)


def blames_tools(message: str) -> bool:
    """Whether an endpoint's 400 says it takes no tools (not that the history of calls and
    results it was sent is out of order)."""
    return not _TOOL_HISTORY.search(message) and bool(_TOOLS_REFUSED.search(message))


def refused_tools(items: Iterator[Any], sent_tools: bool) -> Iterator[Any]:
    """``items``, except that a 400/422 blaming the ``tools`` we sent becomes an error saying
    so, with what to do (an endpoint that drops them silently just answers in text)."""
    try:
        yield from items
    except APIError as exc:
        if not sent_tools or exc.status not in (400, 422) or not blames_tools(exc.message):
            raise
        from chatcli.hints import too_many_tools, too_many_tools_hint

        hint = (
            too_many_tools_hint()  # it takes tools, not that many (the tools loop names them)
            if too_many_tools(exc.message)
            else "this endpoint or model does not take function calling; leave out -T "
            "(or the profile's tools), or use a model that supports tools"
        )
        raise APIError(
            f"the endpoint refused the tools it was sent: {exc.message}",
            hint=hint,
            status=exc.status,
        ) from None


_REASONING = re.compile(r"\breasoning(?:[_.]effort)?\b", re.I)


def refused_reasoning(items: Iterator[Any], effort: str | None, model: str) -> Iterator[Any]:
    """``items``, except that a 400/422 naming ``reasoning_effort`` (or ``reasoning``) when
    ``--reasoning`` was given gets a hint naming the flag and the model (a model or relay
    that takes no reasoning effort refuses the whole request)."""
    try:
        yield from items
    except APIError as exc:
        if not effort or exc.status not in (400, 422) or exc.hint is not None:
            raise
        if not _REASONING.search(exc.message):
            raise
        exc.hint = (
            f"{model} takes no reasoning effort here: leave out --reasoning {effort}, or "
            "use -m with a reasoning model"
        )
        raise
