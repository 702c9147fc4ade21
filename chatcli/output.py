"""stderr notices and the stream consumer shared by ``ask`` and the REPL.

stdout carries the answer and nothing else (SPEC §3), so everything here writes to stderr. On a
terminal, notices with the same key (a retry countdown) overwrite each other in place; off a
terminal only the first of such a run is printed, so logs stay short.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from chatcli.errors import Interrupted
from chatcli.events import Finish, Notice, StreamEvent, TextDelta, Usage


class Writer(Protocol):
    """Where answer text goes: ``render.RawWriter`` or ``render.MarkdownStream``."""

    def feed(self, text: str) -> None: ...
    def finish(self) -> None: ...
    def abort(self) -> None: ...


class Notifier:
    """Prints ``Notice`` events and one-line notes to stderr."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = _isatty(self.stream)
        self._open_key: str | None = None

    def notice(self, event: Notice) -> None:
        if event.key is not None and event.key == self._open_key:
            if self.tty:
                self.stream.write(f"\r\x1b[2Kchatcli: {event.message}")
                self.stream.flush()
            return
        self.end_line()
        if event.key is not None and self.tty:
            self.stream.write(f"chatcli: {event.message}")
            self._open_key = event.key
        else:
            self.stream.write(f"chatcli: {event.message}\n")
            self._open_key = event.key
        self.stream.flush()

    def note(self, message: str) -> None:
        self.end_line()
        self.stream.write(f"chatcli: {message}\n")
        self.stream.flush()

    def end_line(self) -> None:
        """Finish an in-place countdown line before anything else is written."""
        if self._open_key is not None and self.tty:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
        self._open_key = None


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class Answer:
    """What came back, for --json and the finish checks."""

    text: list[str] = field(default_factory=list)
    usage: Usage | None = None
    finish: Finish | None = None
    ttft: float | None = None


def consume(events: Iterator[StreamEvent], writer: Writer | None, notifier: Notifier) -> Answer:
    """Feed text to ``writer`` as it arrives; notices to stderr; collect usage and finish."""
    answer = Answer()
    started = time.perf_counter()
    for event in events:
        if isinstance(event, TextDelta):
            if answer.ttft is None:
                answer.ttft = time.perf_counter() - started
                notifier.end_line()
            answer.text.append(event.text)
            if writer is not None:
                writer.feed(event.text)
        elif isinstance(event, Notice):
            notifier.notice(event)
        elif isinstance(event, Usage):
            answer.usage = event
        elif isinstance(event, Finish):
            answer.finish = event
    return answer


def close(events: Iterator[StreamEvent]) -> None:
    """Close a stream generator so the provider drops the HTTP stream and the turn is recorded."""
    closer = getattr(events, "close", None)
    if closer is not None:
        closer()


def stream_to(events: Iterator[StreamEvent], writer: Writer | None, notifier: Notifier) -> Answer:
    """``consume`` with the clean-up every caller needs: on any failure the stream is closed
    (dropping the HTTP connection; the session records the partial reply) and the writer
    aborted, so the terminal is left whole; Ctrl-C comes out as ``Interrupted``."""
    try:
        answer = consume(events, writer, notifier)
    except BaseException as exc:
        close(events)
        if writer is not None:
            writer.abort()
        if isinstance(exc, KeyboardInterrupt):
            raise Interrupted("interrupted") from None
        raise
    if writer is not None:
        writer.finish()
    return answer
