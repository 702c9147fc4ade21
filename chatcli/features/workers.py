"""Worker threads for the bulk commands (summarize's inputs and parts, transcribe's inputs,
batch's local runner), and the one way they stop.

Ctrl-C (and SIGTERM or SIGHUP: ``signals``) reaches only the main thread, while the workers
wait on the server. Leaving a ``Workers`` block with that interrupt runs the command's
``interrupt`` (its stop flags, and ``Provider.abort``, which cuts the requests in flight) and
cancels the tasks not started: the requests in flight fail at once and the waits (the rate
limiter, retry countdowns) see the flags. It then gives the workers up to ``WIND_DOWN`` seconds
to end, no more: long enough for each to put its cut request in the usage log (marked
interrupted) while the command's database is still open, and never a wait on the server. Any
other failure cancels the tasks not started and lets those in flight finish. A Ctrl-C that
comes while the block waits for its workers is handled the same way, so no path waits on a
slow server after it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

WIND_DOWN = 0.5
"""Seconds an interrupted block waits for its workers to record what they sent (their requests
are cut already: they end in milliseconds; the bound is for a worker stuck elsewhere)."""


class Workers:
    """``count`` threads named ``name``; ``stop`` is set when the block fails or is
    interrupted, ``interrupt`` runs on Ctrl-C (cut what is in flight)."""

    def __init__(
        self, count: int, name: str, *, stop: threading.Event, interrupt: Callable[[], None]
    ) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, count), thread_name_prefix=name)
        self._futures: list[Future[Any]] = []
        self.stop = stop
        self._interrupt = interrupt

    def submit(self, fn: Callable[..., T], /, *args: Any) -> Future[T]:
        future = self._pool.submit(fn, *args)
        self._futures.append(future)
        return future

    def __enter__(self) -> Workers:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, KeyboardInterrupt):
            self._abandon()
            return
        if exc is not None:
            self.stop.set()
            for future in self._futures:
                future.cancel()
        try:
            self._pool.shutdown(wait=True)
        except KeyboardInterrupt:
            self._abandon()
            raise

    def _abandon(self) -> None:
        """Stop everything now; give the workers, whose requests are cut, ``WIND_DOWN``
        seconds to record them, then leave the rest to end on their own."""
        self.stop.set()
        self._interrupt()
        self._pool.shutdown(wait=False, cancel_futures=True)
        running = [future for future in self._futures if not future.done()]
        if running:
            wait_for(running, timeout=WIND_DOWN)
