"""Stream an answer to the terminal: a block-stable Markdown live view, or the raw text.

Re-rendering the whole answer on every chunk costs CPU that grows with the square of its length,
and a live region taller than the screen cannot be redrawn once it has scrolled. So
``MarkdownStream`` parses the text so far, prints every *finished* top-level block once,
permanently, into normal scrollback, and keeps only the unfinished last block in a live region
of at most half the pane at the bottom. The boundary between the two only moves forward, and a
frame parses only the text after it; of a long unfinished block (an open code block, a list of
many items) a frame parses and renders only about as much as the live region shows, and draws
the same bytes as parsing and rendering all of it would (see ``_Frames``).

Terminal protocol of the live region: the cursor is parked at the top-left of the live frame
between frames (hidden meanwhile). The next frame first erases the old one row by row (save
cursor, ``ESC [ 2 K`` then cursor-down per row, restore cursor), then prints the newly finished
blocks and the new live lines, and moves the cursor back up to the live frame's top. There is
no "erase below" (``ESC [ J``): tmux and GNU screen take one from the top-left corner as a screen
clear and save the whole screen, live rows included, into their scrollback. The live lines are
drawn with auto-wrap off, so one line is exactly one row, and use only the cells of their
text (``liverows``: a resize must not push live rows into the history); after a width change
the old frame is erased as the terminal rewrapped it (tmux and screen do, xterm cuts), counted
row by row: erasing a blank row below it too is harmless, and cursor-down stops at the bottom
without scrolling. A resize while no text arrives redraws the live rows within 0.1 s. Each frame is
one synchronized update (DEC mode 2026): terminals without it ignore the unknown private mode.
Notices from other writers go ``above`` the live region, so no frame erases them.

Model text is untrusted: ``sanitize`` removes terminal control sequences before anything reaches
the screen. Top-level imports are stdlib only; rich and markdown-it load on the first frame.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TextIO

from chatcli.liverows import fill_to_end, live_room, reflowed_rows
from chatcli.safetext import Sanitizer, sanitize
from chatcli.terminal import is_dumb, isatty

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from rich.console import Console

__all__ = ["MarkdownStream", "RawWriter", "make_writer", "sanitize"]

_SYNC_START, _SYNC_END = "\x1b[?2026h", "\x1b[?2026l"
_HIDE_CURSOR, _SHOW_CURSOR = "\x1b[?25l", "\x1b[?25h"
_WRAP_OFF, _WRAP_ON = "\x1b[?7l", "\x1b[?7h"
_ERASE_LINE, _CURSOR_DOWN = "\x1b[2K", "\x1b[B"
_SAVE_CURSOR, _RESTORE_CURSOR = "\x1b7", "\x1b8"
_SGR = re.compile(r"\x1b\[[0-9;:]*m|\x1b\]8;[^\x07\x1b]*(?:\x07|\x1b\\)")  # colours, links
_FENCE_OPENER = re.compile(r" {0,3}(?:`{3,}|~{3,})")

# Inline tokens that rich.markdown renders inside their paragraph, not on their own.
_IN_PLACE = frozenset(
    {"text", "softbreak", "hardbreak", "code_inline", "html_inline", "link_open", "link_close"}
    | {"em_open", "em_close", "strong_open", "strong_close", "s_open", "s_close"}
)

_MIN_INTERVAL = 1 / 30  # seconds between live frames, at the least
_COST_FACTOR = 4  # and at least this many times what the last frame took
_RESIZE_POLL = 0.1  # seconds between size checks while no text arrives


class _Writer(ABC):
    """Both writers are context managers: leaving normally finishes, an exception aborts."""

    @abstractmethod
    def finish(self) -> None: ...

    @abstractmethod
    def abort(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort()


class RawWriter(_Writer):
    """The raw text path: off a TTY or with ``--markdown never``; each chunk written and flushed.

    Off a TTY the text is passed on unedited (it is data for a pipe or file), only ended with a
    newline; on a TTY it is sanitized. ``BrokenPipeError`` propagates: the CLI decides what a
    closed pipe means.
    """

    def __init__(self, file: TextIO) -> None:
        self._file = file
        self._tty = isatty(file)
        self._sanitizer = Sanitizer()
        self._wrote = False
        self._ends_with_newline = True
        self._done = False

    def feed(self, text: str) -> None:
        if self._tty:
            text = self._sanitizer.push(text)
        self._write(text)
        self._file.flush()

    def above(self, write: Callable[[], None]) -> bool:
        """No live region to keep out of the way: the caller writes where the text is."""
        return False

    def commit(self) -> None:
        """On a terminal, end the text so far on a line of its own: what comes next (a tool
        call's card and question) starts below it. Off one, the text is data: untouched."""
        if self._done or not self._tty:
            return
        self._write(self._sanitizer.flush())
        if self._wrote and not self._ends_with_newline:
            self._write("\n")
        self._file.flush()

    def finish(self) -> None:
        """End the answer with a newline (a text file's last line, a prompt on its own line)."""
        if self._done:
            return
        self._done = True
        if self._tty:
            self._write(self._sanitizer.flush())
        if self._wrote and not self._ends_with_newline:
            self._write("\n")
        self._file.flush()

    def abort(self) -> None:
        """Like ``finish``, but never raises: it runs while another exception is on its way."""
        with contextlib.suppress(OSError, ValueError):
            self.finish()

    def _write(self, text: str) -> None:
        if text:
            self._file.write(text)
            self._wrote = True
            self._ends_with_newline = text.endswith("\n")


class _Frames:
    """The renderer proper, without threads or timing: text in, terminal output out.

    ``pending`` is the text not yet printed permanently; it always starts at the beginning of
    a top-level block. A block counts as finished once a later block has started on a complete
    line (a half-received line can still change what came before it: ``***`` then ``x``).

    What a frame parses and renders does not grow with a long unfinished block: an open code
    fence's new lines are only checked for its closing line (``_open_fence_of``), a long list
    is parsed from one of its last items (``_learn``), and the live frame renders only the
    blocks and list items it shows (``_render_live``).
    """

    def __init__(
        self,
        *,
        code_theme: str,
        live: bool,
        style: str | None = None,
        rows_above: int | None = None,
    ) -> None:
        from markdown_it import MarkdownIt
        from rich.markdown import Markdown  # imported here, not in a timed frame

        # The same parser configuration as rich.markdown.Markdown, so blocks split where rich
        # would; the inline pass is skipped because only block boundaries are needed here.
        self._blocks: MarkdownIt = MarkdownIt().enable("strikethrough").enable("table")
        self._blocks.disable("inline")
        self._parser: MarkdownIt = MarkdownIt().enable("strikethrough").enable("table")
        # One Markdown renderable, given new tokens per render: building one builds and runs
        # a parser of its own, half of what a short live frame costs.
        self._markdown = Markdown("", code_theme=code_theme)
        self._live = live
        self._style = style  # a base style under everything (``dim``: a reasoning summary)
        self._console: Console | None = None
        self.pending = ""
        self._scanned = 0  # pending[:_scanned] held no finished block when last parsed
        self._open_fence = ""  # and was one open code fence with this marker, if not ""
        # Where ``pending`` may be parsed from (see ``_learn``): (offset, line, items before)
        # of items of the top-level list it begins with, that list's (type, marker, start),
        # and what is known of ``pending`` to choose them: its newlines, whether it must be
        # parsed whole (it holds a "\r") and where it first holds "]:" (-1 if nowhere).
        self._anchors: list[tuple[int, int, int]] = []
        self._list: tuple[str, str, int] = ("", "", 1)
        self._newlines, self._whole, self._first_ref = 0, False, -1
        self._env: dict[str, Any] = {"references": {}}
        self._separate = False  # rich's "blank line before the next block" after what is printed
        self._live_rows = 0  # lines of the live frame on screen; the cursor is at its top
        self._live_lines: list[str] = []  # and what they are, drawn at ``_live_width``
        self._live_width = 0
        self._started = False
        self._tail_costs = [0.0, 0.0]  # seconds the last two live renders took
        # Rows of the pane above the live region, when known (``MarkdownStream``): it keeps
        # no more rows than that, so that a pane made narrower, which rewraps every row and
        # pushes as many rows as that adds off the top, pushes finished rows only.
        self._rows_above = rows_above

    @property
    def live_cost(self) -> float:
        """What redrawing the live tail costs, the work repeated on every frame.

        The lesser of the last two, so that one-off costs (a lexer loading, a wide table
        arriving) do not stall the live view.
        """
        return min(self._tail_costs)

    def add(self, text: str) -> None:
        start = max(0, len(self.pending) - 1)
        self.pending += text
        self._newlines += text.count("\n")
        self._whole = self._whole or "\r" in text
        if self._first_ref < 0:
            self._first_ref = self.pending.find("]:", start)

    def frame(self, width: int, height: int, *, final: bool = False) -> str:
        """Output that brings the screen up to date: new finished blocks, then the live tail."""
        console = self._console_for(width)
        parts: list[str] = []
        cut = len(self.pending) if final else self._finished_end()
        if cut:
            printed = self._render_blocks(console, self.pending[:cut], permanent=True)
            if printed:
                parts.append(printed)
                if self._rows_above is not None:
                    self._rows_above += printed.count("\n")
            self.pending = self.pending[cut:]
            self._scanned, self._open_fence, self._anchors = 0, "", []
            self._newlines, self._whole = self.pending.count("\n"), "\r" in self.pending
            self._first_ref = self.pending.find("]:")
        if not self._live:
            return "".join(parts)
        lines = [] if final else self._render_tail(console, height)
        restore = final and self._started
        if not (parts or lines or self._live_rows or restore):
            return ""
        head = [_SYNC_START]
        if not self._started:
            self._started = True
            head.append(_HIDE_CURSOR)
        head.append(self._erase_live(width))
        if lines:
            parts += [_WRAP_OFF, "\n".join(lines), "\n", _WRAP_ON, f"\r\x1b[{len(lines)}A"]
            self._live_rows, self._live_lines, self._live_width = len(lines), lines, width
        if final:
            parts += [_WRAP_ON, _SHOW_CURSOR]
        return "".join([*head, *parts, _SYNC_END])

    def commit(self, width: int, height: int) -> str:
        """Output that prints all of ``pending`` for good, its unfinished block too, and hands
        the terminal back as ``pause`` does: later text starts afresh below it."""
        out = self.frame(width, height, final=True)
        self._started = False
        return out

    def pause(self, width: int) -> str:
        """Output that hands the terminal back (Ctrl-Z): the live frame erased, the cursor shown
        and auto-wrap on. The next frame starts afresh where the cursor then is."""
        if not self._started:
            return ""
        self._started = False
        return _SYNC_START + self._erase_live(width) + _WRAP_ON + _SHOW_CURSOR + _SYNC_END

    def clear(self, width: int) -> str:
        """Output that erases the live frame, leaving the cursor where it began (``above``)."""
        if not self._live_rows:
            return ""
        return _SYNC_START + self._erase_live(width) + _SYNC_END

    def _erase_live(self, width: int) -> str:
        """Erase the live frame row by row from its top, the cursor back there (no "erase
        below": see the module docstring). Forgets the frame."""
        if not self._live_rows:
            return ""
        rows = self._live_rows
        if width != self._live_width:  # the terminal may have rewrapped the frame's lines
            rows = sum(reflowed_rows(line, width) for line in self._live_lines)
        self._live_rows, self._live_lines = 0, []
        erase = _ERASE_LINE + _CURSOR_DOWN
        return f"{_SAVE_CURSOR}{erase * (rows - 1)}{_ERASE_LINE}{_RESTORE_CURSOR}"

    def _console_for(self, width: int) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(
                file=io.StringIO(),
                force_terminal=True,
                width=width,
                legacy_windows=False,
                highlight=False,
                markup=False,
                emoji=False,
            )
        elif self._console.width != width:
            self._console.width = width
        return self._console

    def _finished_end(self) -> int:
        """Length of the prefix of ``pending`` made of finished blocks (0 if none yet)."""
        complete = self.pending.rfind("\n") + 1
        if complete <= self._scanned:
            return 0
        scanned, self._scanned = self._scanned, complete
        if self._open_fence and self._fence_stays_open(self.pending[scanned:complete]):
            return 0
        base = self._anchors[-1] if self._anchors else None
        if base is not None:  # the list's last item known to start a line: parse from there
            text = self.pending[base[0] : complete]
            tokens = self._blocks.parse(text)
            if not self._continues_list(tokens):
                base = None
        if base is None:
            text = self.pending[:complete]
            tokens = self._blocks.parse(text)
        self._learn(tokens, base, text)
        starts = [
            token.map[0]
            for token in tokens
            if token.level == 0 and token.nesting >= 0 and token.map
        ]
        if len(starts) < 2:
            if base is None:
                self._open_fence = self._open_fence_of(text, tokens)
            return 0
        offset = 0 if base is None else base[0]
        for _ in range(starts[-1]):
            offset = self.pending.index("\n", offset) + 1
        return offset

    # A long list is one block until the answer moves on, often most of the answer (numbered
    # steps, each with its code): parsing all of it again for every frame made streaming it
    # quadratic. So ``pending`` is parsed from the start of one of the list's items instead,
    # where markdown-it gives the same tokens from there on either way (but for the list's
    # opening token, whose start number is set to the item's, the items' "hidden" flags of a
    # tight list, which rich ignores, and the lines in the tokens' maps):
    #
    # - a whole line once parsed as an item of the top-level list stays one as text is added:
    #   what ends an item (a line less indented than its content) is decided on that line, and
    #   nothing inside an item (a fence, an HTML block, a paragraph) runs on past such a line;
    # - the list parsed from there meets the same rules on that line as the list did (fence,
    #   blockquote and rule first, a code block never, as the item is not indented 4), but for
    #   a table, tried first at the start of a text: a line holding a "|" is never used (and
    #   ``_continues_list`` checks that the parse from the item does start with the list);
    # - an item's content and the list's end depend only on the lines from the item on, but
    #   for link reference definitions made before it: so never from beyond a "]:".
    #
    # A "\r" is a line break to markdown-it but not to the line counting here: such text is
    # always parsed whole, as before. The property tests in tests/test_render.py compare the
    # frames with those of a renderer that parses and renders everything every time.

    def _learn(self, tokens: list[Any], base: tuple[int, int, int] | None, text: str) -> None:
        """Note the items of the list that ``tokens``, parsed from ``text`` (``pending`` from
        ``base`` on, or all of it), begin with, as places to parse ``pending`` from."""
        if self._whole or not tokens or not tokens[0].type.endswith("list_open"):
            return
        if base is None:
            first = tokens[0]
            self._list = (first.type, first.markup, int(first.attrs.get("start", 1)))
            base = (0, 0, 0)
        offset, line, items = base
        complete = line + text.count("\n")  # lines before this one are whole
        known = self._anchors[-1][1] if self._anchors else 0
        at, item = line, -1
        for token in tokens[1:]:
            if token.level == 0:  # the list's end
                break
            if token.level != 1 or token.type != "list_item_open" or not token.map:
                continue
            item += 1
            if not item:  # the list's first item, or the base itself
                continue
            if line + token.map[0] >= complete:
                break
            while at < line + token.map[0]:
                offset, at = self.pending.index("\n", offset) + 1, at + 1
            if 0 <= self._first_ref < offset:
                break
            if at > known and "|" not in self.pending[offset : self.pending.find("\n", offset)]:
                self._anchors.append((offset, at, items + item))
                known = at

    def _continues_list(self, tokens: list[Any]) -> bool:
        """Whether ``tokens``, parsed from an item of the list (``_learn``), begin with it, as
        they must; if not, ``pending`` is parsed whole from then on."""
        kind, marker, _ = self._list
        if tokens and tokens[0].type == kind and tokens[0].markup == marker:
            return True
        self._whole, self._anchors = True, []
        return False

    # A long code block is one block until its closing fence: parsing all of it again for
    # every new line would make streaming it quadratic. Once a parse has shown that ``pending``
    # is one open fence, new lines are only checked for a closing one, by markdown-it itself
    # on a probe text. That check is exact because at the top level nothing but a closing
    # fence line ends a fence, and whether a line closes it depends on that line and the
    # opening marker alone (indentation, marker and count, trailing blanks: see markdown-it's
    # fence rule). The opening line's own meaning is settled once the line after it is known
    # (a table, the only rule tried before fences that looks ahead, needs just that line),
    # so the fast path starts only when the fence holds a line after its opener. A "\r" is a
    # line break to markdown-it but not to the line counting here: such text always takes the
    # full parse, as before.

    def _open_fence_of(self, text: str, tokens: list[Any]) -> str:
        """The marker of the open code fence that ``text`` (whole lines, ``tokens`` its block
        parse) is made of, or "" when it is anything else (a fence closed by its last line)."""
        tops = [token for token in tokens if token.level == 0 and token.nesting >= 0]
        if len(tops) != 1 or tops[0].type != "fence" or not tops[0].map or "\r" in text:
            return ""
        first, end = tops[0].map
        if end != text.count("\n") or end - first < 2:
            return ""
        marker: str = tops[0].markup
        last_line = text[text.rfind("\n", 0, len(text) - 1) + 1 :]
        return marker if self._fence_stays_open(last_line, marker) else ""

    def _fence_stays_open(self, lines: str, marker: str | None = None) -> bool:
        """Whether none of ``lines`` (whole lines) closes the open fence of ``marker``
        (``_open_fence`` by default).

        The probe is the bare marker, the lines and a line that cannot close a fence: the
        fence takes every probe line exactly when none of the lines closes it.
        """
        if "\r" in lines:
            return False
        probe = f"{marker or self._open_fence}\n{lines}x\n"
        tops = [t for t in self._blocks.parse(probe) if t.level == 0 and t.nesting >= 0]
        return len(tops) == 1 and tops[0].type == "fence" and tops[0].map == [0, probe.count("\n")]

    def _render_tail(self, console: Console, height: int) -> list[str]:
        """The live frame: the unfinished block, cropped to its last ``live_room`` lines, each
        using only the cells of its text (see ``liverows``)."""
        room = live_room(height)
        if self._rows_above is not None:
            room = min(room, self._rows_above)
        text = self.pending
        if room <= 0 or not text or text.isspace():
            return []
        if _FENCE_OPENER.match(text):
            # A long open code block: only its last lines can be shown, so only they are
            # highlighted (a frame's cost must not grow with the block): the first line and
            # the last ``room + 2``, found from the end without splitting the whole block.
            first, cut = text.find("\n"), len(text)
            for _ in range(room + 2):
                cut = text.rfind("\n", 0, cut)
                if cut < 0:
                    break
            if cut > first:  # more lines than that: cut is the newline before the last ones
                text = text[:first] + text[cut:]
        started = time.perf_counter()
        lines = self._render_live(console, text, room)
        self._tail_costs = [self._tail_costs[1], time.perf_counter() - started]
        return [fill_to_end(line) for line in lines[-room:]]

    def _render_live(self, console: Console, text: str, room: int) -> list[str]:
        """The lines of ``_render_blocks(text)``, or as many of its last lines as the live
        frame shows (more than ``room``), rendering only what they take.

        A long block grows at its end only: a list of steps, each with its code, is one block
        until the answer moves on, and rendering all of it on every frame made streaming it
        quadratic. Rich renders top-level blocks one after another, each on its own (a blank
        line in between when the one before asks for it), and a list's items one after another,
        each from its own tokens, its number and the list's last number. So the tokens from a
        block start or a top-level list item on, rendered alone, give the same text as the end
        of the whole render, but perhaps for their first line (a blank line before a list):
        two lines more than ``room`` make sure that line is never shown. The tokens are those
        of the whole text, parsed as ``_render_blocks`` does (or from an item of a long list,
        see ``_learn``), so links and list numbers are as in the whole. (A list holding an
        image is rendered whole: rich renders the image ahead of the list. Only a renderer bug
        in a block left out could tell otherwise: the whole would be shown as plain text.)
        """
        if text is self.pending and self._anchors:
            # From the last item that leaves source lines enough for the frame and to spare.
            want = self._newlines + 1 - 2 * (room + 2)
            base = next((a for a in reversed(self._anchors) if a[1] <= want), None)
            if base is not None:
                lines = self._render_from(console, base, room)
                if lines is not None:
                    return lines
        return self._render_whole(console, text, room)

    def _render_from(
        self, console: Console, base: tuple[int, int, int], room: int
    ) -> list[str] | None:
        """The last lines of ``pending`` rendered from the list item ``base`` on (see
        ``_render_live``), or None when they are too few or anything is unexpected."""
        offset, _, items = base
        text = self.pending[offset:]
        try:
            tokens = self._parser.parse(text, {"references": dict(self._env["references"])})
        except Exception:
            return None
        if not self._continues_list(tokens):
            return None
        self._learn(tokens, base, text)
        kind, _, start = self._list
        if kind == "ordered_list_open":
            tokens[0] = tokens[0].copy(attrs={**tokens[0].attrs, "start": start + items})
        return self._render_cuts(console, tokens, text.count("\n") + 1, room, from_item=True)

    def _render_whole(self, console: Console, text: str, room: int) -> list[str]:
        """The lines of ``_render_blocks(text)`` (live), or as many of its last ones as the
        frame shows: see ``_render_live``."""
        from markdown_it.token import Token

        try:
            env = {"references": dict(self._env["references"])}
            tokens = self._parser.parse(text, env)
        except Exception:  # _render_blocks shows it as plain text
            return self._render_blocks(console, text, permanent=False).split("\n")[:-1]
        if text is self.pending:
            self._learn(tokens, None, text)
        lines = self._render_cuts(console, tokens, text.count("\n") + 1, room, from_item=False)
        if lines is not None:
            return lines
        try:  # all of it, as _render_blocks does, without parsing it again
            if self._separate:
                tokens.insert(0, Token("html_block", "", 0, content=""))
            return self._print(console, tokens).split("\n")[:-1]
        except Exception:
            return self._render_blocks(console, text, permanent=False).split("\n")[:-1]

    def _render_cuts(
        self, console: Console, tokens: list[Any], total: int, room: int, *, from_item: bool
    ) -> list[str] | None:
        """The lines of ``tokens`` rendered from a cut on (``_cuts``; with ``from_item``, the
        tokens start with an item of a list, itself a cut), if they are more than ``room``."""
        cuts = _cuts(tokens, from_item=from_item)
        # Start from the last cut with enough source lines after it to fill the frame (a
        # short text is rendered whole at once), and go back if they make fewer lines.
        step = next((n for n in range(1, len(cuts) + 1) if total - cuts[-n][1] >= room + 2), 0)
        while step:
            index, _, top, items = cuts[-step]
            try:
                rendered = self._print(console, [*_cut_head(top, items), *tokens[index:]])
            except Exception:
                return None
            lines = rendered.split("\n")[:-1]
            if len(lines) >= room + 2:
                return lines
            step = min(2 * step, len(cuts)) if step < len(cuts) else 0
        return None

    def _print(self, console: Console, tokens: list[Any]) -> str:
        """Rendered ``tokens``, trailing blank cells dropped from each line."""
        self._markdown.parsed = _targets_shown(tokens)
        with console.capture() as capture:
            console.print(self._markdown, style=self._style)
        return "\n".join(line.rstrip(" ") for line in capture.get().split("\n"))

    def _render_blocks(self, console: Console, text: str, *, permanent: bool) -> str:
        """Render ``text`` exactly as it appears inside a one-shot render of the whole answer.

        Rich writes a blank line between blocks depending on the block before; that state is
        carried over with an invisible leading token. Trailing blank cells are dropped so a
        terminal reflow on resize has less to rewrap.
        """
        from rich.markdown import Markdown, UnknownElement

        try:
            # Link reference definitions printed earlier still apply; a live frame's
            # half-received definition must not stick, so it parses with a copy.
            env = self._env if permanent else {"references": dict(self._env["references"])}
            tokens = self._parser.parse(text, env)
            if self._separate:
                from markdown_it.token import Token

                tokens.insert(0, Token("html_block", "", 0, content=""))
            rendered = self._print(console, tokens)
        except Exception:  # a renderer bug must not lose the answer: show it as plain text
            from rich.text import Text

            tokens = []
            with console.capture() as capture:
                console.print(Text(text), style=self._style)
            rendered = capture.get()
            rendered = "\n".join(line.rstrip(" ") for line in rendered.split("\n"))
        if permanent:
            tops = [t for t in tokens if t.level == 0 and t.nesting >= 0]
            if tops:
                element = Markdown.elements.get(tops[-1].type, UnknownElement)
                self._separate = element.new_line
        return rendered


def _targets_shown(tokens: list[Any]) -> list[Any]:
    """``tokens`` with each link whose text is not its target followed by ``(target)``.

    Why: a terminal hyperlink shows only its text, and model text is untrusted: an answer's
    ``[https://bank.example](https://evil.example)`` must not read as the bank. A link whose text
    is the address itself (``<https://...>``) stays as it is. The tokens given are not changed
    (a frame may render them again); inline tokens with links are copied."""
    import copy

    shown = []
    for token in tokens:
        kids = token.children
        if kids and any(kid.type == "link_open" for kid in kids):
            token = copy.copy(token)
            token.children = _with_targets(kids)
        shown.append(token)
    return shown


def _with_targets(kids: list[Any]) -> list[Any]:
    """An inline token's children, with ``(target)`` after each link not showing its target."""
    out: list[Any] = []
    opened: list[tuple[str, int]] = []  # (href, where its text starts in ``out``)
    for kid in kids:
        out.append(kid)
        if kid.type == "link_open":
            opened.append((str(kid.attrs.get("href", "")), len(out)))
        elif kid.type == "link_close" and opened:
            href, start = opened.pop()
            text = "".join(k.content for k in out[start:-1] if k.type in ("text", "code_inline"))
            if href and text.strip() not in (href, href.removeprefix("mailto:")):
                extra = _token(kid, "text", f" ({href})")
                out.append(extra)
    return out


def _token(like: Any, kind: str, content: str) -> Any:
    """A new inline token of ``kind`` holding ``content``, at ``like``'s level."""
    from markdown_it.token import Token

    return Token(kind, "", 0, level=like.level, content=content)


class MarkdownStream(_Writer):
    """The block-stable live view (see the module docstring).

    ``feed`` only queues text; a background thread draws throttled frames, at most every
    ``max(1/30 s, 4 x the last frame's cost)``. ``finish`` and ``abort`` stop that thread before
    drawing the final frame, so frames never interleave. Off a TTY there is no live region:
    finished blocks are printed as they complete and the rest at the end.
    """

    def __init__(
        self,
        file: TextIO,
        *,
        width: int | None = None,
        height: int | None = None,
        code_theme: str = "monokai",
        live: bool = True,
        style: str | None = None,
        rows_above: int | None = None,
    ) -> None:
        self._file = file
        self._style = style
        self._rows_above = rows_above  # see _Frames
        self._width = width
        self._height = height
        self._code_theme = code_theme
        self._tty = isatty(file)
        self._live = live and self._tty
        self._sanitizer = Sanitizer()
        self._frames: _Frames | None = None
        self._wake = threading.Condition()  # guards _incoming and _closing
        self._incoming: list[str] = []
        self._closing = False
        self._redraw = False  # a frame is due without new text (after ``paused``)
        self._drawn = (0, 0)  # the size the last frame was drawn for
        self._draw_lock = threading.Lock()  # one frame at a time on the terminal
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._done = False

    def feed(self, text: str) -> None:
        if self._error is not None:
            raise self._error
        text = self._sanitizer.push(text)
        if not text:
            return
        with self._wake:
            self._incoming.append(text)
            self._wake.notify()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="chatcli-render", daemon=True)
            self._thread.start()

    def above(self, write: Callable[[], None]) -> bool:
        """Run ``write``, which prints whole lines to this terminal (a notice on stderr), above
        the live region, so that the next frame does not erase them.

        False when there is no live view to keep out of the way (off a TTY, not started or
        finished): the caller then just writes. Frames are drawn under the same lock, so the
        two outputs never interleave.
        """
        if not self._live or self._thread is None:
            return False
        with self._draw_lock:
            if self._done:  # the final frame is drawn or about to be: nothing is live
                return False
            frames = self._frames
            width, height = self._size()
            if frames is not None:
                self._file.write(frames.clear(width))
                self._file.flush()
            write()
            if frames is not None:
                self._file.write(frames.frame(width, height))
                self._file.flush()
        return True

    def commit(self) -> None:
        """Print what has arrived for good, its unfinished last block too, so that nothing is
        left live: on a terminal, what is written next (a tool call's card and question) comes
        below the answer's text so far, not above its live part. The answer may go on: its
        later text starts a block of its own. Off a terminal the text is data: untouched."""
        if self._done or not self._tty:
            return
        with self._draw_lock:
            with self._wake:
                text = "".join(self._incoming) + self._sanitizer.flush()
                self._incoming.clear()
            if self._frames is None:
                if not text:
                    return
                self._frames = _Frames(code_theme=self._code_theme, live=self._live,
                                       style=self._style, rows_above=self._rows_above)  # fmt: skip
            self._frames.add(text)
            width, height = self._drawn = self._size()
            out = self._frames.commit(width, height)
            if out:
                self._file.write(out)
                self._file.flush()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Hand the terminal back for the block (the process stops on Ctrl-Z): the live region
        erased, the cursor shown; no frame is drawn meanwhile, and the live rows are drawn
        again after it."""
        with self._draw_lock:
            if self._live and self._frames is not None:
                self._file.write(self._frames.pause(self._size()[0]))
                self._file.flush()
            yield
        with self._wake:
            self._redraw = True
            self._wake.notify()

    def finish(self) -> None:
        """Draw the final frame: everything printed permanently, the cursor after the answer."""
        if self._done:
            return
        self._done = True
        self._stop()
        if self._error is not None:
            raise self._error
        self._draw(self._sanitizer.flush(), final=True)

    def abort(self) -> None:
        """On Ctrl-C: print what has arrived and restore the terminal; never raises."""
        if self._done:
            return
        self._done = True
        self._stop()
        with contextlib.suppress(OSError, ValueError):
            self._draw(self._sanitizer.flush(), final=True)

    def _stop(self) -> None:
        with self._wake:
            self._closing = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        """Draw frames while text keeps arriving, no more often than they can be afforded."""
        next_frame = 0.0
        while True:
            with self._wake:
                while not (self._incoming or self._closing or self._redraw):
                    # No text for a while: a resize still redraws the live rows for the new
                    # size (the terminal may have rewrapped them), without waiting for text.
                    if not self._wake.wait(_RESIZE_POLL) and self._size() != self._drawn:
                        break
                self._redraw = False
                delay = next_frame - time.perf_counter()
                if delay > 0:
                    self._wake.wait_for(lambda: self._closing, timeout=delay)
                if self._closing:
                    return
            started = time.perf_counter()
            try:
                cost = self._draw("", final=False)
            except BaseException as exc:  # reported to the caller by the next feed/finish
                self._error = exc
                return
            # Finished blocks are printed once whatever the frame rate; only the live tail's
            # cost is paid again on every frame, so only it sets the pace.
            next_frame = started + max(_MIN_INTERVAL, _COST_FACTOR * cost)

    def _draw(self, extra: str, *, final: bool) -> float:
        """Draw one frame; returns the live tail's render cost (see ``_Frames.live_cost``)."""
        with self._draw_lock:
            with self._wake:
                text = "".join(self._incoming) + extra
                self._incoming.clear()
            if self._frames is None:
                if not text and final:
                    return 0.0
                self._frames = _Frames(code_theme=self._code_theme, live=self._live,
                                       style=self._style, rows_above=self._rows_above)  # fmt: skip
            self._frames.add(text)
            width, height = self._drawn = self._size()
            out = self._frames.frame(width, height, final=final)
            if out:
                self._file.write(out)
                self._file.flush()
            return self._frames.live_cost

    def _size(self) -> tuple[int, int]:
        """The size to render for, asked anew each frame so that resizes take effect."""
        if self._width is not None and self._height is not None:
            return self._width, self._height
        try:
            columns, lines = os.get_terminal_size(self._file.fileno())
        except (OSError, ValueError):
            columns = lines = 0
        # A pty nobody sized (some containers and CI runners) reports 0 x 0.
        columns = columns or _env_int("COLUMNS") or 80
        lines = lines or _env_int("LINES") or 24
        return self._width or columns, self._height or lines


def _cuts(tokens: list[Any], *, from_item: bool = False) -> list[tuple[int, int, Any, int]]:
    """Where the rendering of ``tokens`` can start later (see ``_Frames._render_live``): the
    first token of each block but the first, and of each item of a top-level list but its
    first (with ``from_item``, the tokens start with a list whose first item is a cut too).
    Each as (token index, its source line, the first token of the block before or of the
    list, the items before it in that list or 0 for a block).

    None inside a list with an image, or any inline token that rich renders on its own: it
    goes where it is parsed, ahead of its list, so leaving items out would move those lines."""
    cuts: list[tuple[int, int, Any, int]] = [(0, 0, None, -1)] if from_item else []
    top: Any = None  # the current top-level block's first token
    items = -1  # its items so far if it is a list whose items can be cut, else -1
    for index, token in enumerate(tokens):
        line = token.map[0] if token.map else 0
        if token.level == 0 and token.nesting >= 0:
            if top is not None:
                cuts.append((index, line, top, 0))
            top, items = token, 0 if token.type.endswith("list_open") else -1
        elif items < 0:
            continue
        elif token.level == 1 and token.type == "list_item_open":
            if items:
                cuts.append((index, line, top, items))
            items += 1
        elif token.children and any(child.type not in _IN_PLACE for child in token.children):
            while cuts and cuts[-1][3]:  # this list's item cuts
                cuts.pop()
            items = -1
    return cuts


def _cut_head(top: Any, items: int) -> list[Any]:
    """The tokens to render before a cut (see ``_cuts``): the blank line the block before asks
    for, or the list's opening token, an ordered list starting at the item's number (so the
    numbers and their width stay those of the whole list); none before a list's first item."""
    from markdown_it.token import Token
    from rich.markdown import Markdown, UnknownElement

    if top is None:
        return []
    if not items:
        element = Markdown.elements.get(top.type, UnknownElement)
        return [Token("html_block", "", 0, content="")] if element.new_line else []
    if top.type != "ordered_list_open":
        return [top]
    return [top.copy(attrs={**top.attrs, "start": int(top.attrs.get("start", 1)) + items})]


def _env_int(name: str) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else 0


def make_writer(
    mode: str, file: TextIO, *, rows_above: int | None = None
) -> RawWriter | MarkdownStream:
    """The writer for ``--markdown auto|always|never``; ``auto`` renders only on a TTY that
    moves the cursor: with ``TERM=dumb`` or unset (an Emacs shell buffer, a CI log) it writes
    the raw text as it streams, and ``always`` there renders each block once, as it completes,
    with no live region. ``rows_above``: the pane's rows above where the answer starts, when
    known (the REPL's prompt learns it), which bound the live region (see ``_Frames``)."""
    if mode == "never":
        return RawWriter(file)
    if mode == "always":
        return MarkdownStream(file, live=not is_dumb(), rows_above=rows_above)
    if mode == "auto":
        if isatty(file) and not is_dumb():
            return MarkdownStream(file, rows_above=rows_above)
        return RawWriter(file)
    raise ValueError(f"markdown mode must be auto, always or never, not {mode!r}")
