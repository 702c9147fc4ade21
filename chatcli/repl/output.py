"""The prompt's terminal output, and a message taller than the pane shown once.

tmux and GNU screen take an "erase below" (``ESC [ J``) from the screen's top-left corner as
a clear, and save the whole screen into their scrollback first. prompt_toolkit erases below
its region's top before each full redraw (the last one when Enter is pressed), and a message
taller than the pane makes that top the screen's top-left: the visible part of the message
then lands in the history once per redraw. ``RowErasingOutput`` erases those rows one by one
instead, as the live view does (``render``).

A message taller than the pane cannot be shown by the prompt (it shows the rows around the
cursor), so on Enter the prompt is left showing an empty line, and ``echo_tall`` writes the
whole message there, once, as it would have looked: ``› first line`` then ``. next lines``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from prompt_toolkit.output import Output, create_output
from prompt_toolkit.output.vt100 import Vt100_Output

from chatcli.safetext import sanitize
from chatcli.terminal import is_dumb

if TYPE_CHECKING:
    from chatcli.environment import Environment

PROMPT = "› "
CONTINUATION = ". "


class RowErasingOutput(Vt100_Output):
    """A VT100 output whose "erase below" clears row by row (see the module docstring)."""

    def erase_down(self) -> None:
        rows = self.get_size().rows
        self.write_raw("\x1b7\x1b[K" + "\x1b[B\x1b[2K" * rows + "\x1b8")


def prompt_output(env: Environment) -> Output | None:
    """The prompt's output: ``RowErasingOutput`` on a terminal that moves the cursor; None
    (prompt_toolkit's choice: its plain line editor with ``TERM=dumb``) elsewhere."""
    if is_dumb():
        return None
    if sys.platform != "win32" and env.stdout_isatty:
        return RowErasingOutput.from_pty(env.stdout)
    return create_output(env.stdout)


def is_tall(text: str, rows: int, columns: int) -> bool:
    """Whether ``text`` needs more rows than the prompt can show at once: its lines after the
    prompt's two columns, each as many rows as it wraps into (by display width)."""
    from rich.cells import cell_len

    needed = 0
    for line in text.split("\n"):
        needed += max(1, -(-(len(PROMPT) + cell_len(line)) // max(1, columns)))
        if needed >= rows - 1:
            return True
    return False


def echo_tall(output: Output, text: str) -> None:
    """Write a tall message over the prompt's empty last line (the row above the cursor)."""
    lines = sanitize(text).split("\n")
    shown = [PROMPT + lines[0], *(CONTINUATION + line for line in lines[1:])]
    output.write_raw("\x1b[A\r\x1b[2K" + "\r\n".join(shown) + "\r\n")
    output.flush()
