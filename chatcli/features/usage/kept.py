"""Paid partial results kept for a re-run: the part summaries of a summary whose combining
request (or a later part) failed, the transcripts of the pieces of a split recording whose later
piece failed. Each was paid for; running the same command again takes them from here instead
of paying for them twice, and only what is missing is sent.

They are kept in the database (the ``caches`` table, one row per kind: SPEC §1 allows no other
file in the data dir), keyed by a digest of everything that made the request (profile, model,
its options and its exact input), so a changed input, model or option never reuses them. Only
a run that failed or was interrupted keeps anything; an entry is dropped once a run has used
it, and the oldest go first beyond ``MAX_ENTRIES`` or ``MAX_CHARS``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable

MAX_ENTRIES = 2000
MAX_CHARS = 4_000_000
_VERSION = "1"
KEEP_WAIT = 5.0
"""Seconds a kept result waits for the database's write lock (held a moment by this command's
own usage log, or another chatcli): without a wait, a summary paid for was printed instead of
kept whenever its usage row was being written at the same instant."""
_LOCK = threading.Lock()


def digest(*parts: str | bytes | None) -> str:
    """A key for one request: the SHA-256 of its parts, each length-prefixed."""
    h = hashlib.sha256()
    for part in parts:
        data = b"\x00" if part is None else part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


class Kept:
    """The kept results of one ``kind`` ("summarize", "transcribe") for one command: what an
    earlier run left (read once), and what this run adds or uses."""

    def __init__(self, kind: str, max_chars: int = MAX_CHARS) -> None:
        self.kind = kind
        self.max_chars = max_chars  # media (images, audio: base64) need more than text
        self._name = f"kept.{kind}"
        self._lock = threading.Lock()
        self._entries: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._entries is None:
            self._entries = _read(self._name)
        return self._entries

    def get(self, key: str) -> str | None:
        """The result an earlier run kept under ``key``, or None."""
        with self._lock:
            return self._load().get(key)

    def keep(self, results: dict[str, str]) -> bool:
        """Add ``results`` (key -> paid result) for the next run; whether they were stored
        (the database may be busy with another process's write: then they are not)."""
        if not results:
            return True
        with _LOCK:
            entries = _read(self._name)
            for key in results:
                entries.pop(key, None)
            entries.update(results)
            entries = _trim(entries, self.max_chars)
            _write(self._name, entries)
            stored = _read(self._name)
        return all(stored.get(key) == value for key, value in results.items())

    def forget(self, keys: Iterable[str]) -> None:
        """Drop ``keys`` (results a run took and finished its work with) from the database."""
        used = set(keys)
        if not used:
            return
        with _LOCK:
            entries = _read(self._name)
            if any(key in entries for key in used):
                _write(self._name, {k: v for k, v in entries.items() if k not in used})


def _read(name: str) -> dict[str, str]:
    from chatcli.settings import paths
    from chatcli.store import caches

    raw = caches.read(paths.data_dir(), name, _VERSION)
    if not raw:
        return {}
    try:
        obj = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(obj, dict):
        return {}
    return {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, str)}


def _write(name: str, entries: dict[str, str]) -> None:
    from chatcli.settings import paths
    from chatcli.store import caches

    # a paid result: worth waiting a moment for another writer (this command's usage log)
    caches.write(paths.data_dir(), name, _VERSION, json.dumps(entries, ensure_ascii=False),
                 wait=KEEP_WAIT)  # fmt: skip


def _trim(entries: dict[str, str], max_chars: int = MAX_CHARS) -> dict[str, str]:
    """The newest entries within ``MAX_ENTRIES`` and ``max_chars`` (insertion order is age)."""
    items: Iterable[tuple[str, str]] = reversed(list(entries.items()))
    kept: list[tuple[str, str]] = []
    size = 0
    for key, value in items:
        size += len(value)
        if len(kept) >= MAX_ENTRIES or size > max_chars:
            break
        kept.append((key, value))
    return dict(reversed(kept))
