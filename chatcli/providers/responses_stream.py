"""Reading a streamed Responses API answer: its server-sent events, shape-checked, as stream
events (the chat counterpart is ``answers.stream_events``).

The official order is ``response.created``, ``response.in_progress``, then per output item
``response.output_item.added``, ``response.content_part.added``, the deltas
(``output_text``, ``refusal``, ``reasoning_summary_text``, ``function_call_arguments``), their
``.done`` events and ``response.output_item.done``, and last one terminal event:
``response.completed``, ``response.incomplete`` or ``response.failed`` (or an ``error``
event). Text is yielded as it arrives; tool calls, usage and the finish come from the end.
Text that a gateway sends only whole (in ``response.output_text.done``,
``response.content_part.done``, a done message item or the final response's ``output``,
without deltas) is yielded from there, once: a part already streamed gives only what its whole
text adds (``_Texts``). Event types this module does not know are skipped (the API adds them);
a known event of the wrong shape is an ``APIError`` naming the field; a stream that stops
before its terminal event is cut, as on chat (the partial answer is kept by the session).
Reasoning items that carry encrypted content (asked for in a tool loop) are handed to the
caller (``reasoning``), from their done events or else the final ``output``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from chatcli.errors import NetworkError
from chatcli.events import Finish, ReasoningDelta, StreamEvent, TextDelta, ToolCall, ToolCalls
from chatcli.providers.answers import clean_calls
from chatcli.providers.endings import ending
from chatcli.providers.responses import (
    array,
    bad,
    failure,
    finish_reason,
    kept_reasoning,
    table,
    text_of,
    tier,
    unasked_tools,
    usage,
)

TERMINAL = ("response.completed", "response.incomplete", "response.failed")
WHERE = "stream event"


class _Calls:
    """Function calls of the stream, by output item: named when the item is added, arguments
    in deltas, the whole call again when the item is done (which wins).

    An item is known by its ``id``, else by its ``output_index``; some gateways give every
    item of a parallel batch the same one (and no ``id``), so an item added with a new,
    different ``call_id`` where a call already is starts a new call there, as on chat."""

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []
        self.by_item: dict[str, int] = {}  # an item's key -> its call (the latest there)

    def _key(self, event: dict[str, Any]) -> str:
        item_id = text_of(event, "item_id", WHERE, "item_id")
        if item_id:
            return item_id
        index = event.get("output_index")
        if isinstance(index, int) and not isinstance(index, bool):
            return f"#{index}"
        raise bad(WHERE, "item_id", event.get("item_id"))

    def _at(self, key: str, call_id: str = "") -> dict[str, str]:
        """The call known by ``key``: the one there, or a new one (none there yet, or one
        with another ``call_id``)."""
        at = self.by_item.get(key)
        if at is not None:
            call = self.calls[at]
            if not (call_id and call["call_id"] and call_id != call["call_id"]):
                return call
        self.by_item[key] = len(self.calls)
        self.calls.append({"key": key, "call_id": "", "name": "", "arguments": ""})
        return self.calls[-1]

    def item(self, item: dict[str, Any], index: Any, *, done: bool) -> None:
        field = "item"
        position = index if isinstance(index, int) and not isinstance(index, bool) else None
        key = text_of(item, "id", WHERE, f"{field}.id") or f"#{position}"
        call_id = text_of(item, "call_id", WHERE, f"{field}.call_id") or ""
        call = self._at(key, "" if done else call_id)  # only an added item is a new one
        call["call_id"] = call_id or call["call_id"]
        call["name"] = text_of(item, "name", WHERE, f"{field}.name") or call["name"]
        arguments = text_of(item, "arguments", WHERE, f"{field}.arguments")
        if done and arguments is not None:
            call["arguments"] = arguments
        elif arguments:
            call["arguments"] = call["arguments"] or arguments

    def delta(self, event: dict[str, Any]) -> None:
        piece = text_of(event, "delta", WHERE, "delta") or ""
        self._at(self._key(event))["arguments"] += piece

    def done(self, event: dict[str, Any]) -> None:
        arguments = text_of(event, "arguments", WHERE, "arguments")
        if arguments is not None:
            self._at(self._key(event))["arguments"] = arguments

    def joined(self) -> list[ToolCall]:
        calls = []
        for call in self.calls:
            if not call["name"]:
                raise bad(WHERE, f"function call {call['key']}: name", call["name"])
            calls.append(ToolCall(call["call_id"], call["name"], call["arguments"]))
        return clean_calls(calls)  # a call without a call_id gets one


class _Texts:
    """The answer's text by part (an output item, a content index): the deltas as they come,
    then, from each whole text of a part (a ``.done`` event, a done message item, the final
    output), only what it adds to what was streamed, so nothing is lost and nothing printed
    twice. An item is named by its ``id`` or its ``output_index`` (``#N``): both names of one
    item lead to the same part, whichever came first."""

    def __init__(self) -> None:
        self.parts: dict[tuple[str, int], str] = {}
        self.names: dict[str, str] = {}  # an item's id or #index -> the key of its parts
        self.item: str | None = None  # the item the last text came from
        self.written: list[str] = []

    def key(self, item_id: str | None, index: Any) -> str:
        names = [item_id] if item_id else []
        if isinstance(index, int) and not isinstance(index, bool):
            names.append(f"#{index}")
        key = next((self.names[n] for n in names if n in self.names), names[0] if names else "#")
        for name in names:
            self.names.setdefault(name, key)
        return key

    @staticmethod
    def part(value: Any) -> int:
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    def delta(self, item: str, part: int, text: str) -> Iterator[TextDelta]:
        if not text:
            return
        if self.written and item != self.item:
            yield TextDelta("\n\n")  # another message item: a paragraph of its own
        self.item = item
        self.parts[(item, part)] = self.parts.get((item, part), "") + text
        self.written.append(text)
        yield TextDelta(text)

    def whole(self, item: str, part: int, text: str) -> Iterator[TextDelta]:
        seen = self.parts.get((item, part))
        if seen is not None:
            if text.startswith(seen):
                yield from self.delta(item, part, text[len(seen) :])
            return
        written = "".join(self.written)
        if not text or text in written:
            return  # the text streamed already, under a name the deltas did not use
        if written and text.startswith(written) and self.item is not None:
            yield from self.delta(self.item, part, text[len(written) :])  # the same, named anew
            return
        yield from self.delta(item, part, text)

    def message(self, item: dict[str, Any], key: str, field: str) -> Iterator[TextDelta]:
        """The text parts of a whole message item."""
        for j, content in enumerate(array(item.get("content"), WHERE, f"{field}.content")):
            content = table(content, WHERE, f"{field}.content[{j}]")
            if content.get("type") == "output_text":
                said = text_of(content, "text", WHERE, f"{field}.content[{j}].text") or ""
                yield from self.whole(key, j, said)

    def output(self, final: dict[str, Any], kind: str) -> Iterator[TextDelta]:
        """The message items of the final response's ``output``."""
        where = f"{kind}: response.output"
        for i, item in enumerate(array(final.get("output"), WHERE, where)):
            item = table(item, WHERE, f"{where}[{i}]")
            if item.get("type") == "message":
                item_id = text_of(item, "id", WHERE, f"{where}[{i}].id")
                key = self.key(item_id, None if item_id else i)
                yield from self.message(item, key, f"{where}[{i}]")


def _final_output(
    response: dict[str, Any], reasoning: list[dict[str, Any]]
) -> tuple[str, str, list[ToolCall]]:
    """Text, refusal and calls of a final response's ``output`` (for streams that send the
    result only at the end, as some gateways do); its reasoning items into ``reasoning``."""
    from chatcli.providers.responses import whole_events

    text, refusal = "", ""
    calls: list[ToolCall] = []
    body = {**response, "status": "completed", "object": "response"}
    if not isinstance(body.get("output"), list):
        return text, refusal, calls
    for event in whole_events(body, tools_offered=True, reasoning=reasoning):
        if isinstance(event, TextDelta):
            text += event.text
        elif isinstance(event, ToolCalls):
            calls = clean_calls(event.calls)
        elif isinstance(event, Finish) and event.refusal:
            refusal = event.refusal
    return text, refusal, calls


def stream_events(
    events: Iterable[Any], *, tools_offered: bool, reasoning: list[dict[str, Any]] | None = None
) -> Iterator[StreamEvent]:
    """Reasoning summaries and text as they arrive, then usage, tool calls and the finish;
    ``reasoning`` receives the reasoning items that can be sent back."""
    model: str | None = None
    thoughts: list[dict[str, Any]] = []  # reasoning items with their encrypted content
    texts = _Texts()
    refusal: list[str] = []
    calls = _Calls()
    summary: tuple[str, int] | None = None
    final: dict[str, Any] | None = None
    kind = ""
    for event in events:
        if not isinstance(event, dict):
            raise bad(WHERE, "event", event)
        kind = text_of(event, "type", WHERE, "type") or ""
        if kind in TERMINAL:
            final = table(event.get("response"), WHERE, f"{kind}: response")
            break
        if kind == "error":
            raise failure(event, "mid-stream")
        if kind in ("response.created", "response.in_progress", "response.queued"):
            response = table(event.get("response"), WHERE, f"{kind}: response")
            model = text_of(response, "model", WHERE, "response.model") or model
        elif kind in ("response.output_text.delta", "response.output_text.done"):
            source = texts.key(
                text_of(event, "item_id", WHERE, f"{kind}: item_id"), event.get("output_index")
            )
            part = texts.part(event.get("content_index"))
            if kind.endswith("delta"):
                yield from texts.delta(source, part, text_of(event, "delta", WHERE,
                                                             f"{kind}: delta") or "")  # fmt: skip
            else:
                whole = text_of(event, "text", WHERE, f"{kind}: text") or ""
                yield from texts.whole(source, part, whole)
        elif kind == "response.content_part.done":
            content = table(event.get("part"), WHERE, f"{kind}: part")
            if content.get("type") == "output_text":
                source = texts.key(
                    text_of(event, "item_id", WHERE, f"{kind}: item_id"),
                    event.get("output_index"),
                )
                whole = text_of(content, "text", WHERE, f"{kind}: part.text") or ""
                yield from texts.whole(source, texts.part(event.get("content_index")), whole)
        elif kind == "response.refusal.delta":
            refusal.append(text_of(event, "delta", WHERE, f"{kind}: delta") or "")
        elif kind == "response.refusal.done":
            said = text_of(event, "refusal", WHERE, f"{kind}: refusal")
            if said is not None:
                refusal = [said]
        elif kind == "response.reasoning_summary_text.delta":
            delta = text_of(event, "delta", WHERE, f"{kind}: delta")
            index = event.get("summary_index", 0)
            where = (text_of(event, "item_id", WHERE, f"{kind}: item_id") or "", index)
            if delta:
                if summary is not None and where != summary:
                    yield ReasoningDelta("\n\n")  # a new part of the summary
                summary = where
                yield ReasoningDelta(delta)
        elif kind in ("response.output_item.added", "response.output_item.done"):
            item = table(event.get("item"), WHERE, f"{kind}: item")
            if item.get("type") == "function_call":
                calls.item(item, event.get("output_index"), done=kind.endswith("done"))
            elif item.get("type") == "reasoning" and kind.endswith("done"):
                kept = kept_reasoning(item)
                if kept is not None:
                    thoughts.append(kept)
            elif item.get("type") == "message" and kind.endswith("done"):
                item_id = text_of(item, "id", WHERE, f"{kind}: item.id")
                source = texts.key(item_id, event.get("output_index"))
                yield from texts.message(item, source, f"{kind}: item")
        elif kind == "response.function_call_arguments.delta":
            calls.delta(event)
        elif kind == "response.function_call_arguments.done":
            calls.done(event)
    if final is None:
        raise NetworkError(
            "the stream ended before the answer was complete",
            hint="the endpoint closed the connection early; try again",
        )
    if kind == "response.failed":
        raise failure(final.get("error"), "mid-stream")
    model = text_of(final, "model", WHERE, "response.model") or model
    yield from texts.output(final, kind)
    wrote = bool(texts.written)
    joined = calls.joined()
    final_items: list[dict[str, Any]] = []
    if not wrote and not joined and not refusal:
        _text, said, joined = _final_output(final, final_items)
        if said:
            refusal = [said]
    elif not thoughts and isinstance(final.get("output"), list):  # no done events for them
        for item in final["output"]:
            if isinstance(item, dict) and item.get("type") == "reasoning":
                kept = kept_reasoning(item)
                final_items.extend([kept] if kept is not None else [])
    if reasoning is not None:
        reasoning.extend(thoughts or final_items)
    if kind == "response.incomplete" and final.get("status") is None:
        final = {**final, "status": "incomplete"}
    reason = finish_reason(final, WHERE, calls=bool(joined) and tools_offered)
    if joined and not tools_offered and not wrote:
        raise unasked_tools([c.name for c in joined])
    reported = usage(final.get("usage"))
    yield from ending(
        model,
        reason,
        usage=replace(reported, service_tier=tier(final)) if reported is not None else None,
        refusal="".join(refusal),
        said=wrote,
        calls=joined,
        tools_offered=tools_offered,
    )
