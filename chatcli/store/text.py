"""Stored text cut for one line of a listing (titles, search snippets): by display width, a
CJK character or an emoji taking two columns, and never inside a grapheme cluster, so a cut
leaves no dangling zero-width joiner, combining mark or half of a flag behind it.

The clusters are told apart by the few rules that matter for a cut (Unicode's extend and
ZWJ rules, regional-indicator pairs), not the whole of UAX #29: no dependency for a title.
"""

from __future__ import annotations

import unicodedata

ZWJ = "\u200d"
ELLIPSIS = "…"


def cells(char: str) -> int:
    """Terminal columns ``char`` takes: 0 for marks and format characters (a ZWJ, a
    variation selector), 2 for wide ones."""
    kind = unicodedata.category(char)
    if kind == "Cf" or (kind != "Mc" and _extends(char)):  # a spacing mark takes its column
        return 0
    return 2 if unicodedata.east_asian_width(char) in "WF" else 1


def _extends(char: str) -> bool:
    """Whether ``char`` belongs to the character before it (a mark, a variation selector, an
    emoji skin tone or tag)."""
    if unicodedata.category(char) in ("Mn", "Me", "Mc"):
        return True
    code = ord(char)
    return (
        0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
        or 0xE0100 <= code <= 0xE01EF
    )


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def inside_cluster(text: str, i: int) -> bool:
    """Whether a cut between ``text[i - 1]`` and ``text[i]`` splits a grapheme cluster."""
    if i <= 0 or i >= len(text):
        return False
    char, before = text[i], text[i - 1]
    if char == ZWJ or before == ZWJ or _extends(char):
        return True
    if _regional(char) and _regional(before):  # flags are pairs from the start of the run
        run = 0
        while i - 1 - run >= 0 and _regional(text[i - 1 - run]):
            run += 1
        return run % 2 == 1
    return False


def widths(text: str) -> list[int]:
    """The columns each character of ``text`` takes where it stands: one joined to the one
    before by a ZWJ takes none (a ZWJ sequence shows as one emoji)."""
    return [0 if i and text[i - 1] == ZWJ else cells(c) for i, c in enumerate(text)]


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns, ending in "…" when cut (at a cluster's edge)."""
    each = widths(text)
    if sum(each) <= width:
        return text
    used = cells(ELLIPSIS)
    end = 0
    while end < len(text) and used + each[end] <= width:
        used += each[end]
        end += 1
    while inside_cluster(text, end):
        end -= 1
    return text[:end].rstrip() + ELLIPSIS
