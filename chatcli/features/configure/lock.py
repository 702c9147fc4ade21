"""One writer of a config file at a time: the read-modify-write of ``config set`` holds an
exclusive ``flock`` on a lock file beside the config, so parallel edits (a provisioning script
setting keys with ``&``, two terminals) each see the one before and none is lost; the atomic
replace alone only made the last writer win whole.

The lock file is ``.NAME.lock`` beside the real file (a symlinked config is edited where it
points, as ``paths.write_private`` writes it), 0600, and removed by its holder when done, so
nothing is left beside the config. A process that was waiting on a removed lock file finds it
gone (or replaced) once it gets the lock, and starts again on the current one. A folder where
it cannot be made (read only, not ours) is no reason to refuse here: the write that follows
says why it fails.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def lock_path(config: Path) -> Path:
    """The lock file of ``config``: beside the file a symlink points to."""
    real = Path(os.path.realpath(config))
    return real.with_name(f".{real.name}.lock")


@contextlib.contextmanager
def held(config: Path) -> Iterator[None]:
    """Hold ``config``'s lock for the block (waiting for another writer to finish)."""
    path = lock_path(config)
    fd = _take(path)
    if fd is None:
        yield  # no lock to be had here; the write reports the folder's problem
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while still held: a waiter then finds it gone and starts again
        os.close(fd)  # releases the lock


def _take(path: Path) -> int | None:
    """An open, exclusively locked descriptor of the lock file at ``path`` (the file that is
    there now, not one a previous holder removed meanwhile); None when it cannot be had."""
    import fcntl

    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    while True:
        try:
            fd = os.open(path, flags, 0o600)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            mine = os.fstat(fd)
            now = os.stat(path, follow_symlinks=False)
        except FileNotFoundError:  # removed by the holder we waited for: take the next one
            os.close(fd)
            continue
        except OSError:  # a filesystem without locks: as before, unlocked
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        if (mine.st_dev, mine.st_ino) == (now.st_dev, now.st_ino):
            return fd
        os.close(fd)  # replaced meanwhile: lock the current one
