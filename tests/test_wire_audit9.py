"""Audit 9 (models) fixes, through the real CLI against the fake: ``transcribe --translate``
with a model the translations route does not take is refused before any upload; a tool loop
with a reasoning model over the Responses API asks for the encrypted reasoning and sends it
back in the next round; a reasoning model that spends all of ``--max-tokens`` thinking is "no
answer" (exit 5), not an empty success; a 404 ``model_not_found`` gets a model hint, not the
base_url one; the temperature notice is said once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import Error, FakeOpenAI, Reply
from tests.fakes.responses import seal
from tests.fakes.server import make_wav
from tests.test_responses_protocol import problems
from tests.tools_helpers import own_server

ENCRYPTED = ["reasoning.encrypted_content"]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


# -- 2: --translate takes whisper-1 only ------------------------------------------------------


@pytest.mark.parametrize(
    "model", ["gpt-4o-mini-transcribe", "gpt-4o-transcribe", "gpt-4o-transcribe-2025-03-20"]
)
def test_translate_with_a_text_only_model_is_refused_before_any_upload(
    fake: FakeOpenAI, tmp_path: Path, model: str
) -> None:
    audio = tmp_path / "a.wav"
    audio.write_bytes(make_wav(1.0))
    r = run_cli("transcribe", "-m", model, "--translate", str(audio),
                env=fake_env(tmp_path, fake))  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    assert f"chatcli: error: {model} does not translate" in r.stderr
    assert "hint: use -m whisper-1 for --translate" in r.stderr
    assert fake.uploads == []
    assert fake.requests == []


def test_translate_with_whisper_1_is_sent(fake: FakeOpenAI, tmp_path: Path) -> None:
    audio = tmp_path / "a.wav"
    audio.write_bytes(make_wav(1.0))
    r = run_cli("transcribe", "-m", "whisper-1", "--translate", str(audio),
                env=fake_env(tmp_path, fake))  # fmt: skip
    assert r.returncode == 0, r.stderr
    (upload,) = fake.uploads
    assert upload.route == "audio/translations"
    assert upload.fields["model"] == "whisper-1"


# -- 4: reasoning between tool rounds (Responses API) ------------------------------------------


def _call(tool: str, **arguments: Any) -> dict[str, Any]:
    return {"name": tool, "arguments": arguments}


def _kinds(body: dict[str, Any]) -> list[str]:
    return [str(i.get("type") or i.get("role")) for i in body["input"]]


@pytest.fixture
def tools_env(fake: FakeOpenAI, tmp_path: Path) -> dict[str, str]:
    fake.responses = True
    (tmp_path / "config.toml").write_text(own_server("own"))
    return fake_env(tmp_path, fake)


@pytest.mark.external  # our own MCP server, a real process
@pytest.mark.parametrize("stream", [True, False])
def test_reasoning_items_go_back_in_the_next_tool_round(
    fake: FakeOpenAI, tools_env: dict[str, str], stream: bool
) -> None:
    fake.script(
        Reply(tool_calls=[_call("own__add", a=2, b=3)], reasoning="first add"),
        Reply(tool_calls=[_call("own__add", a=5, b=10)], reasoning="then add again"),
        Reply(text="fifteen"),
    )
    args = ["ask", "-m", "o3", "-T", "own", "--approve", "own", "add 2, 3 and 10"]
    r = run_cli(*args, *([] if stream else ["--no-stream"]), env=tools_env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "fifteen\n"
    first, second, third = (q.json for q in fake.responses_requests())
    assert [problems(b) for b in (first, second, third)] == [[], [], []]
    assert first["include"] == second["include"] == third["include"] == ENCRYPTED
    assert first["store"] is False
    assert _kinds(second) == ["user", "reasoning", "function_call", "function_call_output"]
    assert _kinds(third) == [
        "user",
        "reasoning", "function_call", "function_call_output",
        "reasoning", "function_call", "function_call_output",
    ]  # fmt: skip
    sent = [i for i in third["input"] if i.get("type") == "reasoning"]
    assert [i["encrypted_content"] for i in sent] == [seal(i["id"]) for i in sent]
    assert len({i["id"] for i in sent}) == 2
    # the summary went back inside its item, never as text of an assistant message
    assert sent[0]["summary"] == [{"type": "summary_text", "text": "first add"}]
    assert not any(i.get("role") == "assistant" for i in third["input"])


@pytest.mark.external
def test_a_non_reasoning_model_is_not_asked_for_encrypted_reasoning(
    fake: FakeOpenAI, tools_env: dict[str, str]
) -> None:
    fake.script(Reply(tool_calls=[_call("own__add", a=2, b=3)]), Reply(text="five"))
    r = run_cli("ask", "-m", "gpt-4o", "-T", "own", "--approve", "own", "add", env=tools_env)
    assert r.returncode == 0, r.stderr
    assert all("include" not in q.json for q in fake.responses_requests())


@pytest.mark.external
def test_an_endpoint_refusing_encrypted_reasoning_is_asked_again_without(
    fake: FakeOpenAI, tools_env: dict[str, str]
) -> None:
    fake.script(
        Error(400, "Encrypted content is not supported with this model.",
              "invalid_request_error", param="include"),
        Reply(tool_calls=[_call("own__add", a=2, b=3)], reasoning="adding"),
        Reply(text="five"),
    )  # fmt: skip
    args = ["ask", "-m", "o3", "-T", "own", "--approve", "own", "add"]
    r = run_cli(*args, env=tools_env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "five\n"
    assert "refuses encrypted reasoning for o3; sent again without it" in r.stderr
    refused, again, last = (q.json for q in fake.responses_requests())
    assert refused["include"] == ENCRYPTED
    assert "include" not in again and "include" not in last
    assert "reasoning" not in _kinds(last)
    fake.script(Reply(tool_calls=[_call("own__add", a=1, b=1)]), Reply(text="two"))
    r = run_cli(*args, env=tools_env)  # remembered: not asked for again
    assert r.returncode == 0, r.stderr
    assert all("include" not in q.json for q in fake.responses_requests()[3:])


# -- 5: all of --max-tokens spent on reasoning -------------------------------------------------


@pytest.mark.parametrize("responses", [False, True])
@pytest.mark.parametrize("stream", [True, False])
def test_a_reply_cut_before_any_text_is_no_answer(
    fake: FakeOpenAI, tmp_path: Path, responses: bool, stream: bool
) -> None:
    fake.responses = responses
    fake.script(Reply(text="", finish_reason="length", completion_tokens=100,
                      reasoning_tokens=100))  # fmt: skip
    args = ["ask", "-m", "o3", "--max-tokens", "100", "--session", "s", "prove fermat"]
    r = run_cli(*args, *([] if stream else ["--no-stream"]), env=fake_env(tmp_path, fake))
    assert r.returncode == 5, r.stderr
    assert r.stdout == ""
    assert (
        "chatcli: error: no answer: cut at the token limit (100) before any text "
        "(finish_reason=length; all 100 output tokens went to reasoning)\n"
        "hint: raise --max-tokens (or max_tokens in the config): it counts the reasoning too\n"
    ) in r.stderr
    assert "empty answer" not in r.stderr and "was cut at the token limit" not in r.stderr
    # the tokens were paid for: logged and priced; no empty reply is kept as an answer
    usage = run_cli("usage", "--json", env=fake_env(tmp_path, fake))
    assert usage.returncode == 0, usage.stderr
    total = json.loads(usage.stdout)["total"]
    assert (total["requests"], total["completion_tokens"]) == (1, 100)
    assert total["reasoning_tokens"] == 100 and total["cost_usd"] > 0
    shown = run_cli("sessions", "show", "s", env=fake_env(tmp_path, fake))
    assert shown.returncode == 2 and "no session named 's'" in shown.stderr


def test_a_reply_cut_after_some_text_is_still_a_notice(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text="Half an ans", finish_reason="length", reasoning_tokens=90))
    r = run_cli("ask", "-m", "o3", "--max-tokens", "100", "x", env=fake_env(tmp_path, fake))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Half an ans\n"
    assert "the answer was cut at the token limit (finish_reason=length)" in r.stderr


# -- 9: model_not_found ------------------------------------------------------------------------


@pytest.mark.parametrize("responses", [False, True])
def test_model_not_found_gets_a_model_hint(
    fake: FakeOpenAI, tmp_path: Path, responses: bool
) -> None:
    fake.responses = responses
    fake.script(Error(404, "The model `gpt-4o-mnii` does not exist or you do not have access "
                      "to it.", "invalid_request_error", "model_not_found"))  # fmt: skip
    r = run_cli("ask", "-m", "gpt-4o-mnii", "hi", env=fake_env(tmp_path, fake))
    assert r.returncode == 5, r.stderr
    assert "base_url" not in r.stderr
    assert (
        "hint: check the model name (nearest known: gpt-4o-mini); "
        "`chatcli models` lists what this endpoint serves\n"
    ) in r.stderr


def test_a_404_about_the_url_keeps_the_base_url_hint(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Error(404, "Invalid URL (POST /v1/chat/completions)", "invalid_request_error"))
    r = run_cli("ask", "-m", "gpt-4o-mini", "hi", env=fake_env(tmp_path, fake))
    assert r.returncode == 5, r.stderr
    assert "hint: check base_url (most relays end in /v1)" in r.stderr


# -- cosmetic: the temperature notice, once ----------------------------------------------------


def test_the_temperature_notice_is_said_once_after_the_responses_only_fallback(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.responses = True
    fake.responses_only.add("gpt-5-codex")
    fake.completion_only.add("gpt-5-codex")
    (tmp_path / "config.toml").write_text(
        f'[profiles.relay]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        'api_key = "sk-test-0123456789abcdef"\n'
    )
    (tmp_path / "config.toml").chmod(0o600)
    r = run_cli("ask", "-p", "relay", "-m", "gpt-5-codex", "-t", "0.3", "hi",
                env=fake_env(tmp_path, fake))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("does not take a temperature") == 1, r.stderr
    assert "served over the Responses API only; sent again over it" in r.stderr


@pytest.mark.external
def test_the_temperature_notice_is_said_once_per_tool_turn(
    fake: FakeOpenAI, tools_env: dict[str, str]
) -> None:
    fake.script(Reply(tool_calls=[_call("own__add", a=2, b=3)]), Reply(text="five"))
    args = ["ask", "-m", "o3", "-t", "0.5", "-T", "own", "--approve", "own", "add"]
    r = run_cli(*args, env=tools_env)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("o3 does not take a temperature; not sent") == 1, r.stderr
    assert all("temperature" not in q.json for q in fake.responses_requests())
