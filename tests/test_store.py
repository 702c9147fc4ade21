"""The SQLite store: schema and files, sessions, messages, usage log, errors, two processes."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from chatcli.errors import SessionExists, StoreError, UsageError
from chatcli.store import MIGRATIONS, NewMessage, Store, UsageRecord


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "data")
    yield s
    s.close()


def _turn(question: str, answer: str, tokens: int = 10) -> tuple[NewMessage, NewMessage]:
    return (
        NewMessage("user", question, tokens),
        NewMessage("assistant", answer, tokens, model="gpt-4o", cost_usd=0.001),
    )


def test_open_creates_private_files_in_wal_mode(tmp_path: Path) -> None:
    data = tmp_path / "nested" / "data"
    before = os.umask(0)  # the most open umask: every directory made is still 0700
    try:
        Store.open(data).close()
    finally:
        os.umask(before)
    db = data / "chatcli.db"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE(data.parent.stat().st_mode) == 0o700  # the parent it made, too
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "messages", "usage"} <= tables
    conn.close()


def test_data_survives_reopening(tmp_path: Path) -> None:
    with Store.open(tmp_path) as first:
        row = first.create_session("work", profile="relay", model="gpt-4o", system="Be brief.")
        first.add_messages(row.id, *_turn("q1", "a1"))
    with Store.open(tmp_path) as second:
        again = second.get_session("work")
        assert again is not None
        assert (again.profile, again.model, again.system) == ("relay", "gpt-4o", "Be brief.")
        assert [m.content for m in second.all_messages(again.id)] == ["q1", "a1"]


def test_session_names_are_unique_and_automatic_names_never_collide(store: Store) -> None:
    names = {store.create_session(None).name for _ in range(3)}
    assert len(names) == 3
    store.create_session("mine")
    with pytest.raises(UsageError, match="already exists"):
        store.create_session("mine")
    for bad in ("", " padded", "line\nbreak"):
        with pytest.raises(UsageError, match="invalid session name"):
            store.create_session(bad)


def test_messages_round_trip_every_field_and_json_content(store: Store) -> None:
    row = store.create_session("s")
    parts: list[dict[str, Any]] = [
        {"type": "text", "text": "这张图里有什么？"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]
    store.add_messages(
        row.id,
        NewMessage("user", parts, 800),
        NewMessage(
            "assistant", "一只猫。", 9, model="gpt-4o-2024-08-06", profile="openai",
            prompt_tokens=812, completion_tokens=5, estimated=True, cost_usd=None,
            finish_reason=None, interrupted=True, ttft_ms=420, duration_ms=900,
        ),
    )  # fmt: skip
    user, reply = store.all_messages(row.id)
    assert user.content == parts and user.tokens == 800
    assert reply.content == "一只猫。"
    assert (reply.model, reply.profile, reply.prompt_tokens, reply.completion_tokens) == (
        "gpt-4o-2024-08-06", "openai", 812, 5,
    )  # fmt: skip
    assert reply.cost_usd is None and reply.estimated and reply.interrupted
    assert (reply.ttft_ms, reply.duration_ms, reply.finish_reason) == (420, 900, None)
    assert reply.id > user.id and reply.session_id == row.id


def test_title_is_the_first_user_message_shortened(store: Store) -> None:
    row = store.create_session("s")
    store.add_messages(row.id, *_turn("  Explain\n the   borrow checker " + "x" * 100, "ok"))
    store.add_messages(row.id, *_turn("second question", "ok"))
    title = store.get_session("s").title  # type: ignore[union-attr]
    assert title is not None and title.startswith("Explain the borrow checker x")
    assert len(title) == 60 and title.endswith("…")


def test_latest_session_is_the_most_recently_updated(store: Store) -> None:
    old = store.create_session("old")
    store.create_session("new")
    assert store.latest_session().name == "new"  # type: ignore[union-attr]
    store.add_messages(old.id, *_turn("back to this", "sure"))
    assert store.latest_session().name == "old"  # type: ignore[union-attr]


def test_list_sessions_counts_and_searches_names_and_content(store: Store) -> None:
    a = store.create_session("rust-notes")
    b = store.create_session("chinese")
    store.create_session("100%-literal")
    store.add_messages(a.id, *_turn("lifetimes?", "they scope borrows"))
    store.add_messages(b.id, *_turn("你好，世界", "你好！"))
    listed = store.list_sessions()
    assert [s.name for s in listed] == ["chinese", "rust-notes", "100%-literal"]
    assert [s.message_count for s in listed] == [2, 2, 0]
    assert [s.name for s in store.list_sessions("世界")] == ["chinese"]
    assert [s.name for s in store.list_sessions("BORROWS")] == ["rust-notes"]
    assert [s.name for s in store.list_sessions("0%")] == ["100%-literal"]
    assert [s.name for s in store.list_sessions("%")] == ["100%-literal"]  # % is literal
    assert len(store.list_sessions(limit=1)) == 1


def test_rename_and_delete(store: Store) -> None:
    row = store.create_session("a")
    store.create_session("b")
    store.add_messages(row.id, *_turn("q", "a"))
    store.log_usage(UsageRecord("gpt-4o", "openai", "chat", "ok", 1, 1, session_id=row.id))
    with pytest.raises(UsageError, match="already exists"):
        store.rename_session("a", "b")
    with pytest.raises(UsageError, match="no session named 'zzz'"):
        store.rename_session("zzz", "c")
    store.rename_session("a", "c")
    assert store.get_session("a") is None and store.get_session("c") is not None
    store.delete_session("c")
    assert store.get_session("c") is None
    assert store.all_messages(row.id) == []  # cascaded
    (usage,) = store.usage_rows()
    assert usage.session_id is None  # the usage log outlives the session
    with pytest.raises(UsageError, match="no session named"):
        store.delete_session("c")


def test_update_session(store: Store) -> None:
    row = store.create_session("s", model="gpt-4o")
    updated = store.update_session(row.id, model="o3", system="Think.", role="thinker")
    assert (updated.model, updated.system, updated.role) == ("o3", "Think.", "thinker")
    assert store.get_session("s") == updated
    with pytest.raises(ValueError, match="name"):
        store.update_session(row.id, name="hack")


def test_set_head_rewinds_the_branch_and_keeps_the_rest(store: Store) -> None:
    row = store.create_session("s")
    first = store.add_messages(row.id, *_turn("q1", "a1"))
    second = store.add_messages(row.id, *_turn("q2", "a2"))
    store.set_head(row.id, first[-1])
    assert [m.content for m in store.all_messages(row.id)] == ["q1", "a1"]
    assert [m.content for m in store.every_message(row.id)] == ["q1", "a1", "q2", "a2"]
    store.add_messages(row.id, *_turn("q2 again", "b2"))  # a second branch after turn 1
    branch = store.all_messages(row.id)
    assert [(m.content, m.turn) for m in branch] == [
        ("q1", 1),
        ("a1", 1),
        ("q2 again", 2),
        ("b2", 2),
    ]
    assert [m.content for m in store.children(first[-1])] == ["q2", "q2 again"]
    assert store.latest_leaf(first[-1]) == branch[-1].id
    store.set_head(row.id, second[-1])
    assert [m.content for m in store.all_messages(row.id)] == ["q1", "a1", "q2", "a2"]
    with pytest.raises(ValueError):
        store.set_head(store.create_session("other").id, second[-1])


def test_fork_copies_the_branch_up_to_a_message(store: Store) -> None:
    row = store.create_session("src", model="m1", system="be brief")
    first = store.add_messages(row.id, *_turn("q1", "a1"))
    store.add_messages(row.id, *_turn("q2", "a2"))
    src = store.get_session("src")
    assert src is not None
    fork = store.fork_session(src, first[-1], "copy")
    assert (fork.model, fork.system, fork.forked_from) == ("m1", "be brief", "src@1")
    assert [m.content for m in store.all_messages(fork.id)] == ["q1", "a1"]
    whole = store.fork_session(src, None, None)
    assert [m.content for m in store.all_messages(whole.id)] == ["q1", "a1", "q2", "a2"]
    assert len(store.every_message(row.id)) == 4  # the source is untouched
    with pytest.raises(SessionExists):
        store.fork_session(src, None, "copy")


def test_recent_messages_keeps_whole_newest_turns_within_budget(store: Store) -> None:
    row = store.create_session("s")
    for i in range(10):
        store.add_messages(row.id, *_turn(f"q{i}", f"a{i}", tokens=10))
    kept, left_out = store.recent_messages(row.id, 45)  # room for 4 messages = 2 turns
    assert [m.content for m in kept] == ["q8", "a8", "q9", "a9"]
    assert left_out == 8
    kept, left_out = store.recent_messages(row.id, 35)  # 3 fit, but never start mid-turn
    assert [m.content for m in kept] == ["q9", "a9"] and left_out == 9
    kept, left_out = store.recent_messages(row.id, 5)
    assert kept == [] and left_out == 10
    kept, left_out = store.recent_messages(row.id, None)
    assert len(kept) == 20 and left_out == 0


def test_usage_log_and_since(store: Store) -> None:
    store.log_usage(
        UsageRecord("local-llama", "ollama", "ask", "ok", 100, 20, estimated=True, latency_ms=50)
    )
    store.log_usage(UsageRecord("gpt-4o", "openai", "chat", "error", 0, 0, cost_usd=0.0))
    conn = sqlite3.connect(store.path)
    conn.execute("UPDATE usage SET created_at = '2020-01-01T10:00:00.000000+00:00' WHERE id = 2")
    conn.commit()
    conn.close()
    rows = store.usage_rows()
    assert [r.model for r in rows] == ["local-llama", "gpt-4o"]
    first = rows[0]
    assert first.cost_usd is None and first.estimated and first.latency_ms == 50
    assert (first.command, first.status, first.prompt_tokens) == ("ask", "ok", 100)
    assert rows[1].cost_usd == 0.0
    assert [r.model for r in store.usage_rows(date.today() - timedelta(days=1))] == ["local-llama"]
    assert store.usage_rows(date.today() + timedelta(days=1)) == []


def test_session_cost_reports_unknown_prices(store: Store) -> None:
    row = store.create_session("s")
    store.add_messages(row.id, *_turn("q", "a"))
    assert store.session_cost(row.id) == pytest.approx((0.001, False))
    store.add_messages(row.id, NewMessage("user", "q", 1), NewMessage("assistant", "a", 1))
    assert store.session_cost(row.id) == pytest.approx((0.001, True))


def test_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "chatcli.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = db.read_bytes()
    with pytest.raises(StoreError) as info:
        Store.open(tmp_path)
    assert str(db) in info.value.message and "newer chatcli" in info.value.message
    assert info.value.hint is not None and "upgrade chatcli" in info.value.hint
    assert info.value.exit_code == 1
    assert db.read_bytes() == before


def test_garbage_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "chatcli.db"
    db.write_bytes(b"this is certainly not an sqlite database\n" * 200)
    before = db.read_bytes()
    with pytest.raises(StoreError) as info:
        Store.open(tmp_path)
    assert str(db) in info.value.message
    assert info.value.hint is not None and "move it aside" in info.value.hint
    assert db.read_bytes() == before


def test_damaged_pages_give_a_clear_error(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        row = store.create_session("s")
        for i in range(200):
            store.add_messages(row.id, *_turn(f"question {i} " * 20, f"answer {i} " * 20))
    conn = sqlite3.connect(tmp_path / "chatcli.db")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    db = tmp_path / "chatcli.db"
    data = bytearray(db.read_bytes())
    page = 4096
    data[page : page * 8] = b"\xa5" * (page * 7)  # scribble over the pages after the first
    db.write_bytes(bytes(data))
    with Store.open(tmp_path) as damaged, pytest.raises(StoreError) as info:
        damaged.all_messages(row.id)
    assert str(db) in info.value.message and "damaged" in info.value.message
    assert info.value.hint is not None and "move it aside" in info.value.hint


def test_store_is_usable_from_another_thread(store: Store) -> None:
    row = store.create_session("s")
    errors: list[BaseException] = []

    def work() -> None:
        try:
            store.add_messages(row.id, *_turn("from a thread", "ok"))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert errors == []
    assert len(store.all_messages(row.id)) == 2


TURNS_PER_PROCESS = 150


def _writer(data_dir: str, label: str, barrier: threading.Barrier) -> None:
    """One of two processes opening a fresh database at once and writing turns and usage."""
    barrier.wait()
    with Store.open(Path(data_dir)) as store:
        own = store.create_session(label)
        for i in range(TURNS_PER_PROCESS):
            shared = store.get_session("shared")
            if shared is None:
                try:
                    shared = store.create_session("shared")
                except UsageError:  # the other process won the race
                    shared = store.get_session("shared")
            assert shared is not None
            store.add_messages(own.id, *_turn(f"{label} q{i}", f"{label} a{i}"))
            store.add_messages(shared.id, NewMessage("user", f"{label} {i}", 1))
            store.log_usage(UsageRecord("gpt-4o", label, "ask", "ok", i, i))


@pytest.mark.process  # two processes writing one database at once
def test_two_processes_write_at_once(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [
        ctx.Process(target=_writer, args=(str(tmp_path), label, barrier)) for label in ("p1", "p2")
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    with Store.open(tmp_path) as store:
        for label in ("p1", "p2"):
            row = store.get_session(label)
            assert row is not None
            messages = store.all_messages(row.id)
            assert len(messages) == 2 * TURNS_PER_PROCESS
            assert messages[-1].content == f"{label} a{TURNS_PER_PROCESS - 1}"
        shared = store.get_session("shared")
        assert shared is not None
        assert len(store.all_messages(shared.id)) == 2 * TURNS_PER_PROCESS
        usage = store.usage_rows()
        assert len(usage) == 2 * TURNS_PER_PROCESS
        assert {r.profile for r in usage} == {"p1", "p2"}
