"""SQLite storage: sessions, messages, the usage log (``db``), their rows (``records``) and the
schema's migrations (``schema``). Callers import from here."""

from __future__ import annotations

from chatcli.events import Content
from chatcli.store.db import DB_NAME, Store, check_session_name, open_default
from chatcli.store.records import (
    MessageRow,
    NewMessage,
    SearchHit,
    SessionRow,
    SessionSummary,
    Status,
    UsageRecord,
    UsageRow,
    content_text,
    images_attached,
)
from chatcli.store.schema import MIGRATIONS

__all__ = [
    "DB_NAME",
    "MIGRATIONS",
    "Content",
    "MessageRow",
    "NewMessage",
    "SearchHit",
    "SessionRow",
    "SessionSummary",
    "Status",
    "Store",
    "UsageRecord",
    "UsageRow",
    "check_session_name",
    "content_text",
    "images_attached",
    "open_default",
]
