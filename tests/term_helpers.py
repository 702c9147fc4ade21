"""One interface over the two real terminals the REPL and live view are tested in.

``RealTerm`` runs a shell line (or an interactive bash, for job control) in tmux or in GNU
screen (itself shown in a tmux pane), sends keys through the outer tmux pane, and reads back
the whole history: tmux's own, or screen's ``hardcopy -h`` (see ``screen_helpers``).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from tests.screen_helpers import Screen
from tests.tmux_helpers import DEFAULT_TIMEOUT, Tmux

PS1 = "$ "


class RealTerm:
    """tmux or GNU screen, as ``kind`` says."""

    def __init__(self, kind: str, env: dict[str, str], workdir: Path) -> None:
        self.kind = kind
        self.screen = Screen(env, workdir) if kind == "screen" else None
        self.outer = self.screen.outer if self.screen is not None else Tmux(env, workdir)

    def start_line(self, line: str, *, width: int, height: int) -> None:
        """Run the shell ``line``; ``[exit N]`` is printed when it ends."""
        if self.screen is not None:
            self.screen.start_line(line, width=width, height=height)
        else:
            self.outer.start_line(line, width=width, height=height)

    def shell(self, *, width: int, height: int) -> None:
        """An interactive bash (job control on, no rc files) waiting at its ``$`` prompt."""
        line = f"exec env PS1={shlex.quote(PS1)} bash --norc --noprofile -i"
        self.start_line(line, width=width, height=height)
        self.outer.wait_for(lambda s: s.rstrip().endswith(PS1.rstrip()))

    def run(self, argv: list[str]) -> None:
        """Clear the screen, then type ``argv`` at the shell's prompt (alone on its line: bash
        would run the rest of a list at once when the job stops)."""
        self.outer.type("clear")
        self.outer.keys("Enter")
        self.outer.wait_for(lambda s: s.strip() == PS1.strip())
        self.outer.type(shlex.join(argv))
        self.outer.keys("Enter")

    def fg(self) -> None:
        """Bring the stopped job back; ``[exit N]`` is printed when it ends."""
        self.outer.wait_for(lambda s: s.rstrip().endswith(PS1.rstrip()))
        self.outer.type('fg; echo "[exit $?]"')
        self.outer.keys("Enter")

    def keys(self, *keys: str) -> None:
        self.outer.keys(*keys)

    def type(self, text: str) -> None:
        self.outer.type(text)

    def visible(self) -> str:
        return self.outer.screen()

    def wait_for(self, check: object, *, timeout: float = DEFAULT_TIMEOUT) -> str:
        return self.outer.wait_for(check, timeout=timeout)  # type: ignore[arg-type]

    def history(self) -> str:
        """Everything a person could scroll back to, long lines joined in tmux."""
        return self.screen.history() if self.screen is not None else self.outer.history()

    def rows(self) -> list[str]:
        """The history as rows of the terminal (a long line is several rows)."""
        if self.screen is not None:
            return self.screen.history().split("\n")
        return self.outer.tmux("capture-pane", "-p", "-S", "-", "-E", "-", "-t", "main").split("\n")

    def as_hardcopy(self, line: str) -> str:
        """``line`` as ``history`` reports it (see ``Screen.as_hardcopy``)."""
        return self.screen.as_hardcopy(line) if self.screen is not None else line

    def wait_exit(self, timeout: float = 60) -> int:
        return self.outer.wait_exit(timeout)

    def kill(self) -> None:
        if self.screen is not None:
            self.screen.kill()
        else:
            self.outer.kill()
