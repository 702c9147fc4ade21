"""Who may run which tool: nothing runs unless the user said so, in advance or when asked.

In advance: ``--approve TOOL`` and ``auto_approve`` (``server.tool`` or a whole ``server``,
read as ``-T`` reads names: ``registry.covers``), ``auto_approve_read_only`` for tools their
server marks read-only. Otherwise, on a terminal, the user sees the call and answers one key:
``y`` runs it, ``a`` runs it and every later call of that tool in this conversation (the REPL
forgets it on ``/new``, ``/resume`` and ``/fork``), ``n`` or Enter (the default) declines,
``v`` prints the whole call (the card folds long values and fits the terminal) and asks again;
Ctrl-C stops the turn. Off a terminal a call that was not approved in advance is declined.
Keys typed before the question are discarded, so type-ahead cannot answer it; so is the rest
of an answer typed as a word (``yes⏎``). Ctrl-Z at the question shows it again after ``fg``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from chatcli import jobcontrol
from chatcli.features.tools.registry import Tool, covers
from chatcli.features.tools.results import card, full_view, heading
from chatcli.terminal import modes


class Above(Protocol):
    """The answer's writer: prints whole lines above its live region (``render``)."""

    def above(self, write: Callable[[], None]) -> bool: ...


@dataclass(frozen=True)
class Verdict:
    """Whether a call may run, and how that was decided (shown and stored)."""

    approved: bool
    how: str  # "auto" (in advance), "yes", "always", "no", "not a terminal"


@dataclass
class Approval:
    """The approval policy of one conversation."""

    auto: frozenset[str] = frozenset()  # server.tool or server names
    read_only: bool = False
    terminal: TerminalAsk | None = None  # None: off a terminal
    always: set[str] = field(default_factory=set)

    def allowed_in_advance(self, tool: Tool) -> bool:
        return (
            any(covers(name, tool) for name in self.auto)
            or tool.qualified in self.always
            or (self.read_only and tool.read_only is True)
        )

    def new_conversation(self) -> list[str]:
        """Forget the tools answered ``a`` (always): they are asked about again in the next
        conversation (``/new``, ``/resume``, ``/fork``). The tools forgotten, for saying so."""
        forgotten = sorted(self.always)
        self.always.clear()
        return forgotten

    def decide(self, tool: Tool, arguments: str) -> Verdict:
        """Ask (or not) whether this call may run; Ctrl-C at the question propagates."""
        if self.allowed_in_advance(tool):
            return Verdict(True, "auto")
        if self.terminal is None:
            return Verdict(False, "not a terminal")
        answer = self.terminal.ask(tool.qualified, arguments, tool.hints())
        if answer == "a":
            self.always.add(tool.qualified)
            return Verdict(True, "always")
        if answer == "y":
            return Verdict(True, "yes")
        return Verdict(False, "no")


class TerminalAsk:
    """The y/n/a question on the terminal (stdin and stderr both a terminal)."""

    PROMPT = "run it? [y]es, [N]o, [a]lways this tool: "

    def __init__(self, stdin: TextIO, stderr: TextIO) -> None:
        self.stdin = stdin
        self.stderr = stderr
        self.writer: Above | None = None  # set while an answer streams

    def settle(self) -> None:
        """The answer's text so far printed for good, its unfinished block too (``commit`` of
        ``render``'s writers), before anything of the calls is shown: the screen reads the
        model's words, then each call, its decision and its result, in that order."""
        commit = getattr(self.writer, "commit", None)
        if commit is not None:
            commit()

    def running(self, names: str) -> bool:
        """Say which calls run, on a line of its own kept in place: the next line written to
        stderr (the call's result) replaces it, so it does not stay in the scrollback. False
        when the answer's writer cannot make room for such a line (the caller says it as a
        notice instead)."""
        if self.writer is not None and getattr(self.writer, "commit", None) is None:
            return False
        from chatcli.events import Notice
        from chatcli.output import Notifier

        self.settle()
        message = f"running {names}… (Ctrl-C stops the turn)"
        Notifier(self.stderr, tty=True).notice(Notice(_fitted(message, self.stderr), key=_RUNNING))
        return True

    def ask(self, qualified: str, arguments: str, hint: str) -> str:
        """Show the call's card and read one key: ``y``, ``a`` or ``n`` (anything else is no);
        ``v`` prints the whole call (nothing folded or left out) and asks again. The card fits
        the terminal, its first line (the tool's name) kept on screen."""
        answer = "n"
        read = False  # a key came (Ctrl-C leaves the question unanswered: "no" would be untrue)

        def exchange() -> None:
            nonlocal answer, read
            import termios

            fd = self.stdin.fileno()
            columns, rows = _size(self.stderr)
            text = card(qualified, arguments, hint, rows=rows - 1, columns=columns)

            def show_again() -> None:  # after Ctrl-Z and fg: the shell wrote over it
                self.stderr.write(f"{heading(qualified, hint)}\n{self.PROMPT}")
                self.stderr.flush()

            with (
                modes(self.stdin, local_off=termios.ICANON | termios.ECHO),
                jobcontrol.asking(show_again),
            ):
                termios.tcflush(fd, termios.TCIFLUSH)  # keys typed before the question
                self.stderr.write(f"{text}\n{self.PROMPT}")
                self.stderr.flush()
                try:
                    while True:
                        key = _read_key(fd, show_again).decode("ascii", "replace").lower()
                        _rest_of_word(fd)  # "yes⏎" answers y; "es⏎" is not a message
                        if key != "v":
                            answer, read = (key if key in ("y", "a") else "n"), True
                            break
                        again = heading(qualified, hint)
                        self.stderr.write(f"view\n{full_view(arguments)}\n{again}\n{self.PROMPT}")
                        self.stderr.flush()
                finally:
                    shown = {"y": "yes", "a": "always"}.get(answer, "no") if read else "^C"
                    self.stderr.write(f"{shown}\n")
                    self.stderr.flush()

        from chatcli.output import Notifier

        Notifier(self.stderr, tty=True).end_line()  # "thinking…" ends before the card
        self.settle()
        writer = self.writer
        if writer is None or not writer.above(exchange):
            exchange()
        return answer


_RUNNING = "tools-running"
WORD_GAP = 0.3
"""Seconds between keys that still make one answer typed as a word (``yes⏎``)."""


def _read_key(fd: int, show_again: Callable[[], None]) -> bytes:
    """One key from the terminal ``fd``, kept in the question's modes: a shell resuming the
    job (``fg; cmd``) may set its own after chatcli set them again on SIGCONT, leaving the
    terminal in line mode (the key echoed, waiting for an Enter); found so, the modes are set
    again and the question shown again."""
    import select
    import termios

    from chatcli import terminal

    while not select.select([fd], [], [], WORD_GAP)[0]:
        if termios.tcgetattr(fd)[3] & (termios.ICANON | termios.ECHO):
            terminal.reapply_all()
            show_again()
    return os.read(fd, 1)


def _rest_of_word(fd: int) -> None:
    """Read and drop what follows the answer key as part of the same answer: keys coming
    within ``WORD_GAP`` of each other, up to an Enter. Many answer a y/n question with the
    word and Enter; left in the input, ``es⏎`` would go to the model as the next message."""
    import select

    for _ in range(64):  # a paste at the question: the rest is dropped at the end
        if not select.select([fd], [], [], WORD_GAP)[0]:
            return
        key = os.read(fd, 1)
        if not key or key in (b"\r", b"\n"):
            return
    import termios

    termios.tcflush(fd, termios.TCIFLUSH)


def _size(stream: TextIO) -> tuple[int, int]:
    """The terminal's columns and rows (80 x 24 when it does not say)."""
    try:
        columns, rows = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError):
        columns = rows = 0
    return columns or 80, rows or 24


def _fitted(message: str, stream: TextIO) -> str:
    """``message`` cut to one row of the terminal (after ``chatcli: ``): a line kept in place
    must not wrap, or only its last row would be replaced."""
    from chatcli.terminal import shorten

    return shorten(message, max(10, _size(stream)[0] - len("chatcli: ") - 1))
