"""Audit 8 (files): ``batch`` and ``summarize`` with many inputs.

A job that has to run locally after all is priced and confirmed again at normal prices; a
Batch API job with no answer ends ``failed`` (exit 5) as a local one does; documents given to
``batch submit`` are read, never sent as raw bytes; ``summarize`` reads each file once however
it is spelt, keeps no part summary it judged useless, redoes kept ones with ``--force``, and
makes ``combined.md`` again when it was made from other summaries; and the small things of
``batch submit``'s inputs (blank prompts, duplicate ids, ``--prompt`` with ``messages``,
``--column`` on JSONL, the dry run's price label, the hint of a path that cannot be written).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli_helpers import fake_env, run_cli
from tests.docs_helpers import make_docx, make_pdf
from tests.fakes import Error, FakeOpenAI, Reply
from tests.test_batch import write_jsonl

# -- batch: no Batch API after all (3) ------------------------------------------------------------


def _money(text: str, label: str) -> float:
    found = re.search(r"input \$([0-9.]+) at " + re.escape(label), text)
    assert found, text
    return float(found.group(1))


def test_a_job_that_must_run_locally_is_confirmed_again_at_normal_prices(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = write_jsonl(tmp_path / "six.jsonl", 6)
    env = fake_env(tmp_path, fake)
    monkeypatch.chdir(tmp_path)
    dry = run_cli("batch", "submit", str(inputs), "-m", "gpt-4o-mini", "--dry-run", env=env)
    half = _money(dry.stderr, "batch prices")
    # a threshold the batch price passes and the normal price does not
    (tmp_path / "config.toml").write_text(f"[defaults]\nconfirm_above_usd = {half * 1.5:.10f}\n")
    fake.batch_api.enabled = False  # /v1/files answers 404, like a relay
    submitted = run_cli("batch", "submit", str(inputs), "-m", "gpt-4o-mini", env=env)
    assert submitted.returncode == 2, submitted.stderr
    job = submitted.stdout.strip()
    assert "has no Batch API" in submitted.stderr
    assert _money(submitted.stderr, "normal prices") == pytest.approx(2 * half, rel=0.01)
    assert "above confirm_above_usd" in submitted.stderr
    assert f"hint: nothing was sent; chatcli batch wait {job} --yes runs it here" in (
        submitted.stderr
    )
    assert fake.chat_requests() == []  # not one local request before the question
    waited = run_cli("batch", "wait", job, env=env)  # off a terminal, without --yes: refused
    assert waited.returncode == 2 and fake.chat_requests() == []
    listed = run_cli("batch", "list", env=env).stdout
    assert f"{job}  submitting" in listed
    ran = run_cli("batch", "wait", job, "--yes", env=env)
    assert ran.returncode == 0, ran.stderr
    assert "running the job locally" in ran.stderr
    assert len(fake.chat_requests()) == 6


def test_the_same_submit_with_yes_runs_the_job_left_waiting(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = write_jsonl(tmp_path / "in.jsonl", 3)
    env = fake_env(tmp_path, fake)
    monkeypatch.chdir(tmp_path)
    dry = run_cli("batch", "submit", str(inputs), "-m", "gpt-4o-mini", "--dry-run", env=env)
    half = _money(dry.stderr, "batch prices")
    (tmp_path / "config.toml").write_text(f"[defaults]\nconfirm_above_usd = {half * 1.5:.10f}\n")
    fake.batch_api.enabled = False
    first = run_cli("batch", "submit", str(inputs), "-m", "gpt-4o-mini", env=env)
    assert first.returncode == 2 and fake.chat_requests() == []
    assert first.stdout.strip()
    again = run_cli("batch", "submit", str(inputs), "-m", "gpt-4o-mini", "--yes", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == first.stdout.strip()  # the same job, resumed
    assert len(fake.chat_requests()) == 3


# -- batch: a Batch API job with no answer (5) ----------------------------------------------------


def test_a_batch_api_job_whose_every_request_failed_is_failed_exit_5(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    inputs = write_jsonl(tmp_path / "in.jsonl", 2, {0, 1})  # the fake fails "FAIL" lines
    job = run_cli("batch", "submit", str(inputs), env=env).stdout.strip()
    for argv in (["wait", job], ["wait", job], ["status", job], ["results", job]):
        result = run_cli("batch", *argv, env=env)
        assert result.returncode == 5, (argv, result.stderr)
        assert f"chatcli: error: batch job {job} failed: scripted failure" in result.stderr
    assert "state:    failed (remote)" in run_cli("batch", "status", job, env=env).stdout
    assert f"{job}  failed" in run_cli("batch", "list", env=env).stdout
    results = run_cli("batch", "results", job, env=env)
    assert [json.loads(x)["id"] for x in results.stdout.splitlines()] == ["q0", "q1"]
    assert f"hint: chatcli batch retry {job}  # submits only these" in results.stderr


def test_a_batch_api_job_seen_first_by_status_is_failed_too(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    import time

    env = fake_env(tmp_path, fake)
    inputs = write_jsonl(tmp_path / "in.jsonl", 2, {0, 1})
    job = run_cli("batch", "submit", str(inputs), env=env).stdout.strip()
    time.sleep(0.3)  # the fake's batch ends in real time
    status = run_cli("batch", "status", job, env=env)
    assert status.returncode == 5 and "state:    failed (remote)" in status.stdout
    assert run_cli("batch", "wait", job, env=env).returncode == 5


def test_a_local_job_the_network_failed_stays_exit_6_later(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    (tmp_path / "config.toml").write_text("[defaults]\nmax_retries = 0\n")
    env = fake_env(tmp_path, fake, OPENAI_BASE_URL="http://127.0.0.1:1/v1")
    inputs = write_jsonl(tmp_path / "in.jsonl", 2)
    submitted = run_cli("batch", "submit", str(inputs), "--local", "--yes", env=env)
    assert submitted.returncode == 6, submitted.stderr
    job = submitted.stdout.strip()
    for argv in (["wait", job], ["status", job], ["results", job]):
        later = run_cli("batch", *argv, env=env)
        assert later.returncode == 6, (argv, later.stderr)
        assert f"batch job {job} failed: cannot connect" in later.stderr
    status = run_cli("batch", "status", job, env=env).stdout
    assert "error:    the network failed every request: cannot connect" in status


# -- batch: documents (7) -------------------------------------------------------------------------


def _dry_lines(tmp_path: Path) -> list[dict[str, object]]:
    text = (tmp_path / "chatcli-batch-dry-run.jsonl").read_text()
    return [json.loads(x) for x in text.splitlines()]


def _user_text(line: dict[str, object]) -> str:
    body = line["body"]
    assert isinstance(body, dict)
    return str(body["messages"][-1]["content"])


def test_documents_are_read_as_ask_and_summarize_read_them(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = tmp_path / "report.pdf"  # uncompressed streams: it used to pass as text
    pdf.write_bytes(make_pdf(["Quarterly revenue rose 12 percent.", "The board approved."]))
    docx = tmp_path / "memo.docx"
    docx.write_bytes(make_docx())
    monkeypatch.chdir(tmp_path)
    env = fake_env(tmp_path, fake)
    argv = ["batch", "submit", str(pdf), str(docx), "--prompt", "Summarise:", "--dry-run"]
    result = run_cli(*argv, env=env)
    assert result.returncode == 0, result.stderr
    first, second = (_user_text(x) for x in _dry_lines(tmp_path))
    assert first.startswith("Summarise:\n\n[page 1]\nQuarterly revenue rose 12 percent.")
    assert "%PDF" not in first and "endobj" not in first
    assert second.startswith("Summarise:\n\n") and "PK" not in second[:20]
    assert len(second) > len("Summarise:\n\n") + 10


def test_a_document_that_cannot_be_read_fails_with_its_reason(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(make_pdf(["hello there"])[:200])
    monkeypatch.chdir(tmp_path)
    result = run_cli("batch", "submit", str(broken), "--dry-run", env=fake_env(tmp_path, fake))
    assert result.returncode == 2, result.stderr
    assert f"chatcli: error: file {broken}" in result.stderr and "PDF" in result.stderr
    assert "chatcli reads text, images and documents" not in result.stderr
    assert not (tmp_path / "chatcli-batch-dry-run.jsonl").exists() or not _dry_lines(tmp_path)


# -- batch: inputs and small things (10) ----------------------------------------------------------


def test_local_dry_run_says_normal_prices(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    inputs = write_jsonl(tmp_path / "in.jsonl", 2)
    argv = ["batch", "submit", str(inputs), "-m", "gpt-4o-mini", "--dry-run"]
    local = run_cli(*argv, "--local", env=fake_env(tmp_path, fake))
    assert local.returncode == 0, local.stderr
    assert "at normal prices (local runner)" in local.stderr
    assert "batch prices" not in local.stderr


def test_blank_prompts_are_skipped_with_a_notice_naming_the_line(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = fake_env(tmp_path, fake)
    table = tmp_path / "x.csv"
    table.write_text('prompt\nfirst\n""\nthird\n')
    csv_run = run_cli("batch", "submit", str(table), "--dry-run", env=env)
    assert csv_run.returncode == 0, csv_run.stderr
    assert f'chatcli: {table}:3: skipped: its "prompt" cell is empty' in csv_run.stderr
    assert [_user_text(x) for x in _dry_lines(tmp_path)] == ["first", "third"]
    lines = tmp_path / "y.jsonl"
    lines.write_text('{"prompt": "one"}\n{"prompt": "  "}\n{"prompt": ""}\n{"prompt": "four"}\n')
    jsonl_run = run_cli("batch", "submit", str(lines), "--dry-run", env=env)
    assert jsonl_run.returncode == 0, jsonl_run.stderr
    assert f'chatcli: {lines}: skipped 2 lines whose "prompt" is blank, at lines 2, 3' in (
        jsonl_run.stderr
    )
    assert [_user_text(x) for x in _dry_lines(tmp_path)] == ["one", "four"]


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (
            '{"prompt": "p", "messages": [{"role": "user", "content": "m"}]}\n',
            [],
            'in.jsonl:1: give "prompt" or "messages", not both',
        ),
        (
            '{"id": "a", "prompt": "x"}\n{"id": "b", "prompt": "y"}\n{"id": "a", "prompt": "z"}\n',
            [],
            "in.jsonl:3: the id 'a' is used twice (first at {dir}/in.jsonl:1)",
        ),
        ('{"prompt": "x"}\n', ["--column", "text"], "--column names the prompt column"),
    ],
)
def test_ambiguous_jsonl_is_refused_with_its_line(
    fake: FakeOpenAI, tmp_path: Path, content: str, args: list[str], message: str
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(content)
    result = run_cli("batch", "submit", str(path), *args, "--local", env=fake_env(tmp_path, fake))
    assert result.returncode == 2, result.stderr
    assert message.format(dir=tmp_path) in result.stderr
    assert fake.requests == []


def test_an_input_file_given_twice_is_read_once(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "in.jsonl", 2)
    (tmp_path / "link.jsonl").symlink_to("in.jsonl")
    argv = ["batch", "submit", "in.jsonl", "./in.jsonl", "link.jsonl", "--dry-run"]
    result = run_cli(*argv, env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert "chatcli: ./in.jsonl: the same input as in.jsonl, read once" in result.stderr
    assert "chatcli: link.jsonl: the same input as in.jsonl, read once" in result.stderr
    assert len(_dry_lines(tmp_path)) == 2


def test_prompt_goes_before_the_first_user_message_of_messages_lines(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "in.jsonl"
    conversation = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Bonjour"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": "Merci"},
    ]
    path.write_text(json.dumps({"messages": conversation}) + "\n")
    argv = ["batch", "submit", str(path), "--prompt", "Translate:", "--dry-run"]
    result = run_cli(*argv, env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    (line,) = _dry_lines(tmp_path)
    body = line["body"]
    assert isinstance(body, dict)
    assert [m["content"] for m in body["messages"]] == [
        "Be brief.", "Translate:\n\nBonjour", "Hello", "Merci",
    ]  # fmt: skip


def test_results_to_a_path_under_a_file_get_a_fitting_hint(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    inputs = write_jsonl(tmp_path / "in.jsonl", 1)
    job = run_cli("batch", "submit", str(inputs), "--local", env=env).stdout.strip()
    (tmp_path / "b.txt").write_text("a file\n")
    target = tmp_path / "b.txt" / "sub" / "r.jsonl"
    result = run_cli("batch", "results", job, "--jsonl", str(target), env=env)
    assert result.returncode == 1
    assert "Not a directory" in result.stderr
    assert "free some space" not in result.stderr
    assert "hint: the answers are kept in the database: give another path" in result.stderr


# -- summarize: one file, however spelt (4) -------------------------------------------------------


def test_the_same_file_spelt_four_ways_is_summarised_once(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("Alpha report: sales up.\n")
    (tmp_path / "link.txt").symlink_to("a.txt")
    out = tmp_path / "out"
    names = ["a.txt", "./a.txt", str(tmp_path / "a.txt"), "link.txt"]
    result = run_cli("summarize", *names, "-o", str(out), env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.md"]
    assert len(fake.chat_requests()) == 1
    assert "chatcli: ./a.txt: the same input as a.txt, summarised once" in result.stderr


def test_stdin_given_twice_is_read_once(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("summarize", "-", "-", input="hello there\n", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert len(fake.chat_requests()) == 1
    assert "hello there" in result.stdout


# -- summarize: useless part summaries, --force (8) -----------------------------------------------


def _long_text(tmp_path: Path) -> Path:
    text = tmp_path / "parts.txt"
    text.write_text(
        "\n\n".join(f"Paragraph {i} talks about topic {i} in some detail here." for i in range(60))
    )
    return text


def test_part_summaries_judged_useless_are_not_kept(fake: FakeOpenAI, tmp_path: Path) -> None:
    argv = ["summarize", str(_long_text(tmp_path)), "--chunk-tokens", "300"]
    env = fake_env(tmp_path, fake)
    fake.default_reply = Reply()  # echoes: a "summary" as long as its part
    failed = run_cli(*argv, env=env)
    assert failed.returncode == 5
    assert "no shorter than the text they summarise" in failed.stderr
    assert "kept" not in failed.stderr  # the same command would fail the same way
    sent = len(fake.chat_requests())
    fake.default_reply = Reply(text="brief.")  # a model that answers briefly
    again = run_cli(*argv, env=env)
    assert again.returncode == 0, again.stderr
    assert "paid for by an earlier run" not in again.stderr
    assert len(fake.chat_requests()) == sent + 4  # three parts sent again, then combined


def test_force_redoes_kept_part_summaries(fake: FakeOpenAI, tmp_path: Path) -> None:
    argv = ["summarize", str(_long_text(tmp_path)), "--chunk-tokens", "300"]
    env = fake_env(tmp_path, fake)
    fake.script(Reply(text="one."), Reply(text="two."), Reply(text="three."), Error(400, "no"))
    failed = run_cli(*argv, env=env)
    assert failed.returncode == 5 and "3 part summaries kept" in failed.stderr
    fake.reset()
    fake.default_reply = Reply(text="fresh.")
    forced = run_cli(*argv, "--force", env=env)
    assert forced.returncode == 0, forced.stderr
    assert "paid for by an earlier run" not in forced.stderr
    assert len(fake.chat_requests()) == 4  # every part sent again
    fake.reset()
    fake.default_reply = Reply(text="fresh.")
    after = run_cli(*argv, env=env)  # the kept ones --force passed over are gone
    assert after.returncode == 0 and len(fake.chat_requests()) == 4


# -- summarize: combined.md of other inputs (9) ---------------------------------------------------


def test_combined_md_of_other_summaries_is_combined_again_alone(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    fake.default_reply = Reply(text="A summary.")
    names = []
    for name, text in (("a", "Alpha: sales up."), ("b", "Beta: costs down."), ("c", "Gamma.")):
        (tmp_path / f"{name}.txt").write_text(text + "\n")
        names.append(str(tmp_path / f"{name}.txt"))
    out = tmp_path / "out"
    assert run_cli("summarize", *names[:2], "-o", str(out), "--combine", env=env).returncode == 0
    assert run_cli("summarize", names[2], "-o", str(out), env=env).returncode == 0
    before = len(fake.chat_requests())
    third = run_cli("summarize", *names, "-o", str(out), "--combine", env=env)
    assert third.returncode == 0, third.stderr
    assert len(fake.chat_requests()) == before + 1  # only the combining request
    last = fake.chat_requests()[-1].json["messages"][-1]["content"]
    assert "Below are summaries of 3 separate inputs" in last
    assert "was made from other summaries than these; only the combining request" in third.stderr
    fourth = run_cli("summarize", *names, "-o", str(out), "--combine", env=env)
    assert fourth.returncode == 0 and len(fake.chat_requests()) == before + 1
    assert "combined summary: skipped" in fourth.stderr
    fewer = run_cli("summarize", names[0], "-o", str(out), "--combine", env=env)
    assert fewer.returncode == 0 and len(fake.chat_requests()) == before + 2
    last = fake.chat_requests()[-1].json["messages"][-1]["content"]
    assert "Below are summaries of 1 separate inputs" in last
