"""The same ``batch submit`` run again (killed mid-upload, a terminal closed before the job name
showed, a cron job fired twice) resumes the unfinished job for the same inputs, model,
parameters and profile instead of uploading and creating again; ``--new`` forces a second job.
kill -9 at any moment of a submit, then the same submit: one upload and one batch at the
provider, all answers collected; the local runner does not pay twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply
from tests.test_batch import kill9, paths, results_jsonl, spawn, until, usage_rows, write_jsonl


def _submit(env: dict[str, str], *args: str) -> tuple[str, str]:
    result = run_cli("batch", "submit", *args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip(), result.stderr


def test_submitting_the_same_job_twice_resumes_it(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    inputs = write_jsonl(tmp_path / "in.jsonl", 6)
    fake.batch_api.running_s = 30.0  # still running when the second submit comes
    first, _ = _submit(env, str(inputs))
    second, note = _submit(env, str(inputs))
    assert second == first
    assert f"resuming job {first} (running)" in note and "--new" in note
    assert len(paths(fake, "POST", "/v1/files")) == 1 and len(fake.batch_api.batches) == 1
    listed = json.loads(run_cli("batch", "list", "--json", env=env).stdout)
    assert [j["name"] for j in listed] == [first]

    other, note = _submit(env, str(inputs), "-m", "gpt-4o")  # another model: another job
    assert other != first and "resuming" not in note
    forced, note = _submit(env, str(inputs), "--new")
    assert forced not in (first, other) and "resuming" not in note
    assert len(fake.batch_api.batches) == 3

    fake.batch_api.running_s = 0.0
    assert run_cli("batch", "wait", first, env=env).returncode == 0
    again, note = _submit(env, str(inputs))  # the first is done; the --new one is not
    assert again == forced and f"resuming job {forced}" in note
    assert run_cli("batch", "wait", forced, env=env).returncode == 0
    last, note = _submit(env, str(inputs))  # none unfinished: a new job
    assert last not in (first, other, forced) and "resuming" not in note


@pytest.mark.process
@pytest.mark.parametrize("moment", ["upload", "create", "after"])
def test_kill_9_during_submit_then_submit_again(
    fake: FakeOpenAI, tmp_path: Path, moment: str
) -> None:
    env = fake_env(tmp_path, fake)
    api = fake.batch_api
    inputs = write_jsonl(tmp_path / "in.jsonl", 9)
    if moment == "upload":
        api.upload_delay = 30.0  # the file is stored; the answer never reaches chatcli
    elif moment == "create":
        api.create_delay = 30.0  # the batch exists; chatcli never learns its id
    proc = spawn(env, "batch", "submit", str(inputs))
    if moment == "after":
        assert proc.stdout is not None
        proc.stdout.readline()  # the name was printed (the terminal closed just after)
        until(lambda: bool(api.batches))
    else:
        until(lambda: bool(api.files) if moment == "upload" else bool(api.batches))
    kill9(proc)
    api.upload_delay = api.create_delay = 0.0
    name, note = _submit(env, str(inputs))
    assert f"resuming job {name}" in note
    assert len(paths(fake, "POST", "/v1/files")) == 1
    assert len(api.batches) == 1
    assert run_cli("batch", "wait", name, env=env).returncode == 0
    rows = results_jsonl(env, name)
    assert [r["answer"] for r in rows] == [f"answer: question {i}" for i in range(9)]
    assert len(usage_rows(tmp_path)) == 9


@pytest.mark.process
def test_local_runner_rerun_resumes_without_paying_twice(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.default_reply = Reply(delay=0.15)
    env = fake_env(tmp_path, fake)
    inputs = write_jsonl(tmp_path / "in.jsonl", 24)
    args = ["batch", "submit", str(inputs), "--local", "--concurrency", "2"]
    proc = spawn(env, *args)
    until(lambda: len(fake.chat_requests()) >= 8)
    kill9(proc)
    done_before = len(usage_rows(tmp_path))
    assert 0 < done_before < 24
    result = run_cli(*args[:-2], "--concurrency", "4", env=env)  # the same command again
    assert result.returncode == 0, result.stderr
    name = result.stdout.strip()
    assert f"resuming job {name}" in result.stderr
    rows = results_jsonl(env, name)
    assert [r["answer"] for r in rows] == [f"echo(1): question {i}" for i in range(24)]
    assert len(usage_rows(tmp_path)) == 24  # each request logged (and paid) once
    assert len(fake.chat_requests()) <= 24 + 2  # at most the in-flight ones were sent again
