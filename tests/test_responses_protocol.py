"""The Responses wire protocol as pure functions: the request body of a ``ChatRequest``
(checked against OpenAI's own ``CreateResponse`` schema, tests/openapi/) and the reading of
whole and streamed answers into stream events."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from chatcli.errors import APIError, NetworkError
from chatcli.events import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCalls,
    Usage,
)
from chatcli.providers import responses
from chatcli.providers.base import ChatRequest, ResponseFormat
from chatcli.providers.responses_stream import stream_events

SCHEMA = Path(__file__).parent / "openapi" / "responses_request.schema.json"


@cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@cache
def _known_keys() -> frozenset[str]:
    """Every top-level key ``CreateResponse`` defines (its allOf parts do not forbid others,
    so an unknown key would pass the schema: it is checked here)."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    keys: set[str] = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            keys.update(node.get("properties", {}))
            ref = node.get("$ref")
            if isinstance(ref, str):
                collect(schema["$defs"][ref.rsplit("/", 1)[1]])
            for part in node.get("allOf", []):
                collect(part)

    collect(schema)
    return frozenset(keys)


def problems(body: Any) -> list[str]:
    """What OpenAI's schema finds wrong with a Responses request body (for other tests too)."""
    found = [f"{list(e.absolute_path)}: {e.message}" for e in _validator().iter_errors(body)]
    unknown = set(body) - _known_keys() if isinstance(body, dict) else set()
    return found + [f"unknown key {k!r}" for k in sorted(unknown)]


def test_the_schema_rejects_what_openai_rejects() -> None:
    assert problems({"model": "gpt-5", "input": "hi", "max_output_tokens": 5})
    assert problems({"model": "gpt-5", "input": [{"role": "user", "content": [{"type": "text"}]}]})
    assert problems({"model": "gpt-5", "input": "hi", "max_tokens": 50})
    assert problems({"model": "gpt-5", "input": "hi", "reasoning": {"effort": "extreme"}})


HISTORY: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]},
    {"role": "assistant", "content": "a dot"},
    {"role": "user", "content": "what time is it?"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "time__now", "arguments": "{\"tz\": \"UTC\"}"}},
    ]},
    {"role": "tool", "tool_call_id": "call_1", "content": "12:00"},
    {"role": "assistant", "content": "noon", "reasoning": "the tool said 12:00"},
    {"role": "system", "content": "Now answer in French."},
    {"role": "user", "content": "and now?"},
]  # fmt: skip


def test_messages_become_input_items() -> None:
    instructions, items = responses.input_items(HISTORY)
    assert instructions == "Be brief."
    assert items == [
        {"role": "user", "content": [
            {"type": "input_text", "text": "what is this?"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=",
             "detail": "auto"},
        ]},
        {"role": "assistant", "content": "a dot"},
        {"role": "user", "content": "what time is it?"},
        {"type": "function_call", "call_id": "call_1", "name": "time__now",
         "arguments": "{\"tz\": \"UTC\"}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "12:00"},
        {"role": "assistant", "content": "noon"},
        {"role": "developer", "content": "Now answer in French."},
        {"role": "user", "content": "and now?"},
    ]  # fmt: skip
    assert "the tool said" not in json.dumps(items)  # reasoning is never sent back


SPEC = {"name": "time__now", "description": "The time.",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}  # fmt: skip
JSON_OBJECT = ResponseFormat("x", {}, json_object=True)
SCHEMA_FORMAT = ResponseFormat(
    "answer",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
     "additionalProperties": False},
)  # fmt: skip


@pytest.mark.parametrize(
    ("request_", "completion", "expected"),
    [
        (ChatRequest("gpt-5", HISTORY), False, {"stream": True, "store": False}),
        (
            ChatRequest("gpt-4.1", HISTORY, temperature=0.3, max_tokens=5, stream=False),
            False,
            {"temperature": 0.3, "max_output_tokens": 16, "store": False},
        ),
        (
            ChatRequest("o3", HISTORY, temperature=0.3, max_tokens=400, reasoning="high",
                        service_tier="flex"),
            True,
            {"max_output_tokens": 400, "reasoning": {"effort": "high", "summary": "auto"},
             "service_tier": "flex"},
        ),
        (ChatRequest("o3", HISTORY), True, {"reasoning": {"summary": "auto"}}),
        (
            ChatRequest("gpt-5", HISTORY, response_format=SCHEMA_FORMAT),
            False,
            {"text": {"format": {"type": "json_schema", "name": "answer", "strict": True,
                                 "schema": SCHEMA_FORMAT.schema}}},
        ),
        (
            ChatRequest("gpt-5", HISTORY, response_format=JSON_OBJECT),
            False,
            {"text": {"format": {"type": "json_object"}}},
        ),
        (
            ChatRequest("gpt-5", HISTORY, tools=[SPEC], extra={"tool_choice": "none"}),
            False,
            {"tools": [{"type": "function", "name": "time__now", "description": "The time.",
                        "parameters": SPEC["parameters"], "strict": False}],
             "tool_choice": "none"},
        ),
    ],
)  # fmt: skip
def test_request_bodies_follow_the_official_schema(
    request_: ChatRequest, completion: bool, expected: dict[str, Any]
) -> None:
    body = responses.body(request_, send_model=True, store=False, completion=completion)
    assert problems(body) == []
    assert body["model"] == request_.model
    assert body["instructions"] == "Be brief."
    for key, value in expected.items():
        assert body[key] == value, key
    if completion:
        assert "temperature" not in body
    assert "messages" not in body and "max_tokens" not in body


def test_store_and_the_deployment_body() -> None:
    body = responses.body(
        ChatRequest("gpt-5", [{"role": "user", "content": "hi"}]),
        send_model=False, store=True, completion=False,
    )  # fmt: skip
    assert body == {"input": [{"role": "user", "content": "hi"}], "stream": True, "store": True}


# -- whole answers --------------------------------------------------------------------------


def _response(*output: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "id": "resp_1", "object": "response", "status": "completed", "model": "o3-2025-04-16",
        "output": list(output),
        "usage": {"input_tokens": 120, "input_tokens_details": {"cached_tokens": 100},
                  "output_tokens": 50, "output_tokens_details": {"reasoning_tokens": 30},
                  "total_tokens": 170},
        **fields,
    }  # fmt: skip


REASONING = {
    "type": "reasoning",
    "id": "rs_1",
    "summary": [
        {"type": "summary_text", "text": "**Thinking**"},
        {"type": "summary_text", "text": "done"},
    ],
}
MESSAGE = {
    "type": "message",
    "id": "msg_1",
    "role": "assistant",
    "status": "completed",
    "content": [{"type": "output_text", "text": "Paris.", "annotations": []}],
}
CALL = {"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": "time__now",
        "arguments": "{}", "status": "completed"}  # fmt: skip


def test_a_whole_answer_is_read() -> None:
    events = list(responses.whole_events(_response(REASONING, MESSAGE, service_tier="flex"),
                                         tools_offered=False))  # fmt: skip
    assert events == [
        ReasoningDelta("**Thinking**\n\ndone"),
        TextDelta("Paris."),
        Usage(120, 50, cached_tokens=100, reasoning_tokens=30, service_tier="flex"),
        Finish("stop", "o3-2025-04-16"),
    ]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}, "length"),
        ({"status": "incomplete", "incomplete_details": {"reason": "content_filter"}},
         "content_filter"),
    ],
)  # fmt: skip
def test_incomplete_answers_finish_by_the_one_policy(fields: dict[str, Any], reason: str) -> None:
    events = list(responses.whole_events(_response(MESSAGE, **fields), tools_offered=False))
    assert events[-1] == Finish(reason, "o3-2025-04-16")


def test_function_calls_and_refusals() -> None:
    events = list(responses.whole_events(_response(CALL), tools_offered=True))
    assert ToolCalls((ToolCall("call_9", "time__now", "{}"),)) in events
    assert events[-1] == Finish("tool_calls", "o3-2025-04-16")
    with pytest.raises(APIError, match="offered no tools"):
        list(responses.whole_events(_response(CALL), tools_offered=False))
    refusal = {**MESSAGE, "content": [{"type": "refusal", "refusal": "I can't help with that."}]}
    events = list(responses.whole_events(_response(refusal), tools_offered=False))
    assert events[-1] == Finish("refusal", "o3-2025-04-16", refusal="I can't help with that.")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "malformed response: `body`"),
        ({"object": "chat.completion", "choices": []}, "not a response"),
        (_response({"type": "message", "content": "x"}), "`output[0].content`"),
        (_response({**MESSAGE, "content": [{"type": "output_text", "text": 5}]}),
         "`output[0].content[0].text` is 5"),
        (_response(status="failed", error={"code": "server_error", "message": "boom"}),
         "reported an error response (server_error): boom"),
        (_response(status="failed", error={"code": "rate_limit_exceeded", "message": "slow"}),
         "rate limited"),
        ({"error": {"message": "bad key", "code": "invalid_api_key"}}, "bad key"),
    ],
)  # fmt: skip
def test_malformed_and_failed_answers_are_api_errors(body: Any, message: str) -> None:
    with pytest.raises(APIError) as caught:
        list(responses.whole_events(body, tools_offered=False))
    assert message in caught.value.message
    assert caught.value.exit_code == 5


# -- streamed answers -----------------------------------------------------------------------


def official_stream(
    text: str = "Hello there",
    *,
    terminal: str = "response.completed",
    response: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The events OpenAI sends for a reasoning model's answer, in the official order."""
    final = response or _response(REASONING, MESSAGE)
    head = {**final, "status": "in_progress", "output": [], "usage": None}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "sequence_number": 0, "response": head},
        {"type": "response.in_progress", "sequence_number": 1, "response": head},
        {"type": "response.output_item.added", "output_index": 0,
         "item": {"type": "reasoning", "id": "rs_1", "summary": []}},
        {"type": "response.reasoning_summary_part.added", "item_id": "rs_1", "output_index": 0,
         "summary_index": 0, "part": {"type": "summary_text", "text": ""}},
        {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0,
         "summary_index": 0, "delta": "**Thinking**"},
        {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0,
         "summary_index": 1, "delta": "done"},
        {"type": "response.output_item.done", "output_index": 0, "item": REASONING},
        {"type": "response.output_item.added", "output_index": 1,
         "item": {**MESSAGE, "status": "in_progress", "content": []}},
        {"type": "response.content_part.added", "item_id": "msg_1", "output_index": 1,
         "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}},
    ]  # fmt: skip
    for word in text.split(" "):
        events.append({"type": "response.output_text.delta", "item_id": "msg_1",
                       "output_index": 1, "content_index": 0, "delta": word + " "})  # fmt: skip
    events += [
        {"type": "response.output_text.done", "item_id": "msg_1", "output_index": 1,
         "content_index": 0, "text": text},
        {"type": "response.output_item.done", "output_index": 1, "item": MESSAGE},
        {"type": terminal, "response": final},
    ]  # fmt: skip
    return events


def test_a_stream_in_the_official_order() -> None:
    events = list(stream_events(official_stream("Hello there"), tools_offered=False))
    assert events == [
        ReasoningDelta("**Thinking**"),
        ReasoningDelta("\n\n"),
        ReasoningDelta("done"),
        TextDelta("Hello "),
        TextDelta("there "),
        Usage(120, 50, cached_tokens=100, reasoning_tokens=30),
        Finish("stop", "o3-2025-04-16"),
    ]


def test_streamed_function_calls_are_joined() -> None:
    added = {**CALL, "arguments": "", "status": "in_progress"}
    stream = [
        {"type": "response.created", "response": _response(status="in_progress")},
        {"type": "response.output_item.added", "output_index": 0, "item": added},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0,
         "delta": "{\"tz\": "},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 0,
         "delta": "\"UTC\"}"},
        {"type": "response.function_call_arguments.done", "item_id": "fc_1", "output_index": 0,
         "arguments": "{\"tz\": \"UTC\"}"},
        {"type": "response.output_item.done", "output_index": 0,
         "item": {**CALL, "arguments": "{\"tz\": \"UTC\"}"}},
        {"type": "response.completed", "response": _response(CALL)},
    ]  # fmt: skip
    events = list(stream_events(stream, tools_offered=True))
    assert ToolCalls((ToolCall("call_9", "time__now", '{"tz": "UTC"}'),)) in events
    assert events[-1] == Finish("tool_calls", "o3-2025-04-16")


def test_stream_endings() -> None:
    cut = official_stream()[:-1]
    with pytest.raises(NetworkError, match="ended before the answer was complete"):
        list(stream_events(cut, tools_offered=False))
    incomplete = _response(MESSAGE, status="incomplete",
                           incomplete_details={"reason": "max_output_tokens"})  # fmt: skip
    stream = official_stream(terminal="response.incomplete", response=incomplete)
    assert list(stream_events(stream, tools_offered=False))[-1].reason == "length"  # type: ignore[union-attr]
    failed = _response(status="failed", error={"code": "server_error", "message": "overloaded"})
    with pytest.raises(APIError, match="overloaded"):
        list(stream_events(official_stream(terminal="response.failed", response=failed),
                           tools_offered=False))  # fmt: skip
    error = {"type": "error", "code": "rate_limit_exceeded", "message": "Rate limit reached"}
    with pytest.raises(APIError, match="rate limited"):
        list(stream_events([*official_stream()[:4], error], tools_offered=False))


def test_unknown_events_are_skipped_and_wrong_shapes_named() -> None:
    stream = official_stream()
    stream.insert(3, {"type": "response.new_kind_of_event", "whatever": [1, 2]})
    assert list(stream_events(stream, tools_offered=False))[-1] == Finish("stop", "o3-2025-04-16")
    stream[-3] = {"type": "response.output_text.delta", "delta": {"text": "x"}}
    with pytest.raises(
        APIError, match=r"malformed stream event: `response\.output_text\.delta: delta`"
    ):
        list(stream_events(stream, tools_offered=False))


def test_a_refusal_streams_as_a_refusal() -> None:
    stream = [
        {"type": "response.created", "response": _response(status="in_progress")},
        {"type": "response.refusal.delta", "item_id": "msg_1", "delta": "I can't "},
        {"type": "response.refusal.delta", "item_id": "msg_1", "delta": "help."},
        {"type": "response.completed", "response": _response()},
    ]
    events = list(stream_events(stream, tools_offered=False))
    assert events[-1] == Finish("refusal", "o3-2025-04-16", refusal="I can't help.")


def test_a_key_spelled_over_summary_deltas_is_masked() -> None:
    from chatcli import safetext
    from chatcli.providers.guards import masked

    key = "sk-test-0123456789abcdef"
    safetext.add_secret(key)
    try:
        events: list[StreamEvent] = [
            ReasoningDelta("the key is sk-test-01"),
            ReasoningDelta("23456789abcdef, "),
            TextDelta("answer sk-test-0123"),
            TextDelta("456789abcdef"),
            Finish("stop"),
        ]
        out = list(masked(iter(events)))
    finally:
        safetext.forget_secrets()
    thought = "".join(e.text for e in out if isinstance(e, ReasoningDelta))
    answer = "".join(e.text for e in out if isinstance(e, TextDelta))
    assert key not in thought and key not in answer
    assert thought.startswith("the key is ") and answer.startswith("answer ")
    assert out[-1] == Finish("stop")


def test_two_message_items_are_two_paragraphs() -> None:
    second = {**MESSAGE, "id": "msg_2",
              "content": [{"type": "output_text", "text": "Rome.", "annotations": []}]}  # fmt: skip
    whole = list(responses.whole_events(_response(MESSAGE, second), tools_offered=False))
    assert TextDelta("Paris.\n\nRome.") in whole
    stream = [
        {"type": "response.output_text.delta", "item_id": "msg_1", "delta": "Paris."},
        {"type": "response.output_text.delta", "item_id": "msg_2", "delta": "Rome"},
        {"type": "response.output_text.delta", "item_id": "msg_2", "delta": "."},
        {"type": "response.completed", "response": _response(MESSAGE, second)},
    ]
    text = "".join(e.text for e in stream_events(stream, tools_offered=False)
                   if isinstance(e, TextDelta))  # fmt: skip
    assert text == "Paris.\n\nRome."


@pytest.mark.parametrize(
    ("status", "message", "only"),
    [
        (400, "This model is only supported in v1/responses and not in v1/chat/completions.", True),
        (400, "The model `o1-pro` is only available on the Responses API.", True),
        (400, "Model gpt-5-codex is not supported on /v1/chat/completions; use /v1/responses",
         True),
        (400, "Please use the Responses API endpoint instead.", True),
        (400, "The chatCompletion operation does not work with the specified model, codex-mini. "
              "Please choose different model and try again.", True),
        (400, "Unsupported parameter: 'max_tokens'", False),
        (404, "The model `gpt-nope` does not exist", False),
        (500, "only supported in v1/responses", False),
    ],
)  # fmt: skip
def test_what_counts_as_responses_only(status: int, message: str, only: bool) -> None:
    from chatcli.providers.wire import responses_only

    assert responses_only(status, message) is only


@pytest.mark.parametrize(
    ("status", "message", "missing"),
    [
        (404, "Invalid URL (POST /v1/responses)", True),
        (404, "Not Found", True),
        (404, "404 page not found", True),
        (405, "Method Not Allowed", True),
        (404, "The model `gpt-nope` does not exist or you do not have access to it.", False),
        (404, "The API deployment for this resource does not exist.", False),
        (400, "Invalid URL", False),
    ],
)
def test_what_counts_as_a_missing_route(status: int, message: str, missing: bool) -> None:
    from chatcli.providers.wire import route_missing

    assert route_missing(status, message) is missing
