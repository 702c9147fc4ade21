"""The few things only a real ``chatcli`` process shows: the console script's exit codes, a
stdin that is a real pipe, stdout and stderr as real file descriptors. Everything else runs the
same entry point in process (``run_cli``); signals and broken pipes are in test_ask.py."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import fake_env, run_process
from tests.fakes import FakeOpenAI, Reply


def test_piped_stdin_answer_alone_on_stdout_exit_0(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text="Piped back."))
    result = run_process("ask", "read this:", env=fake_env(tmp_path, fake), input="the pipe\n")
    assert (result.returncode, result.stdout, result.stderr) == (0, "Piped back.\n", "")
    assert fake.chat_requests()[0].json["messages"][-1]["content"] == "read this:\n\nthe pipe"


def test_usage_error_exit_2_one_line(tmp_path: Path, fake: FakeOpenAI) -> None:
    result = run_process("ask", "--no-such-flag", env=fake_env(tmp_path, fake))
    assert result.returncode == 2
    assert result.stdout == ""
    first, hint = result.stderr.splitlines()
    assert first.startswith("chatcli: error: ") and "--no-such-flag" in first
    assert hint == "hint: see 'chatcli ask --help'"
    assert fake.chat_requests() == []


def test_auth_error_exit_4_never_shows_the_key(fake: FakeOpenAI, tmp_path: Path) -> None:
    key = "sk-wrong-key-abcdefgh12345678"
    result = run_process("ask", "hi", env=fake_env(tmp_path, fake, OPENAI_API_KEY=key))
    assert result.returncode == 4
    assert result.stderr.startswith("chatcli: error: ") and key not in result.stderr
    assert result.stdout == ""
