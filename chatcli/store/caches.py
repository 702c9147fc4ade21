"""Derived data kept in the database (the ``caches`` table): built once from an installed
package, looked up by a key naming that package's version.

Why here: the data dir holds the database and the input history, nothing else (SPEC §1). The
read opens the database without creating, migrating it or replaying the recovery journal, so
a price lookup costs a millisecond; anything wrong with the database (missing, newer, busy,
corrupt) only means the data is built again, in memory.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from chatcli.errors import StoreError
from chatcli.store.db import DB_NAME, Store


def read(data_dir: Path, name: str, key: str) -> str | None:
    """The data kept under ``name`` when it was built for ``key``; else None."""
    path = data_dir / DB_NAME
    if not path.is_file():
        return None
    try:
        # read-write but never created: a read-only connection that is the last to close
        # could not remove the WAL files, leaving them beside the database
        conn = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=0.25)
        try:
            row = conn.execute(
                "SELECT data FROM caches WHERE name = ? AND key = ?", (name, key)
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return str(row[0]) if row else None


def write(data_dir: Path, name: str, key: str, data: str, *, wait: float = 0) -> None:
    """Keep ``data`` under ``name`` for ``key`` (creating the database if there is none); a
    database that cannot take it at once only costs speed, so nothing is raised and, unless
    ``wait`` seconds are given, nothing waits: the caller may itself hold the write lock (a
    batch prices its requests inside the transaction that stores them), and a wait for it
    would be a wait for ever. A caller that holds no transaction and must not lose what it
    keeps (a paid result) waits a little for another writer, such as its own usage log."""
    path = data_dir / DB_NAME
    if not path.is_file():
        try:
            Store.open(data_dir, replay=False).close()
        except StoreError:
            return
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=wait)
        try:
            with conn:
                conn.execute(
                    "INSERT OR REPLACE INTO caches (name, key, data) VALUES (?, ?, ?)",
                    (name, key, data),
                )
        finally:
            conn.close()
    except sqlite3.Error:
        pass
