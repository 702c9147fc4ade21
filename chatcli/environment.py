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
