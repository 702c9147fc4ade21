"""The one-key menu of ``chatcli cmd`` on a terminal: execute, revise, describe, copy, edit.

The command is shown highlighted, with every reason it looks destructive in red; then one key
decides: ``e`` execute (a destructive command only after typing ``yes``), ``r`` revise (the
model gets the command and what to change; an answer that is not a command leaves the current
one in place), ``d`` describe, ``c`` copy, Enter edit inline (prompt_toolkit, pre-filled,
imported only then; Esc or Ctrl-C there goes back to the menu), ``q``, Ctrl-D or any other
key abort, and Ctrl-C aborts with 130. The default is abort: nothing runs unless ``e`` is
pressed. A revision or description the budget refuses (or that fails) is one line, and the
menu stays.
"""

from __future__ import annotations

import contextlib
import os
import select
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TextIO

from chatcli.environment import Environment
from chatcli.errors import BudgetExceeded, ChatcliError, Interrupted
from chatcli.features.shell import danger
from chatcli.features.shell.clean import Cleaned
from chatcli.features.shell.detect import Shell
from chatcli.features.shell.execute import execute
from chatcli.safetext import sanitize, visible
from chatcli.terminal import modes

if TYPE_CHECKING:
    from chatcli.features.shell.exchange import Exchange

CTRL_C, CTRL_D, ESC = "\x03", "\x04", "\x1b"
ABORTED = 0
INTERRUPTED = 130
_DIM, _RED, _BOLD, _RESET = "\x1b[2m", "\x1b[31m", "\x1b[1m", "\x1b[0m"
_MENU = (
    f"{_BOLD}e{_RESET} execute  {_BOLD}r{_RESET} revise  {_BOLD}d{_RESET} describe  "
    f"{_BOLD}c{_RESET} copy  {_BOLD}Enter{_RESET} edit  {_BOLD}q{_RESET} abort "
    f"{_DIM}(default){_RESET} "
)
_LEXERS = {"bash": "bash", "zsh": "zsh", "sh": "sh", "fish": "fish"}


class Tty:
    """The terminal the menu talks to: keys from ``input``, text to ``output``."""

    def __init__(self, input: TextIO, output: TextIO, owned: bool = False) -> None:
        self.input = input
        self.output = output
        self._owned = owned

    @classmethod
    def open(cls, env: Environment) -> Tty | None:
        """The user's terminal: stdin and stdout, or /dev/tty when stdin is piped; None off a
        terminal (stdout is not one, or there is no terminal to read keys from)."""
        if not env.stdout_isatty:
            return None
        if env.stdin_isatty and env.stdin is not None:
            return cls(env.stdin, env.stdout)
        try:
            tty = open("/dev/tty", encoding="utf-8")  # noqa: SIM115 - closed by close()
        except OSError:
            return None
        from chatcli.terminal import in_background

        if in_background(tty):  # a background job: a key read there would stop it
            tty.close()
            return None
        return cls(tty, env.stdout, owned=True)

    def close(self) -> None:
        if self._owned:
            self.input.close()

    def write(self, text: str) -> None:
        self.output.write(text)
        self.output.flush()

    def discard_typed_ahead(self) -> None:
        """Drop keys typed before now (while waiting for the model, say)."""
        import termios

        with contextlib.suppress(OSError, ValueError, termios.error):
            termios.tcflush(self.input.fileno(), termios.TCIFLUSH)

    def key(self) -> str:
        """One key press, unechoed (Ctrl-C and Ctrl-D arrive as characters)."""
        import termios

        self.output.flush()
        fd = self.input.fileno()
        off = termios.ICANON | termios.ECHO | termios.ISIG | getattr(termios, "IEXTEN", 0)
        with modes(self.input, local_off=off, input_off=termios.ICRNL | termios.IXON):
            data = os.read(fd, 1)
            if data == b"\x1b" or data[:1] >= b"\xc0":  # a sequence or a UTF-8 character
                while select.select([fd], [], [], 0.05)[0]:
                    more = os.read(fd, 1)
                    if not more:
                        break
                    data += more
                    if data[0:1] != b"\x1b" and len(data) >= 4:
                        break
        return data.decode("utf-8", "replace") if data else CTRL_D

    def line(self, message: str, default: str = "") -> str | None:
        """A line typed (or edited, from ``default``) with prompt_toolkit; None on Ctrl-C,
        Ctrl-D or Esc (alone: Esc then a key at once is still that key with Alt)."""
        from prompt_toolkit import PromptSession
        from prompt_toolkit.input import create_input
        from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
        from prompt_toolkit.output import create_output

        keys = KeyBindings()

        @keys.add("escape", eager=False)
        def _cancel(event: KeyPressEvent) -> None:
            event.app.exit(exception=KeyboardInterrupt)

        session: PromptSession[str] = PromptSession(
            input=create_input(self.input), output=create_output(self.output), key_bindings=keys
        )
        # a lone Esc is told from Alt+key by a pause: 0.1 s for a sequence's bytes to arrive,
        # 0.5 s for a second key (prompt_toolkit's 0.5 + 1 s felt like Esc did nothing)
        session.app.ttimeoutlen, session.app.timeoutlen = 0.1, 0.5
        try:
            return session.prompt(message, default=default)
        except (KeyboardInterrupt, EOFError):
            return None


class Menu:
    """The loop around one command, until it is executed or the user aborts."""

    def __init__(
        self,
        tty: Tty,
        exchange: Exchange,
        shell: Shell,
        *,
        markdown: str,
        ran: Callable[[str], None],
    ) -> None:
        self.tty = tty
        self.exchange = exchange
        self.shell = shell
        self.markdown = markdown
        self.ran = ran  # told the command that was executed (history, notes)
        self.command: str | None = None
        self.answer = ""

    def run(self, first: Callable[[], Cleaned]) -> int:
        """Wait for the first answer, then show the menu; the exit code."""
        self._take(self._thinking(first))
        while True:
            self.tty.discard_typed_ahead()  # a key pressed before the menu showed decides nothing
            self.tty.write(_MENU)
            key = self.tty.key()
            self.tty.write("\r\x1b[2K")
            if key in ("e", "E"):
                code = self._execute()
                if code is not None:
                    return code
            elif key in ("r", "R"):
                self._revise()
            elif key in ("d", "D"):
                self._describe()
            elif key in ("c", "C"):
                self._copy()
            elif key in ("\r", "\n"):
                self._edit()
            elif key == CTRL_C:
                self.tty.write(f"{_DIM}aborted: nothing was run{_RESET}\n")
                return INTERRUPTED
            else:
                self.tty.write(f"{_DIM}aborted: nothing was run{_RESET}\n")
                return ABORTED

    # showing

    def _take(self, cleaned: Cleaned) -> None:
        for note in cleaned.notes:
            self.tty.write(f"{_DIM}{sanitize(note)}{_RESET}\n")
        if cleaned.command is None and self.command is not None:
            self._refused(cleaned.answer)
            return
        self.command = cleaned.command
        self.answer = cleaned.answer
        self._show()

    def _refused(self, answer: str) -> None:
        """A revision that came back as no command (a refusal, a question) leaves the current
        command in place: shown again, to run, copy, edit or revise once more."""
        self.tty.write(
            f"{_RED}the answer is not a command:{_RESET}\n{_DIM}{sanitize(answer)}{_RESET}\n"
            f"{_DIM}the command stays as it was:{_RESET}\n"
        )
        self._show()

    def _show(self) -> None:
        if self.command is None:
            self.tty.write(
                f"{_RED}the answer is not a command:{_RESET}\n{_DIM}{sanitize(self.answer)}"
                f"{_RESET}\n{_DIM}r revises the request, Enter writes a command yourself{_RESET}\n"
            )
            return
        from rich.console import Console
        from rich.syntax import Syntax

        console = Console(file=self.tty.output, highlight=False, soft_wrap=True)
        shown = sanitize(visible(self.command))
        syntax = Syntax(
            shown, _LEXERS.get(self.shell.name, "bash"), theme="ansi_dark",
            background_color="default", word_wrap=True,
        )  # fmt: skip
        console.print(syntax)
        for reason in danger.reasons(self.command):
            warning = f"{_RED}{_BOLD}⚠ destructive:{_RESET}{_RED} {sanitize(reason)}{_RESET}"
            self.tty.write(warning + "\n")

    def _thinking(self, request: Callable[[], Cleaned]) -> Cleaned:
        """Run ``request`` with "thinking…" shown and typed keys not echoed into it."""
        from chatcli.output import quiet_keys

        self.tty.write(f"{_DIM}thinking…{_RESET}\r")
        try:
            with quiet_keys(self.tty.output):
                return request()
        finally:
            self.tty.write("\r\x1b[2K")

    @contextlib.contextmanager
    def _failures(self) -> Iterator[None]:
        """A revise or describe that fails (or Ctrl-C) is said, and the menu goes on; one
        refused by a spent budget says how to go on (the flag is for the next ``cmd``)."""
        try:
            yield
        except ChatcliError as exc:
            message = "interrupted" if isinstance(exc, Interrupted) else f"error: {exc.message}"
            if isinstance(exc, BudgetExceeded):
                message += ": nothing was sent (run cmd again with --over-budget to go on)"
            self.tty.write(f"{_RED}chatcli: {sanitize(message)}{_RESET}\n")

    def _say(self, text: str) -> None:
        self.tty.write(f"{_DIM}{text}{_RESET}\n")

    # the keys

    def _execute(self) -> int | None:
        if self.command is None:
            self.tty.write(f"{_DIM}there is no command to run: r revise, Enter write one{_RESET}\n")
            return None
        found = danger.reasons(self.command)
        if found:
            answer = self.tty.line("This command looks destructive. Type yes to run it: ")
            if (answer or "").strip().lower() != "yes":
                self.tty.write(f"{_DIM}not run{_RESET}\n")
                return None
        code = execute(self.command, self.shell)
        self.ran(self.command)
        return code

    def _revise(self) -> None:
        change = self.tty.line("What should change? ")
        if not change or not change.strip():
            return
        command = self.command
        with self._failures():
            self._take(self._thinking(lambda: self.exchange.revise(command, change.strip())))

    def _describe(self) -> None:
        command = self.command
        if command is None:
            return
        from chatcli.render import make_writer

        writer = make_writer(self.markdown, self.tty.output)
        with self._failures():
            self.exchange.describe(command, writer)
        self.tty.write("\n")

    def _copy(self) -> None:
        if self.command is None:
            return
        from chatcli.clipboard import copy_to_clipboard

        done = copy_to_clipboard(self.command, self.tty.output)
        self._say(done.summary(len(self.command)))

    def _edit(self) -> None:
        edited = self.tty.line("edit> ", default=self.command or "")
        if edited is not None and edited.strip():
            self.command = edited.strip("\n")
        self._show()
