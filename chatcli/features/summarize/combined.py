"""Which summaries ``-o DIR``'s ``combined.md`` was made from: a small record beside it.

A re-run keeps ``DIR/combined.md`` when no input was summarised again, but only if it was made
from the very summaries this run would combine: ``summarize a b -o DIR --combine``, then
``summarize a b c -o DIR --combine`` must not present the combination of ``a`` and ``b`` as
that of all three. The record, ``DIR/.chatcli-combined.json``, lists each summary file's name
and the SHA-256 of its text; it travels with the folder (no database entry to go stale when
the folder is moved or copied). When the summaries differ, or there is no record (a folder
from an older chatcli, a record deleted), only the combining request is sent again: the
inputs' own summaries are read from their files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

RECORD = ".chatcli-combined.json"
_VERSION = 1

Made = list[tuple[str, str]]
"""(summary file name, SHA-256 of its text), sorted: what a combined summary was made from."""


def made_from(summaries: dict[str, str]) -> Made:
    """The record of combining ``summaries`` (file name -> summary text)."""
    return sorted(
        (name, hashlib.sha256(text.encode("utf-8")).hexdigest()) for name, text in summaries.items()
    )


def recorded(folder: Path) -> Made | None:
    """What ``folder``'s combined summary was made from, or None when no usable record."""
    try:
        obj = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(obj, dict) or obj.get("version") != _VERSION:
        return None
    summaries = obj.get("summaries")
    if not isinstance(summaries, list):
        return None
    made: Made = []
    for entry in summaries:
        if not isinstance(entry, dict):
            return None
        name, digest = entry.get("file"), entry.get("sha256")
        if not isinstance(name, str) or not isinstance(digest, str):
            return None
        made.append((name, digest))
    return sorted(made)


def forget(folder: Path) -> None:
    """Drop the record before ``combined.md`` is rewritten: if writing the new record fails,
    no record is better than one describing the old summary."""
    with contextlib.suppress(OSError):
        (folder / RECORD).unlink()


def text(made: Made) -> str:
    """The record's file content."""
    entries = [{"file": name, "sha256": digest} for name, digest in made]
    return json.dumps({"version": _VERSION, "summaries": entries}, indent=2) + "\n"
