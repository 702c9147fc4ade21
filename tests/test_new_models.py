"""Models chatcli has never heard of work on the day they ship: parameters decided by what the
endpoint accepts (one extra request, then remembered), context windows from the endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatcli.store import Store
from chatcli.store.quirks import noted
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI


def test_a_model_rejecting_max_tokens_works_first_time_and_is_remembered(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.completion_only = {"gpt-9-preview"}
    env = fake_env(tmp_path, fake)
    args = ("ask", "-m", "gpt-9-preview", "--max-tokens", "50", "-t", "0.5", "hi")
    first = run_cli(*args, env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.endswith("hi\n")
    sent = [r.json for r in fake.chat_requests()]
    assert len(sent) == 2  # one extra request, fixing both parameters at once
    assert sent[0]["max_tokens"] == 50 and sent[0]["temperature"] == 0.5
    assert sent[1]["max_completion_tokens"] == 50
    assert "max_tokens" not in sent[1] and "temperature" not in sent[1]
    assert "gpt-9-preview takes max_completion_tokens and no temperature" in first.stderr
    fake.reset()
    again = run_cli(*args, env=env)
    assert again.returncode == 0, again.stderr
    (body,) = [r.json for r in fake.chat_requests()]  # right the first time now
    assert body["max_completion_tokens"] == 50 and "temperature" not in body
    assert "does not take a temperature; not sent" in again.stderr
    with Store.open(tmp_path / "data") as store:
        assert noted(store, "openai", "gpt-9-preview", "params") == "completion"


def test_what_is_learnt_stays_with_its_profile(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.completion_only = {"gpt-9-preview"}
    (tmp_path / "config.toml").write_text(
        f'[profiles.relay]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\n'
    )
    env = fake_env(tmp_path, fake)
    first = run_cli("ask", "-p", "openai", "-m", "gpt-9-preview", "--max-tokens", "9", "a", env=env)
    assert first.returncode == 0  # the environment's profile (the file's relay is the default)
    fake.reset()
    other = run_cli("ask", "-p", "relay", "-m", "gpt-9-preview", "--max-tokens", "9", "b", env=env)
    assert other.returncode == 0, other.stderr
    assert len(fake.chat_requests()) == 2  # the relay profile learns on its own


def test_an_unrelated_400_is_not_retried(fake: FakeOpenAI, tmp_path: Path) -> None:
    from tests.fakes import Error

    fake.script(Error(400, "Invalid 'messages[0].content': string too long.", param="messages"))
    result = run_cli("ask", "-m", "gpt-9-preview", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5
    assert len(fake.chat_requests()) == 1
    with Store.open(tmp_path / "data") as store:
        assert noted(store, "openai", "gpt-9-preview", "params") is None


def test_a_context_window_the_endpoint_states_is_used_and_remembered(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.models = ["local-llm"]
    fake.model_meta = {"local-llm": {"max_model_len": 2048}}  # as vLLM lists it
    env = fake_env(tmp_path, fake)
    long = "word " * 3000
    result = run_cli("ask", "-m", "local-llm", long, env=env)
    assert result.returncode == 2, result.stderr
    assert "context window of 2,048" in result.stderr
    assert fake.chat_requests() == []  # refused before sending
    fake.reset()
    again = run_cli("ask", "-m", "local-llm", "short", env=env)
    assert again.returncode == 0, again.stderr
    assert [r.path for r in fake.requests] == ["/v1/chat/completions"]  # remembered: no list


def test_a_litellm_proxy_states_windows_in_model_info(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.models = ["team-model"]
    fake.model_info = [{"model_name": "team-model", "model_info": {"max_input_tokens": 1000}}]
    result = run_cli("ask", "-m", "team-model", "word " * 2000, env=fake_env(tmp_path, fake))
    assert "context window of 1,000" in result.stderr


def test_batch_lines_use_what_ask_learnt(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    fake.completion_only = {"gpt-9-preview"}
    env = fake_env(tmp_path, fake)
    ask = ("ask", "-m", "gpt-9-preview", "--max-tokens", "50", "-t", "0.5", "hi")
    assert run_cli(*ask, env=env).returncode == 0
    prompts = tmp_path / "in.jsonl"
    params = '"max_tokens": 50, "temperature": 0.5'
    prompts.write_text(
        f'{{"prompt": "one", {params}}}\n{{"prompt": "two", "model": "gpt-4.1", {params}}}\n'
    )
    monkeypatch.chdir(tmp_path)
    result = run_cli("batch", "submit", str(prompts), "-m", "gpt-9-preview", "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "chatcli-batch-dry-run.jsonl").read_text().splitlines()
    learnt, other = (json.loads(line)["body"] for line in lines)
    assert learnt["max_completion_tokens"] == 50 and "temperature" not in learnt
    assert other["max_tokens"] == 50 and other["temperature"] == 0.5  # nothing learnt for it
