"""Audit 9, scripting: chatcli's standard streams in a shell script, through real processes.

A stderr that fails (its reader gone, a full device, closed with ``2>&-``) only loses the
notices: the command goes on, the answer reaches stdout, the exit code is the command's own.
A closed stdout (``>&-``) is one error line and exit 1, never a traceback. ``COLUMNS=0`` does
not empty ``--help``; ``mcp list --json`` with no server prints ``[]``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cli_helpers import chatcli_argv, clean_env, fake_env, run_process
from tests.fakes import Error, FakeOpenAI, Reply

_CLOSED_PORT = "http://127.0.0.1:1/v1"


def _run(
    *args: str, env: dict[str, str], stderr: int, shell_prefix: str = ""
) -> subprocess.CompletedProcess[bytes]:
    """chatcli with stderr on the descriptor ``stderr`` (stdout captured), or started by ``sh``
    after ``shell_prefix`` (``exec 2>&-``) when one is given."""
    argv = chatcli_argv(*args)
    if shell_prefix:
        argv = ["sh", "-c", f'{shell_prefix}; exec "$@"', "sh", *argv]
    return subprocess.run(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, env=env, timeout=60
    )


def _broken_stderr(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """chatcli whose stderr is a pipe nobody reads any more (EPIPE on the first write)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return _run(*args, env=env, stderr=write)
    finally:
        os.close(write)


def _full_stderr(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    with open("/dev/full", "wb") as full:
        return _run(*args, env=env, stderr=full.fileno())


@pytest.mark.parametrize("failing", [_broken_stderr, _full_stderr], ids=["epipe", "enospc"])
def test_failing_stderr_the_retry_happens_and_the_answer_reaches_stdout(
    fake: FakeOpenAI, tmp_path: Path, failing: object
) -> None:
    fake.script(Error(500), Reply(text="the paid answer"))
    result = failing("ask", "hi", env=fake_env(tmp_path, fake))  # type: ignore[operator]
    assert (result.returncode, result.stdout) == (0, b"the paid answer\n")
    assert len(fake.chat_requests()) == 2


@pytest.mark.parametrize("failing", [_broken_stderr, _full_stderr], ids=["epipe", "enospc"])
def test_failing_stderr_keeps_the_network_error_code(
    tmp_path: Path, fake: FakeOpenAI, failing: object
) -> None:
    env = fake_env(tmp_path, fake, OPENAI_BASE_URL=_CLOSED_PORT)
    result = failing("ask", "hi", env=env)  # type: ignore[operator]
    assert (result.returncode, result.stdout) == (6, b"")


def test_broken_stderr_summarize_prints_the_summary(fake: FakeOpenAI, tmp_path: Path) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text("Paragraph one about cats.\n\nParagraph two about dogs.\n")
    second.write_text("Second doc about birds.\n")
    fake.script(Reply(text="Cats summary."), Reply(text="Birds summary."))
    result = _broken_stderr("summarize", str(first), str(second), env=fake_env(tmp_path, fake))
    assert result.returncode == 0
    assert b"Cats summary." in result.stdout and b"Birds summary." in result.stdout


def _closed_stderr(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return _run(*args, env=env, stderr=subprocess.DEVNULL, shell_prefix="exec 2>&-")


def test_closed_stderr_answer_on_stdout_exit_0(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Error(500), Reply(text="still delivered"))
    result = _closed_stderr("ask", "hi", env=fake_env(tmp_path, fake))
    assert (result.returncode, result.stdout) == (0, b"still delivered\n")
    assert len(fake.chat_requests()) == 2


@pytest.mark.parametrize(
    ("args", "code"),
    [(("-p", "nope", "ask", "hi"), 3), (("ask", "--bogus"), 2), (("models",), 6)],
    ids=["unknown-profile", "bad-flag", "closed-port"],
)
def test_closed_stderr_keeps_every_exit_code(
    fake: FakeOpenAI, tmp_path: Path, args: tuple[str, ...], code: int
) -> None:
    env = fake_env(tmp_path, fake, OPENAI_BASE_URL=_CLOSED_PORT)
    assert _closed_stderr(*args, env=env).returncode == code


def _closed_stdout(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    argv = ["sh", "-c", 'exec >&-; exec "$@"', "sh", *chatcli_argv(*args)]
    return subprocess.run(
        argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, timeout=60
    )


@pytest.mark.parametrize("args", [("models",), ("--help",), ("--version",), ("models", "--json")])
def test_closed_stdout_one_line_exit_1(
    fake: FakeOpenAI, tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = _closed_stdout(*args, env=fake_env(tmp_path, fake))
    assert result.returncode == 1
    assert result.stderr == b"chatcli: error: cannot write to stdout (closed)\n"


def test_closed_stdout_ask_stores_the_paid_turn(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text="paid for"))
    env = fake_env(tmp_path, fake)
    result = _closed_stdout("ask", "closed stdout question", env=env)
    assert result.returncode == 1
    assert result.stderr == b"chatcli: error: cannot write to stdout (closed)\n"
    listed = run_process("sessions", "list", "--json", env=env)
    assert "closed stdout question" in listed.stdout


@pytest.mark.parametrize(
    "sizes",
    [{"COLUMNS": "0"}, {"COLUMNS": "-1"}, {"COLUMNS": "abc"}, {"LINES": "0", "COLUMNS": "0"}],
    ids=["zero", "negative", "garbage", "lines-zero"],
)
def test_invalid_columns_help_is_still_printed(tmp_path: Path, sizes: dict[str, str]) -> None:
    for args in (("--help",), ("ask", "--help")):
        result = run_process(*args, env=clean_env(tmp_path, **sizes))
        assert result.returncode == 0
        assert "Usage" in result.stdout and "--help" in result.stdout


def test_mcp_list_json_with_no_server_is_an_empty_list(tmp_path: Path) -> None:
    result = run_process("mcp", "list", "--json", env=clean_env(tmp_path))
    assert result.returncode == 0
    assert json.loads(result.stdout) == []
    assert "no MCP servers configured" in result.stderr
