"""Audit 9 (scale): ``ask -f`` caps all its input together and refuses what cannot fit without
counting all of it; ``summarize`` prices each request on its own prompt and keeps its parts
below a long-context price tier; a 400 about the context length on a model whose window
chatcli does not know says how to tell it; ``summarize`` says on a terminal what it is doing
while it reads and counts a big input."""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import Error, FakeOpenAI

_PARAGRAPH = (
    "The storage layer keeps every turn in SQLite, and the search index follows it. "
    "Budgets are judged by one gate in front of the provider, at every request.\n\n"
)


def _text(path: Path, size: int) -> Path:
    path.write_text(_PARAGRAPH * (size // len(_PARAGRAPH) + 1), encoding="utf-8")
    return path


def test_ask_caps_all_its_files_together_and_sends_nothing(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    env = fake_env(tmp_path, fake)
    files = [_text(tmp_path / f"part{i}.txt", 8_000_000) for i in range(3)]  # 24 MB in all
    args = [a for f in files for a in ("-f", str(f))]
    result = run_cli("ask", *args, "summarize", env=env)
    assert result.returncode == 2, result.stderr
    assert f"file {files[2]} takes the input past 20 MiB in all" in result.stderr
    assert "hint: use `chatcli summarize` for long text" in result.stderr
    assert fake.chat_requests() == []
    piped = run_cli("ask", "-f", str(files[0]), "hi", env=env, input=files[1].read_bytes() * 2)
    assert piped.returncode == 2
    assert f"file {files[0]} takes the input past 20 MiB in all" in piped.stderr
    assert fake.chat_requests() == []


def test_too_long_for_the_window_is_refused_with_a_count_that_stopped_early(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    from chatcli import tokens

    text = _text(tmp_path / "big.txt", 3_000_000).read_text(encoding="utf-8")
    whole = tokens.count_text(text, "o200k_base")
    assert whole.exact
    # pieces cut where the tokenizer splits anyway add up to the whole, exactly
    assert tokens.count_text(text, "o200k_base", limit=whole.n) == whole
    stopped = tokens.count_message({"role": "user", "content": text}, "o200k_base", limit=100_000)
    assert not stopped.exact and abs(stopped.n - whole.n) < whole.n // 10
    env = fake_env(tmp_path, fake)
    result = run_cli("ask", "-m", "gpt-4o-mini", "-f", str(tmp_path / "big.txt"), "hi", env=env)
    assert result.returncode == 2
    assert "more than gpt-4o-mini's context window" in result.stderr
    assert fake.chat_requests() == []


def _dry_run(tmp_path: Path, fake: FakeOpenAI, *extra: str) -> dict[str, str]:
    env = fake_env(tmp_path, fake)
    result = run_cli("summarize", "--dry-run", "-m", "gpt-6-luna", *extra, str(tmp_path / "t.txt"),
                     env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)


def test_summarize_prices_each_request_below_the_long_context_tier(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    _text(tmp_path / "t.txt", 6_000_000)  # about 1.4M tokens; gpt-6-luna doubles above 272k
    forced = _dry_run(tmp_path, fake, "--chunk-tokens", "250000")
    tokens_in = int(forced["input tokens"].split()[0].replace(",", ""))
    low = float(re.findall(r"\$([\d.]+)", forced["cost"])[0])
    # every request is under 272k tokens: input at the base $0.10 per 1M, not $0.20
    assert low < tokens_in * 0.15 / 1_000_000, forced
    default = _dry_run(tmp_path, fake)
    requests = int(default["requests"])
    assert requests >= tokens_in // 272_000 + 2, default  # parts below the tier, and combining
    assert float(re.findall(r"\$([\d.]+)", default["cost"])[0]) < tokens_in * 0.15 / 1_000_000
    assert not fake.chat_requests()


_TOO_LONG = (
    "This model's maximum context length is 8192 tokens. However, your messages resulted in "
    "786000 tokens. Please reduce the length of the messages."
)


def test_a_context_length_400_on_an_unknown_window_says_how_to_set_it(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Error(400, _TOO_LONG, type="invalid_request_error",
                      code="context_length_exceeded", param="messages"))  # fmt: skip
    result = run_cli("ask", "-m", "qwen-max", "hi", env=env)
    assert result.returncode == 5
    assert "maximum context length is 8192 tokens" in result.stderr
    hint = result.stderr.splitlines()[-1]
    assert hint.startswith("hint: chatcli does not know qwen-max's context window"), hint
    assert 'context_window = 8192 in [models."qwen-max"]' in hint
    # the words alone, no code, and a window written with a comma
    fake.script(Error(400, "prompt is too long: the context window is 32,768 tokens"))
    result = run_cli("ask", "-m", "some-relay-model", "hi", env=env)
    assert result.returncode == 5
    assert 'context_window = 32768 in [models."some-relay-model"]' in result.stderr
    # set as the hint says, the oldest turns are left out to fit
    long = "word " * 5000
    for _ in range(3):
        assert run_cli("ask", "--session", "s", "-m", "qwen-max", long, env=env).returncode == 0
    (tmp_path / "config.toml").write_text('[models."qwen-max"]\ncontext_window = 8192\n')
    result = run_cli("ask", "--session", "s", "hi", env=env)
    assert result.returncode == 0, result.stderr
    assert "left out to fit the context window of qwen-max" in result.stderr


def test_summarize_says_what_it_reads_and_counts_on_a_terminal_only(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    _text(tmp_path / "t.txt", 3_000_000)
    env = fake_env(tmp_path, fake, TERM="xterm")
    args = ("summarize", "--dry-run", "-m", "gpt-6-luna", str(tmp_path / "t.txt"))
    shown = run_cli(*args, env=env, stderr_tty=True)
    assert shown.returncode == 0, shown.stderr
    assert f"summarize: reading {tmp_path / 't.txt'} (3 MB)…" in shown.stderr
    assert "summarize: counting the tokens of the input (3 MB)…" in shown.stderr
    assert shown.stderr.endswith("\r\x1b[2K")  # erased before the estimate
    assert "requests: " in shown.stdout
    quiet = run_cli(*args, env=env)
    assert quiet.returncode == 0 and quiet.stderr == ""
