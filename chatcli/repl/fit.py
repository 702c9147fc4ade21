"""The REPL's own one-line summaries (banner, footer) fitted to the terminal's width.

A terminal wraps a long line wherever the width falls, often mid-word (``0.31 s to fi`` /
``rst token``). These lines are lists of short facts joined by `` · ``, so they wrap at the
separators instead, and a fact wider than the terminal is shortened with "…". Widths are
display widths (CJK and emoji take two columns), and the last column stays free: "·" and "…"
are two columns wide in some CJK terminal setups (East Asian "ambiguous" width).
"""

from __future__ import annotations

from chatcli.terminal import shorten

SEPARATOR = " · "


def fit(parts: list[str], columns: int) -> list[str]:
    """``parts`` joined by `` · `` into as few lines as fit in ``columns``, in order."""
    from rich.cells import cell_len

    room = max(8, columns - 1)
    lines: list[str] = []
    for part in (shorten(p, room) for p in parts if p):
        if lines and cell_len(lines[-1] + SEPARATOR + part) <= room:
            lines[-1] += SEPARATOR + part
        else:
            lines.append(part)
    return lines
