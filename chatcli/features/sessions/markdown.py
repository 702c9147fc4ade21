"""Stored text made to stay inside its own section of a Markdown transcript.

A message is Markdown (a reply) or anything at all (what the user typed or pasted, a tool's
result), and the transcript puts one after the other under headings. In CommonMark only two
things reach past the blank line that ends a message: a code fence left open (a reply cut off
inside a code block) and a raw-HTML block whose end marker never comes (``<!--``, ``<pre>``);
and a heading in the text (``## Assistant``, or ``text`` over ``---``) would pass for one of
the transcript's own. So an open fence or HTML block is closed at the message's end, the
text's headings are moved below the section's level, and text that would still reach past its
end (checked with the same parser a reader's renderer uses) is shown verbatim in a code block.
Text shown verbatim (a tool's result, arguments) gets a fence or code span longer than any run
of backticks in it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

_HTML_ENDS = (
    (re.compile(r"<(?:script|pre|style|textarea)(?:\s|>|$)", re.I),
     re.compile(r"</(?:script|pre|style|textarea)>", re.I), "</pre>"),
    (re.compile(r"<!--"), re.compile(r"-->"), "-->"),
    (re.compile(r"<\?"), re.compile(r"\?>"), "?>"),
    (re.compile(r"<![A-Za-z]"), re.compile(r">"), ">"),
    (re.compile(r"<!\[CDATA\["), re.compile(r"\]\]>"), "]]>"),
)  # fmt: skip
"""The raw-HTML blocks that a blank line does not end (CommonMark's kinds 1-5): how one
starts, what ends it, and a line that does."""

_ATX = re.compile(r"^( {0,3})(#{1,6})(?=[ \t]|$)")


@cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark")
    parser.disable("inline")  # only the blocks matter here
    return parser


def contained(text: str, level: int) -> str:
    """``text`` as the body of a section under a heading of ``level`` (1-6): closed at its
    end, its own headings below ``level``, or verbatim in a code block when it would still
    reach past its end."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    tokens = _parser().parse(text)
    closing = _closing(tokens, lines)
    lines = _lowered(tokens, lines, level)
    fixed = "\n".join(lines + ([closing] if closing else []))
    return fixed if _stays_inside(fixed, level) else fenced(text)


def _closing(tokens: list[Token], lines: list[str]) -> str | None:
    """The line that closes a top-level code fence or raw-HTML block left open, if any (only
    the last block can be: it then runs to the end of the text)."""
    block = next((t for t in reversed(tokens) if t.level == 0 and t.map is not None), None)
    if block is None or block.map is None:
        return None
    first, end = block.map
    last = lines[end - 1]
    if block.type == "fence":
        mark = re.escape(block.markup[0])
        closer = re.compile(rf"^ {{0,3}}{mark}{{{len(block.markup)},}}[ \t]*$")
        return block.markup if end - 1 == first or not closer.match(last) else None
    if block.type == "html_block":
        opening = lines[first].lstrip(" ")
        for start, stop, line in _HTML_ENDS:
            if start.match(opening):
                return None if stop.search(last) else line
    return None


def _lowered(tokens: list[Token], lines: list[str], level: int) -> list[str]:
    """``lines`` with their top-level headings moved down so the highest is below ``level``
    (their order kept; a setext heading becomes an ATX one, on one line)."""
    headings = [
        (i, t) for i, t in enumerate(tokens)
        if t.type == "heading_open" and t.level == 0 and t.map is not None
    ]  # fmt: skip
    if not headings:
        return lines
    shift = level + 1 - min(int(t.tag[1:]) for _, t in headings)
    if shift <= 0:
        return lines
    lines = list(lines)
    for i, token in reversed(headings):
        assert token.map is not None
        first, end = token.map
        marks = "#" * min(6, int(token.tag[1:]) + shift)
        if token.markup.startswith("#"):
            indent = _ATX.match(lines[first])
            assert indent is not None
            lines[first] = indent.group(1) + marks + lines[first][indent.end() :]
        else:  # setext: the text's lines, then the underline
            title = " ".join(tokens[i + 1].content.split("\n"))
            lines[first:end] = [f"{marks} {title}" + (" #" if title.endswith("#") else "")]
    return lines


def _stays_inside(text: str, level: int) -> bool:
    """Whether a heading of ``level`` after ``text`` (and a blank line) is read as one, and
    ``text`` holds none of that level or above."""
    probe = f"{text}\n\n{'#' * level} end\n"
    heads = [
        t for t in _parser().parse(probe)
        if t.type == "heading_open" and t.level == 0 and int(t.tag[1:]) <= level
    ]  # fmt: skip
    return len(heads) == 1 and heads[0].map is not None and heads[0].map[0] == text.count("\n") + 2


def _longest_run(text: str, char: str = "`") -> int:
    return max((len(run) for run in re.findall(f"{re.escape(char)}+", text)), default=0)


def fenced(text: str, info: str = "") -> str:
    """``text`` verbatim in a fenced code block whose fence is longer than any run of
    backticks in it."""
    fence = "`" * max(3, _longest_run(text) + 1)
    return f"{fence}{info}\n{text.rstrip(chr(10))}\n{fence}"


def code_span(text: str) -> str:
    """``text`` verbatim as inline code, on one line."""
    flat = " ".join(text.replace("\r", "\n").split("\n"))
    ticks = "`" * (_longest_run(flat) + 1)
    return f"{ticks} {flat} {ticks}"
