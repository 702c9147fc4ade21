"""The four answer readers (Chat Completions and Responses, streamed and whole) end the same
answer with the same events in the same order (``providers.endings``): usage, then a refusal
that came without text as the finish, else the tool calls and the finish."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chatcli.events import (
    Finish,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCalls,
    Usage,
)
from chatcli.providers import answers, responses, responses_stream

Answer = tuple[str, str, bool]  # text, refusal, one tool call
USAGE_CHAT = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
USAGE_RESPONSES = {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
CALL = ToolCall("c1", "f", "{}")


def chat_whole(text: str, refusal: str, call: bool) -> Iterator[StreamEvent]:
    calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    message = {"role": "assistant", "content": text or None, "refusal": refusal or None,
               "tool_calls": calls if call else None}  # fmt: skip
    body = {
        "model": "m",
        "usage": USAGE_CHAT,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if call else "stop"}
        ],
    }
    return answers.whole_events(body, tools_offered=True)


def chat_stream(text: str, refusal: str, call: bool) -> Iterator[StreamEvent]:
    def chunk(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        return {"model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": reason}]}

    chunks = [chunk({"content": text})] if text else []
    chunks += [chunk({"refusal": refusal})] if refusal else []
    if call:
        chunks.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ]
                }
            )
        )
    chunks.append(chunk({}, "tool_calls" if call else "stop"))
    chunks.append({"model": "m", "choices": [], "usage": USAGE_CHAT})
    return answers.stream_events(chunks, tools_offered=True)


def _output(text: str, refusal: str, call: bool) -> list[dict[str, Any]]:
    parts = [{"type": "output_text", "text": text, "annotations": []}] if text else []
    parts += [{"type": "refusal", "refusal": refusal}] if refusal else []
    items: list[dict[str, Any]] = []
    if parts:
        items.append({"type": "message", "id": "msg_1", "role": "assistant",
                      "status": "completed", "content": parts})  # fmt: skip
    if call:
        items.append({"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "f",
                      "arguments": "{}", "status": "completed"})  # fmt: skip
    return items


def _response(output: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "status": "completed", "model": "m",
            "output": output, "usage": USAGE_RESPONSES}  # fmt: skip


def responses_whole(text: str, refusal: str, call: bool) -> Iterator[StreamEvent]:
    return responses.whole_events(_response(_output(text, refusal, call)), tools_offered=True)


def responses_streamed(text: str, refusal: str, call: bool) -> Iterator[StreamEvent]:
    output = _output(text, refusal, call)
    events: list[dict[str, Any]] = [{"type": "response.created", "response": _response([])}]
    if text:
        events.append({"type": "response.output_text.delta", "item_id": "msg_1",
                       "output_index": 0, "content_index": 0, "delta": text})  # fmt: skip
    if refusal:
        events.append({"type": "response.refusal.delta", "item_id": "msg_1", "delta": refusal})
    if call:
        events += [
            {"type": kind, "output_index": len(output) - 1, "item": output[-1]}
            for kind in ("response.output_item.added", "response.output_item.done")
        ]
    events.append({"type": "response.completed", "response": _response(output)})
    return responses_stream.stream_events(events, tools_offered=True)


READERS: dict[str, Callable[[str, str, bool], Iterator[StreamEvent]]] = {
    "chat whole": chat_whole,
    "chat stream": chat_stream,
    "responses whole": responses_whole,
    "responses stream": responses_streamed,
}
ANSWERS: dict[str, tuple[Answer, list[StreamEvent]]] = {
    "text": (("Hi", "", False), [Usage(3, 2), Finish("stop", "m")]),
    "text and a call": (
        ("Hi", "", True),
        [Usage(3, 2), ToolCalls((CALL,)), Finish("tool_calls", "m")],
    ),
    "a call alone": (("", "", True), [Usage(3, 2), ToolCalls((CALL,)), Finish("tool_calls", "m")]),
    "a refusal": (("", "No.", False), [Usage(3, 2), Finish("refusal", "m", refusal="No.")]),
    "a refusal with a call": (
        ("", "No.", True),
        [Usage(3, 2), Finish("refusal", "m", refusal="No.")],
    ),
}


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("answer", sorted(ANSWERS))
def test_every_reader_ends_an_answer_alike(reader: str, answer: str) -> None:
    (text, refusal, call), ending = ANSWERS[answer]
    events = list(READERS[reader](text, refusal, call))
    said = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert said.strip() == text
    tail = [e for e in events if not isinstance(e, TextDelta | ReasoningDelta)]
    assert tail == ending
