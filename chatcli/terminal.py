"""Facts about the terminal a stream is attached to, and temporary changes to its modes.

The changes in force are kept in a list, so that job control (``jobcontrol``) can hand the
terminal back as it found it on Ctrl-Z and make them again on ``fg``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import IO, Any, TextIO

DUMB_TERMS = frozenset({"", "dumb", "unknown"})
"""``$TERM`` values of terminals that do not move the cursor (Emacs shell buffers, CI logs)."""

_ACTIVE: list[tuple[int, list[Any], list[Any]]] = []  # (fd, saved, changed), in order


def isatty(stream: IO[str] | None) -> bool:
    """Whether ``stream`` is a terminal; False for closed, replaced or missing streams."""
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, OSError, ValueError):
        return False


def in_background(stream: IO[str] | None) -> bool:
    """Whether ``stream`` is a terminal whose foreground process group is not ours (a job
    started with ``&``, or put in the background): such a process cannot ask anything there,
    as changing the terminal's modes or reading from it stops it (SIGTTOU, SIGTTIN) until
    someone types ``fg``. False when it cannot be told (no file descriptor: an injected
    stream), so only a process known to be in the background is held back."""
    try:
        if stream is None:
            return False
        fd = stream.fileno()
        return os.isatty(fd) and os.tcgetpgrp(fd) != os.getpgrp()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return False


def is_dumb() -> bool:
    """Whether ``$TERM`` (unset included) names a terminal without cursor movement."""
    return os.environ.get("TERM", "").strip().lower() in DUMB_TERMS


def restore_all() -> None:
    """Undo every mode change in force (latest first), before the process stops."""
    import termios

    for fd, saved, _ in reversed(_ACTIVE):
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def reapply_all() -> None:
    """Make the mode changes in force again, after the process is continued."""
    import termios

    for fd, _, changed in _ACTIVE:
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSADRAIN, changed)


@contextlib.contextmanager
def modes(
    stream: TextIO, *, local_off: int = 0, local_on: int = 0, input_off: int = 0
) -> Iterator[bool]:
    """Turn termios local-mode flags off/on and input-mode flags off on the terminal behind
    ``stream`` for the block, restoring them whatever happens. Yields whether it could (False
    off a terminal or off POSIX, where nothing is changed, and from a background job: a mode
    change there would stop the process, SIGTTOU, until ``fg``)."""
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
    if saved is None or in_background(stream):
        yield False
        return
    changed = list(saved)
    changed[0] &= ~input_off
    changed[3] = (changed[3] & ~local_off) | local_on
    termios.tcsetattr(fd, termios.TCSANOW, changed)
    entry = (fd, saved, changed)
    _ACTIVE.append(entry)
    try:
        yield True
    finally:
        _ACTIVE.remove(entry)
        with contextlib.suppress(OSError, termios.error):
            termios.tcsetattr(fd, termios.TCSANOW, saved)


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` terminal columns, ending in "…" when cut: by display width,
    not by characters, as a CJK character or an emoji takes two columns."""
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        used += cell_len(char)
        if used > width - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"
