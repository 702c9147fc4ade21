"""Batch output a provider (or relay) should never send: one malformed line of any kind becomes
one failed request naming the problem, every other answer is collected, ``wait``, ``status``,
``results`` and ``retry`` keep working, and usage that cannot be used is estimated (never a
negative cost). The fake's Files/Batches API writes the hostile lines."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from chatcli.store import Store
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI
from tests.mounts import fill, tmpfs


def _body(line: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = line["response"]["body"]
    return body


def mangle(text: str, line: dict[str, Any]) -> str:
    """The raw line the fake writes for the request whose prompt is ``text``."""
    line = copy.deepcopy(line)
    kind = text.split()[-1]
    if kind == "truncated":
        return json.dumps(line)[:60]
    if kind == "garbage":
        return "%%% not json at all %%%"
    if kind == "array":
        return json.dumps([line])
    if kind == "choices":
        _body(line)["choices"] = "abc"
    elif kind == "choice":
        _body(line)["choices"] = [1]
    elif kind == "message":
        _body(line)["choices"][0]["message"] = ["x"]
    elif kind == "content":
        _body(line)["choices"][0]["message"]["content"] = {"text": "hi"}
    elif kind == "listcontent":
        _body(line)["choices"][0]["message"]["content"] = [
            {"type": "text", "text": "part one"}, {"type": "text", "text": ", part two"},
        ]  # fmt: skip
    elif kind == "model":
        _body(line)["model"] = {"name": "gpt"}
    elif kind == "usagetext":
        _body(line)["usage"] = {"prompt_tokens": "12", "completion_tokens": "x"}
    elif kind == "negative":
        _body(line)["usage"] = {"prompt_tokens": -500, "completion_tokens": -7}
    elif kind == "absurd":
        _body(line)["usage"] = {"prompt_tokens": 10**30, "completion_tokens": 3}
    elif kind == "beyond":  # under any fixed bound, but far beyond the model's context window
        _body(line)["usage"] = {"prompt_tokens": 50_000_000, "completion_tokens": 3}
    elif kind == "response":
        line["response"] = "ok"
    elif kind == "noid":
        line["custom_id"] = {"r": 1}
    elif kind == "empty":
        _body(line)["choices"] = []
    return json.dumps(line)


KINDS = ["fine", "truncated", "garbage", "array", "choices", "choice", "message", "content",
         "listcontent", "model", "usagetext", "negative", "absurd", "response", "noid", "empty",
         "beyond", "fine"]  # fmt: skip
FAILS = {"truncated", "garbage", "array", "choices", "choice", "message", "content", "model",
         "response", "noid", "empty"}  # fmt: skip


def test_malformed_output_lines_fail_one_request_each(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    prompts = [f"question {i} {kind}" for i, kind in enumerate(KINDS)]
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(json.dumps({"id": f"q{i}", "prompt": p}) + "\n"
                              for i, p in enumerate(prompts)))  # fmt: skip
    fake.batch_api.mangle = mangle
    fake.batch_api.counts_override = {"completed": "many", "failed": -3, "total": [1]}
    submitted = run_cli("batch", "submit", str(inputs), env=env)
    assert submitted.returncode == 0, submitted.stderr
    job = submitted.stdout.strip()
    waited = run_cli("batch", "wait", job, env=env)
    assert waited.returncode == 0, waited.stderr
    assert "Traceback" not in waited.stderr and "unexpected" not in waited.stderr

    result = run_cli("batch", "results", job, env=env)
    assert result.returncode == 0, result.stderr
    rows = {r["id"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert len(rows) == len(KINDS)
    for i, kind in enumerate(KINDS):
        row = rows[f"q{i}"]
        if kind in FAILS:
            assert row["answer"] is None and row["error"], (kind, row)
        else:
            assert row["error"] is None and row["answer"], (kind, row)
    assert rows["q0"]["answer"] == "answer: question 0 fine"
    assert rows["q8"]["answer"] == "part one, part two"  # list content, as ask reads it
    assert "not JSON" in rows["q1"]["error"]  # its custom_id could still be read
    assert "the provider's files held" in rows["q2"]["error"]  # garbage: missing, and why
    assert '`choices` is "abc"' in rows["q4"]["error"]  # a JSON excerpt, not a Python repr
    assert "choices[0]" in rows["q5"]["error"]
    assert "choices[0].message" in rows["q6"]["error"]
    assert "choices[0].message.content" in rows["q7"]["error"]
    assert "`model`" in rows["q9"]["error"]
    assert "`response` is" in rows["q13"]["error"]
    assert "no choices" in rows["q15"]["error"]

    with Store.open(tmp_path / "data") as store:
        logged = [r for r in store.usage_rows() if r.command == "batch"]
    assert sum(r.status == "ok" for r in logged) == len(KINDS) - len(FAILS)
    # answers of the wrong shape that reported usage were still paid for: logged as errors
    assert sum(r.status == "error" for r in logged) == 6
    assert all(r.cost_usd is not None and r.cost_usd >= 0 for r in logged)
    assert all(0 <= r.prompt_tokens < 10**6 and 0 <= r.completion_tokens < 10**6 for r in logged)
    assert sum(r.estimated for r in logged) == 4  # usagetext, negative, absurd, beyond

    for args in (["status", job], ["list"], ["results", job, "--jsonl", str(tmp_path / "r.jsonl")],
                 ["results", job, "-o", str(tmp_path / "out")]):  # fmt: skip
        again = run_cli("batch", *args, env=env)
        assert again.returncode == 0, (args, again.stderr)
    assert len(list((tmp_path / "out").iterdir())) == len(KINDS) - len(FAILS)

    fake.batch_api.mangle = None  # the provider behaves again: retry gets the failed ones
    fake.batch_api.counts_override = None
    retried = run_cli("batch", "retry", job, env=env)
    assert retried.returncode == 0, retried.stderr
    second = retried.stdout.strip()
    assert run_cli("batch", "wait", second, env=env).returncode == 0
    final = [json.loads(x) for x in run_cli("batch", "results", job, env=env).stdout.splitlines()]
    assert all(r["answer"] for r in final)


def test_results_on_a_full_disk_write_whole_files_or_none(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(json.dumps({"prompt": f"question {i} " + "word " * 300}) + "\n"
                              for i in range(20)))  # fmt: skip
    job = run_cli("batch", "submit", str(inputs), env=env).stdout.strip()
    assert run_cli("batch", "wait", job, env=env).returncode == 0
    with tmpfs(tmp_path / "mnt", size="256k") as mnt:
        filler = fill(mnt, leave=12 * 1024)  # room for a few answer files, not twenty
        out = mnt / "out"
        result = run_cli("batch", "results", job, "-o", str(out), env=env)
        assert result.returncode == 1
        error = one_line_error(result.stderr)
        assert error.startswith(f"chatcli: error: cannot write {out}/") and "No space left" in error
        assert "answer file(s) written before it" in error
        assert "hint: the answers are kept in the database" in result.stderr
        files = sorted(out.iterdir())
        assert 0 < len(files) < 20 and not [f for f in files if f.name.startswith(".")]
        for f in files:  # whole answers only, never a truncated one
            assert f.read_text().startswith("answer: question") and f.read_text().endswith("\n")
        jsonl = mnt / "all.jsonl"
        result = run_cli("batch", "results", job, "--jsonl", str(jsonl), env=env)
        assert result.returncode == 1 and "cannot write" in result.stderr
        assert not jsonl.exists() and not [f for f in mnt.iterdir() if f.name.startswith(".")]
        filler.unlink()  # space again: the same command writes everything
        assert run_cli("batch", "results", job, "-o", str(out), env=env).returncode == 0
        assert len(list(out.iterdir())) == 20
        assert run_cli("batch", "results", job, "--jsonl", str(jsonl), env=env).returncode == 0
        assert len(jsonl.read_text().splitlines()) == 20


def one_line_error(stderr: str) -> str:
    assert "Traceback" not in stderr and "unexpected" not in stderr, stderr
    (line,) = [x for x in stderr.splitlines() if x.startswith("chatcli: error:")]
    return line
