"""Server text made safe and short before it reaches a terminal or an error line.

Anything an endpoint sends (error bodies, model ids, stored answers) may carry terminal escape
sequences or binary bytes, and so may model output. ``sanitize`` removes them (``Sanitizer``
does it across the chunks of a stream, for the live view); ``one_line`` also collapses
whitespace, for error messages and table cells. Stdlib only: every layer may use it.
"""

from __future__ import annotations

import re

__all__ = ["Sanitizer", "one_line", "sanitize", "summarize_bytes"]

_CONTROL = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]              # CSI: colours, cursor moves, erases, modes
    | \x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)  # OSC, DCS, SOS, PM, APC with their terminator
    | \x1b[ -/]*[0-~]                      # other escape sequences (charsets, keypad, RIS)
    | [\x00-\x08\x0b-\x1f\x7f-\x9f]        # C0 controls but tab and newline, DEL, C1 controls
    """,
    re.VERBOSE,
)
# A sequence that may still be completed by the next chunk; held back rather than mangled.
_UNFINISHED = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|[\]PX^_][^\x07\x1b]*\x1b?|[ -/]*)\Z")
_MAX_HELD = 4096  # an escape sequence longer than this is garbage: let sanitize() strip it


def sanitize(text: str) -> str:
    """Remove terminal control sequences and control characters, keeping newlines and tabs.

    Model output can carry escape sequences (by accident or by prompt injection) that would
    recolour, retitle, clear or reprogram the user's terminal if written raw.
    """
    return _CONTROL.sub("", text)


class Sanitizer:
    """``sanitize`` across chunk boundaries: an escape split over two chunks is removed whole."""

    def __init__(self) -> None:
        self._held = ""

    def push(self, text: str) -> str:
        text = self._held + text
        self._held = ""
        match = _UNFINISHED.search(text)
        if match and len(text) - match.start() <= _MAX_HELD:
            self._held = text[match.start() :]
            text = text[: match.start()]
        return sanitize(text)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return sanitize(held)


def one_line(text: str, limit: int = 500) -> str:
    """``text`` without control sequences, on one line, at most ``limit`` characters."""
    flat = " ".join(sanitize(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def summarize_bytes(raw: bytes, content_type: str | None) -> str | None:
    """``<2,345 bytes of image/png>`` for a body that is not text, or None for text."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    textual = not kind or kind.startswith("text/") or "json" in kind or "xml" in kind
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = None
    if textual and decoded is not None and "\x00" not in decoded:
        return None
    return f"<{len(raw):,} bytes of {kind or 'binary data'}>"
