"""The process's surroundings, made once in ``__main__`` and handed down: the three standard
streams, whether each is a terminal, the terminal's width, whether colour is wanted, and the
clock (``monotonic``, ``time``, ``sleep``) every wait in chatcli takes.

Why one object: code that reads ``sys.stdout`` or calls ``time.sleep`` itself can only be tested
in a subprocess, and waits for real. It is handed down the way HTTPie hands its
``Environment`` down: ``chatcli.__main__.run`` puts the one it is given into click's
``ctx.meta`` (``ENVIRONMENT``), ``cli.common.global_options`` passes it to each command, and
every feature receives it (providers receive its clock through ``connect``); nothing reads a
global one. Tests run the real entry point in process with their own streams and a
``ManualClock`` (tests/cli_helpers.py). Only the stdlib is imported here.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Protocol, TextIO


class Clock(Protocol):
    """Where chatcli gets the time and waits: backoff, Retry-After countdowns, batch polling,
    the rate limiter."""

    def monotonic(self) -> float: ...
    def time(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...
    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Sleep ``seconds`` unless ``event`` is set first; whether it is set."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(max(0.0, seconds))


class ManualClock:
    """A clock that never waits: ``sleep`` moves the time forward at once (thread-safe), and
    ``slept`` records every wait asked for, so a test can check a countdown without sleeping."""

    def __init__(self, start: float = 1_000_000.0, wall: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall - start
        self._lock = threading.Lock()
        self.slept: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def time(self) -> float:
        with self._lock:
            return self._now + self._wall_offset

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self._now += max(0.0, seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        self.sleep(seconds)
        return event.is_set()


class Stderr:
    """The process's stderr as every chatcli write reaches it (``Notifier``, ``output.err``,
    the live views' consoles, the errors of ``__main__``): a stderr that fails (its reader gone:
    EPIPE; a full device; a bad or closed descriptor) only means notices can no longer be
    shown. The first failure marks it dead and every later write is dropped; it never raises,
    so a command goes on (retries, the answer on stdout) and exits with its own code. Its
    descriptor then points at /dev/null, so what Python had buffered is flushed there."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.dead = stream is None  # ``2>&-``: Python starts with ``sys.stderr = None``

    def write(self, text: str) -> int:
        if not self.dead:
            try:
                self.stream.write(text)  # type: ignore[union-attr]
            except (OSError, ValueError, AttributeError):
                self._die()
        return len(text)

    def flush(self) -> None:
        if not self.dead:
            try:
                self.stream.flush()  # type: ignore[union-attr]
            except (OSError, ValueError, AttributeError):
                self._die()

    def isatty(self) -> bool:
        return not self.dead and _isatty(self.stream)

    def fileno(self) -> int:
        if self.stream is None:
            raise OSError(errno.EBADF, "stderr is closed")
        return self.stream.fileno()

    def __getattr__(self, name: str) -> object:  # encoding, errors, reconfigure, buffer...
        if name == "stream" or self.stream is None:
            raise AttributeError(name)
        return getattr(self.stream, name)

    def _die(self) -> None:
        self.dead = True
        with contextlib.suppress(OSError, ValueError, AttributeError):
            fd = self.stream.fileno()  # type: ignore[union-attr]
            devnull = os.open(os.devnull, os.O_WRONLY)
            if devnull != fd:
                os.dup2(devnull, fd)
                os.close(devnull)


class ClosedStdout:
    """stdout when the process started with it closed (``>&-``: ``sys.stdout is None``):
    anything written fails as a closed descriptor does, so ``__main__`` says
    ``cannot write to stdout (closed)`` (exit 1); a command that prints nothing is unaffected."""

    encoding = "utf-8"
    errors = "strict"

    def write(self, text: str | bytes) -> int:
        raise OSError(errno.EBADF, "closed")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "stdout is closed")

    @property
    def buffer(self) -> ClosedStdout:  # ``out_bytes`` writes bytes here
        return self


def standard_streams() -> None:
    """Make the process's standard streams safe to run with (``__main__``, first): a closed
    descriptor 0, 1 or 2 is re-opened on /dev/null, so no file chatcli opens later (the
    database) takes its number and receives what a child process prints; stderr becomes a
    ``Stderr`` and a closed stdout a ``ClosedStdout``. ``COLUMNS``/``LINES`` that are not a
    positive number (``COLUMNS=0`` in some containers) are dropped, as if unset: the help
    renderer reads them itself and would draw a page zero columns wide."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            with contextlib.suppress(OSError):
                devnull = os.open(os.devnull, os.O_RDWR)
                if devnull != fd:
                    os.dup2(devnull, fd)
                    os.close(devnull)
    if sys.stdout is None:
        sys.stdout = ClosedStdout()
    if not isinstance(sys.stderr, Stderr):
        sys.stderr = Stderr(sys.stderr)
    for name in ("COLUMNS", "LINES"):
        value = os.environ.get(name)
        if value is not None and not (value.isascii() and value.strip().isdigit() and int(value)):
            del os.environ[name]


def _isatty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, OSError, ValueError):
        return False


def _width(stream: TextIO | None) -> int | None:
    try:
        if stream is not None and stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        pass
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


def _colour(tty: bool) -> bool:
    """NO_COLOR (any value) wins; FORCE_COLOR/CLICOLOR_FORCE force it; else only on a terminal
    that is not ``TERM=dumb``."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR") or os.environ.get("CLICOLOR_FORCE") not in (None, "", "0"):
        return True
    return tty and os.environ.get("TERM") != "dumb"


@dataclass(frozen=True)
class Environment:
    """Everything a command reads from its surroundings besides the config and the arguments."""

    stdin: TextIO | None
    stdout: TextIO
    stderr: TextIO
    stdin_isatty: bool = False
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    width: int | None = None
    colour: bool = False
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def from_process(cls) -> Environment:
        """The real process's streams and clock (``__main__`` makes this once)."""
        out_tty = _isatty(sys.stdout)
        return cls(
            stdin=sys.stdin,
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdin_isatty=_isatty(sys.stdin),
            stdout_isatty=out_tty,
            stderr_isatty=_isatty(sys.stderr),
            width=_width(sys.stdout),
            colour=_colour(out_tty),
            clock=SystemClock(),
        )

    def with_clock(self, clock: Clock) -> Environment:
        return replace(self, clock=clock)


ENVIRONMENT = "chatcli.environment"
"""The key of the command's environment in click's ``ctx.meta`` (``__main__.run`` puts it
there; ``cli.common.global_options`` hands it to the command as ``environment``)."""


@contextlib.contextmanager
def using(env: Environment) -> Iterator[Environment]:
    """For the block, ``sys.stdin``/``stdout``/``stderr`` are ``env``'s streams, like
    ``contextlib.redirect_stdout`` does (``__main__.run`` does this for the command): the
    prompt_toolkit, Rich and click code that looks the streams up itself sees the same ones
    chatcli was handed. chatcli's own code never reads them: it is handed ``env``."""
    streams = sys.stdin, sys.stdout, sys.stderr
    if env.stdin is not None:
        sys.stdin = env.stdin
    sys.stdout, sys.stderr = env.stdout, env.stderr
    try:
        yield env
    finally:
        sys.stdin, sys.stdout, sys.stderr = streams
