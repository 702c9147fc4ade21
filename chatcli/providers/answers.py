"""Reading chat-completion answers (stream chunks and whole bodies) without trusting their shape.

Relays and local servers send surprising JSON: ``choices: [1]``, ``delta: "x"``, a list as
``content``, ``model`` as an object, ``prompt_tokens`` of 10**30 or -5. Every field read here
is checked; a field of the wrong type is an ``APIError`` (exit 5) that names it, and an
implausible usage report is dropped, so the session estimates instead of logging nonsense.
What an answer means is read here too: choice 0 only, the last running usage total, a
refusal, a tool call nobody asked for, ``[DONE]`` as the end of a complete answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

from chatcli.errors import APIError, NetworkError
from chatcli.events import (
    Finish,
    Notice,
    StreamEvent,
    TextDelta,
    Thought,
    ToolCall,
    ToolCalls,
    Usage,
)
from chatcli.providers import errorbody
from chatcli.providers.endings import ending
from chatcli.providers.shapes import Shapes, excerpt
from chatcli.safetext import one_line

MAX_TOKENS_REPORTED = 100_000_000
"""More tokens than this in one request's usage is a broken report, not a real count."""

_HINT = "the endpoint is not answering like an OpenAI-compatible API"
MAX_CALLS = 128
"""More tool calls than this in one answer is a broken answer."""


_SHAPES = Shapes(_HINT)
_bad, _text, _table = _SHAPES.bad, _SHAPES.text, _SHAPES.table


def _choices(obj: dict[str, Any], where: str) -> list[dict[str, Any]]:
    value = obj.get("choices")
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(where, "choices", value)
    for i, choice in enumerate(value):
        if not isinstance(choice, dict):
            raise _bad(where, f"choices[{i}]", choice)
    return value


def _content(value: Any, where: str, field: str) -> str:
    """Message content: a string, or a list of text parts as some servers send."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for part in value:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            else:
                raise _bad(where, field, value)
        return "".join(parts)
    raise _bad(where, field, value)


def usage(value: Any) -> Usage | None:
    """A reported usage, or None when missing or implausible (negative, huge, not integers)."""
    if not isinstance(value, dict):
        return None
    prompt = value.get("prompt_tokens")
    completion = value.get("completion_tokens")
    counts = (prompt, completion)
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in counts):
        return None
    assert isinstance(prompt, int) and isinstance(completion, int)
    if not (0 <= prompt <= MAX_TOKENS_REPORTED and 0 <= completion <= MAX_TOKENS_REPORTED):
        return None
    cached = _part(value, ("prompt_tokens_details", "cached_tokens"), prompt)
    if not cached:  # DeepSeek's own name for the same count
        cached = _part(value, ("prompt_cache_hit_tokens",), prompt)
    reasoning = _part(value, ("completion_tokens_details", "reasoning_tokens"), completion)
    return Usage(prompt, completion, cached_tokens=cached, reasoning_tokens=reasoning)


def _part(value: dict[str, Any], path: tuple[str, ...], whole: int) -> int:
    """A sub-count of usage (``prompt_tokens_details.cached_tokens``): 0 when missing or
    implausible (not an integer, negative, or more than the ``whole`` it is part of)."""
    node: Any = value
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, int) and not isinstance(node, bool) and 0 <= node <= whole:
        return node
    return 0


class _CallPieces:
    """Streamed ``tool_calls`` deltas joined by their ``index``: the id and name come once,
    the arguments in pieces; parallel calls interleave.

    Some servers give every call of a parallel batch the same ``index`` (Ollama, SGLang,
    LiteLLM's Responses bridge send ``index: 0`` for each): a piece at a taken index that
    names a tool with a new, different ``id`` (or, without ids, another tool after that
    call's arguments began) starts a new call there, once the call there has whole
    arguments. A piece without a name continues the call, whatever its ``id``: some servers
    send a new id with every piece of one call. A whole message's calls (``by_position``)
    are taken by their place in the list, whatever ``index`` they carry."""

    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []
        self._at: dict[int, int] = {}  # a delta's index -> the call it continues

    def add(self, value: Any, where: str, field: str, *, by_position: bool = False) -> None:
        if value is None:
            return
        if not isinstance(value, list):
            raise _bad(where, field, value)
        for n, piece in enumerate(value):
            if not isinstance(piece, dict):
                raise _bad(where, f"{field}[{n}]", piece)
            index = piece.get("index", n)
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 128:
                raise _bad(where, f"{field}[{n}].index", index)
            function = _table(piece.get("function"), where, f"{field}[{n}].function")
            call_id = _text(piece, "id", where, f"{field}[{n}].id") or ""
            name = _text(function, "name", where, f"{field}[{n}].function.name") or ""
            arguments = _text(function, "arguments", where, f"{field}[{n}].function.arguments")
            call = self._call(n if by_position else index, call_id, name, where)
            call["id"] = call["id"] or call_id
            if name != call["name"]:  # some servers repeat the whole name in every piece
                call["name"] += name
            call["arguments"] += arguments or ""

    def _call(self, index: int, call_id: str, name: str, where: str) -> dict[str, str]:
        """The call a piece at ``index`` belongs to: the one there, or a new one."""
        at = self._at.get(index)
        if at is not None:
            call = self.calls[at]
            another_id = bool(call_id and call["id"] and call_id != call["id"])
            another_tool = name != call["name"]
            if not name or not (another_id or (another_tool and call["arguments"])):
                return call
            if not (_whole(call["arguments"]) or (another_id and another_tool)):
                return call  # its arguments are still coming: a piece of the same call
        if len(self.calls) >= MAX_CALLS:
            raise APIError(f"malformed {where}: more than {MAX_CALLS} tool calls", hint=_HINT)
        self._at[index] = len(self.calls)
        self.calls.append({"id": "", "name": "", "arguments": ""})
        return self.calls[-1]

    def event(self) -> ToolCalls | None:
        """The joined calls (a call without an id gets one: some local servers omit it)."""
        if not self.calls:
            return None
        for n, call in enumerate(self.calls):
            if not call["name"]:
                raise _bad("tool call", f"tool_calls[{n}].function.name", call["name"])
        return ToolCalls(tuple(clean_calls(ToolCall(c["id"], c["name"], c["arguments"])
                                           for c in self.calls)))  # fmt: skip


def _whole(arguments: str) -> bool:
    """Whether ``arguments`` are complete JSON (a call that may be followed by another)."""
    try:
        json.loads(arguments)
    except (ValueError, RecursionError):
        return False
    return True


_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def made_up_id() -> str:
    """An id for a tool call the endpoint sent without one: ``call_`` and 24 random hex
    digits, unique across the whole conversation (a per-answer ``call_0`` would come back in
    every round, and endpoints that check ids across the history refuse it)."""
    import secrets

    return f"call_{secrets.token_hex(12)}"


def clean_calls(calls: Iterable[ToolCall]) -> list[ToolCall]:
    """``calls`` as they can be stored and sent back: an id each, none twice (a missing id is
    made up, ``made_up_id``, and an id the answer already used gets a suffix, so each result
    answers exactly one call and the API accepts the history), and no half surrogate pair in
    their text (a JSON ``\\ud83d`` escape decodes to one: it is no Unicode, cannot be stored
    or counted, and kills an MCP server's stdio; U+FFFD instead).
    """
    calls = [
        ToolCall(*(_LONE_SURROGATE.sub("\ufffd", v) for v in (c.id, c.name, c.arguments)))
        for c in calls
    ]
    taken = {c.id for c in calls if c.id}
    seen: set[str] = set()
    out = []
    for call in calls:
        wanted = call.id or made_up_id()
        if wanted in seen or (not call.id and wanted in taken):
            k = 2
            while f"{wanted}_{k}" in taken or f"{wanted}_{k}" in seen:
                k += 1
            wanted = f"{wanted}_{k}"
        seen.add(wanted)
        out.append(call if wanted == call.id else replace(call, id=wanted))
    return out


def carries(chunk: dict[str, Any]) -> bool:
    """Whether a stream chunk says anything: one without ``choices`` (or with an empty list)
    and without ``usage`` is a keep-alive in all but name, and does not hold off the silence
    watchdog (``transport.SSEStream``)."""
    choices = chunk.get("choices")
    return chunk.get("usage") is not None or (choices != [] and choices is not None)


def _index(choice: dict[str, Any], position: int) -> int:
    """A choice's ``index`` (its position when the server leaves it out)."""
    index = choice.get("index")
    return index if isinstance(index, int) and not isinstance(index, bool) else position


def _unasked_tools(calls: ToolCalls | None) -> APIError:
    names = [one_line(c.name, 60) for c in calls.calls] if calls is not None else []
    shown = f" ({', '.join(dict.fromkeys(names))})" if names else ""
    return APIError(
        f"the model answered with a tool call{shown}, but this request offered no tools",
        hint="the endpoint or model is not following the request; try another model",
    )


def stream_events(
    chunks: Iterable[Any],
    *,
    completed: Callable[[], bool] = lambda: False,
    tools_offered: bool = True,
) -> Iterator[StreamEvent]:
    """Text deltas, thinking notices, tool calls, usage and the finish of a streamed answer.

    Only choice 0 is read (a server sending several never interleaves them into one answer).
    Usage sent in every chunk is a running total: the last report counts. A refusal
    (``delta.refusal``) is kept and reported in the finish (reason ``refusal``). Tool calls to
    a request that offered none (``tools_offered`` False: the provider knows) are an error.
    ``completed()`` says whether the stream ended with ``[DONE]``: then an answer without a
    ``finish_reason`` is complete, not cut.
    """
    refusal: list[str] = []
    finish: str | None = None
    pieces = _CallPieces()
    model: str | None = None
    reported: Usage | None = None
    thinking = 0  # reasoning chunks before the answer (DeepSeek-style reasoning_content)
    tier: str | None = None
    fired = ""  # what Azure's content filter stopped the answer for
    where = "stream chunk"
    for chunk in chunks:
        if not isinstance(chunk, dict):
            raise _bad(where, "chunk", chunk)
        model = _text(chunk, "model", where, "model") or model
        tier = _tier(chunk) or tier
        reported = usage(chunk.get("usage")) or reported
        for i, choice in enumerate(_choices(chunk, where)):
            if _index(choice, i) != 0:
                continue
            delta = _table(choice.get("delta"), where, f"choices[{i}].delta")
            text = _content(delta.get("content"), where, f"choices[{i}].delta.content")
            pieces.add(delta.get("tool_calls"), where, f"choices[{i}].delta.tool_calls")
            refusal.append(_text(delta, "refusal", where, f"choices[{i}].delta.refusal") or "")
            thought = _thought(delta) if thinking >= 0 else ""  # before the answer only
            if thought:  # not shown; counted when no usage is reported
                yield Thought(thought)
            if text:
                thinking = -1
                yield TextDelta(text)
            elif thinking >= 0 and (
                _text(delta, "reasoning_content", where, "delta.reasoning_content")
                or (isinstance(delta.get("reasoning"), str) and delta["reasoning"])
            ):
                # Reasoning models can think for a minute before the first word; say so
                # instead of showing nothing (updated in place on a terminal).
                thinking += 1
                if thinking == 1 or thinking % 25 == 0:
                    count = f" ({thinking} tokens)" if thinking > 1 else ""
                    yield Notice(f"thinking…{count}", key="thinking")
            reason = _text(choice, "finish_reason", where, f"choices[{i}].finish_reason")
            if reason:
                finish = reason
            fired = errorbody.filtered(choice.get("content_filter_results")) or fired
    calls = pieces.event()
    if calls is not None and not tools_offered and thinking >= 0:
        raise _unasked_tools(calls)

    def decided() -> str:
        if finish is not None:
            return finish
        if not completed():
            raise NetworkError(
                "the stream ended before the answer was complete",
                hint="the endpoint closed the connection early; try again",
            )
        return "stop"  # [DONE] came: the server considers the answer complete

    closing = ending(
        model,
        decided,
        usage=replace(reported, service_tier=tier) if reported is not None else None,
        refusal="".join(refusal),
        said=thinking < 0,
        calls=calls.calls if calls is not None else (),
        tools_offered=tools_offered,
    )
    for event in closing:
        if isinstance(event, Finish) and event.reason == "content_filter" and fired:
            event = replace(event, filtered=fired)
        yield event


def _thought(message: dict[str, Any]) -> str:
    """The reasoning text a message or delta carries (``reasoning_content``, or ``reasoning``
    as some servers name it), for counting only; anything but a string is no reasoning."""
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def whole_events(obj: Any, *, tools_offered: bool = True) -> Iterator[StreamEvent]:
    """The events of a non-streamed answer body (choice 0 only)."""
    where = "response"
    if not isinstance(obj, dict):
        raise _bad(where, "body", obj)
    choices = _choices(obj, where)
    if not choices and isinstance(obj.get("error"), dict | str):
        said = errorbody.parse_text(json.dumps(obj, default=str)).message
        raise APIError(f"the endpoint reported an error: {said}")
    if not choices:
        charged = usage(obj.get("usage"))
        if charged is not None:  # generated or not, the server says what it charged: logged
            yield charged
        raise APIError(f"no answer: the response has no choices: {excerpt(obj)}", hint=_HINT)
    choice = next((c for i, c in enumerate(choices) if _index(c, i) == 0), choices[0])
    message = _table(choice.get("message"), where, "choices[0].message")
    text = _content(message.get("content"), where, "choices[0].message.content")
    reason = _text(choice, "finish_reason", where, "choices[0].finish_reason")
    model = _text(obj, "model", where, "model")
    words = _text(message, "refusal", where, "choices[0].message.refusal")
    pieces = _CallPieces()
    pieces.add(message.get("tool_calls"), where, "choices[0].message.tool_calls", by_position=True)
    calls = pieces.event()
    if calls is not None and not tools_offered and not text:
        raise _unasked_tools(calls)
    thought = _thought(message)
    if thought:  # not shown; counted when no usage is reported
        yield Thought(thought)
    if text:
        yield TextDelta(text)
    event = usage(obj.get("usage"))
    fired = errorbody.filtered(choice.get("content_filter_results"))
    for closing in ending(
        model,
        reason,
        usage=replace(event, service_tier=_tier(obj)) if event is not None else None,
        refusal=words or "",
        said=bool(text),
        calls=calls.calls if calls is not None else (),
        tools_offered=tools_offered,
    ):
        if isinstance(closing, Finish) and closing.reason == "content_filter" and fired:
            closing = replace(closing, filtered=fired)  # what Azure's filter fired on
        yield closing


def _tier(obj: dict[str, Any]) -> str | None:
    """The ``service_tier`` a response says it was served on (priced by the dataset), if any."""
    value = obj.get("service_tier")
    return one_line(value, 40) if isinstance(value, str) and value else None
