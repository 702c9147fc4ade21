"""Server text made safe and short before it reaches a terminal or an error line.

Anything an endpoint sends (error bodies, model ids, stored answers) may carry terminal escape
sequences or binary bytes. ``sanitize`` is the live view's rule (``render.sanitize``, stdlib
only); ``one_line`` also collapses whitespace, for error messages and table cells.
"""

from __future__ import annotations

from chatcli.render import sanitize

__all__ = ["one_line", "sanitize", "summarize_bytes"]


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
