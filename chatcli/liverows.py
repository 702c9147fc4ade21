"""The live region's rows, shaped so that a terminal resize cannot push them into history.

tmux and GNU screen rewrap every row whose used cells are wider than the new width when a
pane gets narrower, and when a pane gets shorter they push the rows above the cursor into
their scrollback, where no later frame can erase them. Both are made harmless here:

- a live row uses only the cells of its text: rich pads a code block's rows to the full width
  with coloured spaces, and those are replaced by "erase to end of line" in the same colour
  (``fill_to_end``), which paints the same background without using cells, so narrowing the
  pane rewraps only rows whose text really is that wide;
- the live region takes at most half the pane (``live_room``): a reflow that doubles its rows,
  or a pane that loses up to half its height mid-frame, pushes only finished rows (above the
  live region) into the history;
- after a width change the rows the reflow made of each live row are counted exactly, wide
  characters included (``reflowed_rows``), so the erase takes exactly those.
"""

from __future__ import annotations

import re

_TRAILING = re.compile(r"(?:\x1b\[[0-9;:]*m| )+$")
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_CONTROL = re.compile(r"\x1b\[[0-9;:]*[mK]|\x1b\]8;[^\x07\x1b]*(?:\x07|\x1b\\)")
ERASE_TO_END = "\x1b[K"


def live_room(height: int) -> int:
    """Rows the live region may take in a pane of ``height`` rows (0: no live region)."""
    return max(0, (height - 1) // 2) if height > 2 else max(0, height - 1)


def fill_to_end(line: str) -> str:
    """``line`` without its trailing blank cells; a coloured blank tail becomes an erase to
    the end of the row in that colour (the colours in force at its last blank)."""
    match = _TRAILING.search(line)
    if match is None or " " not in match.group():
        return line
    tail = match.group()
    last_blank = tail.rfind(" ")
    before = "".join(_SGR.findall(tail[:last_blank]))
    after = "".join(_SGR.findall(tail[last_blank:]))
    return line[: match.start()] + before + ERASE_TO_END + after


def reflowed_rows(line: str, width: int) -> int:
    """How many rows a terminal ``width`` columns wide makes of ``line`` when it rewraps it: a
    wide character that does not fit at the end of a row goes whole to the next one."""
    from rich.cells import cell_len

    if width <= 0:
        return 1
    text = _CONTROL.sub("", line)
    if cell_len(text) <= width:
        return 1
    rows, used = 1, 0
    for char in text:
        cells = cell_len(char)
        if used + cells > width:
            rows, used = rows + 1, 0
        used += cells
    return rows
