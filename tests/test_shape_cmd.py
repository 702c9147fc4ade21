"""``chatcli cmd`` (audit 7, area shape): a revision answered with no command keeps the current
one, characters a terminal would not show are shown as code points in the menu, and the
``--execute`` notice shows each line of a script on its own.

The menu runs in process with a scripted terminal (keys and typed lines from lists) in place
of ``Tty.open``; what needs a real terminal is in test_cmd_terminal.py."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from chatcli.features.shell import menu
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply


class ScriptedTty(menu.Tty):
    """The menu's terminal: keys and typed lines from lists, everything written kept."""

    def __init__(self, keys: list[str], lines: list[str]) -> None:
        self.screen = io.StringIO()
        super().__init__(io.StringIO(), self.screen)
        self.keys, self.lines = keys, lines

    def discard_typed_ahead(self) -> None:
        pass

    def key(self) -> str:
        return self.keys.pop(0) if self.keys else menu.CTRL_D

    def line(self, message: str, default: str = "") -> str | None:
        self.output.write(f"{message}{default}\n")
        return self.lines.pop(0) if self.lines else None

    def shown(self) -> str:
        return self.screen.getvalue()


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> ScriptedTty:
    tty = ScriptedTty([], [])
    monkeypatch.setattr(menu.Tty, "open", classmethod(lambda cls, env: tty))
    return tty


def test_a_revision_that_is_no_command_keeps_the_current_one(
    fake: FakeOpenAI, tmp_path: Path, terminal: ScriptedTty, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where the command runs
    fake.script(Reply(text="touch orig"), Reply(text="I'm sorry, I can't help with that."))
    terminal.keys[:] = ["r", "e"]
    terminal.lines[:] = ["refuse please"]
    done = run_cli("cmd", "--shell", "bash", "something", env=fake_env(tmp_path, fake), tty=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "orig").exists()  # `e` ran the command the refusal did not replace
    shown = terminal.shown()
    assert "the answer is not a command:" in shown and "I'm sorry" in shown
    assert "the command stays as it was:" in shown
    assert "there is no command to run" not in shown
    assert shown.count("touch orig") == 2  # shown first, and again after the refusal
    revision = fake.chat_requests()[1].json["messages"][-1]["content"]
    assert revision.startswith("Change this command:\ntouch orig\n")


def test_a_revision_that_is_no_command_can_still_be_edited(
    fake: FakeOpenAI, tmp_path: Path, terminal: ScriptedTty
) -> None:
    fake.script(Reply(text="ls -la"), Reply(text="Could you say which directory?"))
    terminal.keys[:] = ["r", "\r", "q"]
    terminal.lines[:] = ["somewhere else", "ls -la /tmp"]
    done = run_cli("cmd", "--shell", "bash", "list", env=fake_env(tmp_path, fake), tty=True)
    assert done.returncode == 0
    assert "edit> ls -la\n" in terminal.shown()  # pre-filled with the kept command


@pytest.mark.parametrize("hidden", ["\u2060", "\u00ad", "\ufeff", "\u061c", "\U000e0041"])
def test_invisible_characters_are_flagged_and_shown_as_code_points(
    fake: FakeOpenAI, tmp_path: Path, terminal: ScriptedTty, hidden: str
) -> None:
    fake.script(Reply(text=f"ls{hidden}x"))
    terminal.keys[:] = ["q"]
    done = run_cli("cmd", "--shell", "bash", "x", env=fake_env(tmp_path, fake), tty=True)
    assert done.returncode == 0
    shown = terminal.shown()
    point = f"U+{ord(hidden):04X}"
    assert f"ls⟨{point}⟩x" in shown
    assert f"would not show as they are ({point})" in shown
    assert hidden not in shown


def test_the_execute_notice_shows_each_line_of_a_script(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Reply(text="cd .\n  true\n"))
    done = run_cli("cmd", "--shell", "bash", "x", "--execute", "--yes", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "chatcli: running:\n  cd .\n    true\n"
    fake.script(Reply(text="true"))
    one = run_cli("cmd", "--shell", "bash", "x", "--execute", "--yes", env=env)
    assert one.stderr == "chatcli: running: true\n"
