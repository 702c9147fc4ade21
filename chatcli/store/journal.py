"""The recovery journal: paid answers the database could not take, kept until it can.

After an answer was delivered (and paid for), the database may be busy (another process holds
its write lock) or its disk full. ``save`` then waits, with a notice, up to
``CHATCLI_STORE_WAIT`` seconds in all (default 30), and if the database still cannot be written,
appends the turn and its usage entry to ``recovery.jsonl`` in the data dir (0600, one JSON
object per line, fsync'd). The next command that opens the database (``Store.open``) replays
the journal into it, each entry once (its id is recorded in the same transaction), and removes
it. The answer stays on stdout and the command exits as delivered: it never says "try again".

A disk that is full for the database is usually full for the journal too, so while a command
has the database open it holds 256 KiB of disk as ballast: a file with no name (``O_TMPFILE``,
or made and unlinked at once), whose room is given back the moment it is closed. When the disk
fills, closing it makes room for the journal. Having no name, it is never seen in the data dir
(which holds the database and the input history, nothing else), and the kernel frees it when
the process ends, however it ends.

Concurrency: appends take an exclusive ``flock`` and check that the file they locked is still
the journal (a replayer renames it away first), so no entry is written into a file already
replayed; replays of the same file by two processes are kept apart by the recorded ids.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import json
import logging
import math
import os
import sqlite3
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from shlex import quote
from typing import TYPE_CHECKING, Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from chatcli import signals
from chatcli.errors import StoreBusy, StoreDamaged, StoreError, StoreFull
from chatcli.safetext import redact
from chatcli.store.records import NewMessage, RequestResult, UsageRecord

if TYPE_CHECKING:
    from chatcli.store.db import Store

JOURNAL = "recovery.jsonl"
REJECTED = "recovery.rejected.jsonl"
LEGACY_RESERVE = "recovery.reserve"
"""The named ballast older versions kept in the data dir: removed when found."""
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


def attempt(
    store: Store, write: Callable[[], object], notify: Notify, what: str = "this answer"
) -> bool:
    """Run ``write``; while the database is busy, retry up to ``CHATCLI_STORE_WAIT`` seconds in
    all, with one notice (naming ``what`` is being saved) once the first, short try found it
    busy. False when it could not be written: busy past the bound (or already given up on in
    this process), the disk full or a damaged page met.

    A Ctrl-C, SIGTERM or SIGHUP while it waits gives up the wait: False too, so the caller
    keeps the answer in the journal (``keep``), which then raises the interrupt again and the
    command stops as the signal asks. The waits are cut into short tries so a signal is acted
    on within a quarter of a second, not at the end of the window."""
    _stopping.exc = None
    bound = 0.0 if store.gave_up else wait_bound()  # given up before: one quick try
    deadline = time.monotonic() + bound
    store.busy_timeout(max(0.05, min(QUICK_TRY, bound)))
    try:
        while True:
            try:
                write()
                return True
            except (StoreFull, StoreDamaged) as exc:
                store.failure = exc  # the journal's notice says why
                return False
            except StoreBusy:
                now = time.monotonic()
                # a SIGTERM/SIGHUP stops the command: a worker thread (which the signal does
                # not interrupt) journals at once too, rather than holding up the exit
                if store.gave_up or now >= deadline or signals.received():
                    store.gave_up = True
                    return False
                if not store.wait_noted:  # once per process, however many threads wait
                    store.wait_noted = True
                    notify(
                        "the database is busy (another process is writing to it); waiting up "
                        f"to {bound:g} s to save {what}"
                    )
                # the next try waits no longer than the bound, and short enough that a
                # signal (handled only between tries) is not held up
                store.busy_timeout(min(deadline - now, QUICK_TRY))
    except KeyboardInterrupt as exc:  # Ctrl-C or a signal (``signals.Stopped``) while waiting
        store.gave_up = True  # the command is stopping: no more waits in it
        store.failure = None
        _stopping.exc = exc
        return False
    finally:
        store.busy_timeout(None)


class _Stopping(threading.local):
    exc: KeyboardInterrupt | None = None


_stopping = _Stopping()
"""The interrupt that ended this thread's last ``attempt``: ``keep`` raises it again once the
answer is in the journal."""


def stopped() -> KeyboardInterrupt | None:
    """The interrupt (Ctrl-C, SIGTERM, SIGHUP) that cut this thread's last ``attempt`` short,
    if one did and ``keep`` has not raised it again yet."""
    return _stopping.exc


def resume_stop() -> None:
    """Raise again the interrupt that cut the last ``attempt`` short (after the caller kept
    what it had to keep); nothing when there was none."""
    exc, _stopping.exc = _stopping.exc, None
    if exc is not None:
        raise exc


def keep(
    store: Store,
    entry: dict[str, Any],
    notify: Notify,
    *,
    quiet: bool = False,
    resume: bool = True,
) -> bool:
    """Append ``entry`` to the journal; say where it went, or that it could not be kept
    (``quiet``: the caller says it, in its own words, by the result). When a Ctrl-C or a
    signal cut the wait short (``attempt``), that interrupt is raised again once the entry is
    kept (``resume`` False: the caller calls ``resume_stop`` itself, after its own work)."""
    try:
        return _keep(store, entry, notify, quiet=quiet)
    finally:
        if resume:
            resume_stop()


def _keep(store: Store, entry: dict[str, Any], notify: Notify, *, quiet: bool) -> bool:
    entry = {"id": os.urandom(16).hex(), "at": time.time(), **entry}
    line = redact(json.dumps(entry, ensure_ascii=False)) + "\n"  # no key on disk
    data_dir = store.path.parent
    try:
        _append(data_dir / JOURNAL, line.encode("utf-8"), data_dir)
    except OSError as exc:
        if quiet:
            return False
        notify(
            f"could not save this answer (database: not writable; journal: {exc.strerror or exc});"
            " it was shown above but is not kept"
        )
        return False
    if quiet:
        return True
    if stopped() is not None:  # every answer cut from its wait says so: the command ends
        notify(
            "stopped waiting for the database; this answer was saved to "
            f"{data_dir / JOURNAL} and goes into the database on the next chatcli command"
        )
    elif not store.journal_noted:  # once per process (a batch may journal many answers)
        store.journal_noted = True
        if isinstance(store.failure, StoreDamaged):
            notify(
                f"{store.failure}; this answer was saved to {data_dir / JOURNAL}: move the "
                f"database aside (mv {quote(str(store.path))} {quote(f'{store.path}.broken')}) "
                "and the next chatcli command starts a new one and writes the journal into it"
            )
        else:
            notify(
                f"the database could not be written; this answer was saved to "
                f"{data_dir / JOURNAL} and goes into the database on the next chatcli command"
            )
    return True


def _append(path: Path, data: bytes, data_dir: Path) -> None:
    while True:
        try:
            with _locked_journal(path) as fd:
                os.write(fd, data)
                os.fsync(fd)
            return
        except OSError as exc:
            if exc.errno not in (28, 122) or not _give_up_a_reserve(data_dir):  # ENOSPC, EDQUOT
                raise


def _give_up_a_reserve(data_dir: Path) -> bool:
    """Close this process's ballast in ``data_dir``, making its room free for the journal."""
    held = _BALLASTS.pop(data_dir, None)
    if held is None:
        return False
    os.close(held[0])
    return True


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


_BALLASTS: dict[Path, tuple[int, int]] = {}
"""Per data dir: this process's ballast (an open file with no name) and how many stores hold it."""


def hold_reserve(data_dir: Path) -> bool:
    """One more open store of this process keeps a ballast for ``data_dir`` (made if missing
    and there is room). False only when the disk has no room for it: then a paid answer could
    be neither saved nor journaled, and the caller refuses before anything is paid. Other
    failures (a file system without ``posix_fallocate``) are quiet: best effort."""
    held = _BALLASTS.get(data_dir)
    if held is not None:
        _BALLASTS[data_dir] = (held[0], held[1] + 1)
        return True
    with contextlib.suppress(OSError):
        (data_dir / LEGACY_RESERVE).unlink()
    fd = _nameless_file(data_dir)
    if fd is None:
        return True
    try:
        os.posix_fallocate(fd, 0, RESERVE_BYTES)
    except OSError as exc:
        os.close(fd)
        return exc.errno not in (errno.ENOSPC, errno.EDQUOT)
    _BALLASTS[data_dir] = (fd, 1)
    return True


def _nameless_file(data_dir: Path) -> int | None:
    """A new file on ``data_dir``'s disk that has no name there."""
    try:
        return os.open(data_dir, os.O_TMPFILE | os.O_WRONLY, 0o600)  # Linux
    except (AttributeError, OSError):
        pass
    path = data_dir / f".ballast.{os.getpid()}.{os.urandom(4).hex()}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return None
    with contextlib.suppress(OSError):
        path.unlink()
    return fd


def drop_reserve(data_dir: Path) -> None:
    """One store fewer holds it: the last one closing gives its room back."""
    held = _BALLASTS.get(data_dir)
    if held is None:
        return
    if held[1] > 1:
        _BALLASTS[data_dir] = (held[0], held[1] - 1)
        return
    del _BALLASTS[data_dir]
    os.close(held[0])


def replay(store: Store, notify: Notify = to_stderr) -> int:
    """Write every journaled entry into the database (each once) and remove the journal; the
    number written. Files stay for the next command when the database is still not writable.
    An entry that can never be written (not JSON, a wrong shape or type: a hand edit, a torn
    line) is moved to ``recovery.rejected.jsonl`` with one notice, so it neither blocks the
    entries around it nor is lost."""
    data_dir = store.path.parent
    journal = data_dir / JOURNAL
    if journal.exists():
        with contextlib.suppress(OSError):
            os.replace(journal, data_dir / f"{JOURNAL}.{os.getpid()}-{os.urandom(4).hex()}")
    written = 0
    rejected: list[tuple[bytes, str]] = []
    # the replay is a courtesy to an earlier command: a database another process is writing
    # gets one short try, not the full busy wait per file, before this command goes on
    store.busy_timeout(max(0.05, min(QUICK_TRY, wait_bound())))
    try:
        for path in _oldest_first(data_dir.glob(f"{JOURNAL}.*")):
            try:
                with _locked_file(path) as data:
                    if data is None:  # another replayer finished it while this one waited
                        continue
                    done, bad = _apply(store, data)
                    if bad:  # set aside before the file goes: a failure here keeps the file
                        _set_aside(data_dir / REJECTED, [line for line, _ in bad])
                    path.unlink()  # still locked: a second replayer then finds it gone
            except StoreBusy:
                break  # the next command tries again; the later files would wait as well
            except (StoreError, OSError):
                continue  # full still: the next command tries again
            written += done
            rejected += bad
    finally:
        store.busy_timeout(None)
    if written:
        plural = "s" if written != 1 else ""
        notify(f"wrote {written} saved answer{plural} from the recovery journal into the database")
    if rejected:
        n = len(rejected)
        entries = "entry" if n == 1 else "entries"
        notify(
            f"{n} recovery journal {entries} could not be written into the database "
            f"({rejected[0][1]}) and {'was' if n == 1 else 'were'} set aside in "
            f"{data_dir / REJECTED}"
        )
    return written


def _oldest_first(paths: Iterable[Path]) -> list[Path]:
    """Renamed journals in the order their entries were written: a file's last append (its
    mtime, which a rename keeps) comes before the next file was begun, so a conversation
    journaled across several files is written back in its order, not by the files' names."""

    def written(path: Path) -> tuple[int, str]:
        try:
            return path.stat().st_mtime_ns, path.name
        except OSError:
            return 0, path.name

    return sorted(paths, key=written)


@contextlib.contextmanager
def _locked_file(path: Path) -> Iterator[bytes | None]:
    """A renamed journal's bytes under an exclusive lock; None once it has been removed."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # an append into it before the rename finishes first
        if os.fstat(fd).st_nlink == 0:
            yield None
            return
        with os.fdopen(os.dup(fd), "rb") as f:
            yield f.read()
    finally:
        os.close(fd)


def _set_aside(path: Path, lines: list[bytes]) -> None:
    """Append rejected lines, byte for byte, to ``path`` (0600, fsync'd): kept for a person
    to read or fix, never replayed."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"".join(line + b"\n" for line in lines))
        os.fsync(fd)
    finally:
        os.close(fd)


class Rejected(ValueError):
    """A journal entry that can never be written into the database; the message says why."""


_ENTRY_ERRORS = (
    Rejected,
    TypeError,
    ValueError,
    OverflowError,
    sqlite3.IntegrityError,
    sqlite3.InterfaceError,
    sqlite3.ProgrammingError,
    sqlite3.DataError,
)
"""What one entry's own data can raise while it is written: checked entries should raise none
of these, but one that slips through is set aside rather than blocking the journal for ever.
(A busy database or a full disk is an OperationalError: the whole file then waits.)"""


def _apply(store: Store, data: bytes) -> tuple[int, list[tuple[bytes, str]]]:
    """Every entry of one journal file not applied before, in one transaction: how many were
    written, and the lines that cannot be, each with the reason."""
    rejected: dict[int, tuple[bytes, str]] = {}  # by line number: set aside in file order
    entries: list[tuple[int, dict[str, Any]]] = []
    lines = [raw.rstrip(b"\r") for raw in data.split(b"\n")]  # not splitlines(): U+2028,
    for n, line in enumerate(lines):  # NEL and the like may be inside an answer
        if not line.strip():
            continue
        try:
            entry = json.loads(line.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError and JSONDecodeError alike: a torn line
            rejected[n] = line, "not a JSON line"
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            rejected[n] = line, "not an entry with an id"
            continue
        entries.append((n, entry))
    written = 0
    jobs: set[int] = set()  # jobs given answers: their counts are recounted at the end
    with store._write() as conn:
        for n, entry in entries:
            seen = conn.execute("SELECT 1 FROM journal_applied WHERE id = ?", (entry["id"],))
            if seen.fetchone():
                continue
            conn.execute("SAVEPOINT entry")
            try:
                job_id = _write_entry(store, conn, entry)
                conn.execute("INSERT INTO journal_applied (id) VALUES (?)", (entry["id"],))
            except _ENTRY_ERRORS as exc:
                conn.execute("ROLLBACK TO entry")
                conn.execute("RELEASE entry")
                reason = str(exc) if isinstance(exc, Rejected) else f"{type(exc).__name__}: {exc}"
                rejected[n] = lines[n], reason
                continue
            conn.execute("RELEASE entry")
            written += any(k in entry for k in ("turn", "batch", "usage"))  # answers, not jobs
            if job_id is not None:
                jobs.add(job_id)
        for job_id in jobs:
            recount_job(conn, job_id)
    return written, [rejected[n] for n in sorted(rejected)]


def _write_entry(store: Store, conn: sqlite3.Connection, entry: dict[str, Any]) -> int | None:
    """One entry into the database inside the caller's savepoint, every part of it checked
    before anything is written; the job id of a batch answer."""
    turn, batch, usage, job = (entry.get(k) for k in ("turn", "batch", "usage", "job"))
    if turn is None and batch is None and usage is None and job is None:
        raise Rejected("no turn, batch answer, usage entry or job state in it")
    if turn is not None:
        _check_turn(turn)
    job_id = batch_result(batch)[0] if batch is not None else None  # built again to write
    record = _usage(usage) if batch is None and usage is not None else None
    settled = _check_job(job) if job is not None else None
    session_id = store._replay_turn(conn, turn) if turn is not None else None
    if batch is not None:
        store._replay_batch(conn, batch)
    elif record is not None:
        store._replay_usage(conn, record, session_id)
    if settled is not None:
        settle_job(conn, *settled)
    return job_id


def _check_turn(turn: object) -> None:
    if not isinstance(turn, dict):
        raise Rejected("turn: not an object")
    spec = turn.get("session", {})
    if not isinstance(spec, dict):
        raise Rejected("turn: session is not an object")
    _check_fields("turn session", spec, _SESSION_SPEC)
    messages = turn.get("messages", [])
    if not isinstance(messages, list):
        raise Rejected("turn: messages is not a list")
    for m in messages:
        message(m)


def _check_job(raw: object) -> tuple[int, str, str, str | None]:
    if not isinstance(raw, dict):
        raise Rejected("job: not an object")
    kinds: dict[str, object] = {"id": int, "state": str, "finished_at": str, "runner": str | None}
    _check_fields("job", raw, kinds, required=("id", "state", "finished_at"))
    if raw["state"] not in ("done", "cancelled", "failed"):
        raise Rejected(f"job: state {raw['state']!r} is not a final state")
    return raw["id"], raw["state"], raw["finished_at"], raw.get("runner")


def count_job(conn: sqlite3.Connection, job_id: int) -> tuple[int, int]:
    """A batch job's finished and failed requests, counted."""
    done, failed = conn.execute(
        "SELECT COUNT(*) FILTER (WHERE state = 'done'),"
        " COUNT(*) FILTER (WHERE state = 'failed') FROM batch_requests WHERE job_id = ?",
        (job_id,),
    ).fetchone()
    return int(done), int(failed)


def recount_job(conn: sqlite3.Connection, job_id: int) -> tuple[int, int]:
    """A batch job's finished and failed requests counted into its row, inside the caller's
    transaction (``store.jobs``; here because the replay needs it too)."""
    done, failed = count_job(conn, job_id)
    conn.execute(
        "UPDATE batch_jobs SET completed = ?, failed = ? WHERE id = ?", (done, failed, job_id)
    )
    return done, failed


def settle_job(
    conn: sqlite3.Connection, job_id: int, state: str, finished_at: str, runner: str | None
) -> None:
    """``Jobs.settle``'s write, and its journaled entry's: the counts, then ``state`` if the
    job is still ``running`` (not finished or cancelled meanwhile), and ``runner``'s mark
    cleared. Replayed, it comes after the job's journaled answers, so the counts include them."""
    recount_job(conn, job_id)
    conn.execute(
        "UPDATE batch_jobs SET state = ?, finished_at = ? WHERE id = ? AND state = 'running'",
        (state, finished_at, job_id),
    )
    if runner is not None:
        conn.execute(
            "UPDATE batch_jobs SET runner = NULL WHERE id = ? AND runner = ?", (job_id, runner)
        )


_SESSION_SPEC: dict[str, object] = {
    "id": int | None, "name": str | None, "key": str | None, "one_shot": bool | None,
    "profile": str | None,
    "model": str | None, "system": str | None, "role": str | None,
}  # fmt: skip
_ROLES = frozenset({"system", "user", "assistant", "tool"})
_INT64 = 2**63


def _fits(value: object, kind: object) -> bool:
    """Whether a JSON value has the type a dataclass field is annotated with (the few kinds
    the store's records use)."""
    args = get_args(kind)
    if kind is Any:
        return True
    if kind is type(None):
        return value is None
    if isinstance(kind, types.UnionType) or get_origin(kind) is Union:
        return any(_fits(value, k) for k in args)
    if get_origin(kind) is Literal:
        return isinstance(value, str) and value in args
    if get_origin(kind) is list:
        return isinstance(value, list) and all(_fits(v, args[0]) for v in value)
    if get_origin(kind) is dict:
        return isinstance(value, dict) and all(_fits(v, args[1]) for v in value.values())
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return type(value) is int and -_INT64 <= value < _INT64
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return math.isfinite(value)
    if kind is str:
        return isinstance(value, str)
    return False


def _check_fields(
    what: str, raw: dict[str, Any], kinds: dict[str, object], required: Iterable[str] = ()
) -> None:
    """A Rejected naming the first field of ``raw`` that is missing or of the wrong type;
    fields not in ``kinds`` are left alone (a newer chatcli's)."""
    for name in required:
        if name not in raw:
            raise Rejected(f"{what}: {name!r} is missing")
    for name, kind in kinds.items():
        if name in raw and not _fits(raw[name], kind):
            wanted = kind.__name__ if isinstance(kind, type) else str(kind)
            wanted = wanted.replace("typing.", "")
            raise Rejected(f"{what}: {name!r} is {type(raw[name]).__name__}, not {wanted}")


_R = TypeVar("_R")
_SHAPES: dict[type, tuple[dict[str, object], tuple[str, ...]]] = {}


def _shape(cls: type) -> tuple[dict[str, object], tuple[str, ...]]:
    """A record's field types and its required fields (worked out once, on first use)."""
    if cls in _SHAPES:
        return _SHAPES[cls]
    hints = get_type_hints(cls)
    fields = dataclasses.fields(cls)
    kinds = {f.name: hints[f.name] for f in fields}
    required = tuple(
        f.name
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    _SHAPES[cls] = kinds, required
    return kinds, required


def _build(cls: type[_R], raw: object, what: str) -> _R:
    """``cls`` from a journaled dict, after checking every field it takes."""
    if not isinstance(raw, dict):
        raise Rejected(f"{what}: not an object")
    kinds, required = _shape(cls)
    _check_fields(what, raw, kinds, required)
    return cls(**{k: v for k, v in raw.items() if k in kinds})


def _usage(raw: object) -> UsageRecord:
    return _build(UsageRecord, raw, "usage")


def message(raw: object) -> NewMessage:
    """A journaled message back as a ``NewMessage`` (Rejected when it cannot be one)."""
    built = _build(NewMessage, raw, "message")
    if built.role not in _ROLES:
        raise Rejected(f"message: role {built.role!r} is not one chatcli writes")
    return built


def batch_result(raw: object) -> tuple[int, RequestResult, UsageRecord | None]:
    """A journaled batch answer: its job id, result and usage entry (Rejected when it cannot
    be one)."""
    if not isinstance(raw, dict):
        raise Rejected("batch: not an object")
    _check_fields("batch", raw, {"job_id": int}, required=("job_id", "result"))
    result = _build(RequestResult, raw["result"], "batch result")
    usage = raw.get("usage")
    return raw["job_id"], result, None if usage is None else _usage(usage)
