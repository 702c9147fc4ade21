"""A result paid for is never lost to a write that fails.

Images, speech audio, transcripts and summaries are written through ``outputs`` (a temporary
name in the target folder, renamed once whole: never a truncated file under the final name).
When that fails after the request (a full disk, a read-only file system, no permission, an I/O
error, ``/proc``), the result is kept in chatcli's database (``usage.kept``: the data dir holds
nothing else) under a key naming the request, and the same command run again (with any ``-o``)
takes it from there instead of paying again: ``unwritten`` says so in the error, with where
it is. Where even the database cannot take it, the caller's fallback is used and named
(stdout for text, a file in the temporary folder for images and audio: ``aside``).
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from chatcli.errors import ChatcliError

if TYPE_CHECKING:
    from chatcli.features.usage.kept import Kept

MEDIA_CHARS = 96_000_000
"""Room for kept images and audio (base64) per command: ten large PNGs, or a long WAV."""


def media(kind: str) -> Kept:
    """The kept results of a command that makes binary results (``image``, ``speak``)."""
    from chatcli.features.usage.kept import Kept

    return Kept(kind, max_chars=MEDIA_CHARS)


def cannot_write(path: Path, exc: OSError) -> ChatcliError:
    """The error for a result that could not be written to ``path``."""
    return ChatcliError(f"cannot write {path}: {exc.strerror or exc}")


def database() -> Path:
    """Where kept results are: chatcli's database."""
    from chatcli.settings import paths
    from chatcli.store import DB_NAME

    return paths.data_dir() / DB_NAME


def unwritten(
    kept: Kept, results: dict[str, str], error: ChatcliError, what: str, again: str
) -> bool:
    """Keep ``results`` (key -> paid result) that could not be written, for the same command
    again, and add to ``error`` that ``what`` ("the summary is") is kept and where; False
    when even that failed (the database is full or busy): the caller's fallback then."""
    if not kept.keep(results):
        return False
    error.message += (
        f"; {what} kept: the same command again {again} without sending anything "
        f"(it is in chatcli's database, {database()})"
    )
    return True


def pack(items: list[bytes]) -> str:
    """Binary results as one kept text (base64, one line each)."""
    return "\n".join(base64.b64encode(item).decode("ascii") for item in items)


def unpack(text: str) -> list[bytes]:
    """``pack``'s results back."""
    return [base64.b64decode(line) for line in text.split("\n") if line]


def aside(data: bytes, stem: str, ext: str, folders: list[Path] | None = None) -> Path | None:
    """Save ``data`` as ``STEM[-N].EXT`` in the first of ``folders`` (default: the temporary
    folder) that takes it, never over a file; None when none does."""
    from chatcli.features.outputs import write_new

    for folder in folders or [Path(tempfile.gettempdir())]:
        for n in range(1, 1000):
            path = folder / f"{stem}{'' if n == 1 else f'-{n}'}.{ext}"
            try:
                write_new(path, data)
            except FileExistsError:
                continue
            except OSError:
                break
            return path
    return None
