"""``chatcli batch`` for profiles on the Responses API: ``/v1/responses`` lines with Responses
bodies, answers read by the Responses parser (text, usage with cached and reasoning tokens,
``incomplete`` and refusals as failed requests, ``--schema`` data), status, results, retry and
the local runner, OpenAI's route and Azure's. The real CLI against the fake's Batch API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatcli.pricing import batch_cost_usd, lookup
from chatcli.store import Store, UsageRow
from tests.cli_helpers import clean_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI
from tests.test_responses_protocol import problems

PROMPTS = [
    "plain question",
    "THINK about this",
    "CACHED long shared prefix",
    "LONG essay please",
    "FILTER this",
    "REFUSE that",
    "FAIL here",
]


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """The fake with its Responses API on (off, a batch of Responses lines fails)."""
    with FakeOpenAI() as server:
        server.responses = True
        yield server


def responses_env(tmp_path: Path, fake: FakeOpenAI, extra: str = "") -> dict[str, str]:
    (tmp_path / "config.toml").write_text(
        f'default_profile = "o"\n[profiles.o]\ntype = "openai"\nbase_url = "{fake.base_url}"\n'
        f'api_key_env = "MY_KEY"\napi = "responses"\nmodel = "gpt-6-luna"\n{extra}'
    )
    return clean_env(tmp_path, MY_KEY=DEFAULT_API_KEY)


def inputs(path: Path, prompts: list[str]) -> Path:
    path.write_text("".join(json.dumps({"id": f"q{i}", "prompt": p}) + "\n"
                            for i, p in enumerate(prompts)))  # fmt: skip
    return path


def uploaded(fake: FakeOpenAI, n: int = 0) -> list[dict[str, Any]]:
    """The lines of the ``n``-th file chatcli uploaded."""
    file = [f for f in fake.batch_api.files.values() if f.purpose == "batch"][n]
    return [json.loads(x) for x in file.data.decode().splitlines()]


def results(env: dict[str, str], job: str) -> list[dict[str, Any]]:
    result = run_cli("batch", "results", job, env=env)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def batch_usage(home: Path) -> list[UsageRow]:
    with Store.open(home / "data") as store:
        return [r for r in store.usage_rows() if r.command == "batch"]


def submit_and_wait(env: dict[str, str], path: Path, *args: str) -> str:
    submitted = run_cli("batch", "submit", str(path), *args, env=env)
    assert submitted.returncode == 0, submitted.stderr
    job = submitted.stdout.strip()
    waited = run_cli("batch", "wait", job, env=env)
    assert waited.returncode == 0, waited.stderr
    return job


def test_lines_go_to_v1_responses_with_responses_bodies(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = responses_env(tmp_path, fake, "max_tokens = 300\n")
    job = submit_and_wait(env, inputs(tmp_path / "in.jsonl", PROMPTS[:2]))
    lines = uploaded(fake)
    assert {x["url"] for x in lines} == {"/v1/responses"}
    (batch,) = fake.batch_api.batches.values()
    assert batch.endpoint == "/v1/responses"  # one route per batch, as OpenAI requires
    body = lines[0]["body"]
    assert "messages" not in body and "response_format" not in body
    assert body["model"] == "gpt-6-luna" and body["store"] is False
    assert body["max_output_tokens"] == 300
    assert "plain question" in json.dumps(body["input"])
    assert all(not k.startswith("chatcli_") for x in lines for k in x)  # chatcli's keys stay home
    assert [problems(x["body"]) for x in lines] == [[], []]  # OpenAI's CreateResponse schema
    assert [r["answer"] for r in results(env, job)] == [
        "answer: plain question",
        "answer: THINK about this",
    ]


def test_answers_usage_and_endings_are_read_by_the_responses_parser(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = responses_env(tmp_path, fake)
    job = submit_and_wait(env, inputs(tmp_path / "in.jsonl", PROMPTS))
    rows = results(env, job)
    assert [r["id"] for r in rows] == [f"q{i}" for i in range(len(PROMPTS))]  # input order
    ok = {r["id"]: r["answer"] for r in rows if r["error"] is None}
    assert ok == {
        "q0": "answer: plain question",
        "q1": "answer: THINK about this",  # the reasoning summary is not the answer
        "q2": "answer: CACHED long shared prefix",
    }
    errors = {r["id"]: r["error"] for r in rows if r["error"] is not None}
    assert "cut at the token limit" in errors["q3"] and "max_output_tokens" in errors["q3"]
    assert "content filter" in errors["q4"]
    assert errors["q5"] == "the model refused: I can't help with that."
    assert "scripted failure" in errors["q6"]
    assert rows[3]["finish_reason"] == "length" and rows[4]["finish_reason"] == "content_filter"
    assert rows[1]["usage"]["reasoning_tokens"] == 7 and rows[0]["usage"]["cached_tokens"] == 0
    assert 0 < rows[2]["usage"]["cached_tokens"] * 2 <= rows[2]["usage"]["prompt_tokens"]

    logged = batch_usage(tmp_path)
    assert len(logged) == 6  # every answered request is billed, also the failed ones
    by_status = sorted(r.status for r in logged)
    assert by_status == ["error", "error", "error", "ok", "ok", "ok"]
    cached = [r for r in logged if r.cached_tokens]
    assert len(cached) == 1 and cached[0].cached_tokens * 2 <= cached[0].prompt_tokens
    thought = [r for r in logged if r.reasoning_tokens]
    assert [r.reasoning_tokens for r in thought] == [7]
    info = lookup("gpt-6-luna")
    expected = batch_cost_usd(info, cached[0].prompt_tokens, cached[0].completion_tokens,
                              cached[0].cached_tokens)  # fmt: skip
    assert cached[0].cost_usd == pytest.approx(expected)
    full = batch_cost_usd(info, cached[0].prompt_tokens, cached[0].completion_tokens)
    assert expected is not None and full is not None and expected < full


def test_status_and_retry_of_the_failed_requests(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = responses_env(tmp_path, fake)
    job = submit_and_wait(env, inputs(tmp_path / "in.jsonl", ["one", "two FAIL", "three"]))
    status = run_cli("batch", "status", job, env=env)
    assert status.returncode == 0 and "(2 completed, 1 failed)" in status.stdout
    fake.batch_api.mangle = None
    retried = run_cli("batch", "retry", job, env=env)
    assert retried.returncode == 0, retried.stderr
    again = uploaded(fake, 1)
    assert len(again) == 1 and again[0]["url"] == "/v1/responses"
    assert "two FAIL" in json.dumps(again[0]["body"]["input"])
    assert "messages" not in again[0]["body"]


def test_schema_lines_ask_with_text_format_and_results_carry_data(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = responses_env(tmp_path, fake)
    path = inputs(tmp_path / "in.jsonl", ["review one", "review INVALID"])
    job = submit_and_wait(env, path, "--schema", "sentiment, score int")
    body = uploaded(fake)[0]["body"]
    assert problems(body) == []
    fmt = body["text"]["format"]
    assert fmt["type"] == "json_schema" and fmt["strict"] is True
    assert fmt["schema"]["required"] == ["sentiment", "score"]
    assert "response_format" not in body
    rows = results(env, job)
    assert rows[0]["data"] == {"sentiment": "example", "score": 0}
    assert rows[1]["data"] is None and "not valid against the schema" in rows[1]["error"]


def test_dry_run_writes_the_responses_lines(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = responses_env(tmp_path, fake, "store = true\n")
    path = inputs(tmp_path / "in.jsonl", ["a", "b"])
    monkeypatch.chdir(tmp_path)
    result = run_cli("batch", "submit", str(path), "--dry-run", env=env)
    assert result.returncode == 0, result.stderr
    written = (tmp_path / "chatcli-batch-dry-run.jsonl").read_text().splitlines()
    lines = [json.loads(x) for x in written]
    assert [x["url"] for x in lines] == ["/v1/responses"] * 2
    assert all(x["body"]["store"] is True and "input" in x["body"] for x in lines)
    assert all(set(x) == {"custom_id", "method", "url", "body"} for x in lines)
    assert not fake.batch_api.files  # nothing was sent


def test_local_runner_sends_each_request_over_responses(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = responses_env(tmp_path, fake)
    job = submit_and_wait(env, inputs(tmp_path / "in.jsonl", ["alpha", "beta"]), "--local")
    rows = results(env, job)
    assert [r["error"] for r in rows] == [None, None]
    assert all(r["answer"] for r in rows)
    sent = [r for r in fake.requests if r.path.endswith("/responses")]
    assert len(sent) == 2 and all("messages" not in r.json for r in sent)
    assert not [r for r in fake.requests if r.path.endswith("/chat/completions")]
    assert {r.status for r in batch_usage(tmp_path)} == {"ok"}


def test_azure_profile_on_responses(tmp_path: Path) -> None:
    """Azure reads each line's route: the lines name ``/v1/responses`` and the deployment;
    the batch is created with ``/chat/completions`` as Azure's batch guide says."""
    with FakeOpenAI(api_key=None, azure_key="azure-secret-key-9876") as fake:
        fake.responses = True
        (tmp_path / "config.toml").write_text(
            f'default_profile = "az"\n[profiles.az]\ntype = "azure"\nendpoint = "{fake.root}"\n'
            'api_version = "2024-10-21"\napi_key_env = "AZ_KEY"\nmodel = "gpt-4o"\n'
            'api = "responses"\n[profiles.az.deployments]\n"gpt-4o" = "gpt4o-batch"\n'
        )
        env = clean_env(tmp_path, AZ_KEY="azure-secret-key-9876")
        job = submit_and_wait(env, inputs(tmp_path / "in.jsonl", ["one", "THINK two"]))
        line = uploaded(fake)[0]
        assert line["url"] == "/v1/responses" and line["body"]["model"] == "gpt4o-batch"
        assert "input" in line["body"] and "messages" not in line["body"]
        (batch,) = fake.batch_api.batches.values()
        assert batch.endpoint == "/chat/completions"
        assert [r["answer"] for r in results(env, job)] == ["answer: one", "answer: THINK two"]


def test_a_malformed_responses_body_fails_its_request_only(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    def mangle(text: str, line: dict[str, Any]) -> str:
        if "BAD" in text:
            line["response"]["body"]["output"] = "not a list"
        return json.dumps(line)

    fake.batch_api.mangle = mangle
    env = responses_env(tmp_path, fake)
    job = submit_and_wait(env, inputs(tmp_path / "in.jsonl", ["fine", "BAD one"]))
    rows = results(env, job)
    assert rows[0]["answer"] == "answer: fine" and rows[0]["error"] is None
    assert rows[1]["answer"] is None and "not a response" in rows[1]["error"]


def test_an_endpoint_without_the_responses_api_fails_the_batch_with_the_reason(
    tmp_path: Path,
) -> None:
    with FakeOpenAI() as fake:  # its Responses API off, like a relay without the route
        env = responses_env(tmp_path, fake)
        submitted = run_cli("batch", "submit", str(inputs(tmp_path / "in.jsonl", ["a"])), env=env)
        assert submitted.returncode == 0, submitted.stderr
        waited = run_cli("batch", "wait", submitted.stdout.strip(), env=env)
        assert waited.returncode == 5
        assert "Unsupported URL /v1/responses" in waited.stderr


def test_auto_profiles_batch_over_responses_only_where_known_to_be_served(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """An ``openai`` profile on another URL (a relay claiming to be OpenAI) stays on chat lines
    in ``auto``: a batch file cannot fall back request by request."""
    (tmp_path / "config.toml").write_text(
        f'default_profile = "o"\n[profiles.o]\ntype = "openai"\nbase_url = "{fake.base_url}"\n'
        'api_key_env = "MY_KEY"\n'
    )
    env = clean_env(tmp_path, MY_KEY=DEFAULT_API_KEY)
    submit_and_wait(env, inputs(tmp_path / "in.jsonl", ["a"]))
    assert uploaded(fake)[0]["url"] == "/v1/chat/completions"
