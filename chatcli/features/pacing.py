"""Client-side pacing shared by the bulk commands (summarize, batch's local runner).

A profile's ``requests_per_minute`` spaces request starts at least 60/rpm seconds apart across
all worker threads; relays that count requests per minute then never answer 429.
"""

from __future__ import annotations

import threading

from chatcli.environment import Clock


class Limiter:
    """Client-side rate limit: request starts at least 60/rpm seconds apart, across threads,
    on the command's ``clock``."""

    def __init__(self, requests_per_minute: float | None, clock: Clock) -> None:
        self.clock = clock
        self.interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, stop: threading.Event) -> None:
        """Take the next start slot and sleep until it (or until ``stop`` is set)."""
        if not self.interval:
            return
        clock = self.clock
        with self._lock:
            now = clock.monotonic()
            at = max(now, self._next)
            self._next = at + self.interval
        if at > now:
            clock.wait(stop, at - now)
