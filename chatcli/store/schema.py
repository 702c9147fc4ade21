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
    (  # 3: the model the response named, next to the requested one (usage.model)
        "ALTER TABLE usage ADD COLUMN served_model TEXT",
    ),
    (  # 4: batch jobs, their parts (one provider batch each) and their requests
        """CREATE TABLE batch_jobs (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            profile TEXT NOT NULL,
            model TEXT NOT NULL,
            mode TEXT NOT NULL,
            input_hash TEXT NOT NULL,
            state TEXT NOT NULL,
            total INTEGER NOT NULL,
            completed INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            retry_of TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            finished_at TEXT
        )""",
        """CREATE TABLE batch_parts (
            job_id INTEGER NOT NULL REFERENCES batch_jobs (id) ON DELETE CASCADE,
            part INTEGER NOT NULL,
            requests INTEGER NOT NULL,
            bytes INTEGER NOT NULL,
            step TEXT NOT NULL,
            file_id TEXT,
            batch_id TEXT,
            status TEXT,
            output_file_id TEXT,
            error_file_id TEXT,
            completed INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            PRIMARY KEY (job_id, part)
        )""",
        """CREATE TABLE batch_requests (
            job_id INTEGER NOT NULL REFERENCES batch_jobs (id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            part INTEGER NOT NULL,
            input_id TEXT NOT NULL,
            model TEXT NOT NULL,
            line TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',
            answer TEXT,
            served_model TEXT,
            finish_reason TEXT,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            cost_usd REAL,
            error TEXT,
            PRIMARY KEY (job_id, idx)
        )""",
        "CREATE INDEX batch_requests_state ON batch_requests (job_id, state)",
    ),
    (  # 5: the process advancing a batch job ("host:pid"), so two never submit it at once
        "ALTER TABLE batch_jobs ADD COLUMN runner TEXT",
    ),
    (  # 6: what an endpoint was found to refuse, per profile and model (response_format)
        """CREATE TABLE endpoint_quirks (
            profile TEXT NOT NULL,
            model TEXT NOT NULL,
            quirk TEXT NOT NULL,
            detail TEXT,
            noted_at TEXT NOT NULL,
            PRIMARY KEY (profile, model, quirk)
        )""",
    ),
    (  # 7: history as a tree: each message knows its parent and its turn number on its
        # branch; a session's head is the message the next one attaches to. Existing sessions
        # become one branch each, in id order (nothing is lost).
        "ALTER TABLE messages ADD COLUMN parent_id INTEGER",
        "ALTER TABLE messages ADD COLUMN turn INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE sessions ADD COLUMN head_id INTEGER",
        "ALTER TABLE sessions ADD COLUMN forked_from TEXT",
        """UPDATE messages SET parent_id = x.prev, turn = x.t FROM (
            SELECT id, LAG(id) OVER w AS prev, SUM(role = 'user') OVER w AS t FROM messages
            WINDOW w AS (PARTITION BY session_id ORDER BY id)
        ) AS x WHERE messages.id = x.id""",
        "UPDATE sessions SET head_id = (SELECT MAX(id) FROM messages m"
        " WHERE m.session_id = sessions.id)",
        "CREATE INDEX messages_parent ON messages (parent_id)",
    ),
    (  # 8: function calling: an assistant message's calls (JSON list of {id, name,
        # arguments}); a tool result's call id and what ran (JSON {name, approved, ...})
        "ALTER TABLE messages ADD COLUMN tool_calls TEXT",
        "ALTER TABLE messages ADD COLUMN tool_call_id TEXT",
        "ALTER TABLE messages ADD COLUMN tool_info TEXT",
    ),
    (  # 9: recovery-journal entries already written back (store.journal), so none twice
        "CREATE TABLE journal_applied (id TEXT PRIMARY KEY)",
    ),
    (  # 10: input tokens served from the prompt cache (part of prompt_tokens, priced lower)
        # and reasoning tokens (part of completion_tokens), as the response reported them
        "ALTER TABLE usage ADD COLUMN cached_tokens INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE usage ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0",
    ),
    (  # 11: an assistant message's reasoning summary (Responses API): kept and shown by
        # ``sessions show``/export, never sent back to the model
        "ALTER TABLE messages ADD COLUMN reasoning TEXT",
    ),
    (  # 12: a batch request's cached input and reasoning tokens, as its answer reported them
        "ALTER TABLE batch_requests ADD COLUMN cached_tokens INTEGER",
        "ALTER TABLE batch_requests ADD COLUMN reasoning_tokens INTEGER",
    ),
    (  # 13: data derived from an installed package (the price dataset, ``price_catalog``),
        # kept here so the data dir holds nothing but the database and the input history;
        # ``key`` names the package version it was built from, so an upgrade rebuilds it
        "CREATE TABLE caches (name TEXT PRIMARY KEY, key TEXT NOT NULL, data TEXT NOT NULL)",
    ),
    (  # 14: the session each journal key became (store.journal): a new conversation whose
        # first turns waited in the recovery journal comes back as one session, in order
        """CREATE TABLE journal_sessions (
            key TEXT PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE
        )""",
    ),
    (  # 15: the system prompt each user message was sent with ("" for none), so a changed
        # prompt (-s/-r on a continued session, /system, /role, a template) is part of the
        # history; NULL in older rows: the session's own prompt stands for it
        "ALTER TABLE messages ADD COLUMN system TEXT",
    ),
    (  # 16: the search index (``store.search``, built on the first search) holds folded text
        # now, in a table of another name; the old one's triggers go, so it is no longer kept
        # (its table is dropped where the next index is built: that takes the FTS5 module)
        "DROP TRIGGER IF EXISTS messages_fts_insert",
        "DROP TRIGGER IF EXISTS messages_fts_delete",
    ),
    (  # 17: a fork names its source by id, so a rename of the source is followed and its
        # deletion known (NULL with ``forked_from`` set); earlier forks are linked to the
        # session that has their source's name now, if one does
        "ALTER TABLE sessions ADD COLUMN forked_from_id INTEGER"
        " REFERENCES sessions (id) ON DELETE SET NULL",
        """UPDATE sessions SET forked_from_id = (SELECT s.id FROM sessions s WHERE s.name =
            substr(sessions.forked_from, 1, length(rtrim(sessions.forked_from, '0123456789')) - 1)
            AND s.id != sessions.id) WHERE forked_from GLOB '*@[0-9]*'""",
    ),
    (  # 18: the columns a deleted session's references are looked up by (ON DELETE SET NULL
        # and CASCADE): without them each deleted session scanned the whole usage log
        "CREATE INDEX IF NOT EXISTS usage_session ON usage (session_id)",
        "CREATE INDEX IF NOT EXISTS sessions_forked_from ON sessions (forked_from_id)",
        "CREATE INDEX IF NOT EXISTS journal_sessions_session ON journal_sessions (session_id)",
    ),
)
"""Append-only: released entries are never edited; a schema change is a new entry."""

COMPACTED_AT = 18
"""A database migrated from before this version gets one ``compact.give_back``: the search
index an earlier chatcli built (migration 16) was dropped without giving its pages back."""
