"""A small real filesystem for a test: a tmpfs mounted under the test's directory, filled up or
remounted read-only, so "no space left" and "read-only" come from the kernel, not a mock.

Mounting needs root (or CAP_SYS_ADMIN); where it is refused the test is skipped, saying why.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@contextmanager
def tmpfs(where: Path, size: str = "2m") -> Iterator[Path]:
    """A fresh tmpfs of ``size`` mounted at ``where`` for the block."""
    where.mkdir(parents=True, exist_ok=True)
    result = _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where))
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or 'mount failed'})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def read_only(where: Path) -> None:
    """Remount the tmpfs at ``where`` read-only."""
    result = _mount("-o", "remount,ro", str(where))
    assert result.returncode == 0, result.stderr


def fill(where: Path, leave: int = 0) -> Path:
    """Fill the filesystem at ``where`` until at most ``leave`` bytes are free; the filler file."""
    filler = where / "filler"
    with open(filler, "wb") as f:
        chunk = b"\0" * 65536
        with suppress(OSError):
            while True:
                free = os.statvfs(where).f_bavail * os.statvfs(where).f_frsize
                if free <= leave:
                    break
                f.write(chunk[: max(1, min(len(chunk), free - leave))])
                f.flush()
    return filler
