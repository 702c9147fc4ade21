"""Batch jobs in the database: the job, its parts (one provider batch each) and its requests.

Every step of a job is written before and after it happens, so a process killed at any moment
(``kill -9`` included) leaves a record the next run can finish from: a part's ``step`` says
whether its file upload or batch creation may have reached the provider, and each request row
says whether its answer was already taken (``state`` pending -> done | failed). A request's
result and its usage-log entry are written in one transaction, and only while the request is
still pending, so nothing is logged (or paid for in the local runner) twice.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from chatcli.errors import ChatcliError, StoreBusy, StoreFull, UsageError
from chatcli.store.db import Store, _now, record_batch_results
from chatcli.store.journal import QUICK_TRY, count_job, recount_job, settle_job
from chatcli.store.records import RequestResult as RequestResult  # re-exported: its old home
from chatcli.store.records import UsageRecord, stored_time

CHUNK = 500
"""Rows read or written per transaction when streaming a job's requests."""

_JOB_COLUMNS = (
    "id, name, profile, model, mode, input_hash, state, total, completed, failed, retry_of,"
    " error, created_at, finished_at"
)
_PART_COLUMNS = (
    "part, requests, bytes, step, file_id, batch_id, status, output_file_id, error_file_id,"
    " completed, failed, error"
)
_PART_FIELDS = frozenset(_PART_COLUMNS.replace(" ", "").split(",")) - {"part"}


@dataclass(frozen=True)
class JobRow:
    """A stored job. ``mode`` is ``remote`` (provider Batch API) or ``local`` (our runner)."""

    id: int
    name: str
    profile: str
    model: str
    mode: str
    input_hash: str
    state: str  # draft | submitting | running | done | cancelled | failed
    total: int
    completed: int
    failed: int
    retry_of: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class PartRow:
    """One provider batch of a job. ``step``: planned | uploading | uploaded | creating |
    created | collected: the last step begun or finished, written before the call is made."""

    part: int
    requests: int
    bytes: int
    step: str
    file_id: str | None
    batch_id: str | None
    status: str | None  # the provider's own batch status
    output_file_id: str | None
    error_file_id: str | None
    completed: int
    failed: int
    error: str | None


@dataclass(frozen=True)
class NewRequest:
    """One request of a job: ``line`` is the provider's JSONL line (custom_id, method, url,
    body); ``model`` the user-facing model name it is priced as."""

    idx: int
    part: int
    input_id: str
    model: str
    line: str


@dataclass(frozen=True)
class ResultRow:
    """A request as ``batch results`` writes it."""

    idx: int
    input_id: str
    model: str
    state: str
    answer: str | None
    served_model: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    error: str | None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None


def _time(text: str | None) -> datetime | None:
    return None if text is None else stored_time(text)


def _job(row: tuple[object, ...]) -> JobRow:
    values = list(row)
    values[12] = _time(str(values[12]))
    values[13] = _time(values[13] if values[13] is None else str(values[13]))
    return JobRow(*values)  # type: ignore[arg-type]


class Draft:
    """A job being written in one transaction (see ``Jobs.draft``)."""

    def __init__(self, conn: sqlite3.Connection, job_id: int, name: str) -> None:
        self.conn = conn
        self.id = job_id
        self.name = name

    def add(self, requests: Iterable[NewRequest]) -> None:
        """Insert requests in chunks, consuming ``requests`` lazily."""
        batch: list[tuple[object, ...]] = []
        for r in requests:
            batch.append((self.id, r.idx, r.part, r.input_id, r.model, r.line))
            if len(batch) >= CHUNK:
                self._insert(batch)
                batch = []
        self._insert(batch)

    def _insert(self, rows: list[tuple[object, ...]]) -> None:
        self.conn.executemany(
            "INSERT INTO batch_requests (job_id, idx, part, input_id, model, line)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    def finish(self, input_hash: str, total: int, parts: list[tuple[int, int, int]]) -> None:
        """Record the input's hash, the request count and the parts (number, requests, bytes)."""
        self.conn.execute(
            "UPDATE batch_jobs SET input_hash = ?, total = ? WHERE id = ?",
            (input_hash, total, self.id),
        )
        self.conn.executemany(
            "INSERT INTO batch_parts (job_id, part, requests, bytes, step) VALUES (?, ?, ?, ?, ?)",
            [(self.id, part, n, size, "planned") for part, n, size in parts],
        )


class Jobs:
    """The job queries, on top of a ``Store`` (its lock, transactions and error mapping)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- jobs -------------------------------------------------------------------------------

    @contextmanager
    def draft(
        self, profile: str, model: str, mode: str, retry_of: str | None = None
    ) -> Iterator[Draft]:
        """A new job in state ``draft``, committed with its requests when the block ends."""
        now = _now()
        with self.store._write() as conn:
            name = self._free_name(conn)
            cur = conn.execute(
                "INSERT INTO batch_jobs (name, profile, model, mode, input_hash, state, total,"
                " retry_of, created_at) VALUES (?, ?, ?, ?, '', 'draft', 0, ?, ?)",
                (name, profile, model, mode, retry_of, now),
            )
            assert cur.lastrowid is not None
            yield Draft(conn, cur.lastrowid, name)

    @staticmethod
    def _free_name(conn: sqlite3.Connection) -> str:
        base = "batch-" + datetime.now().strftime("%Y%m%d-%H%M%S")
        name, n = base, 1
        while conn.execute("SELECT 1 FROM batch_jobs WHERE name = ?", (name,)).fetchone():
            n += 1
            name = f"{base}-{n}"
        return name

    def unfinished_like(self, job: JobRow) -> JobRow | None:
        """The newest other job with ``job``'s profile and input hash (the same requests,
        model and parameters) that is submitted but not finished, if any (retries aside)."""
        with self.store._read() as conn:
            row = conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM batch_jobs WHERE profile = ? AND input_hash = ?"
                " AND id != ? AND retry_of IS NULL"
                " AND state NOT IN ('draft', 'done', 'cancelled', 'failed')"
                " ORDER BY id DESC LIMIT 1",
                (job.profile, job.input_hash, job.id),
            ).fetchone()
        return None if row is None else _job(row)

    def get(self, name: str | None) -> JobRow:
        """The job called ``name`` (the latest when None); a usage error when there is none."""
        with self.store._read() as conn:
            if name is None:
                row = conn.execute(
                    f"SELECT {_JOB_COLUMNS} FROM batch_jobs WHERE state != 'draft'"
                    " ORDER BY id DESC LIMIT 1"
                ).fetchone()
            else:
                row = conn.execute(
                    f"SELECT {_JOB_COLUMNS} FROM batch_jobs WHERE name = ?", (name,)
                ).fetchone()
        if row is None:
            what = "no batch jobs yet" if name is None else f"no batch job named {name!r}"
            raise UsageError(what, hint="see: chatcli batch list")
        return _job(row)

    def all(self, limit: int = 50) -> list[JobRow]:
        """Jobs, newest first."""
        with self.store._read() as conn:
            rows = conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM batch_jobs ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_job(row) for row in rows]

    def set_state(self, job_id: int, state: str, error: str | None = None) -> None:
        """Move a job to ``state``; final states get a finish time."""
        finished = _now() if state in ("done", "cancelled", "failed") else None
        with self.store._write() as conn:
            conn.execute(
                "UPDATE batch_jobs SET state = ?, error = COALESCE(?, error),"
                " finished_at = COALESCE(?, finished_at) WHERE id = ?",
                (state, error, finished, job_id),
            )

    @contextmanager
    def running(self, job_id: int, name: str) -> Iterator[None]:
        """This process advances the job for the block: a second ``batch wait`` (or a
        submit's follow-up) on the same job is refused while the first is alive, so a job is
        never uploaded or created twice by two processes. A killed runner leaves its mark,
        which the next one finds dead and takes over."""
        me = _me()
        with self.store._write() as conn:
            row = conn.execute("SELECT runner FROM batch_jobs WHERE id = ?", (job_id,)).fetchone()
            holder = row[0] if row else None
            if holder and holder != me and _alive(holder):  # busy, not a usage error: exit 1
                raise ChatcliError(
                    f"batch job {name} is being advanced by another chatcli ({holder})",
                    hint="let that one finish (chatcli batch status shows progress), or stop it",
                )
            conn.execute("UPDATE batch_jobs SET runner = ? WHERE id = ?", (me, job_id))
        try:
            yield
        finally:
            self._release(job_id, me)

    def _release(self, job_id: int, me: str) -> None:
        """Clear this process's mark, trying only briefly: the answers are stored (or
        journaled) by now, and a mark left by a database still busy is one of a process about
        to end, which the next runner takes over (a journaled ``settle`` clears it too)."""
        from chatcli.store.journal import wait_bound

        self.store.busy_timeout(max(0.05, min(QUICK_TRY, wait_bound())))
        try:
            with self.store._write() as conn:
                conn.execute(
                    "UPDATE batch_jobs SET runner = NULL WHERE id = ? AND runner = ?", (job_id, me)
                )
        except (StoreBusy, StoreFull):
            pass
        finally:
            self.store.busy_timeout(None)

    def settle(self, job_id: int, name: str, state: str) -> bool:
        """A finished run's counts, and ``state`` for a job still ``running``, in one write
        that honours ``CHATCLI_STORE_WAIT`` like the answers before it: past it they go to the
        recovery journal (the next command writes them), so a run whose answers are safe ends
        with its real status instead of an error. False when they were journaled."""
        from chatcli.store import journal

        store = self.store
        now = _now()

        def write() -> None:
            with store._write() as conn:
                settle_job(conn, job_id, state, now, None)

        if journal.attempt(store, write, store.notify, f"the state of batch job {name}"):
            return True
        entry = {"job": {"id": job_id, "state": state, "finished_at": now, "runner": _me()}}
        if journal.keep(store, entry, store.notify, quiet=True, resume=False):
            store.notify(
                f"batch job {name}: the database is busy; its state ({state}) was saved to the "
                "recovery journal and goes into the database on the next chatcli command"
            )
        else:
            store.notify(
                f"batch job {name}: the database is busy and its state ({state}) could not be "
                f"saved; `chatcli batch wait {name}` brings it up to date"
            )
        journal.resume_stop()  # a Ctrl-C or signal that cut the wait short: stop now
        return False

    def set_mode(self, job_id: int, mode: str) -> None:
        """Switch a job between ``remote`` and ``local`` (no Batch API at the endpoint)."""
        with self.store._write() as conn:
            conn.execute("UPDATE batch_jobs SET mode = ? WHERE id = ?", (mode, job_id))

    def delete(self, job_id: int) -> None:
        """Forget a job (a draft the user declined)."""
        with self.store._write() as conn:
            conn.execute("DELETE FROM batch_jobs WHERE id = ?", (job_id,))

    def refresh_counts(self, job_id: int) -> tuple[int, int]:
        """Recount finished and failed requests into the job row; returns them."""
        with self.store._write() as conn:
            return recount_job(conn, job_id)

    def shown_counts(self, job_id: int) -> tuple[int, int]:
        """The counts a display shows: written into the row when the database is free within a
        short try, else only read. A status must not wait on another process's writes (a
        local run storing answers): the row is recounted when that run settles anyway."""
        if self.store.read_only:  # a data dir that cannot be written: only read
            with self.store._read() as conn:
                return count_job(conn, job_id)
        self.store.busy_timeout(QUICK_TRY)
        try:
            return self.refresh_counts(job_id)
        except StoreBusy:
            with self.store._read() as conn:
                return count_job(conn, job_id)
        finally:
            self.store.busy_timeout(None)

    # -- parts ------------------------------------------------------------------------------

    def parts(self, job_id: int) -> list[PartRow]:
        with self.store._read() as conn:
            rows = conn.execute(
                f"SELECT {_PART_COLUMNS} FROM batch_parts WHERE job_id = ? ORDER BY part",
                (job_id,),
            ).fetchall()
        return [PartRow(*row) for row in rows]

    def update_part(self, job_id: int, part: int, **fields: str | int | None) -> None:
        """Write part fields at once (committed before the caller goes on)."""
        unknown = set(fields) - _PART_FIELDS
        if unknown:
            raise ValueError(f"unknown part fields {sorted(unknown)}")
        sets = ", ".join(f"{key} = ?" for key in fields)
        with self.store._write() as conn:
            conn.execute(
                f"UPDATE batch_parts SET {sets} WHERE job_id = ? AND part = ?",
                (*fields.values(), job_id, part),
            )

    # -- requests ---------------------------------------------------------------------------

    def lines(
        self, job_id: int, part: int | None = None, state: str | None = None
    ) -> Iterator[tuple[int, str, str]]:
        """``(idx, model, line)`` of a job's requests in input order, read in chunks."""
        last = -1
        while True:
            with self.store._read() as conn:
                rows = conn.execute(
                    "SELECT idx, model, line FROM batch_requests WHERE job_id = ?1 AND idx > ?2"
                    " AND (?3 IS NULL OR part = ?3) AND (?4 IS NULL OR state = ?4)"
                    " ORDER BY idx LIMIT ?5",
                    (job_id, last, part, state, CHUNK),
                ).fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1][0]

    def record(
        self, job_id: int, results: Iterable[tuple[RequestResult, UsageRecord | None]]
    ) -> int:
        """Store results of still-pending requests with their usage-log entries, atomically;
        results for requests already finished are ignored. Returns how many were new."""
        with self.store._write() as conn:
            return record_batch_results(conn, job_id, results)

    def fail_pending(self, job_id: int, error: str, part: int | None = None) -> int:
        """Mark every still-pending request (of one part) failed with ``error``."""
        with self.store._write() as conn:
            cur = conn.execute(
                "UPDATE batch_requests SET state = 'failed', error = ?"
                " WHERE job_id = ? AND state = 'pending' AND (? IS NULL OR part = ?)",
                (error, job_id, part, part),
            )
        return cur.rowcount

    def reset_failed(self, job_id: int) -> None:
        """Failed requests of a local job become pending again (the runner resumes them)."""
        with self.store._write() as conn:
            conn.execute(
                "UPDATE batch_requests SET state = 'pending', error = NULL"
                " WHERE job_id = ? AND state = 'failed'",
                (job_id,),
            )

    def results(self, job_id: int) -> Iterator[ResultRow]:
        """Every request's outcome in input order, read in chunks."""
        last = -1
        while True:
            with self.store._read() as conn:
                rows = conn.execute(
                    "SELECT idx, input_id, model, state, answer, served_model, finish_reason,"
                    " prompt_tokens, completion_tokens, cost_usd, error, cached_tokens,"
                    " reasoning_tokens FROM batch_requests"
                    " WHERE job_id = ? AND idx > ? ORDER BY idx LIMIT ?",
                    (job_id, last, CHUNK),
                ).fetchall()
            if not rows:
                return
            for row in rows:
                yield ResultRow(*row)
            last = rows[-1][0]

    def retries_of(self, name: str) -> list[JobRow]:
        """The jobs ``batch retry`` made of ``name``'s failed requests, oldest first."""
        with self.store._read() as conn:
            rows = conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM batch_jobs WHERE retry_of = ? ORDER BY id", (name,)
            ).fetchall()
        return [_job(row) for row in rows]

    def failed_requests(self, job_id: int) -> Iterator[tuple[str, str, str]]:
        """``(input_id, model, line)`` of the failed requests, in input order (``retry``)."""
        with self.store._read() as conn:
            rows = conn.execute(
                "SELECT input_id, model, line FROM batch_requests"
                " WHERE job_id = ? AND state = 'failed' ORDER BY idx",
                (job_id,),
            ).fetchall()
        yield from rows


def _me() -> str:
    """The mark a runner leaves on the job it advances: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(runner: str) -> bool:
    """Whether the ``host:pid`` that marked a job is still running (a process on another host
    is taken to be: nothing here can tell)."""
    host, _, pid = runner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process with that pid
        return True
    return True
