"""What an endpoint was found not to support, per profile and model, across runs.

An endpoint that answers 400 to ``response_format`` will do so next time too; remembering it
saves a failed request on every ``--schema`` call (``chatcli verify`` clears the note when
the endpoint honours it again). One row per (profile, model, quirk).
"""

from __future__ import annotations

from chatcli.store.db import Store, _now


def noted(store: Store, profile: str, model: str, quirk: str) -> str | None:
    """The detail recorded for ``quirk`` (what the endpoint said), or None when not noted."""
    with store._read() as conn:
        row = conn.execute(
            "SELECT detail FROM endpoint_quirks WHERE profile = ? AND model = ? AND quirk = ?",
            (profile, model, quirk),
        ).fetchone()
    return None if row is None else str(row[0] or "")


def note(store: Store, profile: str, model: str, quirk: str, detail: str) -> None:
    """Record (or refresh) ``quirk`` for this profile and model."""
    with store._write() as conn:
        conn.execute(
            "INSERT INTO endpoint_quirks (profile, model, quirk, detail, noted_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (profile, model, quirk)"
            " DO UPDATE SET detail = excluded.detail, noted_at = excluded.noted_at",
            (profile, model, quirk, detail, _now()),
        )


def forget(store: Store, profile: str, model: str, quirk: str) -> bool:
    """Drop the note; True when there was one."""
    with store._write() as conn:
        cur = conn.execute(
            "DELETE FROM endpoint_quirks WHERE profile = ? AND model = ? AND quirk = ?",
            (profile, model, quirk),
        )
    return cur.rowcount > 0
