"""SIGTERM and SIGHUP stop chatcli the way Ctrl-C does: one policy for every command.

A closed terminal (SIGHUP), a ``kill`` or a logout (SIGTERM) arriving while an answer streams
must not lose what was paid for. ``install`` makes both signals raise ``Stopped``, a
``KeyboardInterrupt``, so every path that already keeps a partial answer on Ctrl-C (the session
records it marked interrupted and logs its usage) does the same for them; ``__main__`` then
exits 128 + the signal's number (143, 129) instead of 130. Code that goes on after a Ctrl-C
(the REPL) asks ``received()`` and leaves instead. A second signal while chatcli is saving is
ignored, so the save is not cut short; SIGKILL still ends it at once.

Leaving is bounded, though: a process whose terminal is gone must not linger (prompt_toolkit
can wait forever, on a closed terminal, for tasks it cancels). ``GRACE`` seconds after the
first signal (room for the store's longest wait before it journals), or at a signal repeated
``INSIST`` seconds after it, the process ends with the signal's exit code. A signal that finds
chatcli at rest (the REPL waiting at its prompt: every turn already saved) gets ``REST_GRACE``
instead, so a closed terminal does not leave a chat behind for a minute. A forced end runs
the quick clean-ups registered with ``on_forced_exit`` first.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from chatcli.errors import ExitStatus

HANDLED = (signal.SIGTERM, signal.SIGHUP)
_NAMES = {signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}
_received: int | None = None
_first_at = 0.0
GRACE = 60.0
"""Seconds a stopping chatcli has to finish (the store waits up to 30 s before journaling)."""
INSIST = 3.0
"""A signal repeated this long after the first ends chatcli at once."""
REST_GRACE = 2.0
"""Seconds to leave in when the signal came while nothing was at stake (``resting``)."""
_resting = False
_redeliver = False  # a ``Stopped`` Python swallowed: raise it again at the next chance


class Stopped(KeyboardInterrupt):
    """A SIGTERM or SIGHUP, raised where the main thread was, like Ctrl-C's interrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _handler(signum: int, frame: FrameType | None) -> None:
    global _received, _first_at, _redeliver
    if _received is not None and _redeliver:  # the first one was swallowed: raise it now
        _redeliver = False
        raise Stopped(_received)
    if _received is not None:  # already stopping: let the partial answer be saved, unless
        if time.monotonic() - _first_at >= INSIST:  # the user insists
            os._exit(128 + _received)
        return
    _received, _first_at = signum, time.monotonic()
    watchdog = threading.Timer(REST_GRACE if _resting else GRACE, os._exit, (128 + signum,))
    watchdog.daemon = True
    watchdog.start()
    raise Stopped(signum)


@contextlib.contextmanager
def resting() -> Iterator[None]:
    """While inside, nothing unsaved is at stake: a signal ends chatcli within ``REST_GRACE``."""
    global _resting
    before, _resting = _resting, True
    try:
        yield
    finally:
        _resting = before


def _unraisable(hook: Callable[[Any], None]) -> Callable[[Any], None]:
    """``sys.unraisablehook`` that keeps a ``Stopped`` raised where Python cannot raise (a
    weakref callback of the import machinery, a ``__del__``): no "Exception ignored"
    traceback is printed, and the signal is raised again in the main thread, from a timer
    (raised inside this hook it would be swallowed again)."""

    def unraisable(info: Any) -> None:
        global _redeliver
        if isinstance(info.exc_value, Stopped):
            _redeliver = True  # from another thread, once this hook has returned: a real
            main = threading.main_thread().ident  # signal, so a blocking call is woken too
            again = threading.Timer(0.01, signal.pthread_kill, (main, info.exc_value.signum))
            again.daemon = True
            again.start()
            return
        hook(info)

    return unraisable


def install() -> None:
    """Route SIGTERM and SIGHUP through ``_handler`` (main thread only; a no-op elsewhere)."""
    import sys

    if not getattr(sys.unraisablehook, "_chatcli", False):
        hook = _unraisable(sys.unraisablehook)
        hook._chatcli = True  # type: ignore[attr-defined]
        sys.unraisablehook = hook
    for signum in HANDLED:
        try:
            if signal.getsignal(signum) is signal.SIG_IGN:
                continue  # nohup: the user asked for hangups to be ignored
            signal.signal(signum, _handler)
        except (ValueError, OSError):  # not the main thread, or not supported here
            pass


def received() -> int | None:
    """The signal that is stopping chatcli, if one arrived."""
    return _received


def exit_code(default: ExitStatus) -> ExitStatus:
    """128 + the signal's number when a signal stopped chatcli, else ``default``."""
    return default if _received is None else ExitStatus(128 + _received)


def describe() -> str:
    """``interrupted`` for Ctrl-C, ``stopped by SIGTERM`` for a signal."""
    if _received is None:
        return "interrupted"
    return f"stopped by {_NAMES.get(signal.Signals(_received), str(_received))}"


def reset() -> None:
    """Forget a received signal (in-process tests run several commands in one process)."""
    global _received, _redeliver
    _received, _redeliver = None, False
