"""Property tests (hypothesis) of the Responses API readers, like the chat ones in
test_fuzz.py: any event stream or body gives events or a chatcli error with an exit code,
never another exception; usage is never negative; every message is one line."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from chatcli.errors import APIError, NetworkError
from chatcli.events import Finish, ReasoningDelta, TextDelta, ToolCalls, Usage
from chatcli.providers.answers import MAX_TOKENS_REPORTED
from chatcli.providers.responses import whole_events
from chatcli.providers.responses_stream import stream_events
from tests.test_fuzz import FUZZ, json_values, scalars, shaped

KINDS = [
    "response.created", "response.in_progress", "response.output_item.added",
    "response.content_part.added", "response.output_text.delta", "response.output_text.done",
    "response.refusal.delta", "response.refusal.done", "response.reasoning_summary_text.delta",
    "response.function_call_arguments.delta", "response.function_call_arguments.done",
    "response.output_item.done", "response.completed", "response.incomplete",
    "response.failed", "error", "response.unknown_kind",
]  # fmt: skip

usages = st.fixed_dictionaries(
    {},
    optional={
        "input_tokens": shaped(st.integers(-5, 10**31)),
        "output_tokens": shaped(st.integers(-5, 10**31)),
        "input_tokens_details": shaped(st.fixed_dictionaries({}, optional={
            "cached_tokens": shaped(st.integers(-5, 10**6))})),
        "output_tokens_details": shaped(st.fixed_dictionaries({}, optional={
            "reasoning_tokens": shaped(st.integers(-5, 10**6))})),
    },
)  # fmt: skip
parts = st.fixed_dictionaries(
    {},
    optional={
        "type": shaped(st.sampled_from(["output_text", "refusal", "summary_text"])),
        "text": shaped(st.text(max_size=8)),
        "refusal": shaped(st.text(max_size=8)),
    },
)
items = st.fixed_dictionaries(
    {},
    optional={
        "type": shaped(st.sampled_from(["message", "reasoning", "function_call"])),
        "id": shaped(st.sampled_from(["msg_1", "fc_1", "rs_1"])),
        "call_id": shaped(st.text(max_size=5)),
        "name": shaped(st.text(max_size=5)),
        "arguments": shaped(st.text(max_size=8)),
        "content": shaped(st.lists(shaped(parts), max_size=3)),
        "summary": shaped(st.lists(shaped(parts), max_size=2)),
    },
)
responses = st.fixed_dictionaries(
    {},
    optional={
        "object": shaped(st.just("response")),
        "status": shaped(st.sampled_from(["completed", "incomplete", "failed", "cancelled"])),
        "model": shaped(st.text(max_size=8)),
        "output": shaped(st.lists(shaped(items), max_size=3)),
        "usage": shaped(usages),
        "incomplete_details": shaped(st.fixed_dictionaries({}, optional={
            "reason": shaped(st.sampled_from(["max_output_tokens", "content_filter"]))})),
        "error": shaped(st.fixed_dictionaries({}, optional={
            "code": shaped(st.text(max_size=8)), "message": shaped(st.text(max_size=8))})),
        "service_tier": shaped(st.text(max_size=6)),
    },
)  # fmt: skip
events = st.fixed_dictionaries(
    {"type": shaped(st.sampled_from(KINDS))},
    optional={
        "delta": shaped(st.text(max_size=8)),
        "item_id": shaped(st.sampled_from(["msg_1", "fc_1", "rs_1"])),
        "output_index": shaped(st.integers(0, 3)),
        "summary_index": shaped(st.integers(0, 2)),
        "item": shaped(items),
        "arguments": shaped(st.text(max_size=8)),
        "refusal": shaped(st.text(max_size=8)),
        "response": shaped(responses),
        "code": shaped(st.text(max_size=8)),
        "message": shaped(st.text(max_size=8)),
    },
)


def _check(result: list[Any]) -> None:
    for event in result:
        assert isinstance(event, TextDelta | ReasoningDelta | Usage | ToolCalls | Finish)
        if isinstance(event, Usage):
            assert 0 <= event.prompt_tokens <= MAX_TOKENS_REPORTED
            assert 0 <= event.completion_tokens <= MAX_TOKENS_REPORTED
            assert 0 <= event.cached_tokens <= event.prompt_tokens
        if isinstance(event, Finish):
            assert event.reason is None or isinstance(event.reason, str)
    assert isinstance(result[-1], Finish)


def _templated() -> st.SearchStrategy[Any]:
    """Events of the official stream (summaries, text, function calls, every ending), each
    field right or anything else: streams that reach deep into the parser."""
    from tests.test_responses_protocol import CALL, official_stream

    templates = [
        *official_stream(),
        {"type": "response.output_item.added", "output_index": 2, "item": CALL},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": "{"},
        {"type": "response.function_call_arguments.done", "item_id": "fc_1", "arguments": "{}"},
        {"type": "response.refusal.delta", "item_id": "msg_1", "delta": "no"},
        {"type": "response.incomplete", "response": {"status": "incomplete",
         "incomplete_details": {"reason": "max_output_tokens"}}},
        {"type": "error", "code": "rate_limit_exceeded", "message": "slow down"},
    ]  # fmt: skip

    def field(value: Any) -> st.SearchStrategy[Any]:
        # mostly right: a stream with a wrong field in every event never gets past the first
        return st.integers(0, 11).flatmap(
            lambda n: st.just(value) if n else st.one_of(scalars, json_values)
        )

    return st.sampled_from(templates).flatmap(
        lambda event: st.fixed_dictionaries({k: field(v) for k, v in event.items()})
    )


@FUZZ
@given(st.lists(_templated(), max_size=10) | st.lists(shaped(events), max_size=4), st.booleans())
def test_the_event_parser_never_crashes(stream: list[Any], tools: bool) -> None:
    try:
        result = list(stream_events(stream, tools_offered=tools))
    except (APIError, NetworkError) as exc:
        assert exc.message and "\n" not in exc.message
        assert exc.exit_code in (5, 6)
        return
    _check(result)


@FUZZ
@given(shaped(responses), st.booleans())
def test_the_body_parser_never_crashes(body: Any, tools: bool) -> None:
    try:
        result = list(whole_events(body, tools_offered=tools))
    except APIError as exc:
        assert exc.message and "\n" not in exc.message
        return
    _check(result)


@FUZZ
@given(json_values)
def test_any_json_at_all(value: Any) -> None:
    for streamed in (True, False):
        try:
            if streamed:
                _check(list(stream_events([value], tools_offered=True)))
            else:
                _check(list(whole_events(value, tools_offered=True)))
        except (APIError, NetworkError) as exc:
            assert "\n" not in exc.message
