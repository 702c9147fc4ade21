"""Giving a database's free pages back to the disk (``VACUUM``), where it is worth it.

SQLite keeps the pages of deleted rows as free pages inside the file: they are reused by later
writes, but the file never shrinks (``auto_vacuum`` is off, and turning it on takes a
``VACUUM`` of its own). Two things free many pages at once: ``sessions rm`` of many sessions,
and the search index an earlier chatcli built, dropped when the new one is built (it took
about as much room as the messages). After them, ``give_back`` runs one ``VACUUM`` when at
least a quarter of the file is free, the file is no bigger than ``LARGEST``, and the disk has
room for the copy SQLite writes; otherwise, or when another process holds the database, the
pages stay free for reuse and nothing fails. Measured: 85 MB with 45 % free took 1.5 s.
"""

from __future__ import annotations

import os
import sqlite3

SHARE = 0.25
"""The part of the file that must be free pages before a ``VACUUM`` is worth its time."""
LARGEST = 512 * 1024 * 1024
"""Bytes above which no ``VACUUM`` runs unasked: it rewrites the whole file (seconds per
hundred MB), and twice the file must fit on the disk meanwhile."""
QUICK_MS = 200
"""How long ``give_back`` waits for another process's write lock before it gives up."""


def worth_it(conn: sqlite3.Connection, folder: str) -> bool:
    """Whether a ``VACUUM`` of the database on ``conn`` (in ``folder``) gives back enough,
    cheaply enough, with room on the disk for its copy."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    size = pages * conn.execute("PRAGMA page_size").fetchone()[0]
    if not pages or free < SHARE * pages or size > LARGEST:
        return False
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return bool(st.f_bavail * st.f_frsize > 2 * size)


def give_back(conn: sqlite3.Connection, folder: str) -> bool:
    """``VACUUM`` the database on ``conn`` when ``worth_it``; outside any transaction. Never
    fails: a busy database or a full disk leaves the free pages where they are."""
    if conn.in_transaction:
        return False
    previous = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    try:
        if not worth_it(conn, folder):
            return False
        conn.execute(f"PRAGMA busy_timeout = {QUICK_MS}")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the copy went through the WAL
    except sqlite3.Error:
        return False
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(previous)}")
    return True
