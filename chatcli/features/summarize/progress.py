"""Overall progress of a ``summarize`` run over several inputs, on stderr.

On a terminal one line is redrawn in place: inputs done/total, requests done/planned, tokens,
cost so far and an ETA from the pace of the requests so far. Off a terminal nothing is redrawn:
the run logs one line per input as it finishes (``line``), which reads well in CI logs.
"""

from __future__ import annotations

import threading
import time

from chatcli.events import Notice
from chatcli.output import Notifier
from chatcli.pricing import ModelInfo, cost_usd, money


class Tracker:
    """Thread-safe counters of one run; ``many`` is False for a single input (no overall line)."""

    def __init__(self, notifier: Notifier, total: int, info: ModelInfo, *, many: bool) -> None:
        self.notifier = notifier
        self.total = total
        self.info = info
        self.many = many
        self.inputs_done = 0
        self.requests = 0
        self.requests_done = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.started = time.monotonic()
        self.lock = threading.Lock()

    def add_requests(self, n: int) -> None:
        with self.lock:
            self.requests += n
        self._draw()

    def request_done(self) -> None:
        with self.lock:
            self.requests_done += 1
        self._draw()

    def add_usage(self, prompt: int, completion: int) -> None:
        with self.lock:
            self.prompt_tokens += prompt
            self.completion_tokens += completion

    def cost(self) -> float | None:
        return cost_usd(self.info, self.prompt_tokens, self.completion_tokens)

    def input_done(self, message: str) -> None:
        """One input finished (or failed): a log line off a terminal, a redraw on one."""
        with self.lock:
            self.inputs_done += 1
            if not self.notifier.tty:
                self.notifier.note(message)
            elif message.split(": ", 2)[-1].startswith("failed"):
                self.notifier.note(message)  # failures stay on screen above the progress line
        self._draw()

    def status(self) -> str:
        cost = self.cost()
        spent = "cost unknown" if cost is None else money(cost)
        tokens = self.prompt_tokens + self.completion_tokens
        line = (
            f"{self.inputs_done}/{self.total} inputs, {self.requests_done}/{self.requests} "
            f"requests, {tokens} tokens, {spent}"
        )
        left = self.requests - self.requests_done
        if self.requests_done and left > 0:
            eta = (time.monotonic() - self.started) / self.requests_done * left
            line += f", ETA {_duration(eta)}"
        return line

    def _draw(self) -> None:
        if not (self.many and self.notifier.tty):
            return
        with self.lock:
            self.notifier.notice(Notice(f"summarising: {self.status()}", key="progress"))

    def finish(self) -> None:
        if self.many and self.notifier.tty:
            with self.lock:
                self.notifier.end_line()


BIG = 1 << 20
"""Inputs of at least this many bytes or characters get a stage line while read and counted."""


def stage(notifier: Notifier, message: str) -> None:
    """On a terminal, one line redrawn in place saying what reading or counting a big input
    is doing (30 MB takes seconds before the first request); nothing off a terminal."""
    if notifier.tty:
        notifier.notice(Notice(f"summarize: {message}…", key="stage"))


def stage_done(notifier: Notifier) -> None:
    """Erase the stage line before the estimate, a question or the requests' own lines."""
    notifier.end_line()


def size(n: int) -> str:
    """``n`` bytes or characters, as a stage line says it (``30 MB``)."""
    return f"{n / 1_000_000:.0f} MB" if n >= 1_000_000 else f"{n / 1000:.0f} kB"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
