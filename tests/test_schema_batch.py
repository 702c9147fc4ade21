"""``batch submit --schema`` and per-line ``"schema"`` keys: every line asks for structured
output, its answer is validated when collected, results carry ``data``, invalid lines are
failed requests that ``batch retry`` sends again. The real CLI against the fake's Batch API
and, where the endpoint has none, the local runner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply


def _inputs(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def _results(env: dict[str, str], job: str) -> list[dict[str, Any]]:
    result = run_cli("batch", "results", job, env=env)
    return [json.loads(line) for line in result.stdout.splitlines()]


N_SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
LINES: list[dict[str, Any]] = [
    {"id": "a", "prompt": "review one"},
    {"id": "b", "prompt": "where", "schema": "city, country?"},
    {"id": "c", "prompt": "review INVALID"},
    {"id": "d", "prompt": "raw", "schema": N_SCHEMA},
]


def test_batch_api_lines_with_schemas(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    inputs = _inputs(tmp_path / "in.jsonl", LINES)
    submitted = run_cli("batch", "submit", str(inputs), "--schema", "sentiment, score int", env=env)
    assert submitted.returncode == 0, submitted.stderr
    job = submitted.stdout.strip()

    upload = next(iter(fake.batch_api.files.values()))
    sent = [json.loads(x) for x in upload.data.decode().splitlines()]
    assert all("chatcli_schema" not in x for x in sent)  # chatcli's own key stays home
    formats = [x["body"]["response_format"]["json_schema"] for x in sent]
    assert all(f["strict"] is True for f in formats)
    assert formats[0]["schema"]["required"] == ["sentiment", "score"]
    assert formats[1]["schema"]["properties"]["country"] == {"type": ["string", "null"]}
    assert formats[3]["schema"]["additionalProperties"] is False

    waited = run_cli("batch", "wait", job, env=env)
    assert waited.returncode == 0, waited.stderr
    assert "3 completed, 1 failed" in waited.stderr
    rows = _results(env, job)
    assert [r["data"] for r in rows] == [
        {"sentiment": "example", "score": 0},
        {"city": "example"},  # the optional country came back null and was dropped
        None,
        {"n": 0},
    ]
    assert json.loads(rows[0]["answer"]) == rows[0]["data"]
    assert rows[2]["error"].startswith(
        "the answer is not valid against the schema: $.sentiment: {'unexpected': [1, 2, 3]}"
    )
    assert rows[2]["usage"] is not None  # paid for, so counted

    out = tmp_path / "answers"
    files = run_cli("batch", "results", job, "-o", str(out), env=env)
    assert "1 request(s) failed" in files.stderr and f"chatcli batch retry {job}" in files.stderr
    assert sorted(p.name for p in out.iterdir()) == ["1-a.json", "2-b.json", "4-d.json"]

    retried = run_cli("batch", "retry", job, env=env)
    assert retried.returncode == 0, retried.stderr
    upload = list(fake.batch_api.files.values())[-1]
    again = [json.loads(x) for x in upload.data.decode().splitlines()]
    assert len(again) == 1 and "response_format" in again[0]["body"]
    # invalid again: a job with no answer at all is failed, exit 5 (as the local runner's)
    assert run_cli("batch", "wait", retried.stdout.strip(), env=env).returncode == 5
    (row,) = _results(env, retried.stdout.strip())
    assert row["id"] == "c" and row["data"] is None and "not valid" in row["error"]


def test_local_runner_checks_each_answer(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.batch_api.enabled = False
    fake.script(Reply(), Reply(structured="invalid"), Reply())
    env = fake_env(tmp_path, fake)
    inputs = _inputs(tmp_path / "in.jsonl", [{"id": f"q{i}", "prompt": f"q {i}"} for i in range(3)])
    result = run_cli("batch", "submit", str(inputs), "--schema", "name, tags list[str]",
                     "--concurrency", "1", env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = _results(env, result.stdout.strip())
    assert [r["data"] for r in rows] == [
        {"name": "example", "tags": ["example"]},
        None,
        {"name": "example", "tags": ["example"]},
    ]
    assert "$.name: {'unexpected'" in rows[1]["error"]
    assert all("response_format" in r.json for r in fake.chat_requests())


def test_schema_multi_dry_run_and_bad_line_schemas(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    inputs = _inputs(tmp_path / "in.jsonl", [{"prompt": "people"}])
    proc = subprocess.run(
        [sys.executable, "-m", "chatcli", "batch", "submit", str(inputs), "--schema", "name",
         "--schema-multi", "--dry-run"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (line,) = (tmp_path / "chatcli-batch-dry-run.jsonl").read_text().splitlines()
    written = json.loads(line)
    assert "chatcli_schema" not in written
    schema = written["body"]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["items"]["items"]["required"] == ["name"]
    bad = _inputs(tmp_path / "bad.jsonl", [{"id": "x7", "prompt": "p", "schema": "age integr"}])
    refused = run_cli("batch", "submit", str(bad), env=env)
    assert refused.returncode == 2
    assert "chatcli: error: input x7: unknown type 'integr'" in refused.stderr
    assert fake.requests == []


def test_local_runner_falls_back_when_response_format_is_refused(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.batch_api.enabled = False
    fake.structured = "refuse"  # 400 naming response_format; answers JSON asked in words
    env = fake_env(tmp_path, fake)
    inputs = _inputs(tmp_path / "in.jsonl", [{"id": f"q{i}", "prompt": f"q {i}"} for i in range(4)])
    result = run_cli("batch", "submit", str(inputs), "--schema", "city, population int",
                     "--concurrency", "1", env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("refuses response_format") == 1
    assert "refuses response_format json_schema for gpt-6-luna" in result.stderr
    rows = _results(env, result.stdout.strip())
    assert [r["data"] for r in rows] == [{"city": "example", "population": 0}] * 4
    sent = [r.json for r in fake.chat_requests()]
    kinds = [b.get("response_format", {}).get("type") for b in sent]
    assert kinds == ["json_schema", "json_object", None, None, None, None]
    assert "valid against this JSON Schema:\n{" in sent[-1]["messages"][-1]["content"]
    # remembered: ask goes straight to the prompt too
    fake.reset()
    asked = run_cli("ask", "--schema", "city", "Rome?", env=env)
    assert asked.returncode == 0 and asked.stderr == ""
    assert "response_format" not in fake.chat_requests()[0].json
