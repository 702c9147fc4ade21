"""Regression tests of audit 8 (sessions #8 and #10): ``config validate`` checks every template
as ``--template NAME`` would, each broken one at its place; shell completion inserts a value
with spaces, quotes or other shell-special characters quoted for where it goes, so the
completed command gets that one argument (bash, zsh and fish, driven in tmux as a person
types)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import FakeOpenAI
from tests.tmux_helpers import Tmux

ROOT = Path(__file__).resolve().parent.parent
SPACED = "my proj 项目"
QUOTED = 'it\'s "q" $x (a)&b;c|d<e>f*g?[h]!i\\j `w` 中'  # every shell-special character
COLONS = "ab:cd=e f"


# 8. config validate: every template, as a use checks it


def _validate(tmp_path: Path, fake: FakeOpenAI, config: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    return run_cli("config", "validate", env=fake_env(tmp_path, fake))


def test_validate_reports_broken_template_tables_at_their_key(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    config = (
        '[templates.good]\nprompt = "Say {{x|1}} and {{x|1}}: {{input}}"\n'  # lines 1-2
        '[templates.twodef]\nprompt = "{{a|1}} {{a|2}}"\n'  # 3-4
        '[templates."my tpl"]\nsystem = "{{b|1}}"\n\nprompt = "{{b|2}} {{input}}"\n'  # 5-8
    )
    done = _validate(tmp_path, fake, config)
    path = tmp_path / "config.toml"
    assert done.returncode == 3, done.stderr
    assert f"{path}:4:1: templates.twodef.prompt: {{{{a}}}} has two defaults" in done.stderr
    assert f'{path}:8:1: templates."my tpl".prompt: {{{{b}}}} has two defaults' in done.stderr
    assert "good" not in done.stderr and "2 problems" in done.stderr
    assert "Traceback" not in done.stderr
    # what validate reports is what a use refuses, exit 3 alike
    used = run_cli("ask", "--template", "twodef", "hi", env=fake_env(tmp_path, fake))
    assert used.returncode == 3 and "two defaults" in used.stderr
    assert fake.chat_requests() == []


def test_validate_checks_the_template_files_a_use_would_read(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "front.md").write_text('+++\nsystem = "a"\nmodel = \n+++\n{{input}}\n')
    (folder / "unknown.toml").write_text('prompt = "x"\nbogus = 1\n')
    (folder / "draft.toml").write_text('prompt = "{{z|1}} {{z|2}}"\n')  # a config table wins
    (folder / "fine.md").write_text("Review this:\n{{input}}\n")
    done = _validate(tmp_path, fake, '[templates.draft]\nprompt = "{{input}}"\n')
    assert done.returncode == 3, done.stderr
    assert f"{folder / 'front.md'}:3:9: " in done.stderr  # the file's line and column
    assert f"{folder / 'unknown.toml'}: unknown key 'bogus'" in done.stderr
    assert "draft" not in done.stderr and "fine" not in done.stderr
    assert "2 problems" in done.stderr
    (folder / "front.md").unlink()
    (folder / "unknown.toml").unlink()
    ok = _validate(tmp_path, fake, '[templates.draft]\nprompt = "{{input}}"\n')
    assert ok.returncode == 0 and "OK" in ok.stdout, ok.stderr


def test_validate_checks_a_templates_schema_and_tools(fake: FakeOpenAI, tmp_path: Path) -> None:
    config = (
        '[mcp.servers.time]\ncommand = "mcp-server-time"\n'  # 1-2
        '[schemas.person]\nfields = "name, age int"\n'  # 3-4
        '[templates.fields]\nprompt = "x"\nschema = "name, age intt"\n'  # 5-7
        '[templates.nan]\nprompt = "x"\nschema = { type = "number", maximum = nan }\n'  # 8-10
        '[templates.named]\nprompt = "x"\nschema = "@nobody"\n'  # 11-13
        '[templates.server]\nprompt = "x"\ntools = ["clock.now"]\n'  # 14-16
        '[templates.both]\nprompt = "x"\nschema = "@person"\ntools = ["time"]\n'  # 17-20
        '[templates.good]\nprompt = "x"\nschema = "@person"\n'  # 21-23
        '[templates.tools]\nprompt = "x"\ntools = ["time.get_current_time"]\n'  # 24-26
        '[templates.relative]\nprompt = "x"\nschema = "schemas/out.json"\n'  # beside the config
    )
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "out.json").write_text('{"type": "object"}')
    done = _validate(tmp_path, fake, config)
    path = tmp_path / "config.toml"
    assert done.returncode == 3, done.stderr
    lines = done.stderr.splitlines()
    assert lines[-1] == f"chatcli: error: {path}: 5 problems", done.stderr
    assert any(line.startswith(f"{path}:7:1: templates.fields.schema: unknown type 'intt'")
               for line in lines), done.stderr  # fmt: skip
    assert f"{path}:10:1: templates.nan.schema: the table has NaN, which JSON" in done.stderr
    assert f"{path}:13:1: templates.named.schema: unknown schema @nobody" in done.stderr
    assert f"{path}:16:1: templates.server.tools: no MCP server named 'clock'" in done.stderr
    assert f"{path}:19:1: templates.both.schema: a schema and tools" in done.stderr
    for fine in ("good", "tools", "relative"):
        assert f"templates.{fine}." not in done.stderr


# 10. shell completion of values that need quoting


def _shim(tmp_path: Path, env: dict[str, str]) -> dict[str, str]:
    """``chatcli`` on PATH running this checkout, as an installed one would."""
    shim = tmp_path / "bin"
    shim.mkdir(exist_ok=True)
    (shim / "chatcli").write_text(f'#!/bin/sh\nexec {sys.executable} -m chatcli "$@"\n')
    (shim / "chatcli").chmod(0o755)
    return {**env, "PATH": f"{shim}{os.pathsep}{env['PATH']}", "PYTHONPATH": str(ROOT)}


@pytest.fixture
def stored(fake: FakeOpenAI, tmp_path: Path) -> dict[str, str]:
    """Sessions whose names need quoting (and the words each was asked), and the environment
    chatcli finds them in."""
    env = fake_env(tmp_path, fake)
    for name, words in ((SPACED, "first words"), (QUOTED, "second words"), (COLONS, "third")):
        assert run_cli("ask", "--session", name, words, env=env).returncode == 0
    return _shim(tmp_path, clean_env(tmp_path, LANG="C.UTF-8", LC_ALL="C.UTF-8"))


@pytest.mark.external
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize(
    ("line", "readline_word", "closing", "argument"),
    [
        ("chatcli sessions show my", "my", "", SPACED),
        ("chatcli sessions show my\\ p", "my\\ p", "", SPACED),
        ("chatcli sessions show it", "it", "", QUOTED),
        ("chatcli sessions show 'it", "it", "'", QUOTED),
        ('chatcli sessions show "it', "it", '"', QUOTED),
        ("chatcli chat --session=my", "my", "", f"--session={SPACED}"),
        ("chatcli chat --session='it", "it", "'", f"--session={QUOTED}"),
        ("chatcli sessions show ab:", "", "", COLONS),  # readline's word starts after the ':'
    ],
)
def test_bash_inserts_the_value_quoted_for_where_it_goes(
    stored: dict[str, str], tmp_path: Path, line: str, readline_word: str, closing: str,
    argument: str,
) -> None:  # fmt: skip
    """The function called as readline calls it (COMP_LINE, COMP_POINT, the word readline
    replaces); the reply put in that word's place, with the quote readline closes, is read
    back by bash itself: one argument, the session's name. History expansion, failglob and
    nullglob are on, as an interactive shell may have them."""
    script = tmp_path / "completion.bash"
    script.write_text(run_cli("completion", "bash", env=stored).stdout)
    program = (
        f"set -H; shopt -s failglob nullglob; source {shlex.quote(str(script))}\n"
        f"COMP_LINE={shlex.quote(line)}; COMP_POINT=${{#COMP_LINE}}\n"
        f"_chatcli_completion chatcli {shlex.quote(readline_word)} x\n"
        '(( ${#COMPREPLY[@]} == 1 )) || { printf "%s\\n" "${COMPREPLY[@]}"; exit 9; }\n'
        f'done="${{COMP_LINE:0:COMP_POINT-{len(readline_word)}}}${{COMPREPLY[0]}}"{shlex.quote(closing)}\n'
        'eval "set -- $done"\nprintf "%s" "${!#}"\n'
    )
    finished = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        capture_output=True, text=True, env=stored, timeout=60,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert finished.stdout == argument


@pytest.mark.external
@pytest.mark.skipif(shutil.which("fish") is None, reason="needs fish")
def test_fish_offers_the_options_its_echo_would_swallow(tmp_path: Path) -> None:
    """fish's ``echo`` takes ``-s``, ``-n`` and ``-e`` as its own options: the candidates are
    printed with ``printf``, so ``ask -s`` and ``image -n`` are offered too."""
    env = _shim(tmp_path, clean_env(tmp_path))
    (tmp_path / "c.fish").write_text(run_cli("completion", "fish", env=env).stdout)
    program = (
        f"source {tmp_path / 'c.fish'}\n"
        "complete -C 'chatcli ask -'; echo ==\ncomplete -C 'chatcli image -'\n"
    )
    done = subprocess.run(
        ["fish", "--no-config", "-c", program], capture_output=True, text=True, env=env,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    ask, image = ([line.split("\t")[0] for line in part.split("\n") if line]
                  for part in done.stdout.split("=="))  # fmt: skip
    assert {"-s", "--system", "-m"} <= set(ask), ask
    assert {"-n", "--size"} <= set(image), image


_SHELLS = {
    "bash": ("rc.bash", 'PS1="$ "\neval "$(chatcli completion bash)"\n'),
    "zsh": (
        ".zshrc",
        'PS1="$ "\nautoload -U compinit && compinit -u -d "$ZDOTDIR/.zcompdump"\n'
        'eval "$(chatcli completion zsh)"\n',
    ),
    "fish": (
        "fish/config.fish",
        'set -g fish_greeting ""\nset -g fish_autosuggestion_enabled 0\n'
        'function fish_prompt; echo -n "\\$ "; end\nchatcli completion fish | source\n',
    ),
}


@pytest.fixture
def shell_term(request: pytest.FixtureRequest, stored: dict[str, str], tmp_path: Path
               ) -> Iterator[tuple[Tmux, str]]:  # fmt: skip
    """An interactive shell in tmux with chatcli's completion script loaded, at its prompt."""
    shell = request.param
    if shutil.which(shell) is None:
        pytest.skip(f"needs {shell}")
    home = tmp_path / "home"
    rc, text = _SHELLS[shell]
    (home / rc).parent.mkdir(parents=True, exist_ok=True)
    (home / rc).write_text(text)
    env = {**stored, "HOME": str(home), "ZDOTDIR": str(home), "XDG_CONFIG_HOME": str(home),
           "XDG_DATA_HOME": str(home), "INPUTRC": "/dev/null"}  # fmt: skip
    argv = {"bash": ["bash", "--rcfile", str(home / rc), "-i"], "zsh": ["zsh", "-i"],
            "fish": ["fish", "-i"]}[shell]  # fmt: skip
    term = Tmux(env, tmp_path)
    try:
        term.start(argv, width=220, height=30)
        term.wait_for(_at_prompt, timeout=30)
        yield term, shell
    finally:
        term.kill()


def _at_prompt(screen: str) -> bool:
    lines = [line for line in screen.splitlines() if line.strip()]
    return bool(lines) and lines[-1].rstrip() == "$"


def _done(words: str) -> Callable[[str], bool]:
    """The command showed ``words`` and the shell is back at its prompt."""
    return lambda screen: words in screen and _at_prompt(screen)


@pytest.mark.terminal
@pytest.mark.parametrize("shell_term", ["bash", "zsh", "fish"], indirect=True)
def test_tab_then_enter_shows_the_session_whose_name_needs_quoting(
    shell_term: tuple[Tmux, str],
) -> None:
    """``chatcli sessions show my<Tab>`` then Enter, as a person types it: the command got the
    one session's name (exit 0, its content shown); so with a name full of quotes and other
    special characters, typed bare or after an opening quote."""
    term, shell = shell_term
    status = "$status" if shell == "fish" else "$?"
    for typed, shown, title in (
        ("my", "proj", SPACED),
        ("it", "中", QUOTED),
        ("'it", "中", QUOTED),
        ('"it', "中", QUOTED),
    ):
        term.type("clear")
        term.keys("Enter")
        term.wait_for(lambda s: s.strip() == "$")
        term.type(f"chatcli sessions show {typed}")
        term.keys("Tab")
        term.wait_for(shown)  # completed: Enter runs it
        term.keys("Enter")
        words = "first words" if title == SPACED else "second words"
        screen = term.wait_for(_done(words))
        assert f"# {title}" in screen, screen
        term.type(f'echo "[exit {status}]"')
        term.keys("Enter")
        screen = term.wait_for(lambda s: re.search(r"\[exit \d+\]", s) is not None)
        assert "[exit 0]" in screen, screen
