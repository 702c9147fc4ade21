"""A session's history as a tree: reading and copying branches inside the caller's connection.

Every message names its parent (the message before it on its branch) and carries its turn
number on that branch; the session row names its head, the message the next one attaches to.
Editing or regenerating a turn starts a sibling branch; nothing is deleted, so an old branch can
be picked again (``/pick``) or exported (``sessions export --all-branches``). Walking back from
a message reads one row per step through the primary key, so loading the recent turns of a long
session costs what is loaded, not the session's length.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from chatcli.store.records import MessageRow, stored_time

if TYPE_CHECKING:
    from chatcli.store.db import Store

MESSAGE_COLUMNS = (
    "id, session_id, created_at, role, content, content_json, tokens, model, profile,"
    " prompt_tokens, completion_tokens, estimated, cost_usd, finish_reason, interrupted,"
    " ttft_ms, duration_ms, parent_id, turn, tool_calls, tool_call_id, tool_info, reasoning,"
    " system"
)


def message_row(row: Any) -> MessageRow:
    """A ``MessageRow`` from a row of ``MESSAGE_COLUMNS``."""
    (mid, sid, created, role, content, is_json, tokens, model, profile, prompt, completion,
     estimated, cost, finish, interrupted, ttft, duration, parent, turn, calls, call_id,
     info, reasoning, system) = row  # fmt: skip
    return MessageRow(
        role,
        json.loads(content) if is_json else content,
        tokens,
        model=model,
        profile=profile,
        prompt_tokens=prompt,
        completion_tokens=completion,
        estimated=bool(estimated),
        cost_usd=cost,
        finish_reason=finish,
        interrupted=bool(interrupted),
        ttft_ms=ttft,
        duration_ms=duration,
        tool_calls=json.loads(calls) if calls else None,
        tool_call_id=call_id,
        tool_info=json.loads(info) if info else None,
        reasoning=reasoning,
        system=system,
        id=mid,
        session_id=sid,
        created_at=stored_time(created),
        parent_id=parent,
        turn=turn,
    )


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def head(conn: sqlite3.Connection, session_id: int) -> int | None:
    """The session's head message id (None: nothing on the current branch yet)."""
    row = conn.execute("SELECT head_id FROM sessions WHERE id = ?", (session_id,)).fetchone()
    return None if row is None else row[0]


def turn_of(conn: sqlite3.Connection, message_id: int | None) -> int:
    """The turn number of ``message_id`` (0 for the empty start)."""
    if message_id is None:
        return 0
    row = conn.execute("SELECT turn FROM messages WHERE id = ?", (message_id,)).fetchone()
    return 0 if row is None else int(row[0])


def belongs(conn: sqlite3.Connection, message_id: int, session_id: int) -> bool:
    """Whether ``message_id`` is a message of ``session_id``."""
    row = conn.execute(
        "SELECT 1 FROM messages WHERE id = ? AND session_id = ?", (message_id, session_id)
    ).fetchone()
    return row is not None


def walk_back(conn: sqlite3.Connection, message_id: int | None) -> Iterator[MessageRow]:
    """``message_id`` and its ancestors, newest first, read one at a time."""
    seen: set[int] = set()
    while message_id is not None and message_id not in seen:  # a cycle would be damage
        seen.add(message_id)
        row = conn.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        if row is None:
            return
        message = message_row(row)
        yield message
        message_id = message.parent_id


def path(conn: sqlite3.Connection, message_id: int | None) -> list[MessageRow]:
    """The branch ending at ``message_id``, oldest first."""
    rows = list(walk_back(conn, message_id))
    rows.reverse()
    return rows


_UP = (
    "WITH RECURSIVE up(id) AS (SELECT id FROM messages WHERE id = ?1"
    " UNION SELECT m.parent_id FROM messages m JOIN up ON m.id = up.id"
    " WHERE m.parent_id IS NOT NULL)"
)
"""The ids of a message and its ancestors (``UNION``: a cycle, which would be damage, ends)."""


def length(conn: sqlite3.Connection, message_id: int | None) -> int:
    """How many messages the branch ending at ``message_id`` holds (``sessions list``)."""
    if message_id is None:
        return 0
    return int(conn.execute(f"{_UP} SELECT COUNT(*) FROM up", (message_id,)).fetchone()[0])


def stored(conn: sqlite3.Connection, session_id: int) -> int:
    """How many messages ``session_id`` holds, every branch counted."""
    row = conn.execute("SELECT COUNT(*) FROM messages WHERE session_id = ?", (session_id,))
    return int(row.fetchone()[0])


def first_user(conn: sqlite3.Connection, message_id: int | None) -> MessageRow | None:
    """The first user message of the branch ending at ``message_id`` (what titles it)."""
    if message_id is None:
        return None
    row = conn.execute(
        f"{_UP} SELECT {MESSAGE_COLUMNS} FROM messages"
        " WHERE id IN (SELECT id FROM up) AND role = 'user' ORDER BY turn, id LIMIT 1",
        (message_id,),
    ).fetchone()
    return None if row is None else message_row(row)


def children(conn: sqlite3.Connection, message_id: int) -> list[MessageRow]:
    """The messages attached to ``message_id``, oldest first."""
    rows = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE parent_id = ? ORDER BY id", (message_id,)
    ).fetchall()
    return [message_row(r) for r in rows]


def versions(conn: sqlite3.Connection, message: MessageRow) -> list[MessageRow]:
    """Every version of the user message ``message`` (``/edit`` makes one): the user messages
    of its session attached where it is, oldest first."""
    rows = conn.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages"
        " WHERE session_id = ? AND parent_id IS ? AND role = 'user' ORDER BY id",
        (message.session_id, message.parent_id),
    ).fetchall()
    return [message_row(r) for r in rows]


def fan_out(conn: sqlite3.Connection, session_id: int) -> dict[int | None, tuple[int, int]]:
    """Per parent message id (None: the start) in ``session_id``: how many answers and how
    many user messages are attached to it. A user message's answers are its own entry's
    first figure; its versions, its parent's second. One query, however long the session
    (``/history`` marks every turn with them)."""
    rows = conn.execute(
        "SELECT parent_id, sum(role != 'user'), sum(role = 'user') FROM messages"
        " WHERE session_id = ? GROUP BY parent_id",
        (session_id,),
    ).fetchall()
    return {parent: (int(answers), int(users)) for parent, answers, users in rows}


def latest_leaf(conn: sqlite3.Connection, message_id: int) -> int:
    """Follow the newest child from ``message_id`` to the end of its branch."""
    while True:
        row = conn.execute(
            "SELECT MAX(id) FROM messages WHERE parent_id = ?", (message_id,)
        ).fetchone()
        if row is None or row[0] is None:
            return message_id
        message_id = int(row[0])


def copy_path(conn: sqlite3.Connection, messages: list[MessageRow], session_id: int) -> None:
    """Copy ``messages`` (one branch, oldest first) into ``session_id`` as its only branch."""
    parent: int | None = None
    for m in messages:
        is_json = not isinstance(m.content, str)
        content = json.dumps(m.content, ensure_ascii=False) if is_json else m.content
        cur = conn.execute(
            "INSERT INTO messages (session_id, created_at, role, content, content_json, tokens,"
            " model, profile, prompt_tokens, completion_tokens, estimated, cost_usd,"
            " finish_reason, interrupted, ttft_ms, duration_ms, parent_id, turn, tool_calls,"
            " tool_call_id, tool_info, reasoning, system)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id, m.created_at.isoformat(timespec="microseconds"), m.role, content,
                is_json, m.tokens, m.model, m.profile, m.prompt_tokens, m.completion_tokens,
                m.estimated, m.cost_usd, m.finish_reason, m.interrupted, m.ttft_ms,
                m.duration_ms, parent, m.turn, _json(m.tool_calls), m.tool_call_id,
                _json(m.tool_info), m.reasoning, m.system,
            ),
        )  # fmt: skip
        parent = cur.lastrowid
    conn.execute("UPDATE sessions SET head_id = ? WHERE id = ?", (parent, session_id))


# What the conversation (``session.ChatSession``) reads besides ``Store``'s methods, through the
# store's connection as ``quirks`` does.


def versions_of(store: Store, message: MessageRow) -> list[MessageRow]:
    """``versions`` of ``message``, read from ``store``."""
    with store._read() as conn:
        return versions(conn, message)
