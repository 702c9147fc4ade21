"""A reply's reasoning summary (``ReasoningDelta`` events) on stderr while the model thinks.

Never on stdout: ``ask ... > out.txt`` keeps only the answer, byte for byte. On a terminal the
summary is dim Markdown in ``render``'s live view (finished blocks printed once into the
scrollback, only the unfinished one live, the live region at most half the pane), above the
answer: the view closes when the answer's first text arrives (or the reply ends), a blank line
follows, and the answer starts below it. Reasoning that arrives after the answer began (a later
round of tool calls) cannot have a live region under the answer's, so it is printed in whole
paragraphs above the answer's live region, like a notice. Off a terminal (or with
``TERM=dumb``) the text goes to stderr as it arrives, flushed per chunk and made safe like
every stderr line, and ends with a blank line. ``show_reasoning = false`` stops the events in
the session, so nothing reaches this module then.

Imported only when a reasoning summary arrives: nothing here is on ``ask``'s start-up path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from chatcli.safetext import Sanitizer, sanitize

if TYPE_CHECKING:
    from chatcli.output import Writer
    from chatcli.render import MarkdownStream

_DIM, _RESET = "\x1b[2m", "\x1b[0m"


class Thinking:
    """The reasoning summary of the reply streaming now, on ``stream`` (stderr)."""

    def __init__(self, stream: TextIO, *, tty: bool) -> None:
        self.stream = stream
        self.tty = tty  # a terminal that moves the cursor: dim live view, else plain text
        self._view: MarkdownStream | None = None
        self._plain: Sanitizer | None = None  # off a terminal, while a summary is open
        self._line_ended = True
        self._held = ""  # after the answer began: text of a paragraph not yet complete

    @property
    def live(self) -> MarkdownStream | None:
        """The live view while it draws (notices go above it), else None."""
        return self._view

    def feed(self, text: str, answer: Writer | None, *, answer_began: bool) -> None:
        """Show ``text``, the next piece of the summary; ``answer`` is the answer's writer."""
        if not self.tty:
            self._write_plain(text)
        elif answer_began:
            self._held += text
            cut = self._held.rfind("\n\n")
            if cut >= 0:
                whole, self._held = self._held[:cut], self._held[cut + 2 :]
                self._above(whole, answer)
        else:
            if self._view is None:
                from chatcli.render import MarkdownStream

                self._view = MarkdownStream(self.stream, style="dim")
            self._view.feed(text)

    def close(self, answer: Writer | None = None) -> None:
        """The summary so far is complete (the answer begins, or the reply ended)."""
        view, self._view = self._view, None
        if view is not None:
            view.finish()
            self.stream.write("\n")
            self.stream.flush()
        if self._held.strip():
            self._above(self._held, answer)
        self._held = ""
        if self._plain is not None:
            self._write(self._plain.flush())
            self._write("\n" if self._line_ended else "\n\n")
            self._plain = None
            self.stream.flush()

    def abort(self) -> None:
        """Like ``close`` while another exception is on its way (Ctrl-C): never raises."""
        view, self._view = self._view, None
        if view is not None:
            view.abort()
        self._held = ""
        if self._plain is not None:
            self._plain = None
            try:
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass

    def _write_plain(self, text: str) -> None:
        if self._plain is None:
            self._plain = Sanitizer()
        self._write(self._plain.push(text))
        self.stream.flush()

    def _write(self, text: str) -> None:
        if text:
            self.stream.write(text)
            self._line_ended = text.endswith("\n")

    def _above(self, text: str, answer: Writer | None) -> None:
        """Whole dim paragraphs above the answer's live region (or where the cursor is)."""
        lines = [line.rstrip() for line in sanitize(text).strip("\n").split("\n")]

        def write() -> None:
            self.stream.write("".join(f"{_DIM}{line}{_RESET}\n" for line in lines) + "\n")
            self.stream.flush()

        if answer is None or not answer.above(write):
            write()
