"""Tables of every document kind (DOCX, ODT, HTML) as one Markdown pipe table shape.

One line per row, cells parted by `` | ``, a ``---`` line under the first row; a cell's
paragraphs and line breaks are joined by a space, never glued (``Alice Smith``, not
``AliceSmith``), and a ``|`` in a cell is escaped. A merged cell (``gridSpan``,
``colspan``, ``rowspan``) is followed by, or leaves below it, empty cells, so the other cells
stay under their own headers. A table inside a cell is written inline (``a / b; c / d``).

Spans cost nothing to declare: the empty cells they add are bounded by the real cells the
table holds (``Grid.pad``), so ``colspan=1000`` on every cell cannot multiply a page.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_COLUMNS = 64
"""Rows shorter than the widest are padded only in tables up to this wide."""
MAX_SPAN = 1000
"""The most columns or rows one cell may span (HTML's own limit for colspan)."""


def cell(parts: Iterable[str]) -> str:
    """A cell's paragraphs as one line: each one's whitespace collapsed, joined by a space."""
    text = " ".join(" ".join(part.split()) for part in parts)
    return " ".join(text.split()).replace("|", "\\|")


def inline(rows: list[list[str]]) -> str:
    """A table inside a cell: its cells parted by `` / ``, its rows by ``; ``."""
    lines = [" / ".join(c for c in row if c) for row in rows]
    return "; ".join(line for line in lines if line)


class Grid:
    """The rows of one table as they are read, spans turned into empty cells."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self._below: dict[int, int] = {}  # column -> rows a cell above still covers
        self._covered: set[int] = set()  # the columns covered in the current row
        self._cells = 0
        self._padding = 0

    def start_row(self) -> None:
        self._end_row()
        self.rows.append([])
        self._covered = {c for c, n in self._below.items() if n > 0}

    def add(self, text: str, colspan: int = 1, rowspan: int = 1) -> None:
        """A cell, after any columns a cell of a row above covers."""
        if not self.rows:
            self.start_row()
        row = self.rows[-1]
        while len(row) in self._covered and self.pad():
            row.append("")
        self._cells += 1
        first = len(row)
        row.append(text)
        for _ in range(min(max(colspan, 1), MAX_SPAN) - 1):
            if not self.pad():
                break
            row.append("")
        if rowspan > 1:
            for column in range(first, min(len(row), MAX_COLUMNS)):
                self._below[column] = min(rowspan, MAX_SPAN) - 1

    def pad(self) -> bool:
        """Whether one more empty cell may be added (at most 64 plus four per real cell)."""
        if self._padding >= MAX_COLUMNS + 4 * self._cells:
            return False
        self._padding += 1
        return True

    def _end_row(self) -> None:
        for column in self._covered:
            self._below[column] -= 1
            if self._below[column] <= 0:
                del self._below[column]
        self._covered = set()

    def markdown(self) -> str:
        return pipe_table(self.rows)


def pipe_table(rows: list[list[str]]) -> str:
    """``rows`` as a pipe table ("" when no cell holds text); short rows padded to the
    widest (up to ``MAX_COLUMNS``)."""
    rows = [row for row in rows if row]
    if not any(any(c for c in row) for row in rows):
        return ""
    width = max(len(row) for row in rows)
    if width <= MAX_COLUMNS:
        rows = [row + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|" + " --- |" * len(rows[0]))
    return "\n".join(lines)
