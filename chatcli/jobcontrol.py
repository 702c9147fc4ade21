"""Ctrl-Z while an answer streams: hand the terminal back, stop, and carry on after ``fg``.

A program stopped by the default SIGTSTP action leaves its terminal as it was mid-frame: the
cursor hidden, auto-wrap off, echo off, live rows that the next frame no longer knows about.
So while a stream runs, SIGTSTP is taken by a watcher thread (blocked everywhere else and
collected with ``sigwait``, so no lock is ever taken inside a signal handler): it erases the
live region and shows the cursor (``paused`` on the writer), undoes the termios changes in
force, stops the process with SIGSTOP, and on SIGCONT makes the changes again and lets the
writer redraw its live rows where the cursor now is. Reading the answer goes on meanwhile: the
server's bytes wait in the socket. Stdlib only: it is on ``ask``'s path.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

from chatcli import terminal


@contextlib.contextmanager
def suspendable(writer: Any) -> Iterator[None]:
    """For the block, Ctrl-Z suspends cleanly (see the module docstring). A no-op off the
    main thread, off POSIX, or where SIGTSTP is ignored (no job control to return to)."""
    tstp = getattr(signal, "SIGTSTP", None)
    if (
        tstp is None
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(tstp) is not signal.SIG_DFL
    ):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {tstp})
    closing = threading.Event()

    def watch() -> None:
        while True:
            signal.sigwait({tstp})
            if closing.is_set():
                return
            stop_here(writer)

    watcher = threading.Thread(target=watch, name="chatcli-job-control", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        closing.set()
        if watcher.ident is not None:
            signal.pthread_kill(watcher.ident, tstp)
        watcher.join()
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def stop_here(writer: Any) -> None:
    """Restore the terminal, stop until continued, then take it back (the writer redraws)."""
    paused = getattr(writer, "paused", None)
    with paused() if paused is not None else contextlib.nullcontext():
        terminal.restore_all()
        os.kill(os.getpid(), signal.SIGSTOP)
        terminal.reapply_all()
