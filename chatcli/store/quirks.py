"""What an endpoint was found not to support, per profile and model, across runs.

An endpoint that answers 400 to ``response_format`` will do so next time too; remembering it
saves a failed request on every ``--schema`` call (``chatcli verify`` clears the note when
the endpoint honours it again). One row per (profile, model, quirk).
"""

from __future__ import annotations

from collections.abc import Callable

from chatcli.store.db import Store, _now

Notify = Callable[[str], None]


def memo(store: Store, what: str, write: Callable[[Store], object], notify: Notify) -> bool:
    """Run ``write``, something the database may do without (a quirk, a cache), usually
    right after paid work: one quick try, never the store's whole busy wait, and never the
    command's failure. A database that is busy, read-only or full skips it with one line
    through ``notify``; one this process already gave up on as busy is not tried."""
    from chatcli.errors import StoreBusy, StoreError
    from chatcli.store.journal import QUICK_TRY

    if store.gave_up:
        notify(f"{what} was not saved: the database is busy")
        return False
    store.busy_timeout(QUICK_TRY)
    try:
        write(store)
        return True
    except StoreBusy:
        notify(f"{what} was not saved: the database is busy")
    except StoreError as exc:
        notify(f"{what} was not saved: {exc.message}")
    finally:
        store.busy_timeout(None)
    return False


def noted(store: Store, profile: str, model: str, quirk: str) -> str | None:
    """The detail recorded for ``quirk`` (what the endpoint said), or None when not noted."""
    with store._read() as conn:
        row = conn.execute(
            "SELECT detail FROM endpoint_quirks WHERE profile = ? AND model = ? AND quirk = ?",
            (profile, model, quirk),
        ).fetchone()
    return None if row is None else str(row[0] or "")


def note(
    store: Store,
    profile: str,
    model: str,
    quirk: str,
    detail: str,
    notify: Notify | None = None,
    what: str | None = None,
) -> bool:
    """Record (or refresh) ``quirk`` for this profile and model: a ``memo`` (a busy, read-only
    or full database skips it, said through ``notify``, by default on stderr, as ``what``);
    True when kept."""

    def write(db: Store) -> None:
        with db._write() as conn:
            conn.execute(
                "INSERT INTO endpoint_quirks (profile, model, quirk, detail, noted_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (profile, model, quirk)"
                " DO UPDATE SET detail = excluded.detail, noted_at = excluded.noted_at",
                (profile, model, quirk, detail, _now()),
            )

    what = what or f"the note that {model} {_WHAT.get(quirk, quirk)}"
    return memo(store, what, write, _to(notify))


def forget(
    store: Store,
    profile: str,
    model: str,
    quirks: tuple[str, ...],
    notify: Notify | None = None,
    what: str | None = None,
) -> bool:
    """Drop the notes of ``quirks`` (one ``memo``, like ``note``); True when one was there
    and they went."""
    gone = [0]

    def write(db: Store) -> None:
        marks = ", ".join("?" * len(quirks))
        with db._write() as conn:
            cur = conn.execute(
                "DELETE FROM endpoint_quirks WHERE profile = ? AND model = ?"
                f" AND quirk IN ({marks})",
                (profile, model, *quirks),
            )
        gone[0] = cur.rowcount

    what = what or f"clearing the notes of what {model} refuses"
    memo(store, what, write, _to(notify))
    return gone[0] > 0


_WHAT = {
    "no_json_schema": "refuses json_schema answers",
    "no_response_format": "refuses response_format",
}
"""How a quirk reads in a notice; others are named as they are stored."""


def _to(notify: Notify | None) -> Notify:
    from chatcli.store.journal import to_stderr

    return notify or to_stderr
