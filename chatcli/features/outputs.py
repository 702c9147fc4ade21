"""One output file per input, never two inputs writing the same file.

``transcribe a/talk.mp3 b/talk.mp3 -o DIR`` or ``talk.mp3 talk.wav`` would both become
``DIR/talk.srt``: one paid result overwriting another. Every bulk command that writes a file per
input names them here: the first input with a stem keeps it, later ones get ``-2``, ``-3``...
in input order, so the same command line names the same files again (a re-run's skip of the
inputs already written relies on that).

``written`` is the one way an output file is written (``batch results --jsonl``/``-o DIR``,
``transcribe -o``, ``speak -o``, summaries): as ``>`` would write it, never replacing what the
name is; ``write_new`` the way a file under a fresh name is (``image``). Both write a temporary
name in the target folder and rename it once whole, so a full disk never leaves a truncated file
under the final name; a paid result they cannot write is kept (``features.paid``).
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, TextIO, overload

from chatcli.errors import UsageError


def check_folder(folder: Path | None, why: str = "give a directory") -> None:
    """Settle ``-o DIR`` before anything is paid for: a file or a link to nowhere is refused,
    and a missing folder is made now (0700, missing parents too, as every folder chatcli
    makes), so one that cannot be made (a file in its path, ``/proc``, a read-only disk, no
    permission) is a usage error (exit 2) instead of paid results with nowhere to go."""
    if folder is None:
        return
    try:
        if folder.is_symlink() and not folder.exists():
            raise UsageError(f"-o {folder} is a link to nowhere; {why}")
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"-o {folder} is a file; {why}")
    except OSError as exc:
        raise UsageError(f"-o {folder}: {exc.strerror or exc}") from None
    _make(folder, f"-o {folder}")
    _writable(folder, f"-o {folder}", "choose a folder you can write")


def _writable(folder: Path, what: str, hint: str) -> None:
    """Refuse ``what`` (exit 2) unless a file can be made in ``folder``: one is made and
    removed, since ``os.access`` says yes to root on ``/proc`` or on an NFS share that maps
    root to nobody. The system's reason is said ("Read-only file system", not "permission
    denied")."""
    probe = folder / f".chatcli-probe-{os.getpid()}-{threading.get_ident()}"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise UsageError(f"{what}: no file can be made there: {exc.strerror or exc}",
                         hint=hint) from None  # fmt: skip
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def _make(folder: Path, what: str) -> None:
    """Make ``folder`` (0700, missing parents too) or refuse ``what`` with the reason: the
    part of its path that is a file rather than a folder when there is one (``mkdir`` only
    says "File exists" then)."""
    from chatcli.settings.paths import ensure_private_dir

    try:
        ensure_private_dir(folder)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        for part in (folder, *folder.parents):
            try:
                if part.exists() or part.is_symlink():
                    if not part.is_dir():
                        reason = "a file has that name" if part == folder else f"{part} is a file"
                    break
            except OSError:
                break
        raise UsageError(f"{what}: cannot make {folder}: {reason}") from None


def refuse_own(path: Path) -> None:
    """Refuse (exit 2) an output file that is one of chatcli's own (its database, journal,
    history or config: ``settings.paths.own_files``) or any SQLite database: written whole,
    an export or a transcript would replace every stored session."""
    from chatcli.settings.paths import own_files

    real = Path(os.path.realpath(path))
    if real in own_files():
        raise UsageError(f"-o {path} is chatcli's own {real.name}; give another file")
    with contextlib.suppress(OSError), open(real, "rb") as existing:
        if existing.read(16) == b"SQLite format 3\x00":
            raise UsageError(f"-o {path} is an SQLite database; give another file",
                             hint="chatcli does not write its output over a database")  # fmt: skip


def prepare_file(path: Path | None) -> None:
    """Make ``-o FILE`` writable before anything is paid for: its missing folders are made
    0700 (as ``check_folder`` makes ``-o DIR``); a directory, a folder that cannot be made or
    one chatcli may not write into is refused (exit 2) instead of failing after the request,
    and so is one of chatcli's own files (``refuse_own``)."""
    if path is None:
        return
    refuse_own(path)
    if path.is_dir():
        raise UsageError(f"-o {path} is a directory; give a file name")
    hint = "choose a file you can write"
    try:
        found: os.stat_result | None = os.stat(path)
    except OSError:
        found = None
    if found is not None and not stat.S_ISREG(found.st_mode):  # /dev/stdout, a FIFO: written
        if not os.access(path, os.W_OK):  # through, so only the file itself must take it
            raise UsageError(f"-o {path}: permission denied", hint=hint)
        return
    folder = path.parent
    _make(folder, f"-o {path}")
    if found is not None:  # a link is written where it points: that folder must take it
        folder = Path(os.path.realpath(path)).parent
    if found is not None and not os.access(path, os.W_OK):
        raise UsageError(f"-o {path}: permission denied", hint=hint)
    _writable(folder, f"-o {path}", hint)


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


@overload
def written(
    path: Path, *, binary: Literal[False] = False
) -> contextlib.AbstractContextManager[TextIO]: ...
@overload
def written(
    path: Path, *, binary: Literal[True]
) -> contextlib.AbstractContextManager[BinaryIO]: ...
def written(path: Path, *, binary: bool = False) -> contextlib.AbstractContextManager[IO[Any]]:
    """An output file opened for writing, as ``> path`` in a shell would write it: a FIFO,
    a character device, a socket or ``/proc/self/fd/N`` (``/dev/stdout``, ``>(jq ...)``) is
    opened and written through, never replaced by a regular file; a symbolic link is
    followed, its target written and the link kept. Only a regular file (reached through
    links or not) or a new name is written whole or not at all: a temporary file beside the
    target, renamed onto it once complete (an existing file's permissions kept), so a full
    disk never leaves a half output that looks complete. ``OSError`` comes out as it is (the
    callers say what it means for them); a failure inside the block leaves no temporary
    file behind."""
    return _written(path, binary)


@contextlib.contextmanager
def _written(path: Path, binary: bool) -> Iterator[IO[Any]]:
    """``written``."""
    mode, encoding = ("wb", None) if binary else ("w", "utf-8")
    try:
        found: os.stat_result | None = os.stat(path)  # through links, as ``>`` opens it
    except FileNotFoundError:
        found = None  # a new name, or a link to a name not made yet
    if found is not None and not stat.S_ISREG(found.st_mode):
        with open(path, mode, encoding=encoding) as f:  # a special file: written through
            yield f
        return
    refuse_own(path)  # the last guard, whichever command writes
    target = Path(os.path.realpath(path))  # a link's target, written where it points
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, mode, encoding=encoding) as f:
            if found is not None:
                os.chmod(tmp, stat.S_IMODE(found.st_mode))
            yield f
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_output(path: Path, data: str | bytes) -> None:
    """``data`` into ``path`` through ``written`` (raises ``OSError``)."""
    if isinstance(data, bytes):
        with written(path, binary=True) as out:
            out.write(data)
    else:
        with written(path) as text:
            text.write(data)


def write_new(path: Path, data: bytes) -> None:
    """``data`` as the new file ``path``, whole or not at all: written under a temporary name
    beside it, then linked to ``path`` (``FileExistsError`` when that name is taken: nothing is
    ever overwritten). A file system without hard links gets the name reserved empty first
    and the file renamed onto it. ``OSError`` comes out as it is; no temporary file is left."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:  # FAT, some FUSE and network file systems: no hard links
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            try:
                os.replace(tmp, path)
            except OSError:
                with contextlib.suppress(OSError):
                    path.unlink()
                raise
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
