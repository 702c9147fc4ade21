"""The Responses API (``POST /responses``) as a wire protocol: the request body of a
``ChatRequest`` and the reading of a whole (non-streamed) answer; the stream is read by
``responses_stream``, the choice between this and chat completions made by ``wire``.

History is sent whole on every turn, as on the chat path (``store`` only says whether the
provider may keep the response; chatcli never sends ``previous_response_id``). Messages become
input items: the leading system prompt becomes ``instructions`` (the API's own place for it,
kept apart from the conversation; a system message later in the history stays in place as a
``developer`` item), user text and images ``input_text`` / ``input_image`` parts, assistant
text a plain assistant message (the official schema's input form: ``output_text`` parts belong
to output items that need the id and status of a stored response), tool calls
``function_call`` items and tool results ``function_call_output`` items. Reasoning kept with a
message is never sent back as text.

Within one turn's tool rounds the model's reasoning is passed back, as OpenAI asks for
reasoning models: a request offering tools to one asks for ``include:
["reasoning.encrypted_content"]`` (nothing is stored with ``store: false``), the reasoning
items that came with a round's function calls are kept in memory by the provider
(``kept_reasoning``), and the next round's input carries them, whole, just before the
assistant items they preceded. They are never written to the database: the next user message
starts without them (OpenAI drops earlier turns' reasoning anyway).

Answers are read like ``answers`` reads chat bodies: every field checked, a wrong shape is an
``APIError`` naming it, usage that is implausible is dropped. The finish policy is the chat
one: ``incomplete`` for ``max_output_tokens`` is ``length``, for ``content_filter`` is
``content_filter``, a refusal part is ``refusal``, ``failed`` is an error (exit 5).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

from chatcli.errors import APIError
from chatcli.events import (
    Message,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    Usage,
)
from chatcli.providers import answers, errorbody
from chatcli.providers.base import ChatRequest, ResponseFormat
from chatcli.providers.endings import ending
from chatcli.providers.shapes import Shapes, excerpt
from chatcli.safetext import one_line

MIN_OUTPUT_TOKENS = 16
"""The Responses API refuses a ``max_output_tokens`` below this (400); smaller limits are
raised to it."""

HINT = "the endpoint is not answering like the OpenAI Responses API"
_SHAPES = Shapes(HINT)
bad, text_of, table, array = _SHAPES.bad, _SHAPES.text, _SHAPES.table, _SHAPES.array

INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}
"""``incomplete_details.reason`` -> the finish reason of the one finish policy."""

ENCRYPTED = "reasoning.encrypted_content"
"""The ``include`` that makes reasoning items carry their content, encrypted, so they can be
passed back in the next round without being stored."""

Reasoning = Mapping[str, list[dict[str, Any]]]
"""A function call's id -> the reasoning items that preceded it, to be sent back before it."""


# -- the request ----------------------------------------------------------------------------


def body(
    request: ChatRequest,
    *,
    send_model: bool,
    store: bool,
    completion: bool,
    encrypted: bool = False,
    reasoning: Reasoning | None = None,
) -> dict[str, Any]:
    """The Responses request body for ``request``. ``send_model`` False: the endpoint routes
    by URL (never the case on the v1 routes, kept for symmetry with chat); ``completion``:
    the model is a reasoning model (no ``temperature``; reasoning summaries asked for);
    ``encrypted``: ask for reasoning items' encrypted content; ``reasoning``: kept items to
    send back before the calls they preceded."""
    instructions, items = input_items(request.messages, reasoning)
    out: dict[str, Any] = {}
    if send_model:
        out["model"] = request.model
    if instructions is not None:
        out["instructions"] = instructions
    out["input"] = items
    if request.max_tokens is not None:
        out["max_output_tokens"] = max(MIN_OUTPUT_TOKENS, request.max_tokens)
    if request.temperature is not None and not completion:
        out["temperature"] = request.temperature
    if request.stream:
        out["stream"] = True
    out["store"] = store
    if request.reasoning:
        out["reasoning"] = {"effort": request.reasoning, "summary": "auto"}
    elif completion:
        out["reasoning"] = {"summary": "auto"}
    if request.response_format is not None:
        out["text"] = {"format": text_format(request.response_format)}
    if request.tools:
        out["tools"] = [function_tool(spec) for spec in request.tools]
    if request.service_tier:
        out["service_tier"] = request.service_tier
    if encrypted:
        out["include"] = [ENCRYPTED]
    out.update(from_chat(request.extra))
    return out


def from_chat(extra: dict[str, Any]) -> dict[str, Any]:
    """Extra body fields written for chat completions (a batch line's body, a tool loop's
    ``tool_choice``) in their Responses form; fields both APIs share pass unchanged."""
    out: dict[str, Any] = {}
    for key, value in extra.items():
        if key in ("stream_options", "messages", "n", "logprobs"):
            continue
        if key == "max_completion_tokens" or key == "max_tokens":
            if isinstance(value, int):
                out["max_output_tokens"] = max(MIN_OUTPUT_TOKENS, value)
        elif key == "response_format" and isinstance(value, dict):
            spec = value.get("json_schema")
            flat = {**spec, "type": "json_schema"} if isinstance(spec, dict) else value
            out["text"] = {"format": flat}
        elif key == "reasoning_effort" and isinstance(value, str):
            out["reasoning"] = {"effort": value, "summary": "auto"}
        elif key == "tools" and isinstance(value, list):
            out["tools"] = [_tool(t) for t in value]
        elif key == "tool_choice" and isinstance(value, dict):
            function = value.get("function")
            named = function.get("name") if isinstance(function, dict) else value.get("name")
            out["tool_choice"] = {"type": "function", "name": named}
        else:
            out[key] = value
    return out


def _tool(tool: Any) -> Any:
    """A chat-shaped ``{"type": "function", "function": {...}}`` tool as a Responses one."""
    if isinstance(tool, dict) and isinstance(tool.get("function"), dict):
        return function_tool(tool["function"])
    return tool


def text_format(fmt: ResponseFormat) -> dict[str, Any]:
    """``text.format`` for structured output (the flat form of chat's ``json_schema``)."""
    if fmt.json_object:
        return {"type": "json_object"}
    return {"type": "json_schema", "name": fmt.name, "schema": fmt.schema, "strict": fmt.strict}


def function_tool(spec: dict[str, Any]) -> dict[str, Any]:
    """A function spec (name, description, parameters) as a Responses function tool. Strict
    is off: the Responses API makes it the default, and MCP servers' schemas are rarely in
    strict form (the answer is checked by the tool, as on chat)."""
    tool: dict[str, Any] = {
        "type": "function",
        "name": spec["name"],
        "parameters": spec.get("parameters") or {"type": "object", "properties": {}},
        "strict": False,
    }
    if spec.get("description"):
        tool["description"] = spec["description"]
    return tool


def input_items(
    messages: list[Message], reasoning: Reasoning | None = None
) -> tuple[str | None, list[dict[str, Any]]]:
    """``instructions`` (the leading system messages) and the input items of ``messages``;
    ``reasoning``'s items go before the assistant message whose calls they preceded."""
    leading: list[str] = []
    items: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role == "system" and not items:
            leading.append(_plain(message.get("content")))
            continue
        if reasoning and role == "assistant":
            ids = [str(c.get("id") or "") for c in message.get("tool_calls") or []]
            items.extend(next((reasoning[i] for i in ids if i in reasoning), []))
        items.extend(_items(message))
    return ("\n\n".join(leading) if leading else None), items


def turn_calls(messages: list[Message]) -> set[str]:
    """The ids of the function calls made since the last user message: the rounds of the
    turn being answered, whose reasoning is sent back."""
    ids: set[str] = set()
    for message in reversed(messages):
        if message.get("role") == "user":
            break
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict) and call.get("id"):
                ids.add(str(call["id"]))
    return ids


def kept_reasoning(item: dict[str, Any]) -> dict[str, Any] | None:
    """A reasoning output item as an input item to send back (its id, summary and encrypted
    content), or None when it carries no encrypted content or is not of the documented
    shape (then it is not sent: without its content a store-less API cannot take it)."""
    item_id, content = item.get("id"), item.get("encrypted_content")
    if not (isinstance(item_id, str) and item_id and isinstance(content, str) and content):
        return None
    summary = item.get("summary")
    said = summary if isinstance(summary, list) else []
    parts = [
        {"type": "summary_text", "text": p["text"]}
        for p in said
        if isinstance(p, dict) and isinstance(p.get("text"), str)
    ]
    return {"type": "reasoning", "id": item_id, "summary": parts, "encrypted_content": content}


def _items(message: Message) -> list[dict[str, Any]]:
    role = message.get("role")
    content = message.get("content")
    if role == "tool":
        call_id = str(message.get("tool_call_id") or "")
        return [{"type": "function_call_output", "call_id": call_id, "output": _plain(content)}]
    if role == "assistant":
        out: list[dict[str, Any]] = []
        text = _plain(content)
        if text:
            out.append({"role": "assistant", "content": text})
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {}
            out.append(
                {
                    "type": "function_call",
                    "call_id": str(call.get("id") or ""),
                    "name": str(function.get("name") or ""),
                    "arguments": str(function.get("arguments") or ""),
                }
            )
        return out
    if role in ("system", "developer"):
        return [{"role": "developer", "content": _plain(content)}]
    return [{"role": "user", "content": _user_content(content)}]


def _plain(content: Any) -> str:
    """The text of a message's content (string, or the text of its parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(p.get("text") or "") for p in content if isinstance(p, dict) and "text" in p
        )
    return ""


def _user_content(content: Any) -> str | list[dict[str, Any]]:
    """User content: a string as is, chat's content parts as Responses input parts."""
    if not isinstance(content, list):
        return content if isinstance(content, str) else _plain(content)
    parts: list[dict[str, Any]] = []
    for part in content:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("text", "input_text"):
            parts.append({"type": "input_text", "text": str(part.get("text") or "")})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            detail = image.get("detail") if isinstance(image, dict) else None
            parts.append({"type": "input_image", "image_url": url, "detail": detail or "auto"})
        elif kind == "input_image":
            parts.append({"detail": "auto", **part})
    return parts


# -- a whole answer -------------------------------------------------------------------------


def usage(value: Any) -> Usage | None:
    """A Responses ``usage`` (input/output tokens, cached and reasoning details), or None when
    missing or implausible (read by chat's rules)."""
    if not isinstance(value, dict):
        return None
    return answers.usage(
        {
            "prompt_tokens": value.get("input_tokens"),
            "completion_tokens": value.get("output_tokens"),
            "prompt_tokens_details": value.get("input_tokens_details"),
            "completion_tokens_details": value.get("output_tokens_details"),
        }
    )


def tier(obj: dict[str, Any]) -> str | None:
    """The ``service_tier`` the response says it was served on."""
    value = obj.get("service_tier")
    return one_line(value, 40) if isinstance(value, str) and value else None


def failure(error: Any, where: str) -> APIError:
    """The error of a ``failed`` response or an ``error`` event: rate limits and quota named
    as on chat, anything else as the endpoint's own words."""
    err = error if isinstance(error, dict) else {"message": error}
    message = err.get("message")
    said = errorbody.clean(message) if isinstance(message, str) and message.strip() else ""
    code = err.get("code") if isinstance(err.get("code"), str) else None
    kind = err.get("type") if isinstance(err.get("type"), str) else None
    parsed = errorbody.ErrorBody(said, code, kind)
    if errorbody.is_quota(parsed):
        return APIError(f"quota exhausted ({code or 'insufficient_quota'}): {said}",
                        hint=errorbody.BILLING_HINT, status=429)  # fmt: skip
    if code in ("rate_limit_exceeded", "rate_limit_error") or "rate limit" in said.lower():
        return APIError(f"rate limited ({code or 'rate_limit_exceeded'}): {said}", status=429)
    shown = f" ({one_line(code, 60)})" if code else ""
    return APIError(f"the endpoint reported an error {where}{shown}: {said or 'no message'}")


def finish_reason(response: dict[str, Any], where: str, *, calls: bool) -> str:
    """The finish reason of a final response object, by its ``status``; ``failed`` and
    ``cancelled`` raise."""
    status = text_of(response, "status", where, "status")
    if status == "failed":
        raise failure(response.get("error"), where)
    if status == "cancelled":
        raise APIError("the endpoint cancelled the response", hint="try again")
    if status == "incomplete":
        details = table(response.get("incomplete_details"), where, "incomplete_details")
        reason = text_of(details, "reason", where, "incomplete_details.reason") or "length"
        return INCOMPLETE.get(reason, one_line(reason, 40))
    return "tool_calls" if calls else "stop"


def unasked_tools(names: list[str]) -> APIError:
    """A function call in answer to a request that offered no tools."""
    shown = f" ({', '.join(dict.fromkeys(one_line(n, 60) for n in names))})" if names else ""
    return APIError(
        f"the model answered with a tool call{shown}, but this request offered no tools",
        hint="the endpoint or model is not following the request; try another model",
    )


def whole_events(
    obj: Any, *, tools_offered: bool, reasoning: list[dict[str, Any]] | None = None
) -> Iterator[StreamEvent]:
    """The events of one non-streamed Responses body: reasoning summaries, text, tool calls,
    usage and the finish (malformed -> ``APIError``); ``reasoning`` receives the reasoning
    items that can be sent back (``kept_reasoning``)."""
    where = "response"
    if not isinstance(obj, dict):
        raise bad(where, "body", obj)
    if "output" not in obj and isinstance(obj.get("error"), dict | str):
        raise failure(obj["error"], where)
    if obj.get("object") not in (None, "response") or not isinstance(obj.get("output"), list):
        charged = usage(obj.get("usage")) or answers.usage(obj.get("usage"))
        if charged is not None:  # no answer, but the server says what it charged: logged
            yield charged
        raise APIError(f"no answer: the body is not a response: {excerpt(obj)}", hint=HINT)
    model = text_of(obj, "model", where, "model")
    texts: list[str] = []
    refusals: list[str] = []
    summaries: list[str] = []
    calls: list[ToolCall] = []
    for i, item in enumerate(obj["output"]):
        field = f"output[{i}]"
        item = table(item, where, field)
        kind = text_of(item, "type", where, f"{field}.type")
        if kind == "reasoning":
            kept = kept_reasoning(item)
            if kept is not None and reasoning is not None:
                reasoning.append(kept)
            for j, part in enumerate(array(item.get("summary"), where, f"{field}.summary")):
                part = table(part, where, f"{field}.summary[{j}]")
                said = text_of(part, "text", where, f"{field}.summary[{j}].text")
                if said:
                    summaries.append(said)
        elif kind == "message":
            if texts and texts[-1]:
                texts.append("\n\n")  # another message item: a paragraph of its own
            for j, part in enumerate(array(item.get("content"), where, f"{field}.content")):
                part = table(part, where, f"{field}.content[{j}]")
                if part.get("type") == "refusal":
                    said = text_of(part, "refusal", where, f"{field}.content[{j}].refusal")
                    refusals.append(said or "")
                elif part.get("type") == "output_text":
                    texts.append(text_of(part, "text", where, f"{field}.content[{j}].text") or "")
        elif kind == "function_call":
            name = text_of(item, "name", where, f"{field}.name") or ""
            if not name:
                raise bad(where, f"{field}.name", item.get("name"))
            call_id = text_of(item, "call_id", where, f"{field}.call_id") or ""  # made up
            arguments = text_of(item, "arguments", where, f"{field}.arguments") or ""
            calls.append(ToolCall(call_id, name, arguments))
    text = "".join(texts).removesuffix("\n\n")
    reported = usage(obj.get("usage"))
    try:
        reason = finish_reason(obj, where, calls=bool(calls) and tools_offered)
    except APIError:
        if reported is not None:  # a failed response's usage is still what it charged
            yield reported
        raise
    if calls and not tools_offered and not text:
        raise unasked_tools([c.name for c in calls])
    if summaries:
        yield ReasoningDelta("\n\n".join(summaries))
    if text:
        yield TextDelta(text)
    yield from ending(
        model,
        reason,
        usage=replace(reported, service_tier=tier(obj)) if reported is not None else None,
        refusal="".join(refusals),
        said=bool(text),
        calls=answers.clean_calls(calls),  # ids made unique, as the streamed path does
        tools_offered=tools_offered,
    )
