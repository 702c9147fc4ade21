"""Who may run which tool: nothing runs unless the user said so, in advance or when asked.

In advance: ``--approve TOOL`` and ``auto_approve`` (``server.tool`` or a whole ``server``),
``auto_approve_read_only`` for tools their server marks read-only. Otherwise, on a terminal,
the user sees the call and answers one key: ``y`` runs it, ``a`` runs it and every later call
of that tool in this session, ``n`` or Enter (the default) declines; Ctrl-C stops the turn.
Off a terminal a call that was not approved in advance is declined. Keys typed before the
question are discarded, so type-ahead cannot answer it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TextIO

from chatcli.features.tools.registry import Tool
from chatcli.features.tools.results import card
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
            tool.qualified in self.auto
            or tool.server in self.auto
            or tool.qualified in self.always
            or (self.read_only and tool.read_only is True)
        )

    def decide(self, tool: Tool, arguments: str) -> Verdict:
        """Ask (or not) whether this call may run; Ctrl-C at the question propagates."""
        if self.allowed_in_advance(tool):
            return Verdict(True, "auto")
        if self.terminal is None:
            return Verdict(False, "not a terminal")
        answer = self.terminal.ask(card(tool.qualified, arguments, tool.hints()))
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

    def ask(self, text: str) -> str:
        """Show ``text`` and read one key: ``y``, ``a`` or ``n`` (anything else is no)."""
        answer = "n"

        def exchange() -> None:
            nonlocal answer
            import termios

            fd = self.stdin.fileno()
            with modes(self.stdin, local_off=termios.ICANON | termios.ECHO):
                termios.tcflush(fd, termios.TCIFLUSH)  # keys typed before the question
                self.stderr.write(f"{text}\n{self.PROMPT}")
                self.stderr.flush()
                try:
                    key = os.read(fd, 1).decode("ascii", "replace").lower()
                    answer = key if key in ("y", "a") else "n"
                finally:
                    shown = {"y": "yes", "a": "always"}.get(answer, "no")
                    self.stderr.write(f"{shown}\n")
                    self.stderr.flush()

        writer = self.writer
        if writer is None or not writer.above(exchange):
            exchange()
        return answer
