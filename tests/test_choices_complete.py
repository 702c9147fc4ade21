"""Completion answers read from the command tree, in process (the shell scripts themselves are
driven in real shells by ``test_completion.py``): every Choice parameter completes its own
choices, wherever it is declared, and the completers attached to parameters answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.cli_helpers import clean_env, run_cli


def _complete(tmp_path: Path, *words: str) -> list[str]:
    """The ``type,value`` lines chatcli answers for completing the last of ``words``."""
    env = {
        **clean_env(tmp_path),
        "_CHATCLI_COMPLETE": "bash_complete",
        "COMP_WORDS": " ".join(["chatcli", *words]),
        "COMP_CWORD": str(len(words)),
    }
    if words and words[-1] == "":
        env["COMP_WORDS"] += " "
    result = run_cli(env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def _choice_params() -> Iterator[tuple[list[str], Any]]:
    """(command path, parameter) of every parameter of the tree that has fixed choices."""
    from typer.main import get_command

    from chatcli.cli import app

    def walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
        for param in command.params:
            if getattr(param.type, "choices", None):
                yield path, param
        for name, sub in (getattr(command, "commands", None) or {}).items():
            yield from walk(sub, [*path, name])

    yield from walk(get_command(app), [])


def test_every_choice_parameter_completes_its_choices(tmp_path: Path) -> None:
    found = list(_choice_params())
    names = {p.name for _, p in found}
    assert {"markdown", "response_format", "by", "format", "shell", "reasoning"} <= names
    for path, param in found:
        option = param.param_type_name == "option"  # else an argument: the command's first
        words = [*path, param.opts[0], ""] if option else [*path, ""]
        expected = [f"plain,{c}" for c in param.type.choices]
        assert _complete(tmp_path, *words) == expected, (path, param.name)


def test_choices_are_declared_once(tmp_path: Path) -> None:
    """The CLI's choices are the features' and the config's own values."""
    from chatcli.features.shell.detect import SHELLS
    from chatcli.features.transcribe.formats import EXTENSIONS
    from chatcli.settings.loading import MARKDOWN_MODES

    assert _complete(tmp_path, "ask", "--markdown", "") == [f"plain,{m}" for m in MARKDOWN_MODES]
    assert _complete(tmp_path, "transcribe", "--format", "") == [f"plain,{f}" for f in EXTENSIONS]
    assert _complete(tmp_path, "cmd", "--shell", "") == [f"plain,{s}" for s in SHELLS]
    assert _complete(tmp_path, "speak", "--format", "f") == ["plain,flac"]


def test_named_values_files_options_and_commands(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[profiles.work]\ntype = "openai"\n[profiles.relay]\ntype = "relay"\n'
        'base_url = "http://127.0.0.1:9/v1"\n[roles.translator]\nsystem = "T."\n'
        '[templates.tr]\nprompt = "{{tone}} {{input}}"\n'
    )
    assert _complete(tmp_path, "-p", "") == ["plain,relay", "plain,work"]
    assert _complete(tmp_path, "ask", "-m", "x", "--profile=w") == ["plain,work"]
    assert _complete(tmp_path, "chat", "-r", "") == ["plain,translator"]
    assert _complete(tmp_path, "ask", "--template", "tr", "-V", "") == ["plain,tone="]
    assert _complete(tmp_path, "ask", "-f", "sub/fi") == ["file,sub/fi"]
    assert _complete(tmp_path, "image", "--edit", "pic") == ["file,pic"]
    assert "plain,1024x1024" in _complete(tmp_path, "image", "--size", "")
    assert _complete(tmp_path, "ask", "--extr") == ["plain,--extract"]
    assert _complete(tmp_path, "sess") == ["plain,sessions"]
    assert _complete(tmp_path, "sessions", "ex") == ["plain,export"]
    assert _complete(tmp_path, "shell-integration", "zsh", "--key", "") == [
        "plain,alt-e",
        "plain,ctrl-g",
    ]
    assert _complete(tmp_path, "ask", "--", "-p") == []  # after --, words are arguments


def test_a_request_the_scripts_never_make_is_refused(tmp_path: Path) -> None:
    env = {**clean_env(tmp_path), "_CHATCLI_COMPLETE": "tcsh_complete", "COMP_WORDS": "chatcli"}
    result = run_cli(env=env)
    assert result.returncode == 2 and "unknown completion request" in result.stderr
