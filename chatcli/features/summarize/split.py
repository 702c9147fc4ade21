"""Split long text into pieces of at most N tokens, on the most natural boundary that fits.

``summarize`` sends each piece in its own request, so a piece should be a coherent stretch of
text: whole paragraphs (separated by blank lines) where they fit, else whole sentences (ending
in ``.!?``, in the full-width ``。．！？`` and half-width ``｡``, since Chinese and Japanese put no
space after a sentence, or in ``؟`` and ``।``), else whole lines or words, and characters only as a
last resort (a CJK run with no punctuation at all). A "character" there is what a reader sees
as one: a cut never falls inside a grapheme cluster (``_boundary``). Nothing is dropped or
rewritten: every separator stays attached to the piece before it, so
``"".join(split_text(text, ...)) == text``. A piece's size is the sum of the token counts of
what it is packed from, which matches the count of the whole to within a token or two at a
boundary; callers keep that much slack.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator

Counter = Callable[[str], int]
"""Tokens in a string (``tokens.count_text`` bound to an encoding)."""

_PARAGRAPH_END = re.compile(r"\n[^\S\n]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?。．｡！？…‼⁇⁈⁉؟।]+[\"'”’」』）)\]］】〕》〉｣]*\s*|[；;]\s*|\n\s*")
_WORD_END = re.compile(r"\s+")
_CHARS_PER_TOKEN = 16


def _cut(text: str, ends: re.Pattern[str]) -> list[str]:
    """``text`` cut after every match of ``ends``; the pieces join back to ``text``."""
    pieces: list[str] = []
    start = 0
    for match in ends.finditer(text):
        if match.end() > start and match.end() < len(text):
            pieces.append(text[start : match.end()])
            start = match.end()
    pieces.append(text[start:])
    return [p for p in pieces if p]


def _hard(text: str, max_tokens: int, count: Counter) -> Iterator[str]:
    """Longest prefixes that fit, found by bisection, ending on a grapheme cluster boundary:
    for text with no boundary at all (a cluster longer than a part is kept whole).

    The search looks at most ``_CHARS_PER_TOKEN`` characters per token ahead, so a huge
    unbroken run costs time in proportion to its length, not its square.
    """
    while text:
        lo, hi = 1, min(len(text), max_tokens * _CHARS_PER_TOKEN)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(text[:mid]) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        cut = lo
        while 0 < cut < len(text) and not _boundary(text, cut):
            cut -= 1
        if cut == 0:  # one cluster is more than a part: it goes whole
            cut = lo
            while cut < len(text) and not _boundary(text, cut):
                cut += 1
        yield text[:cut]
        text = text[cut:]


_ZWJ = "\u200d"
_SPACING_MARKS = frozenset("\u0e33\u0eb3")  # Thai and Lao SARA AM: letters that join the one before


def _boundary(text: str, at: int) -> bool:
    """Whether a grapheme cluster ends between ``text[at - 1]`` and ``text[at]``: the rules of
    UAX #29 that matter when cutting prose, without the Unicode property tables. Kept
    together: CR LF; a character and its combining marks (accents, Thai and Indic vowel
    signs), variation selectors, emoji modifiers and tags; the two sides of a zero-width
    joiner (👨‍👩‍👧); regional indicator pairs (flags: 🇨🇳); Hangul conjoining jamo (Korean in NFD).
    Not handled: Indic conjuncts across a virama and prepended characters (a cut there
    splits one syllable, as a word-less run of them is rare)."""
    before, after = text[at - 1], text[at]
    if before == "\r" and after == "\n":
        return False
    code = ord(after)
    if (
        after == _ZWJ
        or before == _ZWJ
        or after in _SPACING_MARKS
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (VS16: emoji presentation)
        or 0x1F3FB <= code <= 0x1F3FF  # skin tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tags (subdivision flags)
        or 0xE0100 <= code <= 0xE01EF
        or unicodedata.category(after) in ("Mn", "Mc", "Me")
    ):
        return False
    if _regional(after) and _regional(before):
        run = 0  # flags pair regional indicators from the start of their run
        while at - run - 1 >= 0 and _regional(text[at - run - 1]):
            run += 1
        return run % 2 == 0
    return not _hangul_joins(ord(before), code)


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _hangul_joins(before: int, after: int) -> bool:
    """Conjoining jamo: a leading consonant joins a consonant, vowel or syllable after it; a
    vowel or trailing consonant joins what comes before it."""
    joining = 0x1160 <= after <= 0x11FF or 0xD7B0 <= after <= 0xD7FF
    if joining:
        return True
    leading = 0x1100 <= before <= 0x115F or 0xA960 <= before <= 0xA97F
    follows = 0x1100 <= after <= 0x115F or 0xA960 <= after <= 0xA97F or 0xAC00 <= after <= 0xD7A3
    return leading and follows


_LEVELS = (_PARAGRAPH_END, _SENTENCE_END, _WORD_END)


def _split(text: str, max_tokens: int, count: Counter, level: int) -> Iterator[str]:
    if level == len(_LEVELS):
        yield from _hard(text, max_tokens, count)
        return
    current: list[str] = []
    used = 0
    for piece in _cut(text, _LEVELS[level]):
        n = count(piece)
        if n > max_tokens:
            if current:
                yield "".join(current)
                current, used = [], 0
            yield from _split(piece, max_tokens, count, level + 1)
            continue
        if current and used + n > max_tokens:
            yield "".join(current)
            current, used = [], 0
        current.append(piece)
        used += n
    if current:
        yield "".join(current)


def split_text(text: str, max_tokens: int, count: Counter) -> list[str]:
    """Consecutive pieces of ``text`` of at most ``max_tokens`` each, cut on the coarsest
    boundary (paragraph, sentence, word, character) that makes them fit."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    if not text:
        return []
    return list(_split(text, max_tokens, count, 0))
