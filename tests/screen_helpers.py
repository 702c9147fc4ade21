"""Drive a program inside GNU screen, itself attached to a tmux pane that acts as its terminal.

GNU screen keeps its own scrollback and has its own idea of what an erase or a clear means (an
erase below from the top-left corner saves the whole screen into its history), so what a program
leaves behind in screen is read from screen itself (``hardcopy -h``), not from the outer tmux.
Running screen attached, inside a pane of a chosen size, gives it a real terminal of that size
without a person's terminal. Each ``Screen`` has a private socket directory and config.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.tmux_helpers import DEFAULT_TIMEOUT, Tmux

SCREEN = shutil.which("screen") or "/usr/bin/screen"


class Screen:
    """One GNU screen session running a shell line, shown in a private tmux pane."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        # A socket path must stay under 108 bytes: pytest's tmp_path can be too deep for it.
        self.sockets = Path(tempfile.mkdtemp(prefix="chatcli-screen-"))  # mode 0700, as needed
        self.env = {**env, "SCREENDIR": str(self.sockets)}
        self.name = f"cc{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.conf = workdir / "screenrc"
        self.conf.write_text(
            "startup_message off\ndefscrollback 50000\ndefutf8 on\nhardstatus ignore\n"
            "vbell off\naltscreen off\n",
            encoding="utf-8",
        )
        self.copy = workdir / "hardcopy.txt"
        self.outer = Tmux(self.env, workdir)

    def start_line(self, line: str, *, width: int, height: int) -> None:
        """Run the shell ``line`` in screen, in a ``width`` x ``height`` terminal."""
        inner = f'{line}; echo "[exit $?]"; exec sleep 3600'
        argv = [SCREEN, "-S", self.name, "-c", str(self.conf), "bash", "-c", inner]
        self.outer.start_line(shlex.join(argv), width=width, height=height)

    def screen_cmd(self, *args: str) -> None:
        """A screen command sent to this session (``-X``)."""
        subprocess.run(
            [SCREEN, "-S", self.name, "-X", *args],
            env=self.env,
            capture_output=True,
            timeout=30,
            check=True,
        )

    def history(self) -> str:
        """Screen's scrollback and screen, as ``hardcopy -h`` writes them (see ``as_hardcopy``).
        Screen runs the commands it is sent in order, each to its end: once a second, small
        hardcopy exists, the first is whole (waiting for its size to stay put for 0.1 s read a
        half-written one under load: a CI run met it)."""
        done = self.copy.with_suffix(".done")
        self.copy.unlink(missing_ok=True)
        done.unlink(missing_ok=True)
        self.screen_cmd("hardcopy", "-h", str(self.copy))
        self.screen_cmd("hardcopy", str(done))
        deadline = time.monotonic() + DEFAULT_TIMEOUT
        while not done.exists():
            if time.monotonic() > deadline:
                raise AssertionError("screen wrote no hardcopy")
            time.sleep(0.05)
        return self.copy.read_bytes().decode("latin-1")

    @staticmethod
    def as_hardcopy(line: str) -> str:
        """``line`` as screen's hardcopy writes it: screen stores a character as its low byte
        plus a "font" byte, and hardcopy writes the low byte only, then 0xff for the second cell
        of a wide character (``表`` comes out as ``h\\xff``). Comparing text this way still
        checks every line, its place and its layout; ``history`` is read as Latin-1 to match."""
        from rich.cells import cell_len

        out = []
        for char in line:
            out.append(chr(ord(char) & 0xFF))
            if cell_len(char) == 2:
                out.append("\xff")
        return "".join(out)

    def wait_exit(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        """Wait for the program to end, as shown on the outer pane; its exit status."""
        return self.outer.wait_exit(timeout)

    def kill(self) -> None:
        subprocess.run(
            [SCREEN, "-S", self.name, "-X", "quit"], env=self.env, capture_output=True, check=False
        )
        self.outer.kill()
        shutil.rmtree(self.sockets, ignore_errors=True)
