"""The Responses API end to end: the real CLI in process against the fake's ``/v1/responses``
(turned on per test; off, it answers 404 like a relay without it). Which profiles use it, the
switch and the fallback between the two wire protocols (and what is remembered), and
everything the chat path promises: streaming, finish policy, usage, retries, sessions,
``--json``, budgets, ``store``, ``--reasoning``, ``--service-tier``, Azure's v1 route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatcli.environment import ManualClock
from chatcli.store import Store
from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import (
    DEFAULT_API_KEY,
    CutStream,
    Error,
    FakeOpenAI,
    Malformed,
    Reply,
    StreamError,
)
from tests.test_responses_protocol import problems


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """The fake with its Responses API on."""
    with FakeOpenAI() as server:
        server.responses = True
        yield server


def relay_config(home: Path, fake: FakeOpenAI, extra: str = "", *, url: str = "") -> None:
    (home / "config.toml").write_text(
        'default_profile = "relay"\n[profiles.relay]\ntype = "relay"\n'
        f'base_url = "{url or fake.base_url}"\napi_key_env = "RELAY_KEY"\n{extra}'
    )


def relay_env(home: Path) -> dict[str, str]:
    return clean_env(home, RELAY_KEY=DEFAULT_API_KEY)


def test_an_openai_profile_streams_over_responses(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text="Hello there, friend."))
    result = run_cli("ask", "-s", "Be brief.", "hello", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello there, friend.\n"
    assert result.stderr == ""
    assert fake.chat_requests() == []
    (request,) = fake.responses_requests()
    body = request.json
    assert problems(body) == []
    assert body == {
        "model": "gpt-6-luna",
        "instructions": "Be brief.",
        "input": [{"role": "user", "content": "hello"}],
        "stream": True,
        "store": False,
    }
    assert request.headers["authorization"] == f"Bearer {DEFAULT_API_KEY}"


@pytest.mark.parametrize(
    ("config", "route"),
    [
        ('[profiles.p]\ntype = "openai"\nbase_url = "{url}"\n', "responses"),
        ('[profiles.p]\ntype = "relay"\nbase_url = "{url}"\n', "chat"),
        ('[profiles.p]\ntype = "relay"\nbase_url = "{url}"\napi = "responses"\n', "responses"),
        ('[profiles.p]\ntype = "openai"\nbase_url = "{url}"\napi = "chat"\n', "chat"),
    ],
)
def test_auto_picks_by_profile_type_and_api_forces(
    fake: FakeOpenAI, tmp_path: Path, config: str, route: str
) -> None:
    text = 'default_profile = "p"\n' + config.format(url=fake.base_url) + 'api_key_env = "K"\n'
    (tmp_path / "config.toml").write_text(text)
    result = run_cli("ask", "hi", env=clean_env(tmp_path, K=DEFAULT_API_KEY))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "echo(1): hi\n"
    sent = fake.responses_requests() if route == "responses" else fake.chat_requests()
    assert len(sent) == len(fake.requests) == 1


def test_a_responses_only_model_switches_once_and_is_remembered(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.responses_only = {"gpt-5.5-pro"}
    relay_config(tmp_path, fake)
    env = relay_env(tmp_path)
    first = run_cli("ask", "-m", "gpt-5.5-pro", "think hard", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "echo(1): think hard\n"
    assert first.stderr.count("\n") == 1
    assert "gpt-5.5-pro is served over the Responses API only; sent again over it (remembered" in (
        first.stderr
    )
    assert [r.path for r in fake.requests] == ["/v1/chat/completions", "/v1/responses"]
    second = run_cli("ask", "-m", "gpt-5.5-pro", "again", env=env)
    assert second.returncode == 0, second.stderr
    assert second.stderr == ""
    assert [r.path for r in fake.requests][2:] == ["/v1/responses"]  # one request, no notice
    other = run_cli("ask", "-m", "gpt-4o", "hi", env=env)  # other models stay on chat
    assert other.returncode == 0 and fake.requests[-1].path == "/v1/chat/completions"


def test_a_forced_chat_profile_says_what_to_set(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.responses_only = {"gpt-5.5-pro"}
    relay_config(tmp_path, fake, 'api = "chat"\n')
    result = run_cli("ask", "-m", "gpt-5.5-pro", "hi", env=relay_env(tmp_path))
    assert result.returncode == 5
    assert "only supported in v1/responses" in result.stderr
    assert (
        'hint: gpt-5.5-pro is served over the Responses API only: set api = "auto"' in result.stderr
    )
    assert len(fake.requests) == 1


def test_an_endpoint_without_responses_falls_back_silently_and_remembers(
    tmp_path: Path,
) -> None:
    with FakeOpenAI() as fake:  # Responses off: 404 on /v1/responses
        env = fake_env(tmp_path, fake)
        first = run_cli("ask", "hi", env=env)
        assert first.returncode == 0, first.stderr
        assert (first.stdout, first.stderr) == ("echo(1): hi\n", "")
        assert fake.responses_refused == 1 and len(fake.chat_requests()) == 1
        second = run_cli("ask", "--debug", "again", env=env)
        assert second.returncode == 0, second.stderr
        assert fake.responses_refused == 1 and len(fake.chat_requests()) == 2  # remembered
        # the same profile at another URL has to find out again (and --debug says so)
        other = fake_env(
            tmp_path, fake, OPENAI_BASE_URL=fake.base_url.replace("127.0.0.1", "localhost")
        )
        third = run_cli("ask", "--debug", "there", env=other)
        assert third.returncode == 0, third.stderr
        assert fake.responses_refused == 2
        assert "has no Responses API (404: Invalid URL (POST /v1/responses)); chat completions" in (
            third.stderr
        )


def test_forced_responses_on_an_endpoint_without_it_is_an_error(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        relay_config(tmp_path, fake, 'api = "responses"\n')
        result = run_cli("ask", "hi", env=relay_env(tmp_path))
        assert result.returncode == 5
        assert "answered 404 for /v1/responses" in result.stderr
        assert 'hint: this endpoint has no Responses API: set api = "chat"' in result.stderr
        assert fake.chat_requests() == []


def test_a_model_404_is_not_a_missing_route(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Error(404, "The model `gpt-nope` does not exist or you do not have access to it.",
                      "invalid_request_error", "model_not_found"))  # fmt: skip
    result = run_cli("ask", "-m", "gpt-nope", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5
    assert "does not exist" in result.stderr
    assert fake.chat_requests() == []  # no fallback, nothing remembered
    assert run_cli("ask", "hi", env=fake_env(tmp_path, fake)).returncode == 0
    assert len(fake.responses_requests()) == 2


def test_azure_v1_route(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key="azure-secret-key-9876") as fake:
        fake.responses = True
        (tmp_path / "config.toml").write_text(
            f'default_profile = "az"\n[profiles.az]\ntype = "azure"\nendpoint = "{fake.root}"\n'
            'api_version = "2024-10-21"\napi_key_env = "MY_AZ_KEY"\nmodel = "gpt-5"\n'
            'api = "responses"\n[profiles.az.deployments]\n"gpt-5" = "gpt5-prod"\n'
        )
        env = clean_env(tmp_path, MY_AZ_KEY="azure-secret-key-9876")
        result = run_cli("ask", "hello azure", env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout == "echo(1): hello azure\n"
        (rec,) = fake.requests
        assert rec.path == "/openai/v1/responses" and rec.query == {}
        assert rec.headers["api-key"] == "azure-secret-key-9876"
        assert "authorization" not in rec.headers
        assert rec.json["model"] == "gpt5-prod" and problems(rec.json) == []
        # auto stays on chat completions on Azure
        text = (tmp_path / "config.toml").read_text().replace('api = "responses"\n', "")
        (tmp_path / "config.toml").write_text(text)
        assert run_cli("ask", "hi", env=env).returncode == 0
        assert fake.requests[-1].path == "/openai/deployments/gpt5-prod/chat/completions"


def test_options_reach_the_body(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[profiles.openai]\ntype = "openai"\nstore = true\n')
    env = fake_env(tmp_path, fake)
    result = run_cli(
        "ask", "-m", "gpt-5", "--reasoning", "high", "--service-tier", "flex",
        "--max-tokens", "300", "-t", "0.5", "hi", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body = fake.responses_requests()[0].json
    assert problems(body) == []
    assert body["reasoning"] == {"effort": "high", "summary": "auto"}
    assert body["service_tier"] == "flex" and body["max_output_tokens"] == 300
    assert body["store"] is True
    assert "temperature" not in body  # gpt-5 is a reasoning model
    assert "does not take a temperature" in result.stderr
    plain = run_cli("ask", "-m", "gpt-4.1", "--max-tokens", "5", "-t", "0.5", "hi", env=env)
    assert plain.returncode == 0, plain.stderr
    body = fake.responses_requests()[1].json
    assert body["temperature"] == 0.5 and "reasoning" not in body
    assert body["max_output_tokens"] == 16  # the API's minimum


def test_a_learnt_reasoning_model_gets_no_temperature(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.completion_only = {"gpt-9-preview"}
    env = fake_env(tmp_path, fake)
    first = run_cli("ask", "-m", "gpt-9-preview", "-t", "0.5", "hi", env=env)
    assert first.returncode == 0, first.stderr
    assert "gpt-9-preview takes no temperature; sent again without it" in first.stderr
    assert len(fake.responses_requests()) == 2
    second = run_cli("ask", "-m", "gpt-9-preview", "-t", "0.5", "hi", env=env)
    assert second.returncode == 0
    assert len(fake.responses_requests()) == 3
    assert "temperature" not in fake.responses_requests()[-1].json


def test_finish_policy(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Reply(words=40))
    cut = run_cli("ask", "--max-tokens", "16", "q", env=env)
    assert cut.returncode == 0
    assert len(cut.stdout.split()) == 16
    assert "finish_reason=length" in cut.stderr
    fake.script(Reply(text="bad words", finish_reason="content_filter"))
    filtered = run_cli("ask", "q", env=env)
    assert filtered.returncode == 5
    assert "stopped by the provider's content filter" in filtered.stderr
    fake.script(Reply(refusal="I can't help with that."))
    refused = run_cli("ask", "q", env=env)
    assert refused.returncode == 5
    assert "the model refused: I can't help with that." in refused.stderr
    assert refused.stdout == ""
    fake.script(Reply(text="half an ans", finish_reason="error"))
    failed = run_cli("ask", "q", env=env)
    assert failed.returncode == 5
    assert "the endpoint reported an error mid-stream (server_error)" in failed.stderr


@pytest.mark.parametrize("stream", [True, False])
def test_usage_with_cached_and_reasoning_tokens(
    fake: FakeOpenAI, tmp_path: Path, stream: bool
) -> None:
    fake.script(
        Reply(text="42", reasoning="I add", prompt_tokens=1000, completion_tokens=200,
              cached_tokens=800, reasoning_tokens=150, service_tier="flex")
    )  # fmt: skip
    env = fake_env(tmp_path, fake)
    args = ["ask", "-m", "gpt-5", "--json", "q"] + ([] if stream else ["--no-stream"])
    result = run_cli(*args, env=env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["answer"] == "42" and out["finish_reason"] == "stop"
    assert out["usage"]["prompt_tokens"] == 1000 and out["usage"]["completion_tokens"] == 200
    assert out["usage"]["cached_tokens"] == 800 and out["usage"]["reasoning_tokens"] == 150
    (row,) = Store.open(tmp_path / "data").usage_rows()
    assert (row.prompt_tokens, row.cached_tokens, row.reasoning_tokens) == (1000, 800, 150)
    assert row.cost_usd is not None and row.cost_usd == out["cost_usd"] > 0
    report = json.loads(run_cli("usage", "--json", env=env).stdout)
    assert "800" in json.dumps(report)


def test_sessions_and_continue_resend_the_history_without_reasoning(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Reply(text="Paris.", reasoning="secret chain of thought"))
    first = run_cli("ask", "-m", "o3", "--reasoning", "low", "--session", "geo", "capital?",
                    env=env)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert fake.responses_requests()[0].json["reasoning"] == {"effort": "low", "summary": "auto"}
    second = run_cli("ask", "-c", "and Italy?", env=env)
    assert second.returncode == 0, second.stderr
    body = fake.responses_requests()[1].json
    assert problems(body) == []
    assert body["model"] == "o3"
    assert body["input"] == [
        {"role": "user", "content": "capital?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "and Italy?"},
    ]
    assert "secret chain" not in json.dumps(body)
    shown = run_cli("sessions", "show", "geo", env=env)
    assert "Paris." in shown.stdout and "and Italy?" in shown.stdout


def test_retries_and_retry_after(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Error.rate_limit(retry_after=1), Error(503))
    clock = ManualClock()
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake), clock=clock)
    assert result.returncode == 0, result.stderr
    assert clock.slept[0] == 1.0  # the server's wait, on the command's clock
    assert "rate limited (429)" in result.stderr and "retrying in 1.0 s" in result.stderr
    assert result.stdout == "echo(1): hi\n"
    assert len(fake.responses_requests()) == 3 and fake.chat_requests() == []


def test_broken_streams(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(CutStream(text="partial answer that stops"))
    cut = run_cli("ask", "--session", "s", "hi", env=env)
    assert cut.returncode == 6
    assert cut.stdout.startswith("partial answer")
    assert "before the answer was complete" in cut.stderr
    shown = run_cli("sessions", "export", "s", "--format", "json", env=env)
    assert json.loads(shown.stdout)["messages"][-1]["interrupted"] is True
    fake.script(StreamError(message="upstream error: the model is overloaded"))
    errored = run_cli("ask", "hi", env=env)
    assert errored.returncode == 5
    assert "the model is overloaded" in errored.stderr
    fake.script(Malformed(sse=True, body='{"type": "response.output_text.delta", "delta": 7}'))
    bad = run_cli("ask", "hi", env=env)
    assert bad.returncode == 5
    assert "malformed stream event: `response.output_text.delta: delta` is 7" in bad.stderr
    fake.script(Malformed(body="{not json"))
    garbage = run_cli("ask", "--no-stream", "hi", env=env)
    assert garbage.returncode == 5 and "malformed response" in garbage.stderr


def test_budgets(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[defaults]\ndaily_budget_usd = 0.000001\n")
    env = fake_env(tmp_path, fake)
    fake.script(Reply(text="costly", prompt_tokens=100000, completion_tokens=100000))
    assert run_cli("ask", "-m", "gpt-5", "q", env=env).returncode == 0
    refused = run_cli("ask", "-m", "gpt-5", "q", env=env)
    assert refused.returncode == 1
    assert "daily budget" in refused.stderr
    assert len(fake.responses_requests()) == 1


def test_the_key_never_leaks_from_a_responses_answer(fake: FakeOpenAI, tmp_path: Path) -> None:
    key = DEFAULT_API_KEY
    fake.script(Reply(text=f"your key is {key[:9]} {key[9:]}joined {key}"))
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 0
    assert key not in result.stdout


def _dry_run_routes(tmp_path: Path, env: dict[str, str], *args: str) -> list[str]:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "q0", "prompt": "a"}\n')
    result = run_cli("batch", "submit", str(path), "--dry-run", *args, env=env)
    assert result.returncode == 0, result.stderr
    written = Path.cwd() / "chatcli-batch-dry-run.jsonl"
    return [json.loads(x)["url"] for x in written.read_text().splitlines()]


def test_batches_take_responses_where_it_is_known_to_be_served(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch file cannot fall back request by request: ``auto`` sends Responses lines to
    the official API, or for a model this profile learnt is Responses-only; chat lines to an
    ``openai`` profile at another URL, whose /responses is not known."""
    monkeypatch.chdir(tmp_path)
    official = clean_env(tmp_path, OPENAI_API_KEY=DEFAULT_API_KEY)
    assert _dry_run_routes(tmp_path, official) == ["/v1/responses"]
    elsewhere = fake_env(tmp_path, fake)
    assert _dry_run_routes(tmp_path, elsewhere) == ["/v1/chat/completions"]
    fake.responses_only = {"gpt-5.5-pro"}
    relay_config(tmp_path, fake)
    assert run_cli("ask", "-m", "gpt-5.5-pro", "hi", env=relay_env(tmp_path)).returncode == 0
    routes = _dry_run_routes(tmp_path, relay_env(tmp_path), "-m", "gpt-5.5-pro")
    assert routes == ["/v1/responses"]


def test_the_reasoning_summary_end_to_end(fake: FakeOpenAI, tmp_path: Path) -> None:
    """``ask --reasoning high`` over Responses: the summary streams to stderr off a terminal
    (stdout is the answer alone), ``--json`` carries it, ``show_reasoning = false`` hides it,
    the session keeps it."""
    env = fake_env(tmp_path, fake)
    summary = "**Adding** two and two, carefully."
    fake.script(Reply(text="4", reasoning=summary))
    shown = run_cli("ask", "-m", "o3", "--reasoning", "high", "--session", "r", "2+2?", env=env)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == "4\n"
    assert summary in shown.stderr
    body = fake.responses_requests()[0].json
    assert body["reasoning"] == {"effort": "high", "summary": "auto"}
    exported = json.loads(run_cli("sessions", "export", "r", "--format", "json", env=env).stdout)
    assert exported["messages"][-1]["reasoning"] == summary
    fake.script(Reply(text="4", reasoning=summary))
    as_json = json.loads(run_cli("ask", "-m", "o3", "--json", "2+2?", env=env).stdout)
    assert as_json["reasoning"] == summary and as_json["answer"] == "4"
    (tmp_path / "config.toml").write_text("[defaults]\nshow_reasoning = false\n")
    fake.script(Reply(text="4", reasoning=summary))
    hidden = run_cli("ask", "-m", "o3", "2+2?", env=env)
    assert hidden.returncode == 0 and hidden.stdout == "4\n"
    assert summary not in hidden.stderr


def test_azure_switches_a_responses_only_deployment_to_its_v1_route(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key="azure-secret-key-9876") as fake:
        fake.responses = True
        fake.responses_only = {"codex-prod"}  # the fake names Azure's model by its deployment
        (tmp_path / "config.toml").write_text(
            f'default_profile = "az"\n[profiles.az]\ntype = "azure"\nendpoint = "{fake.root}"\n'
            'api_version = "2024-10-21"\napi_key_env = "MY_AZ_KEY"\nmodel = "gpt-5-codex"\n'
            '[profiles.az.deployments]\n"gpt-5-codex" = "codex-prod"\n'
        )
        env = clean_env(tmp_path, MY_AZ_KEY="azure-secret-key-9876")
        for _ in range(2):
            result = run_cli("ask", "write code", env=env)
            assert result.returncode == 0, result.stderr
        assert [r.path for r in fake.requests] == [
            "/openai/deployments/codex-prod/chat/completions",
            "/openai/v1/responses",
            "/openai/v1/responses",
        ]
        assert fake.requests[-1].json["model"] == "codex-prod"


def test_refused_reasoning_summaries_are_sent_again_without_and_remembered(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Error(400, "Your organization must be verified to generate reasoning summaries. "
                      "Please go to: https://platform.openai.com/settings/organization/general",
                      "invalid_request_error", "unsupported_value"))  # fmt: skip
    first = run_cli("ask", "-m", "o3", "--reasoning", "high", "think", env=env)
    assert first.returncode == 0, first.stderr
    assert "refuses reasoning summaries for o3; sent again without" in first.stderr
    refused, resent = (r.json for r in fake.responses_requests())
    assert refused["reasoning"] == {"effort": "high", "summary": "auto"}
    assert resent["reasoning"] == {"effort": "high"}
    second = run_cli("ask", "-m", "o3", "think", env=env)
    assert second.returncode == 0 and "summar" not in second.stderr
    assert "reasoning" not in fake.responses_requests()[-1].json  # nothing left to ask for
    assert len(fake.responses_requests()) == 3


def test_a_responses_only_model_on_an_endpoint_without_responses(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:  # no /v1/responses, and chat refuses the model
        fake.responses_only = {"gpt-5.5-pro"}
        relay_config(tmp_path, fake)
        for _ in range(2):
            result = run_cli("ask", "-m", "gpt-5.5-pro", "hi", env=relay_env(tmp_path))
            assert result.returncode == 5
            assert (
                "hint: gpt-5.5-pro is served over the Responses API only, and this endpoint "
                "has none" in result.stderr
            )
        assert len(fake.chat_requests()) == 2 and fake.responses_refused == 2  # not stuck
