"""``summarize`` over several inputs: one summary per input, -o DIR, --combine, failures kept
apart, re-runs skip what is done; ``--dry-run`` and the ``confirm_above_usd`` guard."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chatcli.features.summarize.engine import SEPARATOR
from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.docs_helpers import make_docx, make_pdf
from tests.fakes import DEFAULT_API_KEY, Error, FakeOpenAI, Recorded, Reply


def sent(request: Recorded) -> str:
    text: str = request.json["messages"][-1]["content"]
    return text


def inputs(tmp_path: Path) -> list[Path]:
    """Five inputs of different kinds."""
    folder = tmp_path / "in"
    (folder / "notes").mkdir(parents=True)
    files = {
        "a.pdf": make_pdf(["Alpha page one.", "Alpha page two.", "Alpha page three."]),
        "b.docx": make_docx(),
        "notes/c.md": b"# Charlie\n\nCharlie text.\n",
        "notes/d.md": b"Delta text.\n",
        "e.txt": b"Echo text.\n",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [folder / name for name in files]


def relay(tmp_path: Path, fake: FakeOpenAI, **settings: object) -> dict[str, str]:
    lines = [
        'default_profile = "relay"',
        "[profiles.relay]",
        'type = "relay"',
        f'base_url = "{fake.base_url}"',
        f'api_key = "{DEFAULT_API_KEY}"',
        'model = "gpt-4o-mini"',
        *(f"{k} = {v}" for k, v in settings.items()),
    ]
    (tmp_path / "config.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return clean_env(tmp_path)


def test_five_inputs_one_failing_writes_four_and_exits_non_zero(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.default_reply = Reply(text="A summary.")
    fake.script(Error(500, "This input is refused."))
    files = inputs(tmp_path)
    out = tmp_path / "out"
    env = relay(tmp_path, fake, max_retries=0)
    # one at a time, so the first input's request is the one that fails
    args = ["summarize", *map(str, files), "-o", str(out), "--concurrency", "1"]
    result = run_cli(*args, env=env)
    assert result.returncode == 5, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["b.md", "c.md", "d.md", "e.md"]
    assert all(p.read_text() == "A summary.\n" for p in out.iterdir())
    assert f"{files[0]}: failed: " in result.stderr and "This input is refused." in result.stderr
    assert "chatcli: error: 1 of 5 inputs failed" in result.stderr
    for f in files[1:]:
        assert f"{f}: done -> {out / (f.stem + '.md')}" in result.stderr  # one line per input
    texts = [sent(r) for r in fake.chat_requests()]
    assert any("[page 1]\nAlpha page one." in t for t in texts)
    assert any("- North up 12 percent" in t for t in texts)
    assert len(texts) == 5

    # a re-run only does what is missing; --force redoes everything
    again = run_cli(*args, env=env)
    assert again.returncode == 0, again.stderr
    assert len(fake.chat_requests()) == 6
    assert f"{files[1]}: skipped, {out / 'b.md'} exists" in again.stderr
    assert (out / "a.md").read_text() == "A summary.\n"
    forced = run_cli(*args, "--force", env=env)
    assert forced.returncode == 0, forced.stderr
    assert len(fake.chat_requests()) == 11


def test_stdout_headings_in_input_order_and_combine(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.default_reply = Reply(text="S.")
    files = inputs(tmp_path)[2:]
    result = run_cli("summarize", *map(str, files), "--combine", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    expected = "".join(f"# {f}\n\nS.\n\n" for f in files) + "# Combined summary\n\nS.\n"
    assert result.stdout == expected
    last = sent(fake.chat_requests()[-1])
    assert "Below are summaries of 3 separate inputs" in last
    for f in files:
        assert f"Summary of {f}:\nS." in last


def test_unreadable_input_does_not_stop_the_others(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.default_reply = Reply(text="S.")
    good = tmp_path / "good.md"
    good.write_text("Fine text.\n")
    result = run_cli(
        "summarize", str(good), str(tmp_path / "missing.md"), env=fake_env(tmp_path, fake)
    )
    assert result.returncode == 2
    assert result.stdout == f"# {good}\n\nS.\n\n"
    assert f"{tmp_path / 'missing.md'}: failed: no such file" in result.stderr
    # on a terminal the progress line counts the input that could not be read among the inputs
    on_tty = run_cli(
        "summarize", str(good), str(tmp_path / "missing.md"), env=fake_env(tmp_path, fake),
        tty=True,
    )  # fmt: skip
    progress = re.findall(r"summarising: (\d+)/(\d+) inputs", on_tty.stderr)
    assert progress and progress[-1] == ("2", "2")
    assert all(int(done) <= int(total) for done, total in progress)


def test_dry_run_on_2mb_estimates_and_sends_nothing(fake: FakeOpenAI, tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    paragraph = "The committee reviewed the budget and approved the new plan. " * 10
    big.write_text("\n\n".join(f"{i}. {paragraph}" for i in range(3300)), encoding="utf-8")
    assert big.stat().st_size > 2_000_000
    env = relay(tmp_path, fake, requests_per_minute=120)
    result = run_cli("summarize", str(big), "--dry-run", env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    requests = int(lines["requests"])
    assert requests > 2  # split into parts, then combined
    low, high = (float(x.strip("$")) for x in lines["cost"].split(" to "))
    assert 0 < low < high
    assert lines["time"].startswith(f"at least {(requests - 1) * 0.5:.1f} s at 120 requests/min")
    assert "nothing was sent (--dry-run)" in result.stdout
    assert fake.requests == []


@pytest.mark.parametrize("yes", [False, True])
def test_confirm_above_usd_refuses_off_a_terminal_unless_yes(
    fake: FakeOpenAI, tmp_path: Path, yes: bool
) -> None:
    fake.default_reply = Reply(text="S.")
    doc = tmp_path / "doc.md"
    doc.write_text("Some text worth summarising.\n")
    env = relay(tmp_path, fake, confirm_above_usd=0.000001)
    result = run_cli("summarize", str(doc), *(["--yes"] if yes else []), env=env)
    if yes:
        assert result.returncode == 0, result.stderr
        assert result.stdout == "S.\n"
        return
    assert result.returncode == 2
    # the one money format: a cost under a cent is not shown as $0.00
    assert re.search(r"may cost up to \$0\.00[1-9]\d*, above confirm_above_usd \(\$0\.000001\)",
                     result.stderr), result.stderr  # fmt: skip
    assert "hint: add --yes to go on, or --dry-run to see the estimate" in result.stderr
    assert fake.requests == []


def test_long_document_parts_carry_page_markers(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.default_reply = Reply(text="S.")
    pages = [f"Page {n} says " + "something important. " * 80 for n in range(1, 4)]
    doc = tmp_path / "long.pdf"
    doc.write_bytes(make_pdf(pages))
    result = run_cli("summarize", str(doc), "--chunk-tokens", "300", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    parts = [sent(r).split(SEPARATOR, 1)[1] for r in fake.chat_requests()[:-1]]
    assert sorted(p.split("\n", 1)[0] for p in parts) == ["[page 1]", "[page 2]", "[page 3]"]


def test_an_output_dir_that_is_a_link_to_nowhere_is_refused_before_sending(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    (tmp_path / "in.txt").write_text("Some text.\n")
    out = tmp_path / "out"
    out.symlink_to(tmp_path / "nowhere")
    result = run_cli("summarize", str(tmp_path / "in.txt"), "-o", str(out),
                     env=fake_env(tmp_path, fake))  # fmt: skip
    assert result.returncode == 2
    assert f"-o {out} is a link to nowhere" in result.stderr
    assert fake.chat_requests() == []


def test_combine_counts_the_summaries_it_has_and_a_rerun_keeps_combined_md(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.default_reply = Reply(text="S.")
    fake.script(Error(500, "This input is refused."))
    files = inputs(tmp_path)[2:]
    out = tmp_path / "out"
    env = relay(tmp_path, fake, max_retries=0)
    args = ["summarize", *map(str, files), "-o", str(out), "--combine", "--concurrency", "1"]
    first = run_cli(*args, env=env)
    assert first.returncode == 5  # one input failed; the other two are combined
    last = sent(fake.chat_requests()[-1])
    assert "Below are summaries of 2 separate inputs" in last, last
    assert (out / "combined.md").read_text() == "S.\n"
    again = run_cli(*args, env=env)  # the failed input is done now: combined anew
    assert again.returncode == 0, again.stderr
    assert "Below are summaries of 3 separate inputs" in sent(fake.chat_requests()[-1])
    sent_before = len(fake.chat_requests())
    (out / "combined.md").write_text("kept\n")
    kept = run_cli(*args, env=env)  # nothing new: no request, combined.md untouched
    assert kept.returncode == 0, kept.stderr
    assert len(fake.chat_requests()) == sent_before
    assert f"combined summary: skipped, {out / 'combined.md'} exists" in kept.stderr
    assert (out / "combined.md").read_text() == "kept\n"
    forced = run_cli(*args, "--force", env=env)
    assert forced.returncode == 0 and (out / "combined.md").read_text() == "S.\n"
