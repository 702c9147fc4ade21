"""Answers read right: what an answer means, whatever odd but legal shape the server gives it.

The real CLI in process against the fake server; ``Raw`` sends the exact chunks and bodies.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chatcli.store import Store
from tests.cli_helpers import fake_env
from tests.fakes import FakeOpenAI, Raw, Reply

pytest_plugins = ["tests.inprocess"]  # the in-process `cli` fixture
Run = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(autouse=True)
def no_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    """In process, stdin is empty and not a terminal, as under ``run_cli``."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))


def chunk(content: str | None = None, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    if content is not None:
        delta["content"] = content
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
            "choices": [choice]}  # fmt: skip


def body(message: dict[str, Any], finish: str = "stop", **extra: Any) -> str:
    obj = {"id": "c1", "object": "chat.completion", "model": "gpt-4o-mini",
           "choices": [{"index": 0, "message": {"role": "assistant", **message},
                        "finish_reason": finish}], **extra}  # fmt: skip
    return json.dumps(obj)


def exported(cli: Run, env: dict[str, str], name: str) -> list[dict[str, Any]]:
    result = cli("sessions", "export", name, "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    messages: list[dict[str, Any]] = json.loads(result.stdout)["messages"]
    return messages


def test_refusal_in_delta_is_shown_exit_5_kept_and_in_json(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    chunks = [chunk(role="assistant"), chunk(refusal="I can't help "), chunk(refusal="with that.")]
    fake.script(Raw(chunks=[*chunks, chunk(finish="stop")]))
    result = cli("ask", "--session", "r", "do a bad thing", env=env)
    assert result.returncode == 5
    assert result.stdout == ""
    assert "the model refused: I can't help with that." in result.stderr
    reply = exported(cli, env, "r")[-1]
    assert reply["role"] == "assistant" and reply["content"] == "I can't help with that."
    assert reply["finish_reason"] == "refusal"
    fake.script(Raw(chunks=[*chunks, chunk(finish="stop")]))
    result = cli("ask", "--json", "again", env=env)
    assert result.returncode == 5
    obj = json.loads(result.stdout)
    assert obj["refusal"] == "I can't help with that." and obj["answer"] == ""


def test_refusal_in_a_whole_message(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Raw(body=body({"content": None, "refusal": "No."})))
    result = cli("ask", "--no-stream", "--json", "x", env=env)
    assert result.returncode == 5 and "the model refused: No." in result.stderr
    assert json.loads(result.stdout)["refusal"] == "No."


def test_answers_without_refusal_say_null_in_json(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    result = cli("ask", "--json", "hello", env=fake_env(tmp_path, fake))
    assert result.returncode == 0 and json.loads(result.stdout)["refusal"] is None


@pytest.mark.parametrize("stream", [True, False])
def test_tool_call_to_a_request_without_tools_is_reported(
    cli: Run, fake: FakeOpenAI, tmp_path: Path, stream: bool
) -> None:
    call = {"id": "t1", "type": "function", "function": {"name": "rm_rf", "arguments": "{}"}}
    if stream:
        fake.script(
            Raw(chunks=[chunk(tool_calls=[{"index": 0, **call}]), chunk(finish="tool_calls")])
        )
    else:
        fake.script(Raw(body=body({"content": None, "tool_calls": [call]}, "tool_calls")))
    args = () if stream else ("--no-stream",)
    result = cli("ask", *args, "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5, result.stderr
    assert "tool call (rm_rf), but this request offered no tools" in result.stderr


def test_running_usage_totals_the_last_report_counts(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    usage = [{"prompt_tokens": 9, "completion_tokens": n, "total_tokens": 9 + n} for n in (1, 2, 3)]
    chunks = [{**chunk(w), "usage": u} for w, u in zip(("a", "b", "c"), usage, strict=True)]
    fake.script(Raw(chunks=[*chunks, {**chunk(finish="stop"), "usage": usage[-1]}]))
    result = cli("ask", "--json", "hi", env=env)
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert obj["answer"] == "abc"
    assert obj["usage"] == {
        "prompt_tokens": 9, "completion_tokens": 3, "cached_tokens": 0, "reasoning_tokens": 0,
        "estimated": False,
    }  # fmt: skip
    with Store.open(tmp_path / "data") as store:
        row = store.usage_rows()[-1]
    assert (row.prompt_tokens, row.completion_tokens) == (9, 3)


def test_event_error_reports_the_servers_message(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    lines = [
        f"data: {json.dumps(chunk('partial '))}", "",
        "event: error", 'data: {"message": "upstream model overloaded", "code": 529}', "",
    ]  # fmt: skip
    fake.script(Raw(lines=lines, content_type="text/event-stream"))
    result = cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5
    assert "upstream model overloaded" in result.stderr
    assert "connection" not in result.stderr


@pytest.mark.parametrize("stream", [True, False])
def test_html_page_with_status_200_reports_what_it_says(
    cli: Run, fake: FakeOpenAI, tmp_path: Path, stream: bool
) -> None:
    page = (
        "<!DOCTYPE html><html><head><title>Gateway login required</title>"
        "<style>p{}</style></head><body><p>Please sign in to the proxy.</p></body></html>"
    )
    fake.script(Raw(body=page, content_type="text/html; charset=utf-8"))
    args = () if stream else ("--no-stream",)
    result = cli("ask", *args, "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5, result.stderr
    assert "Gateway login required" in result.stderr and "sign in" in result.stderr
    assert "before the answer was complete" not in result.stderr


def test_encoding_not_asked_for_shows_the_servers_message(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    error = json.dumps({"error": {"message": "relay: account suspended"}})
    for encoding in ("br", "gzip"):  # br was never asked for; gzip is a false label here
        fake.script(Raw(body=error, headers={"Content-Encoding": encoding}))
        result = cli("ask", "hi", env=fake_env(tmp_path, fake))
        assert result.returncode == 5, result.stderr
        assert "relay: account suspended" in result.stderr
    sse = [f"data: {json.dumps(chunk('hi', 'stop'))}", "", "data: [DONE]", ""]
    zstd = {"Content-Encoding": "zstd"}
    fake.script(Raw(lines=sse, content_type="text/event-stream", headers=zstd))
    result = cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 0 and result.stdout.strip() == "hi", result.stderr


def test_gzip_answers_are_read(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    import gzip

    data = gzip.compress(body({"content": "packed"}).encode())
    fake.script(Raw(body_hex=data.hex(), headers={"Content-Encoding": "gzip"}))
    result = cli("ask", "--no-stream", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 0 and result.stdout.strip() == "packed", result.stderr


def test_done_without_finish_reason_is_complete(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Raw(chunks=[chunk("all "), chunk("there")]))  # [DONE] follows
    result = cli("ask", "--session", "d", "hi", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "all there" and "cut" not in result.stderr
    assert exported(cli, env, "d")[-1]["interrupted"] is False
    fake.script(Raw(chunks=[chunk("half")], cut=True))  # no [DONE]: cut
    result = cli("ask", "hi", env=env)
    assert result.returncode == 6 and "before the answer was complete" in result.stderr


def test_finish_reason_error_exits_5_keeping_the_partial_answer_marked(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Raw(chunks=[chunk("the first half"), chunk(finish="error")]))
    result = cli("ask", "--session", "e", "hi", env=env)
    assert result.returncode == 5
    assert result.stdout.startswith("the first half")
    assert "finish_reason=error" in result.stderr
    reply = exported(cli, env, "e")[-1]
    assert reply["content"] == "the first half" and reply["interrupted"] is True
    assert reply["finish_reason"] == "error"


def test_several_choices_only_choice_0_never_interleaved(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    def two(a: str, b: str, finish: str | None = None) -> dict[str, Any]:
        obj = chunk(a, finish)
        obj["choices"].append({"index": 1, "delta": {"content": b}, "finish_reason": finish})
        return obj

    other = {"index": 1, "delta": {"content": "ZZ"}, "finish_reason": None}
    reversed_order = {**chunk("!"), "choices": [other, chunk("!")["choices"][0]]}
    fake.script(Raw(chunks=[two("Hello", "XX"), two(" world", "YY"), reversed_order,
                            two("", "", "stop")]))  # fmt: skip
    result = cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Hello world!"


def test_empty_choices_is_no_answer_with_a_json_excerpt(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(Raw(body=json.dumps({"id": "x", "choices": [], "usage": None})))
    result = cli("ask", "--no-stream", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5
    assert 'no answer: the response has no choices: {"id": "x", "choices": []' in result.stderr
    assert "{'id'" not in result.stderr and "None" not in result.stderr


def test_error_inside_a_200_answer_is_the_servers_message(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(Raw(body=json.dumps({"error": {"message": "model is loading", "code": 503}})))
    result = cli("ask", "--no-stream", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5 and "model is loading" in result.stderr


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_from_the_api_base_names_the_location(
    cli: Run, fake: FakeOpenAI, tmp_path: Path, status: int
) -> None:
    target = "https://api.new-relay.example/v1/chat/completions"
    fake.script(Raw(status=status, body="", headers={"Location": target}))
    result = cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5, result.stderr
    assert f"answered {status}" in result.stderr and target in result.stderr
    assert "base_url" in result.stderr
    assert len(fake.chat_requests()) == 1  # never followed (the key would go along)


def test_verify_one_odd_probe_answer_fails_that_probe_only(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    odd = json.dumps({"id": "x", "model": "gpt-4o-mini", "choices": [7]})
    # the first request and the streamed probe answered normally, the tool probe oddly
    fake.script(Raw(body=body({"content": "ok " * 20}, "length",
                              usage={"prompt_tokens": 20, "completion_tokens": 16})),
                Reply(), Raw(body=odd))  # fmt: skip
    result = cli("verify", "--json", env=env)
    report = json.loads(result.stdout)
    by_name = {c["name"]: c for c in report["checks"]}
    assert by_name["tool_calls"]["status"] == "fail"
    assert "odd answer" in by_name["tool_calls"]["evidence"]
    assert {"stream_usage", "reasoning", "logprobs", "seed"} <= set(by_name)
    assert "unexpected" not in result.stderr


def test_batch_lines_for_reasoning_models_drop_temperature(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    inputs = tmp_path / "in.jsonl"
    lines = [{"id": "a", "prompt": "x", "model": "o1", "temperature": 0.2},
             {"id": "b", "prompt": "y", "model": "gpt-4o-mini", "temperature": 0.2}]  # fmt: skip
    inputs.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = cli("batch", "submit", str(inputs), "--yes", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    sent = b"".join(f.data for f in fake.batch_api.files.values()).decode()
    bodies = {json.loads(line)["body"]["model"]: json.loads(line)["body"]
              for line in sent.splitlines()}  # fmt: skip
    assert "temperature" not in bodies["o1"]
    assert bodies["gpt-4o-mini"]["temperature"] == 0.2
