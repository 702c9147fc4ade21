"""The recovery journal: paid answers the database could not take, kept until it can.

After an answer was delivered (and paid for), the database may be busy (another process holds
its write lock) or its disk full. ``save`` then waits, with a notice, up to
``CHATCLI_STORE_WAIT`` seconds in all (default 30), and if the database still cannot be written,
appends the turn and its usage entry to ``recovery.jsonl`` in the data dir (0600, one JSON
object per line, fsync'd). The next command that opens the database (``Store.open``) replays
the journal into it, each entry once (its id is recorded in the same transaction), and removes
it. The answer stays on stdout and the command exits as delivered: it never says "try again".

A disk that is full for the database is usually full for the journal too, so the data dir
keeps a small ballast file (``recovery.reserve``, 256 KiB) that is given up to make room for
the journal when the disk fills, and made again once there is space.

Concurrency: appends take an exclusive ``flock`` and check that the file they locked is still
the journal (a replayer renames it away first), so no entry is written into a file already
replayed; replays of the same file by two processes are kept apart by the recorded ids.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatcli.errors import StoreBusy, StoreError, StoreFull
from chatcli.store.records import NewMessage, RequestResult, UsageRecord

if TYPE_CHECKING:
    from chatcli.store.db import Store

JOURNAL = "recovery.jsonl"
RESERVE = "recovery.reserve"
RESERVE_BYTES = 256 * 1024
WAIT_ENV = "CHATCLI_STORE_WAIT"
DEFAULT_WAIT = 30.0

Notify = Callable[[str], None]


def to_stderr(text: str) -> None:
    """The default notice channel: one ``chatcli: ...`` line on the command's stderr, by the
    ``chatcli`` logger the output layer writes out (``output.log_to``; never raises)."""
    logging.getLogger("chatcli").warning(f"chatcli: {text}")


def wait_bound() -> float:
    """How long to wait for a busy database before journaling (``CHATCLI_STORE_WAIT``)."""
    try:
        value = float(os.environ.get(WAIT_ENV, DEFAULT_WAIT))
    except ValueError:
        return DEFAULT_WAIT
    return min(max(value, 0.0), 3600.0) if value == value else DEFAULT_WAIT


QUICK_TRY = 0.25
"""Seconds the first try waits for another writer: ordinary contention (another chatcli saving
its turn) clears well within it; past it the user is told at once why the command waits."""


def attempt(store: Store, write: Callable[[], object], notify: Notify) -> bool:
    """Run ``write``; while the database is busy, retry up to ``CHATCLI_STORE_WAIT`` seconds in
    all, with one notice once the first, short try found it busy. False when it could not be
    written: busy past the bound (or already given up on in this process) or the disk full."""
    bound = 0.0 if store.gave_up else wait_bound()  # given up before: one quick try
    deadline = time.monotonic() + bound
    store.busy_timeout(max(0.05, min(QUICK_TRY, bound)))
    try:
        while True:
            try:
                write()
                return True
            except StoreFull:
                return False
            except StoreBusy:
                now = time.monotonic()
                if store.gave_up or now >= deadline:
                    store.gave_up = True
                    return False
                if not store.wait_noted:  # once per process, however many threads wait
                    store.wait_noted = True
                    notify(
                        "the database is busy (another process is writing to it); waiting up "
                        f"to {bound:g} s to save this answer"
                    )
                store.busy_timeout(deadline - now)  # the next try waits no longer than that
    finally:
        store.busy_timeout(None)


def keep(store: Store, entry: dict[str, Any], notify: Notify) -> bool:
    """Append ``entry`` to the journal; say where it went, or that it could not be kept."""
    entry = {"id": os.urandom(16).hex(), "at": time.time(), **entry}
    line = json.dumps(entry, ensure_ascii=False) + "\n"
    data_dir = store.path.parent
    try:
        _append(data_dir / JOURNAL, line.encode("utf-8"), data_dir / RESERVE)
    except OSError as exc:
        notify(
            f"could not save this answer (database: not writable; journal: {exc.strerror or exc});"
            " it was shown above but is not kept"
        )
        return False
    if not store.journal_noted:  # once per process (a batch may journal many answers)
        store.journal_noted = True
        notify(
            f"the database could not be written; this answer was saved to {data_dir / JOURNAL} "
            "and goes into the database on the next chatcli command"
        )
    return True


def _append(path: Path, data: bytes, reserve: Path) -> None:
    for tries in range(2):
        try:
            with _locked_journal(path) as fd:
                os.write(fd, data)
                os.fsync(fd)
            return
        except OSError as exc:
            if tries or exc.errno not in (28, 122) or not reserve.exists():  # ENOSPC, EDQUOT
                raise
            reserve.unlink()  # the ballast makes room for the journal


@contextlib.contextmanager
def _locked_journal(path: Path) -> Iterator[int]:
    """The journal opened for appending under an exclusive lock, never a file renamed away."""
    while True:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                yield fd
                return
        finally:
            os.close(fd)


def ensure_reserve(data_dir: Path) -> None:
    """Make the ballast file when it is missing and there is room (best effort, quiet)."""
    path = data_dir / RESERVE
    if path.exists():
        return
    tmp = data_dir / f".{RESERVE}.{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except (OSError, AttributeError):
        with contextlib.suppress(OSError):
            tmp.unlink()


def replay(store: Store, notify: Notify = to_stderr) -> int:
    """Write every journaled entry into the database (each once) and remove the journal; the
    number written. Files stay for the next command when the database is still not writable."""
    data_dir = store.path.parent
    journal = data_dir / JOURNAL
    if journal.exists():
        with contextlib.suppress(OSError):
            os.replace(journal, data_dir / f"{JOURNAL}.{os.getpid()}-{os.urandom(4).hex()}")
    written = 0
    for path in sorted(data_dir.glob(f"{JOURNAL}.*")):
        try:
            with _locked_file(path) as text:
                written += _apply(store, text)
            path.unlink()
        except (StoreError, OSError):
            continue  # busy or full still: the next command tries again
    if written:
        plural = "s" if written != 1 else ""
        notify(f"wrote {written} saved answer{plural} from the recovery journal into the database")
    ensure_reserve(data_dir)
    return written


@contextlib.contextmanager
def _locked_file(path: Path) -> Iterator[str]:
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # an append into it before the rename finishes first
        with os.fdopen(os.dup(fd), "rb") as f:
            yield f.read().decode("utf-8", "replace")
    finally:
        os.close(fd)


def _apply(store: Store, text: str) -> int:
    """Every entry of one journal file not applied before, in one transaction."""
    entries = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                entries.append(entry)
    written = 0
    with store._write() as conn:
        for entry in entries:
            seen = conn.execute("SELECT 1 FROM journal_applied WHERE id = ?", (entry["id"],))
            if seen.fetchone():
                continue
            session_id = None
            if isinstance(entry.get("turn"), dict):
                session_id = store._replay_turn(conn, entry["turn"])
            if isinstance(entry.get("batch"), dict):
                store._replay_batch(conn, entry["batch"])
            elif isinstance(entry.get("usage"), dict):
                store._replay_usage(conn, _usage(entry["usage"]), session_id)
            conn.execute("INSERT INTO journal_applied (id) VALUES (?)", (entry["id"],))
            written += 1
    return written


def _usage(raw: dict[str, Any]) -> UsageRecord:
    fields = UsageRecord.__dataclass_fields__
    return UsageRecord(**{k: v for k, v in raw.items() if k in fields})


def message(raw: dict[str, Any]) -> NewMessage:
    """A journaled message back as a ``NewMessage``."""
    fields = NewMessage.__dataclass_fields__
    return NewMessage(**{k: v for k, v in raw.items() if k in fields})


def batch_result(raw: dict[str, Any]) -> tuple[int, RequestResult, UsageRecord | None]:
    """A journaled batch answer: its job id, result and usage entry."""
    fields = RequestResult.__dataclass_fields__
    result = RequestResult(**{k: v for k, v in raw["result"].items() if k in fields})
    usage = _usage(raw["usage"]) if isinstance(raw.get("usage"), dict) else None
    return int(raw["job_id"]), result, usage
