"""Split long text into pieces of at most N tokens, on the most natural boundary that fits.

``summarize`` sends each piece in its own request, so a piece should be a coherent stretch of
text: whole paragraphs (separated by blank lines) where they fit, else whole sentences (ending
in ``.!?`` or in ``。！？``, since Chinese and Japanese put no space after a sentence), else whole
lines or words, and characters only as a last resort (a CJK run with no punctuation at all).
Nothing is dropped or rewritten: every separator stays attached to the piece before it, so
``"".join(split_text(text, ...)) == text``. A piece's size is the sum of the token counts of
what it is packed from, which matches the count of the whole to within a token or two at a
boundary; callers keep that much slack.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

Counter = Callable[[str], int]
"""Tokens in a string (``tokens.count_text`` bound to an encoding)."""

_PARAGRAPH_END = re.compile(r"\n[^\S\n]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?。！？…]+[\"'”’」』）)\]]*\s*|[；;]\s*|\n\s*")
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
    """Longest prefixes that fit, found by bisection: for text with no boundary at all.

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
        yield text[:lo]
        text = text[lo:]


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
