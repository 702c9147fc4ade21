"""How long a server asks us to wait before retrying, and the backoff when it does not say.

Headers come from anywhere: ``Retry-After`` in seconds or as an HTTP date, ``retry-after-ms``,
and the ``llm_provider-retry-after`` copies a LiteLLM proxy forwards from upstream. A value that
is not a finite, non-negative number of seconds (``nan``, ``-3``, garbage) counts as not given,
so the normal backoff applies; ``inf``, ``1e999`` and a date in year 9999 come back as large
numbers, which the transport compares with ``max_retry_wait``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

MAX_BACKOFF = 20.0

_SECONDS = ("retry-after", "llm_provider-retry-after", "x-ratelimit-reset-after")
_MILLISECONDS = ("retry-after-ms", "llm_provider-retry-after-ms")


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the server asked us to wait (possibly ``inf``), or None when it did not say;
    ``now`` (the command clock's wall time) dates an HTTP-date value."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in _MILLISECONDS:
        seconds = _number(lowered.get(name))
        if seconds is not None:
            return seconds / 1000
    for name in _SECONDS:
        value = lowered.get(name)
        if value is None:
            continue
        seconds = _number(value)
        if seconds is None:
            seconds = _date(value, now)
        if seconds is not None:
            return seconds
    return None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if math.isnan(seconds) or seconds < 0:
        return None
    return seconds


def _date(value: str, now: float) -> float | None:
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        return max(0.0, when.timestamp() - now)
    except (OverflowError, OSError, ValueError):
        return math.inf


def backoff(attempt: int) -> float:
    """Exponential backoff with jitter: about 0.5, 1, 2, 4 ... s, at most ``MAX_BACKOFF``."""
    return float(min(MAX_BACKOFF, 0.5 * 2 ** min(attempt, 10)) * (0.75 + random.random() / 2))


def describe(seconds: float) -> str:
    """A wait as people read it: ``0.4 s``, ``12 s``, ``3 h 20 min``, ``forever``."""
    if math.isinf(seconds):
        return "forever"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{math.ceil(seconds)} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:,.0f} days"
