"""Which shell a command is written for: names and paths of shells, overrides, the OS."""

from __future__ import annotations

import platform

import pytest

from chatcli.errors import UsageError
from chatcli.features.shell.detect import detect, family, os_name
from chatcli.features.shell.integration import key_codes


@pytest.mark.parametrize(
    ("program", "name"),
    [
        ("bash", "bash"),
        ("-bash", "bash"),  # a login shell's argv[0]
        ("/usr/local/bin/bash5", "bash"),
        ("/bin/zsh", "zsh"),
        ("/opt/homebrew/bin/fish", "fish"),
        ("dash", "sh"),
        ("/bin/sh", "sh"),
        ("ksh93", "sh"),
        ("python3.11", None),
        ("tmux", None),
        ("cmd.exe", None),
    ],
)
def test_shell_families(program: str, name: str | None) -> None:
    assert family(program) == name


def test_an_override_names_the_shell_and_the_program_that_runs_it() -> None:
    shell = detect("/bin/bash")
    assert (shell.name, shell.path, shell.posix) == ("bash", "/bin/bash", True)
    fish = detect("fish")
    assert fish.name == "fish" and not fish.posix and fish.path.endswith("fish")
    with pytest.raises(UsageError, match="unknown shell 'tcsh'"):
        detect("tcsh")


def test_the_os_is_named_the_way_a_model_knows_it() -> None:
    name = os_name()
    if platform.system() == "Linux":
        assert name.startswith("Linux")
    elif platform.system() == "Darwin":
        assert name.startswith("macOS")


@pytest.mark.parametrize(
    ("key", "codes"),
    [
        ("alt-e", {"bash": "\\ee", "zsh": "^[e", "fish": "\\ee"}),
        ("M-x", {"bash": "\\ex", "zsh": "^[x", "fish": "\\ex"}),
        ("ctrl-g", {"bash": "\\C-g", "zsh": "^G", "fish": "\\cg"}),
        ("C-t", {"bash": "\\C-t", "zsh": "^T", "fish": "\\ct"}),
    ],
)
def test_keys_are_written_in_each_shells_notation(key: str, codes: dict[str, str]) -> None:
    assert key_codes(key) == codes
