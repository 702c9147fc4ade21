"""Full-text search over stored messages (``sessions search``, ``sessions list TEXT``).

Both match one way: TEXT matches a message whose text, folded by ``fold`` (case-folded in every
script, so ``STRASSE`` finds ``Straße`` and ``ΣΊΣΥΦΟΣ`` finds ``σίσυφος``; ``İ`` as ``i``; NUL
as a space, where SQLite's text functions would stop), contains TEXT folded the same way.

The FTS5 index is derived data: it is built on the first search (so nobody who never searches
pays for it) by ``ensure_index``, then kept in step by two triggers on ``messages``. It holds the
folded text, under the trigram tokenizer with its own case folding off (the text is folded
already, and the tokenizer's folding differs: ``ß`` stays ``ß``), which matches substrings in
any script (Chinese has no spaces for a word tokenizer to split on). The insert trigger calls
``fold`` as the SQL function ``chatcli_fold``, which every ``Store`` connection registers
(``register``): a program that inserts messages into the database by itself must register it
too. Where the SQLite build lacks FTS5 or trigram, and for folded queries shorter than three
characters (what a trigram index can look up), the search scans instead: ``instr`` over the
same folded text (a message's text parts, never its JSON or an image's data).

Building the index is a write, and a search must not fail because another process holds the
database's write lock (readers still read in WAL mode): the build gets a quick try, and when
the database stays busy this search scans and says so; a later search builds it.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Callable

TRIGRAM = 3
BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
INDEX = "messages_search"
"""The FTS5 table of folded message text (``messages_fts``, before it, held the text as it is:
migration 16 dropped its triggers, and ``ensure_index`` drops the table)."""
OLD_INDEX = "messages_fts"
"""The index an earlier chatcli built (unfolded text): dropped once the new one is built."""
FOLD = "chatcli_fold"
"""The SQL name of ``fold``."""

# The text of a message: plain content, or the text parts of a JSON (multipart) content.
_TEXT = (
    "CASE WHEN {m}.content_json THEN (SELECT group_concat(json_extract(j.value, '$.text'),"
    " char(10)) FROM json_each({m}.content) j WHERE json_extract(j.value, '$.type') = 'text')"
    " ELSE {m}.content END"
)
_CREATE = (
    f"CREATE VIRTUAL TABLE {INDEX} USING fts5(text, tokenize = 'trigram case_sensitive 1')",
    f"CREATE TRIGGER {INDEX}_insert AFTER INSERT ON messages BEGIN"
    f" INSERT INTO {INDEX} (rowid, text) VALUES (new.id, {FOLD}({_TEXT.format(m='new')})); END",
    f"CREATE TRIGGER {INDEX}_delete AFTER DELETE ON messages BEGIN"
    f" DELETE FROM {INDEX} WHERE rowid = old.id; END",
    f"INSERT INTO {INDEX} (rowid, text) SELECT id, {FOLD}({_TEXT.format(m='m')}) FROM messages m",
)


def fold(text: str | None) -> str | None:
    """``text`` as search compares it: case-folded (``Straße`` and ``STRASSE`` both become
    ``strasse``, a Greek final sigma a sigma), ``İ`` as ``i`` (not ``i`` and a combining dot,
    so ``istanbul`` finds ``İSTANBUL``), NUL as a space, and decomposed (NFD: ``café`` typed
    with one ``é`` finds the ``e`` and combining accent macOS and some input methods write, a
    Hangul syllable finds its jamo): the canonical caseless match. Character by character:
    one character becomes one or more, never fewer (``snippet`` maps a match back by that;
    decomposition only adds characters and reorders combining marks among themselves)."""
    if text is None:
        return None
    folded = unicodedata.normalize("NFD", text.replace("\0", " ").replace("\u0130", "i"))
    return unicodedata.normalize("NFD", folded.casefold())


def register(conn: sqlite3.Connection) -> None:
    """Make ``fold`` callable as ``chatcli_fold`` on ``conn`` (the index's insert trigger
    calls it; a connection without it cannot insert messages once the index is built)."""
    conn.create_function(FOLD, 1, fold, deterministic=True)


def has_index(conn: sqlite3.Connection, notify: Callable[[str], None] | None = None) -> bool:
    """Whether the search can go ahead without a write: the index is there, or was built here
    and now, or cannot be (no FTS5, or the database stays busy past a quick try: ``query``
    then scans, and ``notify``, stderr by default, is told). False only when the
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


def exists(conn: sqlite3.Connection, table: str = INDEX) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return row is not None


def ensure_index(conn: sqlite3.Connection) -> bool:
    """Build the index inside the caller's write transaction; False where the build cannot
    (no FTS5 or no trigram tokenizer), leaving the database as it was."""
    if exists(conn):
        return True
    register(conn)
    conn.execute("SAVEPOINT fts")
    try:
        for statement in _CREATE:
            conn.execute(statement)
    except sqlite3.OperationalError:
        conn.execute("ROLLBACK TO fts")
        conn.execute("RELEASE fts")
        return False
    conn.execute("RELEASE fts")
    _drop_old_index(conn)
    return True


def _drop_old_index(conn: sqlite3.Connection) -> None:
    """Drop the index an earlier chatcli built (unfolded text, no longer kept in step), where
    this SQLite can: dropping an FTS5 table takes the FTS5 module."""
    if not exists(conn, OLD_INDEX):
        return
    conn.execute("SAVEPOINT old_fts")
    try:
        conn.execute(f"DROP TABLE {OLD_INDEX}")
    except sqlite3.OperationalError:
        conn.execute("ROLLBACK TO old_fts")
    conn.execute("RELEASE old_fts")


def message_text(alias: str) -> str:
    """SQL for the text of the message row ``alias`` (what the index holds, folded): never
    the JSON around a message's parts or an image's data."""
    return "(" + _TEXT.format(m=alias) + ")"


_SELECT = (
    "SELECT s.name, m.id, m.role, m.created_at, m.content, m.content_json"
    " FROM messages m JOIN sessions s ON s.id = m.session_id"
)


def _indexed(conn: sqlite3.Connection, needle: str, fts: bool) -> bool:
    """Whether a search for the folded ``needle`` can use the index."""
    return fts and len(needle) >= TRIGRAM and exists(conn)


def _phrase(needle: str) -> str:
    """``needle`` as one FTS5 phrase (its own quotes doubled)."""
    return '"' + needle.replace('"', '""') + '"'


def _scan(column: str) -> str:
    """SQL true where ``column``, folded, contains ``:needle``."""
    return f"instr({FOLD}({column}), :needle) > 0"


def query(
    conn: sqlite3.Connection, text: str, limit: int, *, fts: bool
) -> list[tuple[str, int, str, str, str, int]]:
    """Matching messages, newest first: (session, id, role, created_at, content, is_json)."""
    register(conn)
    needle = fold(text) or ""
    if _indexed(conn, needle, fts):  # else (no index yet, a short needle): a scan
        where = f"m.id IN (SELECT rowid FROM {INDEX} WHERE text MATCH :phrase)"
    else:
        where = _scan(message_text("m"))
    rows = conn.execute(
        f"{_SELECT} WHERE {where} ORDER BY m.id DESC LIMIT :limit",
        {"needle": needle, "phrase": _phrase(needle), "limit": limit},
    ).fetchall()
    return [tuple(r) for r in rows]


def sessions_matching(conn: sqlite3.Connection, text: str) -> tuple[str, dict[str, str]]:
    """SQL true for the session row ``s`` whose name or one of whose messages contains
    ``text`` as ``query`` matches it (``sessions list TEXT``, ``/sessions TEXT``), and its
    parameters: the index where it is built, a scan otherwise; never a build (a listing does
    not write)."""
    register(conn)
    needle = fold(text) or ""
    if _indexed(conn, needle, True):
        messages = (
            f"s.id IN (SELECT m.session_id FROM messages m WHERE m.id IN"
            f" (SELECT rowid FROM {INDEX} WHERE text MATCH :phrase))"
        )
    else:
        messages = (
            f"EXISTS (SELECT 1 FROM messages m WHERE m.session_id = s.id"
            f" AND {_scan(message_text('m'))})"
        )
    return f"({_scan('s.name')} OR {messages})", {"needle": needle, "phrase": _phrase(needle)}


def _origins(text: str) -> tuple[str, list[int]]:
    """``fold(text)``, and for each of its characters the index in ``text`` of the character
    it came from."""
    folded = fold(text) or ""
    if len(folded) == len(text):  # one character each
        return folded, list(range(len(text) + 1))
    origins: list[int] = []
    for i, char in enumerate(text):
        origins += [i] * len(fold(char) or "")
    return folded, [*origins, len(text)]


PIECE = 4096
"""Characters of a message folded at a time while looking for the match a snippet shows."""


def _starts_piece(flat: str, i: int) -> bool:
    """Whether ``fold`` can start afresh at ``flat[i]``: not inside a grapheme cluster, nor
    before a combining mark (which ``fold`` may reorder with the marks before it)."""
    from chatcli.store.text import inside_cluster

    return (
        i <= 0 or i >= len(flat) or not (inside_cluster(flat, i) or unicodedata.combining(flat[i]))
    )


def _match(flat: str, sought: str) -> tuple[int, int] | None:
    """Where the first match of the folded ``sought`` starts and ends in ``flat``, folding a
    piece at a time (``PIECE``, overlapping by the match's length) and stopping at the first
    match: what a hit costs grows with where its match is, not with the message's length."""
    if not sought:
        return None
    begin, size = 0, PIECE
    while True:
        end = min(len(flat), begin + size)
        while not _starts_piece(flat, end):
            end += 1
        folded, origins = _origins(flat[begin:end])
        found = folded.find(sought)
        if found >= 0:
            return begin + origins[found], begin + origins[found + len(sought) - 1] + 1
        if end >= len(flat):
            return None
        later = end - len(sought)  # a match across the cut is whole in the next piece
        while not _starts_piece(flat, later):
            later -= 1
        if later > begin:
            begin, size = later, PIECE
        else:  # no place to start the next piece: a longer one from here
            size *= 2


def snippet(text: str, needle: str, width: int = 80) -> str:
    """One line of ``text`` around the first match of ``needle``, ``width`` terminal columns
    wide (a CJK character takes two), never splitting a character or a grapheme cluster (a
    ZWJ emoji sequence, a letter and its combining marks). Only the characters around the
    match are measured, so a hit in a long message (a file sent with ``ask -f``) costs what
    the line shows."""
    from chatcli.safetext import flat as one_line_of
    from chatcli.store.text import ZWJ, cells, inside_cluster

    # escape sequences go before the line is cut around the match (a cut inside one leaves
    # its debris); a NUL, which would make the line binary to grep, is a space
    flat = one_line_of(text)

    def each(i: int) -> int:  # ``text.widths(flat)[i]``, for the characters looked at only
        return 0 if i and flat[i - 1] == ZWJ else cells(flat[i])

    match = _match(flat, fold(needle) or "")
    start, end = match if match is not None else (0, 0)  # the match in ``flat``
    while inside_cluster(flat, start):  # the match from one cluster's edge to another's
        start -= 1
    while inside_cluster(flat, end):
        end += 1
    used = sum(each(i) for i in range(start, end))
    left = (width - used) // 2 if match is not None else 0
    while start > 0 and left - each(start - 1) >= 0:  # up to half the room before
        start -= 1
        left -= each(start)
        used += each(start)
    while end < len(flat) and used + each(end) <= width:  # the rest after it
        used += each(end)
        end += 1
    while start > 0 and used + each(start - 1) <= width:  # the text ended: more before
        start -= 1
        used += each(start)
    while inside_cluster(flat, end):  # back to the edge of a cluster (the match's at most)
        end -= 1
    while inside_cluster(flat, start):
        start += 1
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")
