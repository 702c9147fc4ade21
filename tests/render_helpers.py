"""Helpers for the rendering tests and benchmark: sample answers and a terminal emulator.

``Terminal`` is pyte plus a scrollback, fed exactly what a pseudo-terminal would pass on, so a
test sees what a person would see: the screen, and every line that scrolled off its top.
"""

from __future__ import annotations

import io
import os
import random
import re
import threading
from itertools import islice

import pyte

_PROSE = (
    "the model streams tokens while the terminal keeps up with every finished block of text "
    "and code so nothing is printed twice or lost along the way when answers grow long render "
    "parse block table list quote heading width height cursor scroll"
)
_ENGLISH = _PROSE.split()
_CHINESE = ["流式", "渲染", "终端", "模型", "回答", "代码", "表格", "列表", "中文", "宽度", "测试"]
_EMOJI = ["😀", "🚀", "👍", "🎉", "🔥"]
_CODE = [
    "def fib(n: int) -> int:",
    "    if n < 2:",
    "        return n",
    '    return fib(n - 1) + fib(n - 2)  # "recursion"',
    "for i in range(10):",
    "    print(i, fib(i))",
    "class Point:",
    "    x: float = 0.0",
]
_OSC8_ID = re.compile(r"\x1b\]8;id=\d+;")


def _words(rng: random.Random, count: int) -> str:
    out = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.12:
            out.append(rng.choice(_CHINESE))
        elif roll < 0.15:
            out.append(rng.choice(_EMOJI))
        elif roll < 0.18:
            out.append(f"**{rng.choice(_ENGLISH)}**")
        elif roll < 0.20:
            out.append(f"`{rng.choice(_ENGLISH)}`")
        else:
            out.append(rng.choice(_ENGLISH))
    return " ".join(out)


def make_answer(words: int, seed: int = 0) -> str:
    """A Markdown answer of about ``words`` words: headings, paragraphs, code, lists, a table.

    Deterministic for a seed; mixes Chinese text and emoji into the prose.
    """
    rng = random.Random(seed)
    blocks: list[str] = []
    count = 0
    kinds = ["para", "para", "code", "list", "olist", "table", "quote", "heading", "para"]
    while count < words:
        kind = kinds[len(blocks) % len(kinds)] if len(blocks) < len(kinds) else rng.choice(kinds)
        if kind == "para":
            n = rng.randint(20, 60)
            blocks.append(_words(rng, n))
        elif kind == "heading":
            n = rng.randint(2, 5)
            blocks.append("#" * rng.randint(1, 3) + " " + _words(rng, n))
        elif kind == "code":
            lines = [rng.choice(_CODE) for _ in range(rng.randint(3, 12))]
            n = sum(len(line.split()) for line in lines)
            blocks.append("```python\n" + "\n".join(lines) + "\n```")
        elif kind in ("list", "olist"):
            items = []
            n = 0
            for i in range(rng.randint(2, 5)):
                k = rng.randint(3, 12)
                n += k
                marker = "-" if kind == "list" else f"{i + 1}."
                items.append(f"{marker} {_words(rng, k)}")
                if rng.random() < 0.2:
                    items.append(f"   - {_words(rng, 4)}")
                    n += 4
            blocks.append("\n".join(items))
        elif kind == "table":
            rows = ["| name | 说明 | value |", "|---|---|---:|"]
            n = 0
            for _ in range(rng.randint(2, 5)):
                rows.append(f"| {_words(rng, 2)} | {_words(rng, 3)} | {rng.randint(0, 999)} |")
                n += 6
            blocks.append("\n".join(rows))
        else:
            n = rng.randint(10, 30)
            blocks.append("> " + _words(rng, n))
        count += n
    return "\n\n".join(blocks) + "\n"


def tall_answer(words: int, seed: int) -> str:
    """``make_answer`` (prose with CJK and emoji, lists, tables, code) plus two code blocks of
    60 lines, taller than any pane here, so the live region fills the pane and starts at its top
    row. Every line of those blocks is unique."""
    blocks = make_answer(words, seed=seed).rstrip("\n").split("\n\n")
    for number, where in enumerate([2, len(blocks) * 2 // 3]):
        code = "\n".join(f"block{number}_value_{i} = compute({i})  # 第 {i} 行" for i in range(60))
        blocks.insert(where, f"```python\n{code}\n```")
    return "\n\n".join(blocks) + "\n"


def chunks(text: str, seed: int = 0, *, max_size: int = 12) -> list[str]:
    """Split text the way a model streams it: small pieces of random length."""
    rng = random.Random(seed)
    out = []
    i = 0
    while i < len(text):
        size = rng.randint(1, max_size)
        out.append(text[i : i + size])
        i += size
    return out


def one_shot(text: str, width: int, *, code_theme: str = "monokai") -> str:
    """The whole answer rendered once by rich, as a terminal at ``width`` would receive it
    (a link whose text is not its target followed by it, as chatcli shows links)."""
    from rich.console import Console
    from rich.markdown import Markdown

    console = Console(
        file=io.StringIO(), force_terminal=True, width=width, color_system="truecolor"
    )
    from chatcli.render import _targets_shown

    markdown = Markdown(text, code_theme=code_theme)
    markdown.parsed = _targets_shown(markdown.parsed)  # links show their targets, as chatcli's
    with console.capture() as capture:
        console.print(markdown)
    return capture.get()


def normalize(rendered: str) -> list[str]:
    """Lines with trailing spaces and the random OSC 8 hyperlink ids removed."""
    rendered = _OSC8_ID.sub("\x1b]8;id=0;", rendered)
    return [line.rstrip(" ") for line in rendered.split("\n")]


class _Screen(pyte.Screen):
    """A pyte screen that keeps the rows scrolled off its top in ``top`` (pyte's own
    ``HistoryScreen`` does too, but wraps every attribute access for its paging: it made the
    emulator most of a long rendering test's time)."""

    def __init__(self, columns: int, lines: int) -> None:
        self.top: list[dict[int, pyte.screens.Char]] = []
        super().__init__(columns, lines)

    def index(self) -> None:
        top, bottom = self.margins or pyte.screens.Margins(0, self.lines - 1)
        if self.cursor.y == bottom:
            self.top.append(self.buffer[top])
        super().index()


class Terminal:
    """A pyte screen that keeps every line scrolled off its top, like a terminal's scrollback."""

    def __init__(self, columns: int, lines: int) -> None:
        self.screen = _Screen(columns, lines)
        self.stream = pyte.Stream(self.screen)
        self._scrolled: list[str] = []

    def feed(self, output: str) -> None:
        """What the program wrote; a pty's ``onlcr`` turns each newline into CR LF."""
        self.stream.feed(output.replace("\n", "\r\n"))

    def resize(self, columns: int, lines: int) -> None:
        """Resize like xterm, which does not reflow: rows cut at the right; when the screen gets
        shorter, rows above the cursor go to the scrollback and rows below it are dropped."""
        screen = self.screen
        if lines < screen.lines:
            drop = max(0, screen.cursor.y + 1 - lines)
            rows = [screen.buffer[y] for y in range(screen.lines)]
            screen.top.extend(rows[:drop])
            screen.buffer.clear()
            for y, row in enumerate(rows[drop : drop + lines]):
                screen.buffer[y] = row
            screen.cursor.y -= drop
            screen.lines = lines
        screen.resize(lines, columns)

    def _text(self, line: dict[int, pyte.screens.Char]) -> str:
        return "".join(line[x].data for x in range(self.screen.columns)).rstrip()

    def scrollback(self) -> list[str]:
        """Lines scrolled off the top, oldest first (converted once each: tests call this often)."""
        history = self.screen.top
        self._scrolled += [self._text(line) for line in islice(history, len(self._scrolled), None)]
        return list(self._scrolled)

    def transcript(self) -> list[str]:
        """Scrollback, then the screen down to the cursor's line: all the program showed."""
        rows = [self._text(self.screen.buffer[y]) for y in range(self.screen.cursor.y)]
        return self.scrollback() + rows

    def visible(self) -> list[str]:
        return [self._text(self.screen.buffer[y]) for y in range(self.screen.lines)]


def plain_lines(rendered: str, width: int) -> list[str]:
    """What ``rendered`` looks like on a fresh terminal tall enough to hold all of it."""
    lines = normalize(rendered)  # trailing blanks show as nothing; dropping them saves time
    term = Terminal(width, len(lines) + 1)
    term.feed("\n".join(lines))
    return term.transcript()


def collect(master: int) -> tuple[bytearray, threading.Thread]:
    """Everything written to a pseudo-terminal, read from its ``master`` on a thread into the
    returned buffer until the terminal closes (join the thread to have it all)."""
    received = bytearray()

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            received.extend(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    return received, reader
