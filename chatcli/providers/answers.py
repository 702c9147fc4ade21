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
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from chatcli.errors import APIError, NetworkError
from chatcli.events import Finish, Notice, StreamEvent, TextDelta, Usage
from chatcli.providers import errorbody
from chatcli.safetext import one_line

MAX_TOKENS_REPORTED = 100_000_000
"""More tokens than this in one request's usage is a broken report, not a real count."""

_HINT = "the endpoint is not answering like an OpenAI-compatible API"


def _bad(where: str, field: str, value: Any) -> APIError:
    shown = excerpt(value, 60)
    return APIError(f"malformed {where}: `{field}` is {shown}", hint=_HINT)


def _text(obj: dict[str, Any], key: str, where: str, field: str) -> str | None:
    """``obj[key]`` when it is a string or absent/null; anything else is malformed."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _bad(where, field, value)


def _table(value: Any, where: str, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise _bad(where, field, value)


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
    return Usage(prompt, completion)


def _index(choice: dict[str, Any], position: int) -> int:
    """A choice's ``index`` (its position when the server leaves it out)."""
    index = choice.get("index")
    return index if isinstance(index, int) and not isinstance(index, bool) else position


def _tool_names(calls: Any) -> list[str]:
    names = []
    for call in calls if isinstance(calls, list) else []:
        function = call.get("function") if isinstance(call, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str) and name:
            names.append(one_line(name, 60))
    return names


def _unasked_tools(names: list[str]) -> APIError:
    shown = f" ({', '.join(dict.fromkeys(names))})" if names else ""
    return APIError(
        f"the model answered with a tool call{shown}, but this request offered no tools",
        hint="the endpoint or model is not following the request; try another model",
    )


def stream_events(
    chunks: Iterable[Any],
    *,
    completed: Callable[[], bool] = lambda: False,
    tools_offered: bool = False,
) -> Iterator[StreamEvent]:
    """Text deltas, thinking notices, usage and the finish of a streamed answer.

    Only choice 0 is read (a server sending several never interleaves them into one answer).
    Usage sent in every chunk is a running total: the last report counts. A refusal is kept
    and reported in the finish (reason ``refusal``). ``completed()`` says whether the stream
    ended with ``[DONE]``: then an answer without a ``finish_reason`` is complete, not cut.
    """
    finish: str | None = None
    model: str | None = None
    reported: Usage | None = None
    refusal: list[str] = []
    tools: list[str] = []
    tool_call = False
    thinking = 0  # reasoning chunks before the answer (DeepSeek-style reasoning_content)
    where = "stream chunk"
    for chunk in chunks:
        if not isinstance(chunk, dict):
            raise _bad(where, "chunk", chunk)
        model = _text(chunk, "model", where, "model") or model
        reported = usage(chunk.get("usage")) or reported
        for i, choice in enumerate(_choices(chunk, where)):
            if _index(choice, i) != 0:
                continue
            delta = _table(choice.get("delta"), where, f"choices[{i}].delta")
            text = _content(delta.get("content"), where, f"choices[{i}].delta.content")
            said_no = _text(delta, "refusal", where, f"choices[{i}].delta.refusal")
            if said_no:
                refusal.append(said_no)
            if delta.get("tool_calls") or delta.get("function_call"):
                tool_call = True
                tools += _tool_names(delta.get("tool_calls"))
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
    if reported is not None:
        yield reported
    if (tool_call or finish == "tool_calls") and not tools_offered and thinking >= 0:
        raise _unasked_tools(tools)
    if "".join(refusal).strip():
        yield Finish("refusal", model, refusal="".join(refusal))
        return
    if finish is None:
        if not completed():
            raise NetworkError(
                "the stream ended before the answer was complete",
                hint="the endpoint closed the connection early; try again",
            )
        finish = "stop"  # [DONE] came: the server considers the answer complete
    yield Finish(finish, model)


def whole_events(obj: Any, *, tools_offered: bool = False) -> Iterator[StreamEvent]:
    """The events of a non-streamed answer body (choice 0 only)."""
    where = "response"
    if not isinstance(obj, dict):
        raise _bad(where, "body", obj)
    choices = _choices(obj, where)
    if not choices and isinstance(obj.get("error"), dict | str):
        said = errorbody.parse_text(json.dumps(obj, default=str)).message
        raise APIError(f"the endpoint reported an error: {said}")
    if not choices:
        raise APIError(f"no answer: the response has no choices: {excerpt(obj)}", hint=_HINT)
    choice = next((c for i, c in enumerate(choices) if _index(c, i) == 0), choices[0])
    message = _table(choice.get("message"), where, "choices[0].message")
    text = _content(message.get("content"), where, "choices[0].message.content")
    said_no = _text(message, "refusal", where, "choices[0].message.refusal")
    reason = _text(choice, "finish_reason", where, "choices[0].finish_reason")
    model = _text(obj, "model", where, "model")
    calls = message.get("tool_calls") or message.get("function_call")
    if calls and not text and not tools_offered:
        raise _unasked_tools(_tool_names(message.get("tool_calls")))
    if text:
        yield TextDelta(text)
    event = usage(obj.get("usage"))
    if event is not None:
        yield event
    if said_no and said_no.strip() and not text:
        yield Finish("refusal", model, refusal=said_no)
        return
    yield Finish(reason, model)


def excerpt(value: Any, limit: int = 160) -> str:
    """A one-line JSON excerpt of ``value`` for an error message (not a Python repr)."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        text = "<unprintable>"
    return one_line(text, limit)
