"""One notice about a document, said through the ``chatcli`` logger (the layer that shows it
sanitised on stderr): readers below the package say what they left out without importing it."""

from __future__ import annotations


def notice(note: str) -> None:
    """Say ``note`` on stderr, on one line."""
    import logging

    from chatcli.safetext import one_line

    logging.getLogger("chatcli").warning(f"chatcli: {one_line(note, 300)}")
