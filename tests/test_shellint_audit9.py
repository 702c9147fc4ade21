"""Audit 9, shell integration: what the user does while the key waits for the model.

In real bash, zsh and fish (tmux): an Enter or the key typed during "thinking…" must not act
on a suggestion nobody has read, and Ctrl-C gives the typed line back. Also: a relative
``--config`` baked into the snippet, fish's errors under the line, and Esc in the menu's
prompts.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests import test_cmd_terminal as base
from tests.cli_helpers import clean_env, run_cli
from tests.fakes import FakeControl, Reply
from tests.tmux_helpers import Tmux

MENU, SHELLS = base.MENU, base.SHELLS
chat_messages, prompt_line = base.chat_messages, base.prompt_line
env, term, work = base.env, base.term, base.work  # the fixtures of the cmd terminal tests


def _ready(term: Tmux, shell: str, tmp_path: Path) -> None:
    term.start(base._rc(shell, tmp_path))
    term.wait_for(lambda s: prompt_line(s) == "READY>")


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.terminal
@pytest.mark.external
def test_enter_typed_while_thinking_does_not_run_the_suggestion(
    term: Tmux, control: FakeControl, tmp_path: Path, shell: str
) -> None:
    marker = tmp_path / "MARKER"
    control.script(Reply(text=f"touch {marker}", delay=3.0))
    _ready(term, shell, tmp_path)
    term.type("make the marker file")
    term.keys("M-e")
    term.wait_for("thinking…")
    term.keys("Enter")  # the habitual Enter, before the suggestion is even shown
    suggested = f"READY> touch {marker}"
    term.wait_for(lambda s: marker.exists() or prompt_line(s) == suggested)
    time.sleep(0.5)  # an Enter read late would run it now
    assert not marker.exists()
    assert prompt_line(term.screen()) == suggested  # on the line, waiting to be read
    term.keys("Enter")  # now it runs, by a key pressed after it was shown
    term.wait_for(lambda s: marker.exists(), timeout=10)


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.terminal
@pytest.mark.external
def test_the_key_pressed_again_while_thinking_sends_nothing(
    term: Tmux, control: FakeControl, tmp_path: Path, shell: str
) -> None:
    control.script(Reply(text="echo first", delay=3.0), Reply(text="echo second"))
    _ready(term, shell, tmp_path)
    term.type("show disk usage")
    term.keys("M-e")
    term.wait_for("thinking…")
    term.keys("M-e")
    term.wait_for(lambda s: prompt_line(s) in ("READY> echo first", "READY> echo second"))
    time.sleep(1.5)  # a second request would be sent and answered by now
    assert [m[-1]["content"] for m in chat_messages(control)] == ["show disk usage"]
    assert prompt_line(term.screen()) == "READY> echo first"


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.terminal
@pytest.mark.external
def test_ctrl_c_while_thinking_keeps_the_typed_line(
    term: Tmux, control: FakeControl, tmp_path: Path, shell: str
) -> None:
    control.script(Reply(text="du -sh ~", delay=8.0))
    _ready(term, shell, tmp_path)
    term.type('show disk usage "of" $HOME')
    term.keys("M-e")
    term.wait_for("thinking…")
    time.sleep(1.0)  # chatcli has started and waits for the reply
    term.keys("C-c")
    time.sleep(1.0)
    term.type("X")  # the line is still being edited, the cursor where it was
    line = 'READY> show disk usage "of" $HOMEX'
    screen = term.wait_for(lambda s: prompt_line(s) == line, timeout=5)  # before the reply
    assert "thinking…" not in screen


@pytest.mark.terminal
@pytest.mark.external
@pytest.mark.skipif(shutil.which("fish") is None, reason="not installed")
def test_fish_shows_a_warning_under_the_line(
    term: Tmux, control: FakeControl, tmp_path: Path
) -> None:
    control.script(Reply(text="sudo true"))
    _ready(term, "fish", tmp_path)
    term.type("list root's home")
    term.keys("M-e")
    warning = "chatcli: warning: this command looks destructive: runs as root (sudo)"
    screen = term.wait_for(lambda s: warning in s and prompt_line(s) == "READY> sudo true")
    rows = [row.rstrip() for row in screen.splitlines()]
    at = next(i for i, row in enumerate(rows) if row.startswith(warning))
    assert rows[at - 1] == "READY> list root's home"  # the line, then what was said under it
    assert rows[at + 1] == "READY> sudo true"


def test_a_relative_config_is_made_absolute_in_the_snippet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.toml").write_text('[defaults]\nmodel = "gpt-4o-mini"\n')
    monkeypatch.chdir(tmp_path)
    environ = clean_env(tmp_path)
    for shell in ("bash", "zsh", "fish"):
        result = run_cli("--config", "config.toml", "shell-integration", shell, env=environ)
        assert result.returncode == 0, result.stderr
        assert f"--config {tmp_path / 'config.toml'} cmd --shell {shell}" in result.stdout
        assert "--config config.toml" not in result.stdout


@pytest.mark.terminal
@pytest.mark.parametrize("key", ["Enter", "r"])
def test_esc_leaves_the_menus_edit_and_revise_prompts(
    term: Tmux, control: FakeControl, work: Path, key: str
) -> None:
    control.script(Reply(text="ls -la"))
    term.start_line(f"cd {work} && chatcli cmd --shell bash list files")
    term.wait_for(MENU)
    term.keys(key)
    term.wait_for("edit> ls -la" if key == "Enter" else "What should change?")
    term.keys("Escape")
    screen = term.wait_for(lambda s: s.rstrip().endswith(MENU + " (default)"), timeout=5)
    assert "edit>" not in screen.splitlines()[-1]
    term.keys("q")
    assert term.wait_exit() == 0
    assert len(chat_messages(control)) == 1
