"""``--help`` that never cuts an option's name: Typer's Rich layout where it fits, else click's.

Typer lays the help out as Rich tables, which on a narrow terminal (a 60-column tmux pane, a
phone's SSH) shorten what does not fit with ``…``: ``--max-tool-rou…``, ``default_profil…``.
Each help screen is laid out with Rich first, unseen; when that cuts anything, click's plain
layout is printed instead, which wraps descriptions under the option and cuts nothing. A
command's summary in a group's list is its docstring's first paragraph on one line (Rich
otherwise keeps the docstring's line breaks there).

Only typer and the stdlib are imported: ``chatcli --help`` loads this module.
"""

import contextlib
import functools
import io
import shutil
from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

Format = Callable[[Any, Any, Any], None]
"""A ``format_help`` method: (command, click context, click help formatter)."""

_CUT = "…"  # what Rich puts where text did not fit; no help text of chatcli holds one


def install() -> None:
    """Lay out every command's and group's help as the module says (once per process)."""
    for cls in (TyperCommand, TyperGroup):
        original = cls.format_help
        if not getattr(original, "_fitted", False):
            cls.format_help = _fitted(original)  # type: ignore[method-assign,assignment]


def _fitted(original: Format) -> Format:
    @functools.wraps(original)
    def format_help(self: Any, ctx: Any, formatter: Any) -> None:
        _one_line_summaries(self)
        if getattr(self, "rich_markup_mode", None) is None:
            original(self, ctx, formatter)
            return
        probe = _Probe(typer.get_text_stream("stdout"))
        with contextlib.redirect_stdout(probe):  # Rich prints to sys.stdout as it is then
            original(self, ctx, formatter)
        if _CUT not in probe.getvalue():
            formatter.write(probe.getvalue())  # click prints it where help goes
            return
        _plain(self, original, ctx, formatter)

    format_help._fitted = True  # type: ignore[attr-defined]
    return format_help


class _Probe(io.StringIO):
    """Where the Rich layout is made before it is shown: to Rich it is the real stdout (a
    terminal or not, its encoding), so what it holds is what Rich would print there."""

    def __init__(self, real: Any) -> None:
        super().__init__()
        self._real = real

    def isatty(self) -> bool:
        return bool(self._real.isatty())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self._real, "encoding", None) or "utf-8")


def _plain(command: Any, original: Format, ctx: Any, formatter: Any) -> None:
    """click's layout at the terminal's width (click's own floor of 50 columns would wrap
    every line on a 40-column screen): an option too long for a third of it gets its
    description on the lines below it."""
    width = shutil.get_terminal_size().columns
    formatter.width = max(width - 2, 20)
    formatter.write_dl = functools.partial(formatter.write_dl, col_max=max(width // 3, 8))
    mode = command.rich_markup_mode
    command.rich_markup_mode = None
    try:
        original(command, ctx, formatter)
    finally:
        command.rich_markup_mode = mode


def _one_line_summaries(command: Any) -> None:
    """A group's commands listed by their docstring's first paragraph, joined into one line."""
    for sub in getattr(command, "commands", {}).values():
        if sub.short_help is None and sub.help:
            first = sub.help.strip().split("\n\n", 1)[0]
            sub.short_help = " ".join(first.split())
