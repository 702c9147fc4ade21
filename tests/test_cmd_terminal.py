"""``chatcli cmd`` on a real terminal (tmux), the way a person uses it: the one-key menu, and the
Alt+E binding of ``shell-integration`` in real bash, zsh and fish.

The fake runs in its own process and is scripted through its control API. Files the scripted
commands would create show whether anything ran; every wait polls the screen.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env
from tests.fakes import DEFAULT_API_KEY, Error, FakeControl, Reply
from tests.tmux_helpers import Tmux, wait_until

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.terminal

MENU = "e execute  r revise  d describe  c copy  Enter edit  q abort"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def env(server: str, tmp_path: Path) -> dict[str, str]:
    """The pane's environment: the fake as the implicit profile, a ``chatcli`` on PATH made
    the way an installed console script is."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "chatcli"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nfrom chatcli.__main__ import main\nsys.exit(main())\n"
    )
    script.chmod(0o755)
    environ = clean_env(
        tmp_path,
        OPENAI_API_KEY=DEFAULT_API_KEY,
        OPENAI_BASE_URL=server,
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        PYTHONPATH=str(ROOT),
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "share"),
        HISTFILE=str(tmp_path / "history"),
    )
    environ["PATH"] = f"{bindir}:{environ.get('PATH', '/usr/bin:/bin')}"
    return environ


@pytest.fixture
def term(env: dict[str, str], tmp_path: Path) -> Iterator[Tmux]:
    tmux = Tmux(env, tmp_path)
    try:
        yield tmux
    finally:
        tmux.kill()


def chat_messages(control: FakeControl) -> list[list[dict[str, str]]]:
    return [
        r["json"]["messages"] for r in control.requests() if r["path"].endswith("/chat/completions")
    ]


def start_cmd(term: Tmux, work: Path, description: str) -> str:
    term.start_line(f"cd {work} && chatcli cmd --shell bash {description}")
    return term.wait_for(MENU)


# the menu


def test_execute_runs_the_command_and_returns_its_exit_code(
    term: Tmux, control: FakeControl, work: Path
) -> None:
    control.script(Reply(text="```bash\necho ran > ran.txt; exit 3\n```"))
    screen = start_cmd(term, work, "make a file and fail")
    assert "echo ran > ran.txt; exit 3" in screen
    assert not (work / "ran.txt").exists()
    term.keys("e")
    assert term.wait_exit() == 3
    assert (work / "ran.txt").read_text() == "ran\n"


@pytest.mark.parametrize(("key", "code"), [("q", 0), ("x", 0), ("C-d", 0), ("C-c", 130)])
def test_abort_runs_nothing(
    term: Tmux, control: FakeControl, work: Path, key: str, code: int
) -> None:
    control.script(Reply(text="touch ran.txt"))
    start_cmd(term, work, "make a file")
    term.keys(key)
    assert term.wait_exit() == code
    assert "aborted: nothing was run" in term.screen()
    assert not (work / "ran.txt").exists()


def test_revise_sends_the_previous_command_and_the_change(
    term: Tmux, control: FakeControl, work: Path
) -> None:
    control.script(Reply(text="ls -la"), Reply(text="ls -la --sort=size"))
    start_cmd(term, work, "list files")
    term.keys("r")
    term.wait_for("What should change?")
    term.type("sort by size")
    term.keys("Enter")
    term.wait_for("ls -la --sort=size")
    revise = chat_messages(control)[1]
    assert revise[1:3] == [
        {"role": "user", "content": "list files"},
        {"role": "assistant", "content": "ls -la"},
    ]
    assert revise[3]["content"].startswith("Change this command:\nls -la\n\nWhat to change: sort")
    term.keys("q")
    assert term.wait_exit() == 0


def test_enter_edits_the_command_inline_then_back_to_the_menu(
    term: Tmux, control: FakeControl, work: Path
) -> None:
    control.script(Reply(text="echo one"))
    start_cmd(term, work, "say one")
    term.keys("Enter")
    term.wait_for("edit> echo one")
    term.type(" two > said.txt")
    term.keys("Enter")
    term.wait_for(lambda s: s.count(MENU) == 1 and "echo one two > said.txt" in s)
    term.keys("e")
    assert term.wait_exit() == 0
    assert (work / "said.txt").read_text() == "one two\n"


def test_describe_shows_an_explanation_then_the_menu_again(
    term: Tmux, control: FakeControl, work: Path
) -> None:
    control.script(Reply(text="du -sh ."), Reply(text="Shows the size of this directory."))
    start_cmd(term, work, "size here")
    term.keys("d")
    term.wait_for(lambda s: "Shows the size of this directory." in s and s.count(MENU) == 1)
    described = chat_messages(control)[1]
    assert described[0]["content"].startswith("You explain bash commands")
    assert described[-1] == {"role": "user", "content": "Explain this command:\ndu -sh ."}
    term.keys("q")
    assert term.wait_exit() == 0


def test_a_destructive_command_is_marked_and_runs_only_after_typing_yes(
    term: Tmux, control: FakeControl, work: Path
) -> None:
    control.script(Reply(text="dd if=/dev/null of=blank.img"))
    screen = start_cmd(term, work, "blank the image")
    assert "⚠ destructive: dd overwrites blank.img with raw data" in screen
    coloured = term.tmux("capture-pane", "-p", "-e", "-t", term.target)
    warning = next(line for line in coloured.splitlines() if "destructive" in line)
    assert "\x1b[31m" in warning or ";31m" in warning  # red
    term.keys("e")
    term.wait_for("Type yes to run it:")
    term.type("y")
    term.keys("Enter")
    term.wait_for(lambda s: "not run" in s and s.count(MENU) == 1)
    assert not (work / "blank.img").exists()
    term.keys("e")
    term.wait_for(lambda s: s.count("Type yes to run it:") == 2)
    term.type("yes")
    term.keys("Enter")
    assert term.wait_exit() == 0
    assert (work / "blank.img").exists()


def test_keys_typed_while_waiting_decide_nothing(
    term: Tmux, control: FakeControl, work: Path
) -> None:
    control.script(Reply(text="touch ran.txt", delay=4.0))
    term.start_line(f"cd {work} && chatcli cmd --shell bash make a file")
    term.wait_for("thinking…")
    term.keys("e")  # before the command is even shown
    screen = term.wait_for(MENU)
    assert "touch ran.txt" in screen
    assert "e execute" in screen and not (work / "ran.txt").exists()
    term.keys("q")
    assert term.wait_exit() == 0
    assert not (work / "ran.txt").exists()


def test_a_piped_description_still_gets_the_menu_from_the_terminal(
    term: Tmux, control: FakeControl, work: Path
) -> None:
    control.script(Reply(text="echo piped > piped.txt"))
    term.start_line(f"cd {work} && echo 'write piped' | chatcli cmd --shell bash")
    term.wait_for(MENU)
    assert chat_messages(control)[0][-1] == {"role": "user", "content": "write piped"}
    term.keys("e")
    assert term.wait_exit() == 0
    assert (work / "piped.txt").read_text() == "piped\n"


def test_copy_puts_the_command_in_tmuxs_buffer(
    term: Tmux, control: FakeControl, work: Path
) -> None:
    control.script(Reply(text="git log --oneline -5"))
    start_cmd(term, work, "last commits")
    term.keys("c")
    term.wait_for("copied 20 characters to tmux's paste buffer")
    assert term.tmux("show-buffer") == "git log --oneline -5"
    term.keys("q")
    assert term.wait_exit() == 0


def test_an_answer_that_is_not_a_command_can_be_revised(
    term: Tmux, control: FakeControl, work: Path
) -> None:
    control.script(Reply(text="Which directory do you mean?"), Reply(text="ls /tmp"))
    term.start_line(f"cd {work} && chatcli cmd --shell bash list it")
    screen = term.wait_for(MENU)
    assert "the answer is not a command:" in screen
    assert "Which directory do you mean?" in screen
    term.keys("e")
    term.wait_for("there is no command to run")
    term.keys("r")
    term.wait_for("What should change?")
    term.type("/tmp")
    term.keys("Enter")
    term.wait_for(lambda s: "\nls /tmp\n" in s and s.rstrip().endswith(MENU + " (default)"))
    assert chat_messages(control)[1][-1] == {"role": "user", "content": "/tmp"}
    term.keys("q")
    assert term.wait_exit() == 0


# the key binding in real shells


def _rc(shell: str, tmp_path: Path) -> list[str]:
    """Write ``shell``'s start-up file loading the integration; the command starting it."""
    if shell == "bash":
        rc = tmp_path / "bashrc"
        rc.write_text("PS1='READY> '\nbind 'set enable-bracketed-paste off'\n"
                      'eval "$(chatcli shell-integration bash)"\n')  # fmt: skip
        return ["bash", "--noprofile", "--rcfile", str(rc), "-i"]
    if shell == "zsh":
        (tmp_path / ".zshrc").write_text(
            "PS1='READY> '\nbindkey -e\neval \"$(chatcli shell-integration zsh)\"\n"
        )
        return ["env", f"ZDOTDIR={tmp_path}", "zsh", "-i"]
    config = tmp_path / "config" / "fish"
    config.mkdir(parents=True)
    # a first start in a fresh home would parse every man page for completions in the
    # background (seconds of CPU beside the test): this directory says it was done
    (tmp_path / "share" / "fish" / "generated_completions").mkdir(parents=True)
    (config / "config.fish").write_text(
        "set -g fish_greeting ''\nfunction fish_prompt; echo -n 'READY> '; end\n"
        "chatcli shell-integration fish | source\n"
    )
    return ["fish", "-i"]


SHELLS = [
    pytest.param(name, marks=pytest.mark.skipif(shutil.which(name) is None, reason="not installed"))
    for name in ("bash", "zsh", "fish")
]


def prompt_line(screen: str) -> str:
    """The last prompt line on the screen."""
    lines = [line.rstrip() for line in screen.splitlines() if line.startswith("READY>")]
    return lines[-1] if lines else ""


@pytest.mark.parametrize("shell", SHELLS)
def test_the_key_replaces_the_line_with_the_command_without_running_it(
    term: Tmux, control: FakeControl, tmp_path: Path, shell: str
) -> None:
    marker = tmp_path / "ran.txt"
    control.script(Reply(text=f"```\ntouch {marker}\n```"))
    term.start(_rc(shell, tmp_path))
    term.wait_for(lambda s: prompt_line(s) == "READY>")
    term.type("make the marker file")
    term.keys("Left", "Left", "Left")  # the cursor mid-line: the whole line is sent
    term.keys("M-e")
    term.wait_for(lambda s: prompt_line(s) == f"READY> touch {marker}")
    assert chat_messages(control)[0][-1] == {"role": "user", "content": "make the marker file"}
    assert f"for {shell} on" in chat_messages(control)[0][0]["content"]
    assert not marker.exists()  # replaced, not run
    term.keys("Enter")  # the line holds exactly the command: running it makes the file
    wait_until(marker.exists)


@pytest.mark.parametrize("shell", SHELLS)
def test_on_an_error_the_line_is_left_alone_and_the_error_shown(
    term: Tmux, control: FakeControl, tmp_path: Path, shell: str
) -> None:
    control.script(Error(401, "invalid key"))
    term.start(_rc(shell, tmp_path))
    term.wait_for(lambda s: prompt_line(s) == "READY>")
    term.type("list the files")
    term.keys("M-e")
    screen = term.wait_for("refused the API key (401): invalid key")
    term.wait_for(lambda s: prompt_line(s) == "READY> list the files")
    assert "chatcli: error:" in screen
    assert len(chat_messages(control)) == 1


@pytest.mark.parametrize("shell", SHELLS)
def test_a_destructive_command_comes_with_its_warning(
    term: Tmux, control: FakeControl, tmp_path: Path, shell: str
) -> None:
    control.script(Reply(text="sudo true"))
    term.start(_rc(shell, tmp_path))
    term.wait_for(lambda s: prompt_line(s) == "READY>")
    term.type("list root's home")
    term.keys("M-e")
    term.wait_for(lambda s: prompt_line(s) == "READY> sudo true")
    term.wait_for("chatcli: warning: this command looks destructive: runs as root (sudo)")


@pytest.mark.parametrize("shell", SHELLS)
def test_thinking_shows_while_waiting(
    term: Tmux, control: FakeControl, tmp_path: Path, shell: str
) -> None:
    control.script(Reply(text="uptime", delay=3.0))
    term.start(_rc(shell, tmp_path))
    term.wait_for(lambda s: prompt_line(s) == "READY>")
    term.type("how long has it been up")
    term.keys("Left", "Left")
    term.keys("M-e")
    waiting = term.wait_for("thinking…")
    if shell == "fish":  # written after the text, not over it, though the cursor is mid-line
        assert prompt_line(waiting) == "READY> how long has it been up thinking…"
    screen = term.wait_for(lambda s: prompt_line(s) == "READY> uptime")
    assert "thinking…" not in screen
