"""Facts about the terminal a stream is attached to, and temporary changes to its modes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TextIO


def isatty(stream: TextIO | None) -> bool:
    """Whether ``stream`` is a terminal; False for closed, replaced or missing streams."""
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def modes(
    stream: TextIO, *, local_off: int = 0, local_on: int = 0, input_off: int = 0
) -> Iterator[bool]:
    """Turn termios local-mode flags off/on and input-mode flags off on the terminal behind
    ``stream`` for the block, restoring them whatever happens. Yields whether it could (False
    off a terminal or off POSIX, where nothing is changed)."""
    try:
        import termios
    except ImportError:  # not a POSIX terminal
        yield False
        return
    try:
        fd = stream.fileno()
        saved = termios.tcgetattr(fd) if stream.isatty() else None
    except (AttributeError, OSError, ValueError, termios.error):
        saved = None
    if saved is None:
        yield False
        return
    changed = list(saved)
    changed[0] &= ~input_off
    changed[3] = (changed[3] & ~local_off) | local_on
    termios.tcsetattr(fd, termios.TCSANOW, changed)
    try:
        yield True
    finally:
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, saved)
