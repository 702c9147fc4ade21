"""The one way chatcli reads a file or a stream a user names: bounded, with one wording of why
it cannot be read.

Every input is read whole, so each path has a size it will not go past: ``/dev/zero``, a
10 GB sparse file or an endless pipe is refused once that many bytes came, instead of filling
the memory. The limits are per kind of input (``LIMITS``): a config or schema is small, a batch
input file may be as large as the Batch API takes, audio and video larger still. Stdlib only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from chatcli.errors import ChatcliError, UsageError, unreadable

MiB = 1024 * 1024
CONFIG = 1 * MiB
"""Config files, schemas, templates, MCP server lists: text a person writes."""
TEXT = 200 * MiB
"""Texts and documents to summarise, batch input files (the Batch API takes 200 MB files)."""
MEDIA = 2048 * MiB
"""Audio and video to transcribe (a long video; its audio track is what gets uploaded)."""


def size_text(n: int) -> str:
    """``20 MiB`` for whole mebibytes (``2 GiB`` for whole gibibytes), else bytes."""
    if n % (1024 * MiB) == 0:
        return f"{n // (1024 * MiB)} GiB"
    return f"{n // MiB} MiB" if n % MiB == 0 else f"{n} bytes"


def read_file(
    path: Path,
    limit: int,
    kind: str = "a file",
    *,
    lead: str = "",
    error: type[ChatcliError] = UsageError,
    hint: str | None = None,
) -> bytes:
    """The bytes of ``path``, refused past ``limit`` (``unreadable`` for the rest: missing, a
    directory where ``kind`` was expected, the system's reason); ``lead`` and ``error`` as for
    ``unreadable``, ``hint`` for the size. A name the file system's encoding cannot spell
    (``笔记.txt`` typed in the REPL under ``LC_ALL=C`` without UTF-8 mode) is looked up as
    the UTF-8 it is, as arguments are."""
    try:
        with _spelt(path).open("rb") as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise unreadable(path, exc, kind, lead=lead, error=error) from None
    return _within(data, limit, str(path), lead=lead, error=error, hint=hint)


def _spelt(path: Path) -> Path:
    """``path``, or its UTF-8 bytes as the OS takes them when its encoding cannot spell it."""
    try:
        os.fsencode(path)
    except UnicodeEncodeError:
        return Path(os.fsdecode(str(path).encode("utf-8", "surrogateescape")))
    return path


def read_text_file(
    path: Path,
    limit: int,
    kind: str = "a file",
    *,
    lead: str = "",
    error: type[ChatcliError] = UsageError,
) -> str:
    """``read_file`` decoded as UTF-8 (a BOM, as Windows editors write, is dropped)."""
    data = read_file(path, limit, kind, lead=lead, error=error)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise unreadable(path, exc, kind, lead=lead, error=error) from None


def read_stream(stream: BinaryIO, limit: int, source: str, *, hint: str | None = None) -> bytes:
    """At most ``limit`` bytes of ``stream`` (piped input), refused past that."""
    try:
        data = stream.read(limit + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from None
    return _within(data, limit, source, hint=hint)


def _within(
    data: bytes,
    limit: int,
    source: str,
    *,
    lead: str = "",
    error: type[ChatcliError] = UsageError,
    hint: str | None = None,
) -> bytes:
    if len(data) > limit:
        message = f"{source} is larger than {size_text(limit)}"
        raise error(f"{lead}: {message}" if lead else message, hint=hint)
    return data
