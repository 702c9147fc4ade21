"""Full-text search over stored messages (``sessions search``).

The FTS5 index is derived data, not part of the versioned schema: it is built on the first
search (so nobody who never searches pays for it) by ``ensure_index``, then kept in step by two
triggers on ``messages``. It uses the trigram tokenizer, which matches substrings in any script
(Chinese has no spaces for a word tokenizer to split on), so it finds what ``LIKE`` would. Where
the SQLite build lacks FTS5 or trigram, and for queries shorter than three characters (what a
trigram index can look up), the search falls back to a scan: ``LIKE`` over the same text the
index holds (a message's text parts, never its JSON or an image's data), or a case-folding
function where the query has letters beyond ASCII, which ``LIKE`` would not fold.

Building the index is a write, and a search must not fail because another process holds the
database's write lock (readers still read in WAL mode): the build gets a quick try, and when
the database stays busy this search scans with ``LIKE`` and says so; a later search builds it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

TRIGRAM = 3
BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})

# The text of a message: plain content, or the text parts of a JSON (multipart) content.
_TEXT = (
    "CASE WHEN {m}.content_json THEN (SELECT group_concat(json_extract(j.value, '$.text'),"
    " char(10)) FROM json_each({m}.content) j WHERE json_extract(j.value, '$.type') = 'text')"
    " ELSE {m}.content END"
)
_CREATE = (
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, tokenize = 'trigram')",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
    f" INSERT INTO messages_fts (rowid, text) VALUES (new.id, {_TEXT.format(m='new')}); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
    " DELETE FROM messages_fts WHERE rowid = old.id; END",
    f"INSERT INTO messages_fts (rowid, text) SELECT id, {_TEXT.format(m='m')} FROM messages m",
)


def has_index(conn: sqlite3.Connection, notify: Callable[[str], None] | None = None) -> bool:
    """Whether the search can go ahead without a write: the index is there, or was built here
    and now, or cannot be (no FTS5, or the database stays busy past a quick try: ``query``
    then scans with LIKE, and ``notify``, stderr by default, is told). False only when the
    build found a transaction already open on ``conn``."""
    if exists(conn):
        return True
    if conn.in_transaction:
        return False
    from chatcli.store.journal import QUICK_TRY, to_stderr, wait_bound

    previous = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute(f"PRAGMA busy_timeout = {int(max(0.05, min(QUICK_TRY, wait_bound())) * 1000)}")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in BUSY:
            raise
        (notify or to_stderr)(
            "the database is busy (another process is writing to it), so the search index "
            "could not be built; searched without it, and results may miss the newest turns"
        )
        return True
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(previous)}")
    try:
        ensure_index(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return True


def exists(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages_fts'"
    ).fetchone()
    return row is not None


def ensure_index(conn: sqlite3.Connection) -> bool:
    """Build the index inside the caller's write transaction; False where the build cannot
    (no FTS5 or no trigram tokenizer), leaving the database as it was."""
    if exists(conn):
        return True
    conn.execute("SAVEPOINT fts")
    try:
        for statement in _CREATE:
            conn.execute(statement)
    except sqlite3.OperationalError:
        conn.execute("ROLLBACK TO fts")
        conn.execute("RELEASE fts")
        return False
    conn.execute("RELEASE fts")
    return True


def message_text(alias: str) -> str:
    """SQL for the text of the message row ``alias``: what the index holds, never the JSON
    around a message's parts or an image's data."""
    return "(" + _TEXT.format(m=alias) + ")"


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its own % and _ taken literally."""
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


_SELECT = (
    "SELECT s.name, m.id, m.role, m.created_at, m.content, m.content_json"
    " FROM messages m JOIN sessions s ON s.id = m.session_id"
)
_FOLD = "chatcli_fold"
"""The SQL function the scan folds case with where ``LIKE`` would not."""


def query(
    conn: sqlite3.Connection, text: str, limit: int, *, fts: bool
) -> list[tuple[str, int, str, str, str, int]]:
    """Matching messages, newest first: (session, id, role, created_at, content, is_json)."""
    if fts and len(text) >= TRIGRAM and exists(conn):  # no index (yet): LIKE
        phrase = '"' + text.replace('"', '""') + '"'
        rows = conn.execute(
            f"{_SELECT} WHERE m.id IN (SELECT rowid FROM messages_fts WHERE text MATCH ?)"
            " ORDER BY m.id DESC LIMIT ?",
            (phrase, limit),
        ).fetchall()
    else:  # LIKE folds ASCII letters only; where there is more, a function folds them
        where, value = contains(conn, text)
        rows = conn.execute(
            f"{_SELECT} WHERE {where.format(message_text('m'))} ORDER BY m.id DESC LIMIT ?2",
            (value, limit),
        ).fetchall()
    return [tuple(r) for r in rows]


def _cased(text: str) -> bool:
    """Whether ``text`` has a letter beyond ASCII with an upper and a lower case."""
    return any(ord(c) > 127 and c.lower() != c.upper() for c in text)


def _fold(text: str | None) -> str | None:
    """``text`` case-folded (``Да`` finds ``да``, ``STRASSE`` finds ``Straße``)."""
    return None if text is None else text.casefold()


def contains(conn: sqlite3.Connection, text: str) -> tuple[str, str]:
    """SQL true where the column put in its ``{}`` contains ``text`` case-insensitively in any
    script, and the value to bind to its ``?1``: ``LIKE`` where that folds all there is to
    fold (ASCII letters), a case-folding function otherwise (``sessions list TEXT``)."""
    if not _cased(text):
        return "{} LIKE ?1 ESCAPE '\\'", like_pattern(text)
    conn.create_function(_FOLD, 1, _fold, deterministic=True)
    folded = _fold(text)
    assert folded is not None
    return f"instr({_FOLD}({{}}), ?1) > 0", folded


def snippet(text: str, needle: str, width: int = 80) -> str:
    """One line of ``text`` around the first match of ``needle``, ``width`` terminal columns
    wide (a CJK character takes two), never splitting a character or a grapheme cluster (a
    ZWJ emoji sequence, a letter and its combining marks)."""
    from chatcli.store.text import inside_cluster, widths

    flat = " ".join(text.split())
    each = widths(flat)
    at = flat.lower().find(needle.lower())
    start, end = (at, at + len(needle)) if at >= 0 else (0, 0)
    while inside_cluster(flat, start):  # the match from one cluster's edge to another's
        start -= 1
    while inside_cluster(flat, end):
        end += 1
    used = sum(each[start:end])
    left = (width - used) // 2 if at >= 0 else 0
    while start > 0 and left - each[start - 1] >= 0:  # up to half the room before
        start -= 1
        left -= each[start]
        used += each[start]
    while end < len(flat) and used + each[end] <= width:  # the rest after it
        used += each[end]
        end += 1
    while start > 0 and used + each[start - 1] <= width:  # the text ended: more before
        start -= 1
        used += each[start]
    while inside_cluster(flat, end):  # back to the edge of a cluster (the match's at most)
        end -= 1
    while inside_cluster(flat, start):
        start += 1
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")
