"""The database schema: an append-only list of migrations, applied in order.

``PRAGMA user_version`` holds how many have run. Released entries are never edited; a schema
change is a new entry at the end, so every older database can be brought up to date.
"""

from __future__ import annotations

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: sessions, messages, usage log
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            profile TEXT,
            model TEXT,
            system TEXT,
            role TEXT,
            title TEXT
        )""",
        "CREATE INDEX sessions_updated ON sessions (updated_at)",
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            content_json INTEGER NOT NULL DEFAULT 0,
            tokens INTEGER NOT NULL,
            model TEXT,
            profile TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            estimated INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL,
            finish_reason TEXT,
            interrupted INTEGER NOT NULL DEFAULT 0,
            ttft_ms INTEGER,
            duration_ms INTEGER
        )""",
        "CREATE INDEX messages_session ON messages (session_id, id)",
        """CREATE TABLE usage (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            profile TEXT,
            model TEXT NOT NULL,
            prompt_tokens INTEGER NOT NULL,
            completion_tokens INTEGER NOT NULL,
            estimated INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL,
            latency_ms INTEGER,
            ttft_ms INTEGER,
            session_id INTEGER REFERENCES sessions (id) ON DELETE SET NULL,
            command TEXT NOT NULL,
            status TEXT NOT NULL
        )""",
        "CREATE INDEX usage_created ON usage (created_at)",
    ),
    (  # 2: sessions.one_shot marks the conversations ``ask`` records without a name
        "ALTER TABLE sessions ADD COLUMN one_shot INTEGER NOT NULL DEFAULT 0",
    ),
)
"""Append-only: released entries are never edited; a schema change is a new entry."""
