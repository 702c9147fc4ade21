"""SQLite storage: sessions, their messages and the usage log, in one ``chatcli.db``.

Several chatcli processes (a REPL and a few ``ask`` runs) share the file, so it runs in WAL mode
with a busy timeout, and every write is one short ``BEGIN IMMEDIATE`` transaction committed at
once: a killed process loses at most the reply in flight. The schema is versioned by
``PRAGMA user_version`` and an append-only list of migrations. A file this code cannot use
(corrupt, or written by a newer chatcli) raises ``StoreError`` and is never modified.

Each message stores its own token count (``tokens``: what it adds to a request, framing
included), so loading the recent history of a long session walks the newest rows through the
``(session_id, id)`` index and stops once the budget is spent, without re-tokenising anything.

API keys are never stored. The store receives text from everywhere (prompts, answers, tool
calls' arguments, tool results from MCP servers, documents, batch lines), and any of it may hold
the key in use; so every text value bound to any SQL statement is masked (``safetext.redact``:
the registered keys and URL credentials) by an adapter registered for ``str`` below, the one
way into SQLite, rather than by each caller remembering to.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from shlex import quote
from time import monotonic, sleep
from types import TracebackType
from typing import Any

from chatcli.errors import (
    NoSuchSession,
    SessionExists,
    StoreBusy,
    StoreDamaged,
    StoreError,
    StoreFull,
    UsageError,
)
from chatcli.events import Content
from chatcli.safetext import redact
from chatcli.store import branches
from chatcli.store.branches import MESSAGE_COLUMNS as _MESSAGE_COLUMNS
from chatcli.store.branches import message_row as _message
from chatcli.store.records import (
    MessageRow,
    NewMessage,
    RequestResult,
    SearchHit,
    SessionRow,
    SessionSummary,
    UsageRecord,
    UsageRow,
    content_text,
    stored_time,
)
from chatcli.store.schema import COMPACTED_AT, MIGRATIONS

sqlite3.register_adapter(str, redact)  # every text bound to a statement, masked (see above)

DB_NAME = "chatcli.db"


def _move_aside(path: Path, suffix: str) -> str:
    """The ``mv`` that moves ``path`` aside, quoted for the shell (a data dir's path may hold
    a quote or a space)."""
    return f"mv {quote(str(path))} {quote(f'{path}{suffix}')}"


BUSY_TIMEOUT_MS = 5000


class Head:
    """The default of ``add_messages``'s ``parent``: the session's current head."""


HEAD = Head()
TITLE_LENGTH = 60

_SESSION_COLUMNS = (
    "id, name, created_at, updated_at, profile, model, system, role, title, one_shot, head_id,"
    " forked_from, forked_from_id"
)
_USAGE_COLUMNS = (
    "id, created_at, model, profile, command, status, prompt_tokens, completion_tokens,"
    " estimated, cost_usd, latency_ms, ttft_ms, session_id, served_model, cached_tokens,"
    " reasoning_tokens"
)
_FORK_TURN = "substr(forked_from, length(rtrim(forked_from, '0123456789')) + 1)"
"""SQL for the turn at the end of a session's ``forked_from`` (``NAME@TURN``)."""
_UPDATABLE = frozenset({"profile", "model", "system", "role"})
_CORE_TABLES = frozenset({"sessions", "messages", "usage"})
"""Tables every chatcli database has from its first migration on."""


def _now() -> str:
    """UTC timestamp text of fixed shape, so text order is time order."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _session(row: Any) -> SessionRow:
    (sid, name, created, updated, profile, model, system, role, title, one_shot, head, fork,
     fork_id) = row  # fmt: skip
    return SessionRow(
        sid, name, stored_time(created), stored_time(updated),
        profile, model, system, role, title, bool(one_shot), head, fork, fork_id,
    )  # fmt: skip


def _json_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _usage(row: Any) -> UsageRow:
    (uid, created, model, profile, command, status, prompt, completion, estimated, cost,
     latency, ttft, sid, served, cached, reasoning) = row  # fmt: skip
    return UsageRow(
        model, profile, command, status, prompt, completion, bool(estimated), cost, latency,
        ttft, sid, served, cached, reasoning, id=uid, created_at=stored_time(created),
    )  # fmt: skip


def _title(content: Content) -> str:
    """A session's title: its first message on one line, in at most ``TITLE_LENGTH`` columns,
    its escape sequences removed before it is cut (``safetext.flat``): a cut inside one would
    leave its debris, and columns spent on what does not show."""
    from chatcli.safetext import flat
    from chatcli.store.text import cut

    return cut(flat(content_text(content)), TITLE_LENGTH)


def _retitle(conn: sqlite3.Connection, session_id: int, head: int | None) -> None:
    """The session's title from the first message of the branch ending at ``head``, its
    current one: an edit or undo of turn 1, or another branch picked, changes it."""
    first = branches.first_user(conn, head)
    title = None if first is None else _title(first.content)
    conn.execute("UPDATE sessions SET title = ? WHERE id = ?", (title, session_id))


def check_session_name(name: str) -> str:
    """``name`` if it can name a session; a UsageError (exit 2) otherwise. Callers check before
    sending a request, so a bad name never costs a paid answer."""
    if not name.strip() or name != name.strip() or not name.isprintable():
        raise UsageError(
            f"invalid session name {name!r}",
            hint="use a non-empty name without leading/trailing spaces or control characters",
        )
    return name


def _data_dir_hint(data_dir: Path) -> str:
    """What to do when the data dir cannot be written (read-only mount, wrong owner)."""
    return (
        f"the data dir {data_dir} must be writable: fix its permissions or mount, or set "
        "CHATCLI_HOME to a writable directory"
    )


class StoreUnwritable(StoreError):
    """The data dir or the database cannot be written (a read-only mount, another user's
    files): commands that only read may still open it read-only (``open_default``)."""


NO_SPACE = "no space left on device"
LOW_SPACE = 1024 * 1024
"""Free bytes under which a SQLite I/O error is taken for what it almost always is there: a
full disk (SQLite reports a failed write of its shared-memory file as "disk I/O error")."""


def _free_bytes(folder: Path) -> int | None:
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def _why_unwritable(folder: Path) -> str | None:
    """What the kernel would say about writing in ``folder`` (SQLite only says "unable to
    open database file"), when it is plain: a read-only mount, no permission."""
    with contextlib.suppress(OSError):
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "read-only file system"
        if not os.access(folder, os.W_OK):
            return "permission denied"
    return None


def _full(path: Path, detail: str = NO_SPACE) -> StoreFull:
    return StoreFull(f"cannot write {path}: {detail}", hint="free some space on that disk")


def _error(path: Path, exc: sqlite3.Error) -> StoreError:
    """Turn a SQLite failure into a message a user can act on."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        return StoreDamaged(
            f"{path} is damaged or not a chatcli database ({exc})",
            hint=f"move it aside ({_move_aside(path, '.broken')}); chatcli then starts a new one",
        )
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return StoreUnwritable(
            f"cannot write {path} ({_why_unwritable(path.parent) or exc})",
            hint=_data_dir_hint(path.parent),
        )
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StoreBusy(
            f"{path} stayed locked by another process for {BUSY_TIMEOUT_MS // 1000} s",
            hint="another program (a chatcli, or sqlite3) is holding the database; try again",
        )
    if code == sqlite3.SQLITE_FULL:
        return _full(path)
    if code == sqlite3.SQLITE_IOERR:
        free = _free_bytes(path.parent)
        if free is not None and free < LOW_SPACE:  # a full disk, whatever SQLite calls it
            return _full(path)
        return StoreFull(
            f"cannot write {path}: {exc}",
            hint="the disk may be full or failing: free some space on it, or check it",
        )
    return StoreError(f"cannot use {path}: {exc}")


def insert_usage(conn: sqlite3.Connection, record: UsageRecord) -> None:
    """Append one request to the usage log inside the caller's transaction."""
    r = record
    conn.execute(
        "INSERT INTO usage (created_at, model, profile, command, status, prompt_tokens,"
        " completion_tokens, estimated, cost_usd, latency_ms, ttft_ms, session_id,"
        " served_model, cached_tokens, reasoning_tokens)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            _now(), r.model, r.profile, r.command, r.status, r.prompt_tokens,
            r.completion_tokens, r.estimated, r.cost_usd, r.latency_ms, r.ttft_ms,
            r.session_id, r.served_model, r.cached_tokens, r.reasoning_tokens,
        ),
    )  # fmt: skip


def record_batch_results(
    conn: sqlite3.Connection,
    job_id: int,
    results: Iterable[tuple[RequestResult, UsageRecord | None]],
) -> int:
    """Store results of still-pending batch requests with their usage-log entries inside the
    caller's transaction; results for requests already finished are ignored. How many were new."""
    new = 0
    for r, usage in results:
        cur = conn.execute(
            "UPDATE batch_requests SET state = ?, answer = ?, served_model = ?,"
            " finish_reason = ?, prompt_tokens = ?, completion_tokens = ?, cost_usd = ?,"
            " error = ?, cached_tokens = ?, reasoning_tokens = ?"
            " WHERE job_id = ? AND idx = ? AND state = 'pending'",
            (
                "done" if r.ok else "failed", r.answer, r.served_model, r.finish_reason,
                r.prompt_tokens, r.completion_tokens, r.cost_usd, r.error, r.cached_tokens,
                r.reasoning_tokens, job_id, r.idx,
            ),
        )  # fmt: skip
        if cur.rowcount == 1:
            new += 1
            if usage is not None:
                insert_usage(conn, usage)
    return new


class Store:
    """The chatcli database. Open with ``Store.open(data_dir)``; methods are thread-safe."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        from chatcli.store.journal import to_stderr
        from chatcli.store.search import register

        register(conn)  # the search index's trigger folds each message inserted
        self._conn = conn
        self.path = path
        self._lock = threading.RLock()
        self.notify: Callable[[str], None] = to_stderr  # waits and journal notices
        self.gave_up = False  # busy past the bound once: later writes journal at once
        self.wait_noted = False  # the "database is busy" notice was given
        self.journal_noted = False  # the "saved to the recovery journal" notice was given
        self._holds_reserve = False  # keeps the journal's ballast until closed
        self.failure: StoreError | None = None  # why the last write went to the journal
        self.read_only = False  # opened only to read (``open_read_only``)
        self._spent_listeners: list[Callable[[UsageRecord], None]] = []

    @classmethod
    def open(cls, data_dir: Path, *, replay: bool = True) -> Store:
        """Open (creating and migrating as needed) ``chatcli.db`` in ``data_dir``; with
        ``replay``, write back what the recovery journal holds (``store.journal``)."""
        path = data_dir / DB_NAME
        if os.path.exists(data_dir) and not os.path.isdir(data_dir):
            raise StoreError(
                f"the data dir {data_dir} is a file, not a directory",
                hint="point CHATCLI_HOME at a directory (chatcli creates it if missing)",
            )
        if os.path.isdir(path):  # SQLite would only say "unable to open database file"
            raise StoreError(
                f"{path} is a directory, not chatcli's database file",
                hint=f"move it aside ({_move_aside(path, '.dir')}); chatcli then starts a new one",
            )
        try:
            from chatcli.settings.paths import ensure_private_dir  # not on session's imports

            ensure_private_dir(data_dir)
            if not path.exists():  # create it 0600 ourselves: sqlite would use the umask
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StoreFull(
                    f"cannot create {path}: {NO_SPACE}", hint="free some space on that disk"
                ) from exc
            raise StoreUnwritable(
                f"cannot create {path}: {exc.strerror}", hint=_data_dir_hint(data_dir)
            ) from exc
        try:
            conn = sqlite3.connect(
                path,
                timeout=BUSY_TIMEOUT_MS / 1000,  # sqlite3_busy_timeout: wait for other writers
                isolation_level=None,  # autocommit; writes use explicit transactions
                check_same_thread=False,  # guarded by the store's lock instead
            )
        except sqlite3.Error as exc:
            raise _error(path, exc) from exc
        store = cls(conn, path)
        try:
            store._prepare()
        except BaseException:
            conn.close()
            raise
        if replay:  # answers an earlier command could not store (not from a Tab press)
            from chatcli.store import journal

            journal.replay(store, store.notify)
            if not journal.hold_reserve(data_dir):
                # room to open the database, none to keep a paid answer: refused before paying
                conn.close()
                raise StoreFull(
                    f"cannot write {path}: {NO_SPACE} (less than "
                    f"{journal.RESERVE_BYTES // 1024} KiB free)",
                    hint="free some space on that disk",
                )
            store._holds_reserve = True
        return store

    @classmethod
    def open_read_only(cls, data_dir: Path, why: StoreError) -> Store:
        """``chatcli.db`` in ``data_dir`` opened only to read, for the commands that show what
        it holds, when it cannot be opened to write (``why``: a read-only mount, a full disk):
        no migration, no journal replay, no ballast. ``why`` is raised when it cannot be read
        either (no database yet, one that needs a migration, a damaged one)."""
        path = data_dir / DB_NAME
        if not os.path.isfile(path):  # False for a name too long, where is_file raises
            raise why
        # ``immutable``: the WAL's shared-memory file cannot be made there either (a full disk,
        # a read-only mount the last writer left without one)
        for query in ("mode=ro", "mode=ro&immutable=1"):
            try:
                conn = sqlite3.connect(
                    f"{path.as_uri()}?{query}",
                    uri=True,
                    timeout=BUSY_TIMEOUT_MS / 1000,
                    isolation_level=None,
                    check_same_thread=False,
                )
            except sqlite3.Error:
                continue
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                conn.execute("SELECT COUNT(*) FROM sessions").fetchone()
            except sqlite3.Error:
                conn.close()
                continue
            store = cls(conn, path)
            try:
                store._check_version(version)
            except StoreError:
                conn.close()
                raise
            if version < len(MIGRATIONS):  # an older layout: it cannot be brought up to date
                conn.close()
                raise why
            store.read_only = True
            return store
        raise why

    def close(self) -> None:
        """Close the connection (committed data is already on disk) and give back the
        recovery journal's ballast when no other open store of this process holds it."""
        with self._lock:
            self._conn.close()
            if self._holds_reserve:
                from chatcli.store import journal

                self._holds_reserve = False
                journal.drop_reserve(self.path.parent)

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise _error(self.path, exc) from exc

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._guard():
            yield self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; IMMEDIATE so a busy database waits instead of failing
        at the first write, and committed before returning."""
        with self._lock, self._guard():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _check_version(self, version: int) -> None:
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path} was written by a newer chatcli (schema version {version}; "
                f"this one knows up to {len(MIGRATIONS)})",
                hint="upgrade chatcli; the database was left untouched",
            )

    def _check_ours(self, version: int) -> None:
        """Refuse, untouched, a database another program wrote (``chatcli.db`` is a common
        enough name): tables but no schema version, or a version without chatcli's tables.
        Migrating it would fail half-way (``table sessions already exists``) or worse."""
        tables = {
            row[0]
            for row in self._conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        if (version == 0 and not tables) or (version > 0 and tables >= _CORE_TABLES):
            return
        listed = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise StoreDamaged(
            f"{self.path} is damaged or not a chatcli database (schema version {version}; "
            f"tables: {listed or 'none'})",
            hint=f"move it aside ({_move_aside(self.path, '.broken')}); chatcli then starts "
            "a new one",
        )

    def _enable_wal(self) -> None:
        """Switch to WAL, retrying while another process holds the lock: SQLite answers a
        journal-mode change on a busy file with an immediate SQLITE_BUSY, not the busy timeout."""
        deadline = monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or monotonic() > deadline:
                    raise
                sleep(0.01)

    def _prepare(self) -> None:
        """Check the schema version before changing anything, then set up and migrate."""
        with self._guard():
            conn = self._conn
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            self._check_version(version)
            self._check_ours(version)
            conn.execute("PRAGMA foreign_keys = ON")
            self._enable_wal()
            conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable across process crashes
        if version < len(MIGRATIONS):
            with self._write() as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]  # may have moved
                self._check_version(version)
                for number in range(version + 1, len(MIGRATIONS) + 1):
                    for statement in MIGRATIONS[number - 1]:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {number}")
            if 0 < version < COMPACTED_AT:  # once: the pages an earlier upgrade left free
                from chatcli.store import compact

                with self._lock, contextlib.suppress(sqlite3.Error):
                    compact.give_back(self._conn, str(self.path.parent))

    # sessions

    def create_session(
        self,
        name: str | None = None,
        *,
        profile: str | None = None,
        model: str | None = None,
        system: str | None = None,
        role: str | None = None,
        one_shot: bool = False,
    ) -> SessionRow:
        """Create a session; ``name`` None picks a free ``YYYYMMDD-HHMMSS[-N]`` name;
        ``one_shot`` marks a conversation recorded by ``ask``."""
        now = _now()
        with self._write() as conn:
            if name is None:
                name = self._free_name(conn)
            elif self._exists(conn, check_session_name(name)):
                raise SessionExists(f"a session named {name!r} already exists")
            cur = conn.execute(
                "INSERT INTO sessions (name, created_at, updated_at, profile, model, system, role,"
                " one_shot) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (name, now, now, profile, model, system, role, one_shot),
            )
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (cur.lastrowid,)
            ).fetchone()
        return _session(row)

    def session_named(
        self,
        name: str,
        *,
        profile: str | None = None,
        model: str | None = None,
        system: str | None = None,
        role: str | None = None,
    ) -> SessionRow:
        """The session called ``name``, created with these settings if there is none yet, in
        one transaction: parallel ``ask --session NEW`` processes all end up in the same row."""
        now = _now()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO sessions (name, created_at, updated_at, profile, model, system, role)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (check_session_name(name), now, now, profile, model, system, role),
            )
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE name = ?", (name,)
            ).fetchone()
        return _session(row)

    @staticmethod
    def _exists(conn: sqlite3.Connection, name: str) -> bool:
        return conn.execute("SELECT 1 FROM sessions WHERE name = ?", (name,)).fetchone() is not None

    def _free_name(self, conn: sqlite3.Connection) -> str:
        base = datetime.now().strftime("%Y%m%d-%H%M%S")
        name, n = base, 1
        while self._exists(conn, name):
            n += 1
            name = f"{base}-{n}"
        return name

    def get_session(self, name: str) -> SessionRow | None:
        """The session called ``name``, or None."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else _session(row)

    def find_session(self, session_id: int) -> SessionRow | None:
        """The session ``session_id`` as stored now; None once it is deleted (``sessions rm``
        in another process while a chat has it open)."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        return None if row is None else _session(row)

    def latest_session(self) -> SessionRow | None:
        """The most recently updated session (what ``-c`` continues), or None."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions ORDER BY updated_at DESC, id DESC LIMIT 1"
            ).fetchone()
        return None if row is None else _session(row)

    def list_sessions(
        self, search: str | None = None, limit: int | None = None
    ) -> list[SessionSummary]:
        """Sessions, most recently updated first, with the messages of their current branch
        counted (and, for one with none there, those of its other branches); ``search``
        matches names and message text as ``sessions search`` does (``search.fold``: case
        folded in every script, the text of a message's parts, never its JSON or an image's
        data)."""
        from chatcli.store.search import sessions_matching

        with self._read() as conn:
            where, params = ("1", {}) if search is None else sessions_matching(conn, search)
            rows = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions s WHERE {where}"
                " ORDER BY s.updated_at DESC, s.id DESC LIMIT :limit",
                {**params, "limit": -1 if limit is None else limit},
            ).fetchall()
            sessions = [_session(row) for row in rows]
            counts = [branches.length(conn, r.head_id) for r in sessions]
            elsewhere = [
                0 if n else branches.stored(conn, r.id)
                for r, n in zip(sessions, counts, strict=True)
            ]
        return [
            SessionSummary(**vars(r), message_count=n, elsewhere=e)
            for r, n, e in zip(sessions, counts, elsewhere, strict=True)
        ]

    def rename_session(self, old: str, new: str) -> None:
        """Rename a session; the new name must be free. Its forks' ``forked_from`` follows
        (they name their source by id, and keep its name in step for the day it is gone)."""
        with self._write() as conn:
            if self._exists(conn, check_session_name(new)):
                raise SessionExists(f"a session named {new!r} already exists")
            row = conn.execute("SELECT id FROM sessions WHERE name = ?", (old,)).fetchone()
            if row is None:
                raise NoSuchSession(f"no session named {old!r}")
            conn.execute("UPDATE sessions SET name = ? WHERE id = ?", (new, row[0]))
            conn.execute(
                f"UPDATE sessions SET forked_from = ? || '@' || {_FORK_TURN}"
                " WHERE forked_from_id = ?",
                (new, row[0]),
            )

    def delete_session(self, name: str) -> None:
        """Delete a session and its messages (its usage log entries stay)."""
        missing = self.delete_sessions([name])
        if missing:
            raise NoSuchSession(f"no session named {name!r}")

    def delete_sessions(self, names: Sequence[str]) -> list[str]:
        """Delete every named session and its messages in one transaction, or none: the names
        that match no session are returned, and then nothing is deleted (an interruption
        deletes nothing either). Many pages freed at once are given back to the disk
        (``compact``)."""
        from chatcli.store import compact

        wanted = list(dict.fromkeys(names))
        with self._write() as conn:
            missing = [name for name in wanted if not self._exists(conn, name)]
            if missing:
                return missing
            for name in wanted:
                conn.execute("DELETE FROM sessions WHERE name = ?", (name,))
        with self._lock, contextlib.suppress(sqlite3.Error):
            compact.give_back(self._conn, str(self.path.parent))
        return []

    def count_sessions(self, search: str | None = None) -> int:
        """How many sessions ``list_sessions`` would list with no limit."""
        from chatcli.store.search import sessions_matching

        with self._read() as conn:
            where, params = ("1", {}) if search is None else sessions_matching(conn, search)
            row = conn.execute(f"SELECT count(*) FROM sessions s WHERE {where}", params)
            return int(row.fetchone()[0])

    def update_session(self, session_id: int, **fields: str | None) -> SessionRow:
        """Change a session's profile, model, system prompt or role name; returns the new row.
        A new system prompt applies from the next turn: the turns stored without theirs (by an
        older chatcli) are given the one they stood under until now."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update session fields {sorted(unknown)}")
        assignments = ", ".join(f"{key} = ?" for key in fields)
        with self._write() as conn:
            if "system" in fields:  # turns an older chatcli stored stay under the prompt they had
                conn.execute(
                    "UPDATE messages SET system = COALESCE((SELECT system FROM sessions"
                    " WHERE id = ?1), '') WHERE session_id = ?1 AND role = 'user'"
                    " AND system IS NULL",
                    (session_id,),
                )
            if fields:
                conn.execute(
                    f"UPDATE sessions SET {assignments} WHERE id = ?",
                    (*fields.values(), session_id),
                )
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        if row is None:
            raise ValueError(f"no session with id {session_id}")
        return _session(row)

    # messages

    def add_messages(
        self, session_id: int, *messages: NewMessage, parent: int | Head | None = HEAD
    ) -> list[int]:
        """Append messages (a turn) in one committed transaction; returns their ids.

        They attach to ``parent`` (a message id, None for the start of a new branch; by default
        the session's head), each to the one before, and the last becomes the session's head.
        """
        with self._write() as conn:
            return self._insert_messages(conn, session_id, messages, parent)[0]

    def add_turn(
        self,
        session_id: int,
        messages: Sequence[NewMessage],
        *,
        parent: int | None,
        answering: int | None = None,
        system: str | None = None,
        same_command: bool = False,
    ) -> tuple[list[int], int | None]:
        """``add_messages`` for a turn of a conversation, returning their ids and the session's
        head as it was just before: where it is not the message the turn attaches to, another
        process moved it meanwhile (the turn then starts a branch of its own). ``answering``:
        the stored user message the turn answers again (``regenerate``, ``retry``), whose
        recorded system prompt becomes ``system``, the one it was sent with this time.
        ``same_command``: the turn belongs to the command that made the session (an ``ask``
        whose ``--schema`` answer needed its retry), which stays one-shot."""
        with self._write() as conn:
            if answering is not None and system is not None:
                conn.execute(
                    "UPDATE messages SET system = ? WHERE id = ? AND system IS NOT NULL",
                    (system, answering),
                )
            return self._insert_messages(conn, session_id, messages, parent, same_command)

    @staticmethod
    def _insert_messages(
        conn: sqlite3.Connection,
        session_id: int,
        messages: Sequence[NewMessage],
        parent: int | Head | None,
        same_command: bool = False,
    ) -> tuple[list[int], int | None]:
        """``add_messages`` inside the caller's transaction: the ids, and the head before."""
        now = _now()
        ids: list[int] = []
        before = branches.head(conn, session_id)
        if isinstance(parent, Head):
            parent = before
        start = parent
        turn = branches.turn_of(conn, parent)
        first_turn = False
        for m in messages:
            is_json = not isinstance(m.content, str)
            content = json.dumps(m.content, ensure_ascii=False) if is_json else m.content
            turn += m.role == "user"
            cur = conn.execute(
                "INSERT INTO messages (session_id, created_at, role, content, content_json,"
                " tokens, model, profile, prompt_tokens, completion_tokens, estimated,"
                " cost_usd, finish_reason, interrupted, ttft_ms, duration_ms, parent_id, turn,"
                " tool_calls, tool_call_id, tool_info, reasoning, system)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id, now, m.role, content, is_json, m.tokens, m.model, m.profile,
                    m.prompt_tokens, m.completion_tokens, m.estimated, m.cost_usd,
                    m.finish_reason, m.interrupted, m.ttft_ms, m.duration_ms, parent, turn,
                    _json_or_none(m.tool_calls), m.tool_call_id, _json_or_none(m.tool_info),
                    m.reasoning or None, m.system,
                ),
            )  # fmt: skip
            assert cur.lastrowid is not None
            parent = cur.lastrowid
            ids.append(cur.lastrowid)
            first_turn = first_turn or (m.role == "user" and turn == 1)
        # a second turn (of another command) makes a one-shot conversation (an ``ask``) one
        # that went on
        conn.execute(
            "UPDATE sessions SET updated_at = ?, head_id = COALESCE(?, head_id),"
            " one_shot = one_shot AND ? WHERE id = ?",
            (now, parent, turn <= 1 or same_command, session_id),
        )
        if first_turn or start != before:  # the current branch may start elsewhere now
            _retitle(conn, session_id, branches.head(conn, session_id))
        return ids, before

    def set_head(self, session_id: int, message_id: int | None) -> None:
        """Make ``message_id`` (None: the empty start) the end of the session's current
        branch; the messages after it stay in the store as another branch."""
        with self._write() as conn:
            if message_id is not None and not branches.belongs(conn, message_id, session_id):
                raise ValueError(f"message {message_id} is not in session {session_id}")
            conn.execute(
                "UPDATE sessions SET head_id = ?, updated_at = ? WHERE id = ?",
                (message_id, _now(), session_id),
            )
            _retitle(conn, session_id, message_id)

    def children(self, message_id: int) -> list[MessageRow]:
        """The messages attached to ``message_id``, oldest first (a turn's answers)."""
        with self._read() as conn:
            return branches.children(conn, message_id)

    def fan_out(self, session_id: int) -> dict[int | None, tuple[int, int]]:
        """``branches.fan_out``: the answers and user messages attached to each message."""
        with self._read() as conn:
            return branches.fan_out(conn, session_id)

    def latest_leaf(self, message_id: int) -> int:
        """The end of the newest branch going on from ``message_id``."""
        with self._read() as conn:
            return branches.latest_leaf(conn, message_id)

    def fork_session(self, source: SessionRow, upto: int | None, name: str | None) -> SessionRow:
        """A new session (``name``, or an automatic one) holding a copy of ``source``'s
        current branch up to the message ``upto`` (None: all of it)."""
        now = _now()
        with self._write() as conn:
            path = branches.path(conn, upto if upto is not None else source.head_id)
            if not path:  # as /fork: an empty copy would only clutter the list
                raise UsageError(
                    f"nothing to fork: session {source.name!r} has no turns on its current branch",
                    hint="a session is forked once it holds a turn",
                )
            turn = path[-1].turn
            title = next((_title(m.content) for m in path if m.role == "user"), None)
            if name is None:
                name = self._free_name(conn)
            elif self._exists(conn, check_session_name(name)):
                raise SessionExists(f"a session named {name!r} already exists")
            cur = conn.execute(
                "INSERT INTO sessions (name, created_at, updated_at, profile, model, system, role,"
                " title, forked_from, forked_from_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name, now, now, source.profile, source.model, source.system, source.role,
                    title, f"{source.name}@{turn}", source.id,
                ),
            )  # fmt: skip
            new_id = cur.lastrowid
            assert new_id is not None
            branches.copy_path(conn, path, new_id)
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (new_id,)
            ).fetchone()
        return _session(row)

    def all_messages(self, session_id: int) -> list[MessageRow]:
        """The session's current branch, oldest first (what ``-c`` continues; export)."""
        with self._read() as conn:
            return branches.path(conn, branches.head(conn, session_id))

    def every_message(self, session_id: int) -> list[MessageRow]:
        """Every message of a session, every branch, in the order they were written."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE session_id = ? ORDER BY id",
                (session_id,),
            ).fetchall()
        return [_message(row) for row in rows]

    def recent_messages(
        self, session_id: int, token_budget: int | None
    ) -> tuple[list[MessageRow], int]:
        """The newest whole turns of the current branch whose ``tokens`` fit ``token_budget``,
        oldest first, and how many earlier turns were left out. None loads everything.

        Walks back from the head one row at a time and stops at the first message that does
        not fit, so only the rows returned (plus one) are read, however long the session.
        """
        if token_budget is None:
            return self.all_messages(session_id), 0
        kept: list[MessageRow] = []
        used = 0
        with self._read() as conn:
            for message in branches.walk_back(conn, branches.head(conn, session_id)):
                if used + message.tokens > token_budget:
                    break
                kept.append(message)
                used += message.tokens
            while kept and kept[-1].role != "user":  # never start mid-turn
                kept.pop()
            kept.reverse()
            if kept:
                left_out = kept[0].turn - 1
            else:
                left_out = branches.turn_of(conn, branches.head(conn, session_id))
        return kept, left_out

    def session_cost(self, session_id: int) -> tuple[float, bool]:
        """Sum of the known reply costs of a session, and whether any reply's cost is unknown."""
        with self._read() as conn:
            total, unknown = conn.execute(
                "SELECT TOTAL(cost_usd), COUNT(*) - COUNT(cost_usd) FROM messages"
                " WHERE session_id = ? AND role = 'assistant'",
                (session_id,),
            ).fetchone()
        return total, unknown > 0

    def search_messages(self, text: str, limit: int = 50) -> list[SearchHit]:
        """Messages whose text contains ``text``, newest first (the FTS5 index, else a scan;
        both compare text folded by ``search.fold``)."""
        from chatcli.store import search

        if not text.strip():
            raise UsageError("give some text to search for")
        with self._read() as conn:  # read-only: no index is built, the text is scanned
            old = not self.read_only and search.exists(conn, search.OLD_INDEX)
            ready = search.has_index(conn) if not self.read_only else search.exists(conn)
        if not ready and not self.read_only:
            with self._write() as conn:
                ready = search.ensure_index(conn)
        if old:  # the index an older chatcli built was dropped: its pages back to the disk
            from chatcli.store import compact

            with self._lock, contextlib.suppress(sqlite3.Error):
                if not search.exists(self._conn, search.OLD_INDEX):
                    compact.give_back(self._conn, str(self.path.parent))
        with self._read() as conn:
            rows = search.query(conn, text, limit, fts=ready)
        hits = []
        for name, mid, role, created, content, is_json in rows:
            body = content_text(json.loads(content)) if is_json else content
            hits.append(
                SearchHit(name, mid, role, stored_time(created), search.snippet(body, text))
            )
        return hits

    def session_names(self) -> list[str]:
        """Every session name, most recently used first (shell completion)."""
        with self._read() as conn:
            rows = conn.execute("SELECT name FROM sessions ORDER BY updated_at DESC").fetchall()
        return [r[0] for r in rows]

    # usage log

    def on_usage(self, listener: Callable[[UsageRecord], None]) -> None:
        """Call ``listener`` with every request this process logs from now on, before it is
        written (a budget's ``Gate`` adds its cost to the spending it read, so the request
        right after a paid one is judged with it, whether it reached the log or the journal)."""
        with self._lock:
            self._spent_listeners.append(listener)

    def log_usage(self, record: UsageRecord) -> None:
        """Append one request to the usage log, committed at once; a database that stays busy
        or a full disk sends it to the recovery journal instead (``store.journal``)."""
        from dataclasses import asdict

        from chatcli.store import journal

        with self._lock:
            listeners = list(self._spent_listeners)
        for listener in listeners:
            listener(record)

        def write() -> None:
            with self._write() as conn:
                insert_usage(conn, record)

        if not journal.attempt(self, write, self.notify):
            journal.keep(self, {"usage": asdict(record)}, self.notify)

    def busy_timeout(self, seconds: float | None) -> None:
        """How long the next writes wait for another process's lock (None: the default)."""
        ms = BUSY_TIMEOUT_MS if seconds is None else max(1, int(seconds * 1000))
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.execute(f"PRAGMA busy_timeout = {ms}")

    # the recovery journal (store.journal) written back

    def _replay_turn(self, conn: sqlite3.Connection, turn: dict[str, Any]) -> int:
        """A journaled turn into its session (found by id or name, else created); its id."""
        from chatcli.store.journal import message

        spec = turn.get("session") if isinstance(turn.get("session"), dict) else {}
        assert isinstance(spec, dict)
        sid, name, key = spec.get("id"), spec.get("name"), spec.get("key")
        row = conn.execute("SELECT id FROM sessions WHERE id = ?", (sid,)).fetchone()
        if row is None and isinstance(key, str):  # a new session's later turns: its first made it
            row = conn.execute(
                "SELECT session_id FROM journal_sessions WHERE key = ?", (key,)
            ).fetchone()
        if row is None and isinstance(name, str):
            row = conn.execute("SELECT id FROM sessions WHERE name = ?", (name,)).fetchone()
        if row is None:
            now = _now()
            cur = conn.execute(
                "INSERT INTO sessions (name, created_at, updated_at, profile, model, system, role,"
                " one_shot) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name if isinstance(name, str) else self._free_name(conn), now, now,
                    spec.get("profile"), spec.get("model"), spec.get("system"), spec.get("role"),
                    bool(spec.get("one_shot")),
                ),
            )  # fmt: skip
            row = (cur.lastrowid,)
        session_id = int(row[0])
        if isinstance(key, str):
            conn.execute(
                "INSERT OR IGNORE INTO journal_sessions (key, session_id) VALUES (?, ?)",
                (key, session_id),
            )
        messages = [message(m) for m in turn.get("messages") or () if isinstance(m, dict)]
        self._insert_messages(conn, session_id, messages, HEAD)
        return session_id

    def journal_session(self, key: str) -> SessionRow | None:
        """The session a new conversation's journaled turns went into (``key``, as the
        journal names it), once the journal has been written back; else None."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id ="
                " (SELECT session_id FROM journal_sessions WHERE key = ?)",
                (key,),
            ).fetchone()
        return None if row is None else _session(row)

    @staticmethod
    def _replay_batch(conn: sqlite3.Connection, entry: dict[str, Any]) -> None:
        """A journaled batch answer into its job (if the request is still pending there)."""
        from chatcli.store.journal import batch_result

        job_id, result, usage = batch_result(entry)
        if conn.execute("SELECT 1 FROM batch_jobs WHERE id = ?", (job_id,)).fetchone():
            record_batch_results(conn, job_id, [(result, usage)])

    @staticmethod
    def _replay_usage(
        conn: sqlite3.Connection, record: UsageRecord, session_id: int | None
    ) -> None:
        sid = session_id if session_id is not None else record.session_id
        if (
            sid is not None
            and not conn.execute("SELECT 1 FROM sessions WHERE id = ?", (sid,)).fetchone()
        ):
            sid = None  # removed meanwhile
        insert_usage(conn, replace(record, session_id=sid))

    def usage_rows(self, since: date | None = None) -> list[UsageRow]:
        """Logged requests, oldest first; ``since`` is a local calendar day, included."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_USAGE_COLUMNS} FROM usage WHERE created_at >= ? ORDER BY id",
                (_day_start(since),),
            ).fetchall()
        return [_usage(row) for row in rows]

    def usage_spent(self, since: date) -> tuple[float, int]:
        """The known cost of the requests logged since the local day ``since`` (included, as
        ``usage_rows`` counts it) and how many had no known cost: summed by SQLite through
        the ``created_at`` index, so a budget check costs one query, not the month's rows."""
        with self._read() as conn:
            total, unpriced = conn.execute(
                "SELECT total(cost_usd), count(*) - count(cost_usd) FROM usage"
                " WHERE created_at >= ?",
                (_day_start(since),),
            ).fetchone()
        return float(total), int(unpriced)

    def unpriced_usage(self, since: date | None = None) -> list[Unpriced]:
        """The requests logged without a known cost since the local day ``since``, summed by
        model and command (one query): what a price set later can still count."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT model, command, count(*), total(prompt_tokens), total(completion_tokens),"
                " total(cached_tokens), total(reasoning_tokens) FROM usage"
                " WHERE created_at >= ? AND cost_usd IS NULL GROUP BY model, command",
                (_day_start(since),),
            ).fetchall()
        return [
            Unpriced(str(m), str(c), int(n), *(int(v) for v in rest)) for m, c, n, *rest in rows
        ]


@dataclass(frozen=True)
class Unpriced:
    """Requests of one model and command logged without a known cost, their tokens summed."""

    model: str
    command: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    reasoning_tokens: int


def _day_start(since: date | None) -> str:
    """The ``created_at`` text where the local day ``since`` starts ("": the beginning)."""
    if since is None:
        return ""
    try:
        local_midnight = datetime.combine(since, time.min).astimezone()
        return local_midnight.astimezone(UTC).isoformat(timespec="microseconds")
    except (OverflowError, ValueError):  # 0001-01-01 or 9999-12-31: off the clock
        return "" if since.year < 2000 else "9999"


_READING: ContextVar[bool] = ContextVar("chatcli_store_reading", default=False)


@contextmanager
def reading_only() -> Iterator[None]:
    """Inside, ``open_default`` serves a command that only reads: a data dir that cannot be
    written (a read-only mount, a full disk) gives a read-only store instead of an error."""
    token = _READING.set(True)
    try:
        yield
    finally:
        _READING.reset(token)


def open_default(*, reading: bool | None = None) -> Store:
    """The database in the data dir (``CHATCLI_HOME`` or the platform's), created on first use.

    ``reading`` (default: inside ``reading_only``): the command only shows what the database
    holds, so a data dir it cannot write to (read-only, or its disk full) is opened read-only,
    with one notice on stderr, rather than refused; the recovery journal then waits for a
    later command. Commands that may send a paid request never pass it: for them such a data
    dir is refused before anything is sent."""
    from chatcli.settings import paths

    data_dir = paths.data_dir()
    if reading is None:
        reading = _READING.get()
    try:
        return Store.open(data_dir)
    except (StoreUnwritable, StoreFull) as exc:
        if not reading:
            raise
        store = Store.open_read_only(data_dir, exc)
        why = exc.message
    from chatcli.store.journal import JOURNAL, to_stderr

    for lead in (f"cannot write {store.path}", f"cannot create {store.path}"):
        why = why.removeprefix(lead)
    waiting = any(data_dir.glob(f"{JOURNAL}*"))
    later = "; the recovery journal could not be written into it" if waiting else ""
    to_stderr(f"cannot write {data_dir} ({why.strip(' :()')}): reading the database "
              f"read-only{later}")  # fmt: skip
    return store
