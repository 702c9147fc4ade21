"""A stdio MCP server's stderr, kept in memory and bounded.

Only its last line is ever shown (when the server fails to start), but a server may log
verbosely for hours; a file would grow without bound (and would be written outside chatcli's
data dir). The server writes into a pipe; a thread reads it and keeps the last ``KEEP`` bytes.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import TextIO

KEEP = 64 * 1024
"""Bytes of a server's stderr kept (the end of what it wrote)."""
SETTLE = 1.0
"""Seconds to wait for the end of a stopped server's stderr before quoting it."""


class StderrTail:
    """The write end of a pipe for the server (``file``), and the last bytes it wrote."""

    def __init__(self, name: str) -> None:
        read, write = os.pipe()
        self.file: TextIO = os.fdopen(write, "w", encoding="utf-8", errors="replace")
        self._kept = bytearray()
        self._lock = threading.Lock()
        from chatcli.jobcontrol import main_thread_only

        self._thread = threading.Thread(  # Ctrl-Z is the main thread's (or its watcher's)
            target=main_thread_only(self._drain),
            args=(read,),
            name=f"chatcli-mcp-stderr-{name}",
            daemon=True,
        )
        self._thread.start()

    def _drain(self, fd: int) -> None:
        try:
            while chunk := os.read(fd, 65536):
                with self._lock:
                    self._kept += chunk
                    if len(self._kept) > KEEP:
                        del self._kept[: len(self._kept) - KEEP]
        except OSError:
            pass
        finally:
            os.close(fd)

    def spawned(self) -> None:
        """The server has its copy of the write end: ours is closed, so the pipe ends when
        the server (and whatever it started) does."""
        with contextlib.suppress(OSError):
            self.file.close()

    def kept(self) -> bytes:
        with self._lock:
            return bytes(self._kept)

    def last_line(self, wait: float = SETTLE) -> str | None:
        """The last non-empty line the server wrote, once what it wrote before it stopped has
        been read (waiting at most ``wait`` seconds for that)."""
        self.spawned()
        self._thread.join(wait)
        text = self.kept()[-8192:].decode("utf-8", "replace")
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        return lines[-1] if lines else None
