"""The streaming renderer, checked the way a person sees it: output fed to a terminal emulator.

Most cases drive ``_Frames`` (the renderer without its thread) with a frame after chosen chunks,
so every run is reproducible; the ``MarkdownStream`` tests go through a real pseudo-terminal
with the background thread and its throttle.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import random
import re
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatcli.liverows import fill_to_end, live_room
from chatcli.render import (
    _FENCE_OPENER,
    MarkdownStream,
    RawWriter,
    _Frames,
    _targets_shown,
    make_writer,
    sanitize,
)
from tests.render_helpers import (
    Terminal,
    chunks,
    collect,
    make_answer,
    normalize,
    one_shot,
    plain_lines,
)


@pytest.fixture(autouse=True)
def _colour_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same colour detection for the renderer and the one-shot reference, whatever the CI has."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLORTERM", "truecolor")


def _stream(
    text: str,
    width: int,
    height: int,
    *,
    frames: int,
    seed: int = 0,
    term: Terminal | None = None,
) -> Terminal:
    """Stream ``text`` through ``_Frames`` into a terminal, about ``frames`` frames at random
    chunk boundaries, checking after each frame what must always hold on screen."""
    term = term or Terminal(width, height)
    renderer = _Frames(code_theme="monokai", live=True)
    expected = plain_lines(one_shot(text, width), width)
    pieces = chunks(text, seed)
    rng = random.Random(seed)
    chance = min(1.0, frames / max(1, len(pieces)))
    for piece in pieces:
        renderer.add(piece)
        if rng.random() < chance:
            term.feed(renderer.frame(width, height))
            assert renderer._live_rows <= height - 1
            scrolled = term.scrollback()
            # Only finished output ever scrolls off: the scrollback is the answer's beginning.
            assert scrolled == expected[: len(scrolled)]
    term.feed(renderer.frame(width, height, final=True))
    assert term.transcript() == expected
    return term


@pytest.mark.parametrize("width", [40, 120])
@pytest.mark.parametrize("height", [10, 40])
@pytest.mark.parametrize("words", [50, 2000])
def test_every_line_once_in_order(words: int, width: int, height: int) -> None:
    text = make_answer(words, seed=words + width)
    _stream(text, width, height, frames=80, seed=height)


@pytest.mark.parametrize(("width", "height"), [(40, 10), (120, 40)])
def test_every_line_once_in_order_20000_words(
    width: int, height: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without colours the emulator has half the bytes to chew; layout is what is checked here.
    monkeypatch.setenv("NO_COLOR", "1")
    text = make_answer(20000, seed=7)
    assert "中文" in text or "流式" in text
    _stream(text, width, height, frames=40, seed=width)


def test_printed_blocks_concatenate_to_one_shot_render() -> None:
    """Rich's blank lines between blocks depend on the block before; the split must keep them."""
    text = make_answer(600, seed=3) + "\n---\nafter a rule\n\n<div>html</div>\n\n- last\n"
    renderer = _Frames(code_theme="monokai", live=False)
    printed = []
    for piece in chunks(text, seed=3):
        renderer.add(piece)
        printed.append(renderer.frame(60, 20))
    printed.append(renderer.frame(60, 20, final=True))
    assert sum(1 for part in printed if part) > 10  # really printed block by block
    assert normalize("".join(printed)) == normalize(one_shot(text, 60))


EDGE_CASES = {
    "hr after paragraph then text": "foo\n***x\n\nbar\n***\nbaz\n",
    "setext headings": "Title\n===\n\nSub\n---\ntext\n",
    "table interrupting paragraph": "para\n| a | b |\n|---|---|\n| 1 | 2 |\nnot a row?\n\nend\n",
    "unclosed fence": "intro\n\n```python\nx = 1\n\nmore = 2\n",
    "tilde fence and longer closer": "~~~\ncode\n~~~~\n\n````\n```\nnested\n````\ndone\n",
    "fence inside list": "- item\n  ```\n  code\n  ```\n- next\n\nafter\n",
    "indented code": "para\n\n    code line\n\n    more code\nback\n",
    "html block": "<details>\n<summary>x</summary>\n\nbody\n\n</details>\n\ntext\n",
    "nested quotes and lists": "> a\n> > b\n> - c\nlazy\n\n1) one\n2) two\n\n3. three\n",
    "no final newline": "# Head\n\nlast words without newline",
    "only blank lines": "\n\n\n",
    "long word": "x" * 130 + "\n\n" + "http://example.com/" + "y" * 50 + "\n",
    "tabs and wide": "\tindent\t中文😀\n\n| 表 | 😀 |\n|--|--|\n| 中文字符 | x |\n",
    "deep nesting": ">" * 40 + " deep\n\n" + "".join("  " * i + "- l\n" for i in range(12)),
    "reference defined before use": "[x]: http://a.example\n\nsee [x]\n\n![img](http://i/x.png)\n",
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_cases_char_by_char(name: str) -> None:
    text = EDGE_CASES[name]
    for width, height in [(40, 6), (80, 24)]:
        term = Terminal(width, height)
        renderer = _Frames(code_theme="monokai", live=True)
        expected = plain_lines(one_shot(text, width), width)
        for char in text:
            renderer.add(char)
            term.feed(renderer.frame(width, height))
            scrolled = term.scrollback()
            assert scrolled == expected[: len(scrolled)]
        term.feed(renderer.frame(width, height, final=True))
        assert term.transcript() == expected, name


def test_weird_markdown_never_raises() -> None:
    rng = random.Random(5)
    alphabet = "#*_`~->|[]()!<>\\ \n\n1.:=\t中😀\u200b\u0301x"
    for _ in range(20):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 200)))
        renderer = _Frames(code_theme="monokai", live=True)
        for piece in chunks(text, rng.randint(0, 99), max_size=5):
            renderer.add(piece)
            renderer.frame(30, 8)
        renderer.frame(30, 8, final=True)


def test_huge_open_code_block_is_live_by_its_last_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """The live region never outgrows the screen, and a frame's cost does not grow either."""
    monkeypatch.setenv("NO_COLOR", "1")
    code = "".join(f"line_{i} = {i}\n" for i in range(300))
    text = "intro\n\n```python\n" + code + "```\n\nafter\n"
    width, height = 60, 12
    term = Terminal(width, height)
    renderer = _Frames(code_theme="monokai", live=True)
    sizes = []
    for line in text.splitlines(keepends=True):
        renderer.add(line)
        out = renderer.frame(width, height)
        sizes.append(len(out))
        term.feed(out)
        assert renderer._live_rows <= height - 1
        if line == "line_250 = 250\n":
            screen = "\n".join(term.visible())
            assert "line_250 = 250" in screen
            assert "line_100 " not in screen
            assert "intro" in term.scrollback() or "intro" in screen
    assert max(sizes[50:300]) < 3 * max(sizes[10:20]) + 500
    term.feed(renderer.frame(width, height, final=True))
    assert term.transcript() == plain_lines(one_shot(text, width), width)


def test_resize_while_streaming_leaves_no_trace_of_the_live_region() -> None:
    """A terminal that truncates on resize (xterm, pyte) must show the printed output only."""
    text = make_answer(400, seed=11)
    live, reference = Terminal(80, 20), Terminal(80, 20)
    renderer = _Frames(code_theme="monokai", live=True)
    printer = _Frames(code_theme="monokai", live=False)
    sizes = [(80, 20)] * 120 + [(50, 12)] * 120 + [(70, 16)] * 10**4
    for i, piece in enumerate(chunks(text, seed=11)):
        width, height = sizes[i]
        if (live.screen.columns, live.screen.lines) != (width, height):
            live.resize(width, height)
            reference.resize(width, height)
        renderer.add(piece)
        printer.add(piece)
        live.feed(renderer.frame(width, height))
        reference.feed(printer.frame(width, height))
    live.feed(renderer.frame(70, 16, final=True))
    reference.feed(printer.frame(70, 16, final=True))
    assert live.transcript() == reference.transcript()
    transcript = [line for line in live.transcript() if line.strip()]
    assert len(transcript) > 30


# --- MarkdownStream through a real pseudo-terminal ---------------------------------------


class _Pty:
    """A pseudo-terminal of a given size; what is written to it is collected from its master."""

    def __init__(self, columns: int, lines: int) -> None:
        self.master, self.slave_fd = pty.openpty()
        self.resize(columns, lines)
        self.slave = open(self.slave_fd, "w", encoding="utf-8", closefd=True)  # noqa: SIM115
        self.received, self._reader = collect(self.master)

    def resize(self, columns: int, lines: int) -> None:
        size = struct.pack("HHHH", lines, columns, 0, 0)
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, size)

    def close(self) -> str:
        self.slave.close()
        self._reader.join(timeout=5)
        os.close(self.master)
        return self.received.decode("utf-8")


@pytest.fixture
def tty() -> Iterator[_Pty]:
    term = _Pty(100, 30)
    yield term
    if not term.slave.closed:
        term.close()


def _replay(output: str, columns: int, lines: int) -> Terminal:
    term = Terminal(columns, lines)
    term.stream.feed(output)  # the pty already turned LF into CR LF
    return term


def test_markdown_stream_through_pty(tty: _Pty) -> None:
    text = make_answer(1500, seed=21)
    with MarkdownStream(tty.slave) as stream:
        for i, piece in enumerate(chunks(text, seed=21)):
            stream.feed(piece)
            if i % 20 == 0:
                time.sleep(0.005)  # a paced stream: the refresh thread draws meanwhile
    output = tty.close()
    assert output.count("\x1b[?2026h") > 3  # frames were drawn while streaming
    term = _replay(output, 100, 30)
    assert term.transcript() == plain_lines(one_shot(text, 100), 100)
    assert term.screen.cursor.x == 0


def test_markdown_stream_reasks_the_size_each_frame(tty: _Pty) -> None:
    stream = MarkdownStream(tty.slave)
    stream.feed("first paragraph\n\n")
    stream.feed("x\n")
    time.sleep(0.2)
    tty.resize(40, 30)
    stream.feed("\n" + "word " * 30 + "\n\nend\n")
    stream.finish()
    lines = _replay(tty.close(), 100, 30).transcript()
    wrapped = [line for line in lines if line.startswith("word")]
    assert len(wrapped) >= 4
    assert all(len(line) <= 40 for line in wrapped)


def test_ctrl_c_prints_what_arrived_and_leaves_terminal_clean(tty: _Pty) -> None:
    text = make_answer(400, seed=2) + "\n```python\ndef unfinished():\n    return"
    arrived = ""
    with pytest.raises(KeyboardInterrupt), MarkdownStream(tty.slave) as stream:
        for i, piece in enumerate(chunks(text, seed=2)):
            stream.feed(piece)
            arrived += piece
            if i % 50 == 0:
                time.sleep(0.002)
        raise KeyboardInterrupt
    output = tty.close()
    term = _replay(output, 100, 30)
    assert term.transcript() == plain_lines(one_shot(arrived, 100), 100)
    for on, off in [
        ("\x1b[?25l", "\x1b[?25h"),
        ("\x1b[?7l", "\x1b[?7h"),
        ("\x1b[?2026h", "\x1b[?2026l"),
    ]:
        assert output.rfind(off) > output.rfind(on)
    assert output.endswith("\x1b[?2026l")


def test_markdown_stream_off_a_tty_prints_blocks_without_control_sequences() -> None:
    text = make_answer(300, seed=4)
    out = io.StringIO()
    with MarkdownStream(out, width=60) as stream:
        for piece in chunks(text, seed=4):
            stream.feed(piece)
    assert normalize(out.getvalue()) == normalize(one_shot(text, 60))
    assert "\x1b[?" not in out.getvalue() and "\x1b[J" not in out.getvalue()


def test_empty_answer_writes_nothing(tty: _Pty) -> None:
    with MarkdownStream(tty.slave):
        pass
    assert tty.close() == ""


# --- sanitizing model text ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("red \x1b[31mtext\x1b[0m", "red text"),
        ("title\x1b]0;pwned\x07 ok", "title ok"),
        ("link \x1b]8;;http://x\x1b\\here\x1b]8;;\x1b\\", "link here"),
        ("clear\x1b[2J\x1b[H screen", "clear screen"),
        ("reset\x1bc now", "reset now"),
        ("dcs \x1bPq#0;1\x1b\\ end", "dcs  end"),
        ("bell\x07 back\x08space\rCR", "bell backspaceCR"),
        ("c1 \x9b31m csi", "c1 31m csi"),
        ("keep\ttabs\nand lines 中文😀", "keep\ttabs\nand lines 中文😀"),
        ("model \u202einim-o4-tpg\u202c!", "model inim-o4-tpg!"),  # "Trojan Source"
        (
            "isolate \u2067abc\u2069 and marks \u200f kept שלום",
            "isolate abc and marks \u200f kept שלום",
        ),
    ],
)
def test_sanitize(raw: str, clean: str) -> None:
    assert sanitize(raw) == clean


def test_escape_split_across_chunks_is_removed_whole(tty: _Pty) -> None:
    with RawWriter(tty.slave) as writer:
        for piece in ["a \x1b", "[3", "1mred\x1b]0;ti", "tle\x07 b"]:
            writer.feed(piece)
    assert tty.close() == "a red b\r\n"


def test_model_escapes_do_not_reach_the_terminal(tty: _Pty) -> None:
    with MarkdownStream(tty.slave) as stream:
        stream.feed("# Hi \x1b]0;owned\x07\n\n```\n\x1b[2Jcode\x1b[1")
        stream.feed("0m\n```\n")
    output = tty.close()
    assert "owned" not in output and "\x1b[2J" not in output and "\x1b[10m" not in output


# --- RawWriter and make_writer --------------------------------------------------------------


class _Pipe(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1


def test_raw_writer_off_a_tty_is_byte_exact_and_flushes_each_chunk() -> None:
    out = _Pipe()
    with RawWriter(out) as writer:
        writer.feed("a \x1b[31mb")
        writer.feed("c")
    assert out.getvalue() == "a \x1b[31mbc\n"  # data for a pipe is not edited, only ended
    assert out.flushes >= 2


def test_raw_writer_ends_the_line_on_a_tty(tty: _Pty) -> None:
    writer = RawWriter(tty.slave)
    writer.feed("answer")
    writer.finish()
    writer.finish()
    assert tty.close() == "answer\r\n"


def test_raw_writer_lets_broken_pipe_propagate() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    with open(write_end, "w") as file:
        writer = RawWriter(file)
        with pytest.raises(BrokenPipeError):
            writer.feed("x" * 100)
        writer.abort()  # abort is quiet: it runs while another exception is on its way
        with pytest.raises(BrokenPipeError):
            file.close()


def test_make_writer_modes(tty: _Pty) -> None:
    pipe = io.StringIO()
    assert isinstance(make_writer("auto", pipe), RawWriter)
    assert isinstance(make_writer("never", tty.slave), RawWriter)
    assert isinstance(make_writer("auto", tty.slave), MarkdownStream)
    assert isinstance(make_writer("always", pipe), MarkdownStream)
    with pytest.raises(ValueError, match="auto, always or never"):
        make_writer("sometimes", pipe)


def test_importing_render_does_not_load_rich() -> None:
    code = (
        "import sys, chatcli.render;"
        "print([m for m in sys.modules if m.startswith(('rich', 'markdown_it'))])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_unsized_pty_falls_back_to_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    term = _Pty(0, 0)  # what a container or CI runner without a size reports
    text = "word " * 40 + "\n"
    with MarkdownStream(term.slave) as stream:
        stream.feed(text)
    lines = _replay(term.close(), 80, 24).transcript()
    assert lines == plain_lines(one_shot(text, 80), 80)


def test_notice_during_the_live_view_goes_above_it_and_stays(tty: _Pty) -> None:
    """A notice (stderr, same terminal) arriving while a tall live region is drawn is printed
    above the live region, once per keyed run, and no later frame erases it."""
    from chatcli.events import Notice
    from chatcli.output import Notifier

    code = "\n".join(f"line_{i} = {i}" for i in range(80))
    text = f"intro paragraph\n\n```python\n{code}\n```\n\nafter the code\n"
    notifier = Notifier(tty.slave)
    half = len(text) // 2
    with MarkdownStream(tty.slave) as stream:
        stream.feed(text[:half])
        deadline = time.monotonic() + 10
        while b"\x1b[?7l" not in tty.received:  # a live frame is on screen
            assert time.monotonic() < deadline
            time.sleep(0.01)
        notifier.notice(Notice("retrying in 2 s", key="retry"), stream)
        notifier.notice(Notice("retrying in 1 s", key="retry"), stream)  # a tick: not repeated
        notifier.notice(Notice("1 earlier turn left out"), stream)
        for piece in chunks(text[half:], seed=4):
            stream.feed(piece)
    term = _replay(tty.close(), 100, 30)
    shown = term.transcript()
    notices = [line for line in shown if line.startswith("chatcli:")]
    assert notices == ["chatcli: retrying in 2 s", "chatcli: 1 earlier turn left out"]
    assert [line for line in shown if not line.startswith("chatcli:")] == plain_lines(
        one_shot(text, 100), 100
    )


# --- parsing and rendering only what changed ------------------------------------------------
#
# ``_Frames`` parses a long list from one of its last items, checks the new lines of an open
# code fence for its closing line only, and renders only the blocks and list items the live
# frame shows. Each frame must still be, byte for byte, what parsing and rendering everything
# gives: ``_FromScratch`` is the renderer as it was before, and the frames of the two are
# compared over adversarial Markdown streamed in random pieces.


class _FromScratch(_Frames):
    """Every frame parses all of ``pending`` and renders all of its unfinished block."""

    def _finished_end(self) -> int:
        complete = self.pending.rfind("\n") + 1
        if complete <= self._scanned:
            return 0
        self._scanned = complete
        starts = [
            token.map[0]
            for token in self._blocks.parse(self.pending[:complete])
            if token.level == 0 and token.nesting >= 0 and token.map
        ]
        if len(starts) < 2:
            return 0
        offset = 0
        for _ in range(starts[-1]):
            offset = self.pending.index("\n", offset) + 1
        return offset

    def _render_tail(self, console: Any, height: int) -> list[str]:
        room = live_room(height)
        text = self.pending
        if room <= 0 or not text.strip():
            return []
        if _FENCE_OPENER.match(text):
            lines = text.split("\n")
            if len(lines) > room + 3:
                text = "\n".join([lines[0], *lines[-(room + 2) :]])
        rendered = self._render_blocks(console, text, permanent=False)
        return [fill_to_end(line) for line in rendered.split("\n")[:-1][-room:]]

    def _render_blocks(self, console: Any, text: str, *, permanent: bool) -> str:
        from markdown_it.token import Token
        from rich.markdown import Markdown, UnknownElement
        from rich.text import Text

        try:
            env = self._env if permanent else {"references": dict(self._env["references"])}
            tokens = self._parser.parse(text, env)
            if self._separate:
                tokens.insert(0, Token("html_block", "", 0, content=""))
            markdown = Markdown("", code_theme="monokai")
            markdown.parsed = _targets_shown(tokens)  # what links show is not this test's
            with console.capture() as capture:
                console.print(markdown, style=self._style)
            rendered = capture.get()
        except Exception:
            tokens = []
            with console.capture() as capture:
                console.print(Text(text), style=self._style)
            rendered = capture.get()
        if permanent:
            tops = [t for t in tokens if t.level == 0 and t.nesting >= 0]
            if tops:
                element = Markdown.elements.get(tops[-1].type, UnknownElement)
                self._separate = element.new_line
        return "\n".join(line.rstrip(" ") for line in rendered.split("\n"))


_LINK_ID = re.compile(r"\x1b\]8;id=[^;]*;")  # rich numbers each hyperlink at random


def _same_frames(text: str, sizes: list[int], width: int, height: int) -> None:
    """Stream ``text`` in pieces of ``sizes`` (cycled), a frame after each, through both
    renderers: every frame and the final one must be the same bytes."""
    renderer = _Frames(code_theme="monokai", live=True)
    reference = _FromScratch(code_theme="monokai", live=True)
    at, step = 0, 0
    while at < len(text):
        piece = text[at : at + sizes[step % len(sizes)]]
        at, step = at + len(piece), step + 1
        renderer.add(piece)
        reference.add(piece)
        got, want = renderer.frame(width, height), reference.frame(width, height)
        assert _LINK_ID.sub("", got) == _LINK_ID.sub("", want), (at, piece)
    got, want = (
        renderer.frame(width, height, final=True),
        reference.frame(width, height, final=True),
    )
    assert _LINK_ID.sub("", got) == _LINK_ID.sub("", want)


_WORD = st.sampled_from(
    [
        *("alpha", "beta", "中文", "😀", "**b**", "`c`", "[x]", "[x][]", "![i](http://i/x.png)"),
        *("<b>x</b>", "a|b", "http://e.x/y", "\\*", "&amp;", "~~s~~", "_e_"),
    ]
)
_PIECE = st.sampled_from(
    [
        *("```", "~~~", "````", "```python", "``` a|b", "|---|---|", "| a | b |", "- ", "* "),
        *("+ ", "1. ", "2) ", "10. ", "   ", "    ", "\t", "> ", "# ", "===", "---", "***"),
        *("<div>", "</div>", "<!--", "-->", "[x]: http://a.example", "![i](http://i/x.png)"),
        *("word", "中文", "\n", "\n", "\n\n", "  - nested", "   ```", "\\", "|", ":", "x", " "),
    ]
)


@st.composite
def _prose(draw: st.DrawFn, most: int = 10) -> str:
    return " ".join(draw(st.lists(_WORD, min_size=1, max_size=most)))


@st.composite
def _list_block(draw: st.DrawFn) -> str:
    """A top-level list whose items hold what can end or change one: code, sub-lists, lazy
    lines, tables, link definitions, rules, HTML, pipes on the item's own line."""
    ordered = draw(st.booleans())
    start = draw(st.sampled_from([1, 1, 8, 99, 998]))
    marker = draw(st.sampled_from([".", ")"] if ordered else ["-", "*", "+"]))
    items = []
    for number in range(draw(st.integers(2, 16))):
        head = (
            f"{draw(st.sampled_from([start + number] * 3 + [start]))}{marker}"
            if ordered
            else marker
        )
        pad = " " * (len(head) + 1)
        body = [f"{draw(st.sampled_from(['', ' ', '  ']))}{head} {draw(_prose())}"]
        for extra in draw(st.lists(st.integers(0, 9), max_size=3)):
            body.append(
                [
                    f"\n{pad}```sh\n{pad}run {number}\n{pad}run again\n{pad}```",
                    f"{pad}- {draw(_prose(4))}\n{pad}- {draw(_prose(4))}",
                    f"\n{pad}{draw(_prose())}",
                    draw(_prose(5)),  # a lazy continuation line
                    f"{pad}| a | b |\n{pad}|---|---|\n{pad}| 1 | 2 |",
                    f"\n{pad}[x]: http://ref.example",
                    f"{pad}---" if number % 2 else "---",
                    f"\n{pad}<div>\n{pad}html\n{pad}</div>",
                    "|---|---|",
                    f"{pad}```\n{pad}still open",
                ][extra]
            )
        items.append("\n".join(body) + draw(st.sampled_from(["\n", "\n", "\n\n"])))
    after = ["", "after the list\n", "\n---\n", "- other\n", "```\nopen\n", "| a |\n|---|\n"]
    return "".join(items) + draw(st.sampled_from(after))


@st.composite
def _fence_block(draw: st.DrawFn) -> str:
    """A code fence with lines that almost close it, maybe closed, maybe not."""
    marker = draw(st.sampled_from(["```", "~~~", "````", "~~~~~"]))
    near = ["```", "~~~", "``", "````", " ```", "   ```", "    ```", "\t```", "``` x", "```  "]
    near += [marker[:-1], marker + "`", marker + " ", "   " + marker, "\t" + marker]
    lines = draw(st.lists(st.sampled_from(near) | _prose(4), max_size=40))
    info = draw(st.sampled_from(["python", "", " a|b", "`x"]))
    second = draw(st.sampled_from(["", "|---|---|\n"]))
    end = draw(st.sampled_from(["\n", "", f"\n{marker}\n\nafter\n"]))
    return f"{marker}{info}\n{second}" + "\n".join(lines) + end


_LONGEST = 900
"""Streams are cut to this many characters: each step renders the whole text again for the
reference, so a stream's cost grows with the square of its length, and the few of 2,000 to
3,000 characters took most of the test's time without finding more (every construct drawn fits
well inside; long blocks have their own tests above)."""
_STREAMS = st.lists(
    _list_block()
    | _fence_block()
    | st.lists(_PIECE, max_size=40).map("".join)
    | _prose(30).map(lambda text: text + "\n")
    | st.just("> quote\n> more\n>\n> - in a list\n"),
    min_size=1,
    max_size=4,
).map(lambda blocks: "\n".join(blocks)[:_LONGEST])
_SIZES = st.sampled_from([(20, 4), (30, 6), (40, 10), (80, 24), (60, 3), (100, 40)])
_EXAMPLES = int(os.environ.get("CHATCLI_FUZZ_EXAMPLES", "0")) or 50


@settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_STREAMS, st.lists(st.integers(1, 40), min_size=1, max_size=8), _SIZES)
def test_frames_are_those_of_parsing_and_rendering_everything(
    text: str, sizes: list[int], size: tuple[int, int]
) -> None:
    _same_frames(text, sizes, *size)


def _steps(count: int) -> str:
    return "Steps:\n\n" + "".join(
        f"{i}. **Step {i}** {'word ' * (i % 7 + 3)}\n\n"
        f"{' ' * (len(str(i)) + 2)}```bash\n"
        + "".join(f"{' ' * (len(str(i)) + 2)}run {i} --flag {j}\n" for j in range(i % 4 + 1))
        + f"{' ' * (len(str(i)) + 2)}```\n\n"
        f"{' ' * (len(str(i)) + 2)}- note {i}\n\n"
        for i in range(1, count + 1)
    )


def _long_shapes(n: int) -> dict[str, str]:
    """Long blocks streamed whole, about ``n`` lines each."""
    return {
        "numbered steps with code": _steps(n // 8) + "Done.\n",
        "bullet list": "".join(f"- item {i} {'中文 ' * (i % 5)}\n" for i in range(n)) + "\nend\n",
        "ordered list across widths": "".join(f"{i}. item\n" for i in range(95, 95 + n)) + "\nx\n",
        "list with an image late": "".join(f"- item {i}\n" for i in range(n // 2))
        + "- ![img](http://i/x.png) item\n"
        + "".join(f"- more {i}\n" for i in range(n // 2)),
        "open fence with near closers": "intro\n\n````python\n"
        + "".join(f"line_{i} = {i}\n" + ("```\n" if i % 37 == 0 else "") for i in range(n)),
        "fence closed then a list": "```\n"
        + "code\n" * (n // 2)
        + "```\n\n"
        + "".join(f"- x{i}\n" for i in range(n // 2)),
        "list then a paragraph in one long line": "".join(f"- item {i}\n" for i in range(n))
        + "\n"
        + "word " * 200,
        # Rich renders an image in a list ahead of the list, wherever the item is.
        "loose list of images": "".join(f"- ![{i}](http://i/{i}.png) x\n\n" for i in range(n // 3)),
        # A link defined in an early item applies to every later one.
        "link defined in an early item": "- a\n\n  [x]: http://ref.example\n"
        + "".join(f"- see [x] {i}\n" for i in range(n)),
        # From an item's line on, a delimiter row under it would make a table.
        "items with pipes": "".join(
            f"- a | b {i}\n" + "---|---\n" * (i % 9 == 0) for i in range(n)
        ),
    }


@pytest.mark.parametrize("name", sorted(_long_shapes(0)))
def test_long_blocks_stream_as_from_scratch(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")  # layout is what is compared; half the bytes
    _same_frames(_long_shapes(64)[name], [17, 5, 29, 1, 40], 80, 20)


# Short streams where what a line means changes with the lines after it.
TURNING = {
    "a fence opener that is a table header": "``` a|b\n|---|---|\nrow\n\nafter\n",
    "a table ended by another fence": "``` a|b\n|---|---|\n~~~\nrow\n\nafter\n",
    "a fence closed by its last line": "```\ncode\nmore\n```\n\npara\n",
    "an item that turns into a table": "- a\n- b\n- c\n- d\n- e\n- f | g\n---|---\n- h\n\nend\n",
    "an item that turns into a rule": "- a\n- b\n- c\n- d\n- e\n- f\n- - -\n- g\n\nend\n",
    "items under a setext line": "- a\n- b\n- c\n- d\n- e\n- f\n---\n- g\n===\n",
    "a fence in an item left open": "- a\n- b\n- c\n- d\n- e\n  ```\n  x\n- f\n- g\n  ```\n",
    "lazy lines and a new list": "1. a\nlazy\n2. b\n3. c\n4. d\n5. e\n6) f\n7) g\n\n* h\n",
}


@pytest.mark.parametrize("name", sorted(TURNING))
def test_turning_lines_stream_as_from_scratch(name: str) -> None:
    for width, height in [(30, 4), (40, 6)]:
        _same_frames(TURNING[name], [1], width, height)


def _record_parses(renderer: _Frames, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The lengths of the texts ``renderer``'s parsers are given from now on."""
    sizes: list[int] = []
    for parser in (renderer._blocks, renderer._parser):

        def parse(src: str, env: Any = None, real: Any = parser.parse) -> Any:
            sizes.append(len(src))
            return real(src, env)

        monkeypatch.setattr(parser, "parse", parse)
    return sizes


def test_a_long_block_is_parsed_from_near_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """The work of a frame must not grow with the block being streamed: a long list is parsed
    from one of its last items, a long open code block only line by line."""
    shapes = _long_shapes(300)
    for text in (shapes["bullet list"], shapes["numbered steps with code"]):
        renderer = _Frames(code_theme="monokai", live=True)
        parsed = _record_parses(renderer, monkeypatch)
        longest = 0
        for piece in chunks(text, seed=1, max_size=90):
            renderer.add(piece)
            parsed.clear()
            renderer.frame(80, 20)
            longest = max(longest, len(renderer.pending))
            if len(renderer.pending) > 3000:
                assert max(parsed, default=0) < 1500, (len(renderer.pending), parsed)
        assert longest > 4500  # the list was one block, long enough to tell
    renderer = _Frames(code_theme="monokai", live=True)
    renderer.add("```python\n")
    for i in range(2000):
        renderer.add(f"value_{i} = {i}\n")
        if i % 100 < 2:
            renderer.frame(80, 20)
    renderer.frame(80, 20)
    parsed = _record_parses(renderer, monkeypatch)
    renderer.add("one more line\n")
    renderer.frame(80, 20)
    assert parsed and max(parsed) < 200


def test_a_link_shows_its_target_when_the_text_is_not_it() -> None:
    """A terminal hyperlink shows only its text: an answer's link must not pass off one
    address as another, so the target follows any text that is not the address itself."""
    out = io.StringIO()
    with MarkdownStream(out, width=100, height=24, live=False) as writer:
        writer.feed(
            "Log in at [https://bank.example](https://evil.example/login), read "
            "[the docs](https://docs.example) or <https://plain.example/x>.\n"
        )
    text = re.sub(r"\x1b\]8;[^\x1b]*\x1b\\|\x1b\[[0-9;]*m", "", out.getvalue())
    assert "https://bank.example (https://evil.example/login)" in text
    assert "the docs (https://docs.example)" in text
    assert "https://plain.example/x." in text and "(https://plain.example/x)" not in text


def test_the_live_region_is_no_taller_than_the_rows_above_it() -> None:
    """With the rows above it known (the REPL's prompt learns them), the live region keeps no
    more rows than that, and takes more as finished blocks print above it: a narrower pane
    then pushes only finished rows into the history."""
    renderer = _Frames(code_theme="monokai", live=True, rows_above=2)
    code = "\n".join(f"line_{i} = {i}" for i in range(40))
    renderer.add("```python\n" + code)
    renderer.frame(80, 30)
    assert renderer._live_rows == 2  # not the 14 rows half the pane would allow
    renderer.add("\n```\n\nA paragraph.\n\n```python\n" + code)
    out = re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|[78])", "", renderer.frame(80, 30))
    assert out.count("line_39") == 2  # the first block printed whole, once; the second's live
    assert renderer._live_rows == 14  # 2 + the block's 40 rows and more above: half the pane
