"""The parsed form of a text, and the shape of a rule: what every part of the check passes on.

A script is a list of pipelines, a pipeline a list of simple commands; a command keeps the
scripts nested in it, so a substitution or a subshell is checked like the text around it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Command:
    """A simple command: its words, its redirections, the scripts nested in it
    (substitutions, a subshell group, ``sh -c`` strings) and what its place in the text shows
    (a function calling itself in the background)."""

    words: list[str] = field(default_factory=list)
    redirects: list[tuple[str, str]] = field(default_factory=list)
    nested: list[Script] = field(default_factory=list)
    arrays: dict[int, Command] = field(default_factory=dict)  # NAME=(ITEMS): by the word's index
    findings: list[str] = field(default_factory=list)  # seen in the shape of the text (a fork bomb)
    background: bool = False  # ends with "&": runs in a subshell of its own (a cd there stays)
    defines: str = ""  # a function's header (its words gone): the name; its body comes next


Pipeline = list[Command]
Script = list[Pipeline]

Rule = Callable[[list[str], bool, list[str], int], None]
"""The check for one program: its words (wrappers taken off), whether its arguments come from
input (``xargs``), the findings to add to, and how deeply nested it is."""
