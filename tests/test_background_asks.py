"""A chatcli started as a background job of a terminal (``chatcli cmd ... &``) never asks
there, nor changes the terminal's modes: reading a key would stop it (SIGTTIN), a mode change
too (SIGTTOU), until someone types ``fg``. The ``cmd`` menu and a tool call's approval are
then served as off a terminal, as a cost question is (``tests/test_scripting_audit9.py``),
and ``ask`` streams its answer without hiding typed keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import fake_env
from tests.fakes import FakeOpenAI, Reply
from tests.test_scripting_audit9 import _in_background
from tests.tools_helpers import servers_toml

pytestmark = pytest.mark.process


def test_cmd_in_a_background_job_prints_the_command_and_asks_nothing(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(Reply(text="ls -la /tmp"))
    code, said = _in_background(fake_env(tmp_path, fake), "all", "cmd", "list the files")
    assert code == 0, (code, said)  # 99: stopped by the terminal at the menu
    assert "ls -la /tmp" in said, said


def test_ask_in_a_background_job_writes_its_answer_on_the_terminal(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """``chatcli ask ... &`` in a terminal: the answer is written there as it streams (the
    terminal's modes are left alone, as changing them from the background stops a job)."""
    fake.script(Reply(text="hello there"))
    code, said = _in_background(fake_env(tmp_path, fake), "all", "ask", "hi")
    assert code == 0, (code, said)  # 99: stopped by the terminal
    assert "hello there" in said, said


@pytest.mark.external  # a real MCP server
def test_a_tool_call_in_a_background_job_is_refused_not_asked(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    (tmp_path / "config.toml").write_text(servers_toml())
    call: dict[str, Any] = {"name": "own__add", "arguments": {"a": 1, "b": 2}}
    fake.script(Reply(tool_calls=[call]), Reply(text="I could not add them"))
    env = fake_env(tmp_path, fake, TOOLS_TEST_SECRET="s")
    code, said = _in_background(env, "all", "ask", "-T", "own", "add 1 and 2")
    assert code == 0, (code, said)  # 99: stopped by the terminal at the approval question
    assert "run it?" not in said, said
    second = fake.chat_requests()[1].json
    (result,) = [m for m in second["messages"] if m.get("role") == "tool"]
    assert result["content"] == "the user declined to run this tool call"  # as off a terminal
