"""Drive a program in a real terminal: tmux on a private socket, keys in, screen text out.

Each ``Tmux`` runs its own tmux server (``-L`` with a unique socket name, no user config), so
tests never touch the user's tmux or each other. The pane's shell prints the program's exit
status when it ends, so a test can read it. Every wait polls with a deadline:
no fixed sleeps, so a loaded CI machine is slower but not flakier.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

TMUX = shutil.which("tmux") or "/usr/bin/tmux"
WIDTH, HEIGHT = 100, 30
DEFAULT_TIMEOUT = 20.0


class Tmux:
    """One private tmux server with one pane running the program under test."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.socket = f"chatcli-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.conf = workdir / "tmux.conf"
        self.conf.write_text(
            "set -g history-limit 20000\nset -g status off\n",
            encoding="utf-8",
        )
        self.target = "main"

    def tmux(self, *args: str, input: str | None = None) -> str:
        """Run a tmux command against this server; its stdout."""
        proc = subprocess.run(
            [TMUX, "-u", "-L", self.socket, "-f", str(self.conf), *args],
            input=input,
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=self.env,
            timeout=30,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def start(self, argv: list[str], *, width: int = WIDTH, height: int = HEIGHT) -> None:
        """Run ``argv`` in a new ``width`` x ``height`` pane (the first call starts the server)."""
        self.tmux("new-session", "-d", "-x", str(width), "-y", str(height), "-s", self.target,
                  _shell(argv))  # fmt: skip

    def start_line(self, line: str, *, width: int = WIDTH, height: int = HEIGHT) -> None:
        """Like ``start``, for a shell line (``clear; prog``); its exit status is printed too."""
        self.tmux("new-session", "-d", "-x", str(width), "-y", str(height), "-s", self.target,
                  f'{line}; echo "[exit $?]"; exec sleep 3600')  # fmt: skip

    def resize(self, width: int, height: int) -> None:
        """Resize the pane's window, as a person dragging the terminal's corner does."""
        self.tmux("resize-window", "-t", self.target, "-x", str(width), "-y", str(height))

    def respawn(self, argv: list[str]) -> None:
        """Run ``argv`` in the same pane, ending whatever runs there."""
        self.tmux("respawn-pane", "-k", "-t", self.target, _shell(argv))

    def keys(self, *keys: str) -> None:
        """tmux key names: ``Enter``, ``C-c``, ``M-Enter``, ``BSpace``..."""
        self.tmux("send-keys", "-t", self.target, *keys)

    def type(self, text: str) -> None:
        """Type ``text`` literally (UTF-8 included)."""
        self.tmux("send-keys", "-t", self.target, "-l", text)

    def paste(self, text: str) -> None:
        """Paste ``text`` the way a terminal does: bracketed when the program asked for it."""
        self.tmux("load-buffer", "-b", "test", "-", input=text)
        self.tmux("paste-buffer", "-p", "-d", "-b", "test", "-t", self.target)

    def screen(self) -> str:
        """The visible screen, wrapped lines joined."""
        return self.tmux("capture-pane", "-p", "-J", "-t", self.target)

    def scrollback(self) -> str:
        """Everything the pane has shown, scrollback included."""
        return self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", self.target)

    def history(self) -> str:
        """The pane's whole history then its screen, down to the last row (wrapped lines joined):
        everything a person could scroll back to."""
        return self.tmux("capture-pane", "-p", "-J", "-S", "-", "-E", "-", "-t", self.target)

    def pane(self, fmt: str) -> str:
        """A pane format variable, e.g. ``#{pane_pid}``."""
        return self.tmux("display-message", "-p", "-t", self.target, fmt).strip()

    def wait_for(
        self,
        check: str | Callable[[str], bool],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        scrollback: bool = False,
    ) -> str:
        """Poll the screen until it contains ``check`` (or ``check(screen)`` holds)."""
        test = (lambda s: check in s) if isinstance(check, str) else check
        deadline = time.monotonic() + timeout
        for pause in polls():
            text = self.scrollback() if scrollback else self.screen()
            if test(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {check!r}; the screen:\n{text}")
            time.sleep(pause)
        raise AssertionError("unreachable")

    def program_pid(self) -> int:
        """The pid of the program under test: the only child of the pane's shell (read from
        /proc, so no ``ps`` is needed on a bare CI image)."""
        shell = int(self.pane("#{pane_pid}"))
        children = [pid for pid, ppid in _processes() if ppid == shell]
        assert len(children) == 1, f"expected one program under the pane's shell: {children}"
        return children[0]

    def wait_exit(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        """Wait for the program to end; its exit status as the shell reports it (128+N for
        signal N). Read from the screen: tmux itself does not always reap a dead pane's
        process in time to report its status."""
        screen = self.wait_for(lambda s: _EXIT.search(s) is not None, timeout=timeout)
        match = _EXIT.search(screen)
        assert match is not None
        return int(match.group(1))

    def kill(self) -> None:
        subprocess.run(
            [TMUX, "-L", self.socket, "kill-server"], capture_output=True, env=self.env, check=False
        )


_EXIT = re.compile(r"\[exit (\d+)\]")


def _shell(argv: list[str]) -> str:
    """A shell line running ``argv`` then printing its exit status and staying open."""
    return f'{shlex.join(argv)}; echo "[exit $?]"; exec sleep 3600'


def _processes() -> Iterator[tuple[int, int]]:
    """(pid, parent pid) of every process still there."""
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_file.read_text()
        except OSError:  # it ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after the command name
        yield int(stat_file.parent.name), int(fields[1])


def polls() -> Iterator[float]:
    """The pauses between two looks at a terminal: 20 ms at first, then longer, up to 100 ms.
    A quick change is seen at once; a long wait (a slow reply, a program starting on a busy
    machine) spends half the CPU of a tmux client every 50 ms, and a screen shown for a few
    tenths of a second (a line scrolling through a small pane) is still seen."""
    pause = 0.02
    while True:
        yield pause
        pause = min(pause * 1.3, 0.1)


def wait_until(check: Callable[[], bool], timeout: float = DEFAULT_TIMEOUT) -> None:
    """Poll ``check`` until it holds, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    for pause in polls():
        if check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s")
        time.sleep(pause)


@contextmanager
def chat_tmux(server: str, home: Path, **extra: str) -> Iterator[Tmux]:
    """A tmux server whose programs talk to the fake at ``server`` with an isolated data dir and
    config in ``home`` (the ``term`` fixture of the REPL's tmux tests)."""
    from tests.cli_helpers import clean_env
    from tests.fakes import DEFAULT_API_KEY

    env = clean_env(
        home,
        OPENAI_API_KEY=DEFAULT_API_KEY,
        OPENAI_BASE_URL=server,
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
        **extra,
    )
    tmux = Tmux(env, home)
    try:
        yield tmux
    finally:
        tmux.kill()


def at_prompt(screen: str) -> bool:
    """The REPL waits for input: the last line drawn is an empty prompt."""
    lines = [line for line in screen.splitlines() if line.strip()]
    return bool(lines) and lines[-1].rstrip() == "›"
