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
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

from chatcli import terminal

P = ParamSpec("P")
T = TypeVar("T")

_questions: list[Callable[[], None]] = []
"""How to show again each question reading keys now (``asking``), the latest last."""


def main_thread_only(target: Callable[P, T]) -> Callable[P, T]:
    """``target`` for a thread chatcli starts (the MCP client's loop, its pipe readers): it
    runs with SIGTSTP blocked, as do the threads it starts in turn. The kernel gives a
    process-wide signal to any thread not blocking it: one of these would take Ctrl-Z's with
    the default action, stopping the process with the terminal as it was mid-frame, where
    ``suspendable``'s watcher must take it (or, at the prompt, the main thread)."""

    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        tstp = getattr(signal, "SIGTSTP", None)
        if tstp is not None:
            signal.pthread_sigmask(signal.SIG_BLOCK, {tstp})
        return target(*args, **kwargs)

    return run


@contextlib.contextmanager
def asking(show_again: Callable[[], None]) -> Iterator[None]:
    """For the block a question reads keys in the middle of an answer (a tool call's approval,
    drawn under the writer's lock): Ctrl-Z stops without waiting for the writer, and after
    ``fg`` the question is shown again by ``show_again``, its terminal modes back in force."""
    _questions.append(show_again)
    try:
        yield
    finally:
        _questions.remove(show_again)


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
    """Restore the terminal, stop until continued, then take it back (the writer redraws, or
    the question being asked is shown again)."""
    if _questions:
        show_again = _questions[-1]
        terminal.restore_all()
        os.kill(os.getpid(), signal.SIGSTOP)
        terminal.reapply_all()
        with contextlib.suppress(OSError, ValueError):
            show_again()
        return
    paused = getattr(writer, "paused", None)
    with paused() if paused is not None else contextlib.nullcontext():
        terminal.restore_all()
        os.kill(os.getpid(), signal.SIGSTOP)
        terminal.reapply_all()
