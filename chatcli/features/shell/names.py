"""The shells ``chatcli cmd`` writes for and those ``shell-integration`` binds a key in,
declared once (Choice parameters of the CLI, detection, the snippets)."""

from __future__ import annotations

from enum import StrEnum


class ShellName(StrEnum):
    BASH = "bash"
    ZSH = "zsh"
    FISH = "fish"
    SH = "sh"


class IntegratedShell(StrEnum):
    """The shells whose line editor ``shell-integration`` binds a key in."""

    BASH = "bash"
    ZSH = "zsh"
    FISH = "fish"
