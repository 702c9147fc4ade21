"""``chatcli batch``: the Batch API (OpenAI and Azure), the local runner, and crash recovery.

Everything runs through the real CLI against the fake server's Files and Batch APIs
(tests/fakes/batches.py); kill -9 tests use real subprocesses and poll with deadlines.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from chatcli.pricing import batch_cost_usd, cost_usd, lookup
from chatcli.store import DB_NAME, Store, UsageRow
from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import FakeOpenAI


def write_jsonl(path: Path, n: int, fail: set[int] = frozenset()) -> Path:  # type: ignore[assignment]
    lines = [
        json.dumps({"id": f"q{i}", "prompt": f"question {i}" + (" FAIL" if i in fail else "")})
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def usage_rows(home: Path) -> list[UsageRow]:
    with Store.open(home / "data") as store:
        return [r for r in store.usage_rows() if r.command == "batch"]


def results_jsonl(env: dict[str, str], job: str) -> list[dict[str, object]]:
    result = run_cli("batch", "results", job, env=env)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.02)


def spawn(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "chatcli", *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def holds(home: Path, job: str, proc: subprocess.Popen[bytes]) -> bool:
    """Whether ``proc`` holds the job's runner mark (it is advancing the job)."""
    with contextlib.closing(sqlite3.connect(home / "data" / DB_NAME, timeout=5)) as conn:
        row = conn.execute("SELECT runner FROM batch_jobs WHERE name = ?", (job,)).fetchone()
    return bool(row and row[0] == f"{socket.gethostname()}:{proc.pid}")


def kill9(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def paths(fake: FakeOpenAI, method: str, suffix: str) -> list[str]:
    return [r.path for r in fake.requests if r.method == method and r.path.endswith(suffix)]


# -- the Batch API ------------------------------------------------------------------------------


def test_submit_wait_results_in_input_order_at_batch_prices(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    inputs = write_jsonl(tmp_path / "in.jsonl", 40, fail={5, 17})
    submitted = run_cli("batch", "submit", str(inputs), env=env)
    assert submitted.returncode == 0, submitted.stderr
    job = submitted.stdout.strip()
    assert job.startswith("batch-")
    assert "40 requests" in submitted.stderr and "batch prices" in submitted.stderr

    upload = fake.batch_api.files[next(iter(fake.batch_api.files))]
    lines = [json.loads(x) for x in upload.data.decode().splitlines()]
    assert upload.purpose == "batch" and upload.filename == f"chatcli-{job}-part1.jsonl"
    assert lines[0]["method"] == "POST" and lines[0]["url"] == "/v1/chat/completions"
    assert [x["body"]["messages"][-1]["content"] for x in lines[:2]] == ["question 0", "question 1"]
    assert len({x["custom_id"] for x in lines}) == 40
    (batch,) = fake.batch_api.batches.values()
    assert batch.metadata == {"chatcli_job": job, "chatcli_part": "1"}

    waited = run_cli("batch", "wait", job, env=env)
    assert waited.returncode == 0, waited.stderr
    assert "38 completed, 2 failed" in waited.stderr

    rows = results_jsonl(env, job)
    assert [r["id"] for r in rows] == [f"q{i}" for i in range(40)]  # output came shuffled
    assert rows[0]["answer"] == "answer: question 0"
    assert rows[5]["answer"] is None and "scripted failure" in str(rows[5]["error"])
    info = lookup("gpt-6-luna")
    usage = rows[0]["usage"]
    assert isinstance(usage, dict)
    expected = batch_cost_usd(info, usage["prompt_tokens"], usage["completion_tokens"])
    assert rows[0]["cost_usd"] == pytest.approx(expected)
    full = cost_usd(info, usage["prompt_tokens"], usage["completion_tokens"])
    assert expected == pytest.approx(full / 2)  # type: ignore[operator]

    logged = usage_rows(tmp_path)
    assert len(logged) == 38 and {r.status for r in logged} == {"ok"}
    expected_cost = sum(float(str(r["cost_usd"] or 0)) for r in rows)
    assert sum(r.cost_usd or 0 for r in logged) == pytest.approx(expected_cost)
    again = run_cli("batch", "wait", job, env=env)  # collected once: nothing logged twice
    assert again.returncode == 0 and len(usage_rows(tmp_path)) == 38

    listed = run_cli("batch", "list", "--json", env=env)
    (entry,) = json.loads(listed.stdout)
    assert (entry["name"], entry["state"], entry["completed"], entry["failed"]) == (
        job, "done", 38, 2,
    )  # fmt: skip
    status = run_cli("batch", "status", env=env)
    assert f"job:      {job}" in status.stdout and "done (remote)" in status.stdout


def test_failed_requests_listed_and_retried_alone(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    job = run_cli("batch", "submit", str(write_jsonl(tmp_path / "in.jsonl", 6, {2})), env=env)
    name = job.stdout.strip()
    assert run_cli("batch", "wait", name, env=env).returncode == 0
    out = tmp_path / "out.jsonl"
    result = run_cli("batch", "results", name, "--jsonl", str(out), env=env)
    assert result.returncode == 0
    assert "1 request(s) failed" in result.stderr and "q2: scripted failure" in result.stderr
    assert f"chatcli batch retry {name}" in result.stderr
    assert len(out.read_text().splitlines()) == 6

    retried = run_cli("batch", "retry", name, env=env)
    assert retried.returncode == 0, retried.stderr
    new = retried.stdout.strip()
    assert new != name
    last_upload = list(fake.batch_api.files.values())[-1]
    sent = [json.loads(x) for x in last_upload.data.decode().splitlines()]
    assert [x["body"]["messages"][-1]["content"] for x in sent] == ["question 2 FAIL"]
    # it fails again: a job with no answer at all is failed, exit 5 (as the local runner's)
    assert run_cli("batch", "wait", new, env=env).returncode == 5
    again = run_cli("batch", "results", new, env=env)
    assert again.returncode == 5
    (row,) = [json.loads(line) for line in again.stdout.splitlines()]
    assert row["id"] == "q2"


def test_expired_batch_keeps_partial_results(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    fake.batch_api.expire_next = True
    name = run_cli("batch", "submit", str(write_jsonl(tmp_path / "in.jsonl", 10)), env=env)
    job = name.stdout.strip()
    assert run_cli("batch", "wait", job, env=env).returncode == 0
    rows = results_jsonl(env, job)
    assert [r["answer"] is not None for r in rows] == [True] * 5 + [False] * 5
    assert all("expired" in str(r["error"]) for r in rows[5:])
    assert len(usage_rows(tmp_path)) == 5

    retried = run_cli("batch", "retry", job, env=env)
    assert retried.returncode == 0, retried.stderr
    assert run_cli("batch", "wait", retried.stdout.strip(), env=env).returncode == 0
    merged = results_jsonl(env, job)  # the original job's results now hold the retried answers
    assert [r["id"] for r in merged] == [f"q{i}" for i in range(10)]
    assert all(r["answer"] is not None and r["error"] is None for r in merged)


def test_cancel_then_wait_collects_what_finished(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    fake.batch_api.validating_s = 5.0
    job = run_cli("batch", "submit", str(write_jsonl(tmp_path / "in.jsonl", 4)), env=env)
    name = job.stdout.strip()
    cancelled = run_cli("batch", "cancel", name, env=env)
    assert cancelled.returncode == 0, cancelled.stderr
    assert paths(fake, "POST", "/cancel")
    assert run_cli("batch", "wait", name, env=env).returncode == 0
    status = run_cli("batch", "status", name, env=env)
    assert "cancelled (remote)" in status.stdout
    assert len(results_jsonl(env, name)) == 4


def test_csv_column_into_one_file_per_input(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    csv = tmp_path / "rows.csv"
    csv.write_text('id,text\na1,"first, with comma"\na2,second\na3,third\n')
    result = run_cli(
        "batch", "submit", str(csv), "--column", "text", "--prompt", "Translate:", env=env
    )
    assert result.returncode == 0, result.stderr
    name = result.stdout.strip()
    assert run_cli("batch", "wait", name, env=env).returncode == 0
    out = tmp_path / "answers"
    written = run_cli("batch", "results", name, "-o", str(out), env=env)
    assert written.returncode == 0, written.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == ["1-a1.txt", "2-a2.txt", "3-a3.txt"]
    assert (out / "1-a1.txt").read_text() == "answer: Translate:\n\nfirst, with comma\n"


def test_text_files_with_prompt_and_dry_run(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    docs = [tmp_path / "a.md", tmp_path / "b.txt"]
    docs[0].write_text("alpha text")
    docs[1].write_text("beta text")
    proc = subprocess.run(
        [sys.executable, "-m", "chatcli", "batch", "submit", *map(str, docs), "--prompt",
         "Summarise:", "--dry-run"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    written = tmp_path / "chatcli-batch-dry-run.jsonl"
    assert f"wrote {written}" in proc.stderr and "nothing was sent" in proc.stderr
    lines = [json.loads(x) for x in written.read_text().splitlines()]
    assert lines[1]["body"]["messages"] == [{"role": "user", "content": "Summarise:\n\nbeta text"}]
    assert fake.requests == []
    assert run_cli("batch", "list", "--json", env=env).stdout.strip() == "[]"


def test_split_into_parts_under_the_limits(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chatcli.__main__ import run
    from chatcli.features.batch import inputs

    monkeypatch.setattr(inputs, "MAX_REQUESTS", 3)
    for key, value in fake_env(tmp_path, fake).items():
        monkeypatch.setenv(key, value)
    assert run(["batch", "submit", str(write_jsonl(tmp_path / "in.jsonl", 7))]) == 0
    uploads = list(fake.batch_api.files.values())
    assert [len(u.data.splitlines()) for u in uploads] == [3, 3, 1]
    assert [b.metadata["chatcli_part"] for b in fake.batch_api.batches.values()] == ["1", "2", "3"]
    monkeypatch.setattr(inputs, "MAX_REQUESTS", 50_000)
    monkeypatch.setattr(inputs, "MAX_BYTES", 300)  # two lines fit, three do not
    monkeypatch.chdir(tmp_path)
    assert run(["batch", "submit", str(write_jsonl(tmp_path / "in.jsonl", 5)), "--dry-run"]) == 0
    written = sorted(tmp_path.glob("chatcli-batch-dry-run-part*.jsonl"))
    assert [len(p.read_text().splitlines()) for p in written] == [2, 2, 1]
    assert all(p.stat().st_size <= 300 for p in written)


def test_confirmation_above_threshold_off_a_terminal(fake: FakeOpenAI, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'default_profile = "o"\n[defaults]\nconfirm_above_usd = 0.0001\nmax_tokens = 1000\n'
        f'[profiles.o]\ntype = "openai"\nbase_url = "{fake.base_url}"\napi_key_env = "K"\n'
        'model = "gpt-4o"\n'
    )
    env = clean_env(tmp_path, K="sk-test-0123456789abcdef")
    inputs = write_jsonl(tmp_path / "in.jsonl", 5)
    refused = run_cli("batch", "submit", str(inputs), env=env)
    assert refused.returncode == 2
    assert "above confirm_above_usd ($0.0001)" in refused.stderr and "--yes" in refused.stderr
    assert fake.requests == [] and run_cli("batch", "list", env=env).stdout == ""
    accepted = run_cli("batch", "submit", str(inputs), "--yes", env=env)
    assert accepted.returncode == 0, accepted.stderr
    sent = json.loads(next(iter(fake.batch_api.files.values())).data.splitlines()[0])
    assert sent["body"]["max_tokens"] == 1000 and sent["body"]["model"] == "gpt-4o"


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("{not json\n", [], "in.jsonl:1: not a JSON object"),
        ('{"id": 1}\n', [], 'needs "prompt"'),
        (None, [], "does not exist"),
    ],
)
def test_bad_input_is_a_usage_error(
    fake: FakeOpenAI, tmp_path: Path, content: str | None, args: list[str], message: str
) -> None:
    path = tmp_path / "in.jsonl"
    if content is not None:
        path.write_text(content)
    result = run_cli("batch", "submit", str(path), *args, env=fake_env(tmp_path, fake))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert fake.requests == []


def test_csv_without_the_column(fake: FakeOpenAI, tmp_path: Path) -> None:
    csv = tmp_path / "rows.csv"
    csv.write_text("a,b\n1,2\n")
    result = run_cli("batch", "submit", str(csv), env=fake_env(tmp_path, fake))
    assert result.returncode == 2
    assert "no column 'prompt' (columns: a, b)" in result.stderr


# -- Azure --------------------------------------------------------------------------------------


def azure_env(tmp_path: Path, fake: FakeOpenAI, deployment: str) -> dict[str, str]:
    (tmp_path / "config.toml").write_text(
        f'default_profile = "az"\n[profiles.az]\ntype = "azure"\nendpoint = "{fake.root}"\n'
        'api_version = "2024-10-21"\napi_key_env = "AZ_KEY"\nmodel = "gpt-4o"\n'
        f'[profiles.az.deployments]\n"gpt-4o" = "{deployment}"\n'
    )
    return clean_env(tmp_path, AZ_KEY="azure-secret-key-9876")


def test_azure_batch_through_openai_routes_with_api_version(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key="azure-secret-key-9876") as fake:
        env = azure_env(tmp_path, fake, "gpt4o-batch")
        result = run_cli("batch", "submit", str(write_jsonl(tmp_path / "in.jsonl", 3)), env=env)
        assert result.returncode == 0, result.stderr
        name = result.stdout.strip()
        assert run_cli("batch", "wait", name, env=env).returncode == 0
        rows = results_jsonl(env, name)
        assert [r["answer"] for r in rows] == [f"answer: question {i}" for i in range(3)]
        batch_calls = [r for r in fake.requests if "/files" in r.path or "/batches" in r.path]
        assert {r.path.split("/")[2] for r in batch_calls} == {"files", "batches"}
        assert all(r.path.startswith("/openai/") for r in batch_calls)
        assert all(r.query["api-version"] == "2024-10-21" for r in batch_calls)
        assert all(r.headers["api-key"] == "azure-secret-key-9876" for r in batch_calls)
        line = json.loads(next(iter(fake.batch_api.files.values())).data.splitlines()[0])
        assert line["url"] == "/chat/completions" and line["body"]["model"] == "gpt4o-batch"
        assert rows[0]["model"] == "gpt4o-batch"  # the deployment served it


def test_azure_deployment_that_refuses_batches(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key="azure-secret-key-9876") as fake:
        fake.batch_api.refuse_models = {"gpt4o-standard"}
        env = azure_env(tmp_path, fake, "gpt4o-standard")
        result = run_cli("batch", "submit", str(write_jsonl(tmp_path / "in.jsonl", 2)), env=env)
        assert result.returncode == 0, result.stderr
        waited = run_cli("batch", "wait", result.stdout.strip(), env=env)
        assert waited.returncode == 5
        assert "not a Global-Batch deployment" in waited.stderr
        assert "hint: Azure runs batches only on a Global-Batch deployment" in waited.stderr
        assert "azure-secret-key-9876" not in waited.stderr + waited.stdout
        status = run_cli("batch", "status", env=env)
        assert "failed (remote)" in status.stdout and "Global-Batch" in status.stdout


# -- the local runner ---------------------------------------------------------------------------


def test_local_runner_when_the_endpoint_has_no_batch_api(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.batch_api.enabled = False
    env = fake_env(tmp_path, fake)
    result = run_cli("batch", "submit", str(write_jsonl(tmp_path / "in.jsonl", 12)), env=env)
    assert result.returncode == 0, result.stderr
    assert "has no Batch API" in result.stderr and "running the job locally" in result.stderr
    name = result.stdout.strip()
    rows = results_jsonl(env, name)
    assert [r["answer"] for r in rows] == [f"echo(1): question {i}" for i in range(12)]
    assert len(fake.chat_requests()) == 12
    logged = usage_rows(tmp_path)
    info = lookup("gpt-6-luna")
    assert len(logged) == 12
    assert logged[0].cost_usd == pytest.approx(
        cost_usd(info, logged[0].prompt_tokens, logged[0].completion_tokens)
    )  # the local runner pays normal prices
    status = run_cli("batch", "status", name, env=env)
    assert "done (local)" in status.stdout


def test_missing_usage_is_estimated_by_one_rule_in_ask_and_the_local_runner(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """An endpoint that reports no usage: the local runner's requests are logged as the
    tokenizer's estimate, priced, like a conversation's turn (not 0 tokens at no cost)."""
    from tests.fakes import Reply

    fake.batch_api.enabled = False
    fake.default_reply = Reply("the same answer", usage=False)
    env = fake_env(tmp_path, fake)
    (tmp_path / "one.txt").write_text("the same question")
    local = run_cli("batch", "submit", str(tmp_path / "one.txt"), env=env)
    assert local.returncode == 0, local.stderr
    asked = run_cli("ask", "--no-log", "the same question", env=env)
    assert asked.returncode == 0, asked.stderr
    with Store.open(tmp_path / "data") as store:
        rows = {r.command: r for r in store.usage_rows()}
    info = lookup("gpt-6-luna")
    for command in ("batch", "ask"):
        row = rows[command]
        assert row.estimated and row.prompt_tokens > 0 and row.completion_tokens > 0, command
        assert row.cost_usd == pytest.approx(
            cost_usd(info, row.prompt_tokens, row.completion_tokens)
        ), command
    assert rows["batch"].completion_tokens == rows["ask"].completion_tokens


@pytest.mark.process
def test_local_runner_resumes_after_kill_without_paying_twice(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    from tests.fakes import Reply

    fake.default_reply = Reply(delay=0.15)
    env = fake_env(tmp_path, fake)
    inputs = write_jsonl(tmp_path / "in.jsonl", 24)
    proc = spawn(env, "batch", "submit", str(inputs), "--local", "--concurrency", "2")
    until(lambda: len(fake.chat_requests()) >= 8)
    kill9(proc)
    assert proc.stdout is not None
    name = proc.stdout.read().decode().strip()
    done_before = len(usage_rows(tmp_path))
    assert 0 < done_before < 24
    waited = run_cli("batch", "wait", name, "--concurrency", "4", env=env)
    assert waited.returncode == 0, waited.stderr
    rows = results_jsonl(env, name)
    assert [r["answer"] for r in rows] == [f"echo(1): question {i}" for i in range(24)]
    assert len(usage_rows(tmp_path)) == 24  # each request logged (and paid) once
    assert len(fake.chat_requests()) <= 24 + 2  # at most the in-flight ones were sent again


# -- kill -9 at any moment ----------------------------------------------------------------------


@pytest.mark.process
@pytest.mark.parametrize("moment", ["upload", "create"])
def test_kill_during_submit_then_wait(fake: FakeOpenAI, tmp_path: Path, moment: str) -> None:
    env = fake_env(tmp_path, fake)
    api = fake.batch_api
    if moment == "upload":
        api.upload_delay = 30.0  # the file is stored, the answer never reaches the client
    else:
        api.create_delay = 30.0  # the batch exists, the client never learns its id
    proc = spawn(env, "batch", "submit", str(write_jsonl(tmp_path / "in.jsonl", 9)))
    until(lambda: bool(api.files) if moment == "upload" else bool(api.batches))
    kill9(proc)
    api.upload_delay = api.create_delay = 0.0
    listed = json.loads(run_cli("batch", "list", "--json", env=env).stdout)
    (job,) = listed
    assert job["state"] == "submitting"
    waited = run_cli("batch", "wait", job["name"], env=env)
    assert waited.returncode == 0, waited.stderr
    assert len(paths(fake, "POST", "/v1/files")) == 1
    assert len(api.batches) == 1
    rows = results_jsonl(env, job["name"])
    assert [r["answer"] for r in rows] == [f"answer: question {i}" for i in range(9)]
    assert len(usage_rows(tmp_path)) == 9


@pytest.mark.process
def test_kill_during_wait_then_wait_again(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    fake.batch_api.running_s = 600.0  # runs until the test lets it finish
    submitted = run_cli("batch", "submit", str(write_jsonl(tmp_path / "in.jsonl", 15)), env=env)
    name = submitted.stdout.strip()
    polled = len(paths(fake, "GET", "/batches/" + next(iter(fake.batch_api.batches))))
    proc = spawn(env, "batch", "wait", name)
    until(lambda: holds(tmp_path, name, proc), timeout=60)
    until(
        lambda: (
            len(paths(fake, "GET", "/batches/" + next(iter(fake.batch_api.batches)))) >= polled + 2
        ),
        timeout=60,
    )  # the spawned runner is polling
    kill9(proc)
    fake.batch_api.running_s = 0.0  # the batch is done at the next poll
    waited = run_cli("batch", "wait", name, env=env)
    assert waited.returncode == 0, waited.stderr
    assert len(fake.batch_api.batches) == 1
    assert len(results_jsonl(env, name)) == 15
    assert len(usage_rows(tmp_path)) == 15


@pytest.mark.process
def test_a_second_wait_on_a_running_job_is_refused_until_the_first_dies(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """Two processes never advance one job at once (they could upload or create twice); a
    runner killed with -9 leaves a mark that the next `wait` finds dead and takes over."""
    env = fake_env(tmp_path, fake)
    fake.batch_api.running_s = 600.0  # runs until the test lets it finish
    submitted = run_cli("batch", "submit", str(write_jsonl(tmp_path / "in.jsonl", 5)), env=env)
    name = submitted.stdout.strip()
    first = spawn(env, "batch", "wait", name)
    until(lambda: holds(tmp_path, name, first), timeout=60)
    second = run_cli("batch", "wait", name, env=env)
    assert second.returncode == 1 and "being advanced by another chatcli" in second.stderr
    kill9(first)
    fake.batch_api.running_s = 0.0  # the batch is done at the next poll
    third = run_cli("batch", "wait", name, env=env)
    assert third.returncode == 0, third.stderr
    assert len(fake.batch_api.batches) == 1 and len(results_jsonl(env, name)) == 5


def test_line_separators_in_inputs_keep_each_request_on_one_line(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """U+2028, U+2029 and NEL are left raw by JSON but split lines for many readers (the
    fake reads the upload with ``str.splitlines``, as Python providers do): they go escaped."""
    env = fake_env(tmp_path, fake)
    docs = [tmp_path / "a.txt", tmp_path / "b.txt"]
    docs[0].write_text("one\u2028two\u2029three")
    docs[1].write_text("four\x85five")
    result = run_cli("batch", "submit", *map(str, docs), "--prompt", "Sum:", env=env)
    assert result.returncode == 0, result.stderr
    (upload,) = fake.batch_api.files.values()
    lines = upload.data.decode().splitlines()
    assert len(lines) == 2
    sent = [json.loads(x)["body"]["messages"][0]["content"] for x in lines]
    assert sent == ["Sum:\n\none\u2028two\u2029three", "Sum:\n\nfour\x85five"]
