"""Facts about the terminal a stream is attached to."""

from __future__ import annotations

from typing import TextIO


def isatty(stream: TextIO | None) -> bool:
    """Whether ``stream`` is a terminal; False for closed, replaced or missing streams."""
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, OSError, ValueError):
        return False
