"""The ffmpeg runs of ``transcribe`` and their working folders: a killed chatcli leaves none.

SIGKILL cannot be caught, so ``kill -9`` of chatcli used to leave ffmpeg running on (adopted by
init) and the folder holding its copy of the input in ``$TMPDIR``. On Linux each ffmpeg asks
the kernel to kill it when chatcli dies (``PR_SET_PDEATHSIG``, set between fork and exec:
``run``). Each working folder is named after the process that made it (``folder``:
``chatcli-transcribe-PID-START-…``, START the process's start time, so a reused PID is not
taken for it), and every ``transcribe`` first removes those of processes that are gone
(``sweep``); folders of running ones, of other users or of other names are left alone. A
folder holds what ffmpeg makes (the extracted track, pieces) and piped input; a file given by
name is read where it is, never copied.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

PREFIX = "chatcli-transcribe-"
_NAME = re.compile(re.escape(PREFIX) + r"(\d+)-(\d+)-")
_PR_SET_PDEATHSIG = 1


def run(cmd: list[str], **options: Any) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run(cmd, **options)`` with the child killed if chatcli dies first."""
    return subprocess.run(cmd, preexec_fn=_dies_with_parent(), **options)


def arg(path: Path) -> str:
    """``path`` as ffmpeg's ``-i`` must be given a user's file: absolute, so a name such as
    ``concat:a|b`` or ``http:x`` is a file, never a protocol."""
    return os.path.abspath(path)


def folder() -> tempfile.TemporaryDirectory[str]:
    """A working folder in ``$TMPDIR`` named after this process (see ``sweep``)."""
    return tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-{_started(os.getpid())}-")


def sweep() -> None:
    """Remove the working folders that killed runs left (their process is gone)."""
    root = tempfile.gettempdir()
    with contextlib.suppress(OSError), os.scandir(root) as entries:
        for entry in entries:
            match = _NAME.match(entry.name)
            if match is None or _running(int(match.group(1)), match.group(2)):
                continue
            with contextlib.suppress(OSError):
                found = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid():
                    shutil.rmtree(entry.path, ignore_errors=True)


def _running(pid: int, started: str) -> bool:
    """Whether process ``pid`` that started at ``started`` (``_started``) still runs."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's: running
        return True
    now = _started(pid)
    return now == "0" or started == "0" or now == started


def _started(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, ``/proc/PID/stat``'s 22nd
    field); "0" where that cannot be read (no ``/proc``)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()
    except (OSError, IndexError, UnicodeDecodeError):
        return "0"


def _dies_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGKILL the child when chatcli dies (None elsewhere,
    or without a C library to ask with). It only calls ``prctl`` and ``getppid``: nothing
    that takes a lock another thread may hold at the fork."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes
    import signal

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    kill = int(signal.SIGKILL)

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, kill)
        if os.getppid() != parent:  # chatcli died before the request was made
            os._exit(1)

    return hook
