"""``--schema`` over the Responses API (``text.format``): the strict form sent, local
validation and the one retry, a refusal, and the remembered fallback when ``text.format`` is
refused; the chat-API versions of these are in test_schema_ask.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply
from tests.test_responses_protocol import problems

FIELDS = "sentiment, score int, reasons list[str], note?: only if something stands out"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """The fake with its Responses API on."""
    with FakeOpenAI() as server:
        server.responses = True
        yield server


def _formats(fake: FakeOpenAI) -> list[str | None]:
    kinds: list[str | None] = []
    for request in fake.responses_requests():
        text: dict[str, Any] = request.json.get("text") or {}
        kinds.append(text["format"]["type"] if "format" in text else None)
    return kinds


def test_strict_text_format_and_a_valid_answer(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("ask", "--schema", FIELDS, "Classify", env=fake_env(tmp_path, fake),
                     input="great product, fast delivery")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == '{"sentiment":"example","score":0,"reasons":["example"]}\n'
    (request,) = fake.responses_requests()
    assert fake.chat_requests() == []
    body = request.json
    assert problems(body) == []
    fmt = body["text"]["format"]
    assert fmt["type"] == "json_schema" and fmt["strict"] is True and fmt["name"]
    assert fmt["schema"]["required"] == ["sentiment", "score", "reasons", "note"]
    assert fmt["schema"]["additionalProperties"] is False
    assert fmt["schema"]["properties"]["note"]["type"] == ["string", "null"]


def test_an_invalid_answer_is_retried_once_with_the_errors(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(Reply(structured="invalid"))
    result = run_cli("ask", "--schema", "sentiment, score int", "x", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == '{"sentiment":"example","score":0}\n'
    assert "is not of type 'string'); asking once more" in result.stderr
    second = fake.responses_requests()[1].json
    assert problems(second) == []
    assert second["input"][-2]["role"] == "assistant"  # the invalid reply, kept in context
    retry = second["input"][-1]["content"]
    assert retry.startswith("Your reply is not valid against the required JSON Schema:\n")
    assert "text" in second


@pytest.mark.parametrize("stream", [True, False])
def test_a_refusal_is_exit_5_with_the_models_words(
    fake: FakeOpenAI, tmp_path: Path, stream: bool
) -> None:
    fake.script(Reply(refusal="I can't help with that request."))
    args = ["ask", "--schema", "a", "x"] + ([] if stream else ["--no-stream"])
    result = run_cli(*args, env=fake_env(tmp_path, fake))
    assert result.returncode == 5
    assert result.stdout == ""
    assert "chatcli: error: the model refused: I can't help with that request." in result.stderr


def test_a_refused_text_format_falls_back_and_is_remembered(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.structured = "refuse"
    env = fake_env(tmp_path, fake)
    first = run_cli("ask", "--schema", "city, population int", "Paris?", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"city": "example", "population": 0}
    notes = [line for line in first.stderr.splitlines() if "refuses response_format" in line]
    assert len(notes) == 1 and "text.format" in notes[0]
    assert _formats(fake) == ["json_schema", "json_object", None]
    asked = fake.responses_requests()[-1].json["input"][-1]["content"]
    assert "valid against this JSON Schema:\n{" in asked
    second = run_cli("ask", "--schema", "city", "Rome?", env=env)
    assert second.returncode == 0 and second.stderr == ""
    assert _formats(fake)[3:] == [None]
