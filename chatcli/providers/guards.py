"""What every wire protocol does to an answer on its way up: a key the model spells out over
several deltas is masked whole, and a 400 blaming the ``tools`` or the reasoning effort sent is
explained (chat completions and the Responses API alike)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from chatcli.errors import APIError
from chatcli.events import Notice, ReasoningDelta, StreamEvent, TextDelta
from chatcli.safetext import Redactor


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


def refused_tools(items: Iterator[Any], sent_tools: bool) -> Iterator[Any]:
    """``items``, except that a 400/422 blaming the ``tools`` we sent becomes an error saying
    so, with what to do (an endpoint that drops them silently just answers in text)."""
    try:
        yield from items
    except APIError as exc:
        lowered = exc.message.lower()
        if not sent_tools or exc.status not in (400, 422) or "tool" not in lowered:
            raise
        raise APIError(
            f"the endpoint refused the tools it was sent: {exc.message}",
            hint="this endpoint or model does not take function calling; leave out -T "
            "(or the profile's tools), or use a model that supports tools",
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
