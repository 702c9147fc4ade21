"""One output file per input, never two inputs writing the same file.

``transcribe a/talk.mp3 b/talk.mp3 -o DIR`` or ``talk.mp3 talk.wav`` would both become
``DIR/talk.srt``: one paid result overwriting another. Every bulk command that writes a file per
input names them here: the first input with a stem keeps it, later ones get ``-2``, ``-3``...
in input order, so the same command line names the same files again (a re-run's skip of the
inputs already written relies on that).
"""

from __future__ import annotations

import os
from pathlib import Path

from chatcli.errors import UsageError


def check_folder(folder: Path | None, why: str = "give a directory") -> None:
    """Refuse ``-o DIR`` before anything is paid for when no file can be written in it: a file,
    or a symbolic link to nowhere (a folder that does not exist yet is made later)."""
    if folder is None:
        return
    if folder.is_symlink() and not folder.exists():
        raise UsageError(f"-o {folder} is a link to nowhere; {why}")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"-o {folder} is a file; {why}")


def prepare_file(path: Path | None) -> None:
    """Make ``-o FILE`` writable before anything is paid for: its missing folders are made
    0700 (as ``image -o`` and ``transcribe -o DIR`` make theirs); a directory, a folder that cannot
    be made or one chatcli may not write into is refused (exit 2) instead of failing after
    the request."""
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"-o {path} is a directory; give a file name")
    from chatcli.settings.paths import ensure_private_dir

    folder = path.parent
    try:
        ensure_private_dir(folder)  # 0700, missing parents too, as every folder chatcli makes
    except OSError as exc:
        raise UsageError(f"-o {path}: cannot make {folder}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"-o {path}: permission denied", hint="choose a file you can write")


def unique_stems(stems: list[str], taken: set[str] | None = None) -> list[str]:
    """``stems`` made distinct (case-insensitively: macOS and Windows folders are), in order,
    none of them in ``taken``."""
    seen = {t.casefold() for t in taken or set()}
    out: list[str] = []
    for stem in stems:
        candidate, n = stem, 2
        while candidate.casefold() in seen:
            candidate, n = f"{stem}-{n}", n + 1
        seen.add(candidate.casefold())
        out.append(candidate)
    return out
