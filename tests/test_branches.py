"""History as a tree: edit, regenerate, pick and fork a conversation; the migration that made
today's databases into trees; ``sessions fork`` and ``export --all-branches`` through the CLI."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatcli.errors import UsageError
from chatcli.session import ChatSession
from chatcli.store import MIGRATIONS, Store
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI
from tests.test_session import ScriptedProvider, drain, reply, roles, session


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path)
    yield s
    s.close()


def three_turns(store: Store) -> tuple[ScriptedProvider, ChatSession]:
    provider = ScriptedProvider(reply("A1"), reply("A2"), reply("A3"))
    chat = session(provider, store, persist=True, name="tree")
    for question in ("Q1", "Q2", "Q3"):
        drain(chat.send(question))
    return provider, chat


def contents(store: Store, name: str = "tree") -> list[object]:
    row = store.get_session(name)
    assert row is not None
    return [m.content for m in store.all_messages(row.id)]


def test_edit_replaces_a_turn_and_keeps_the_old_branch(store: Store) -> None:
    provider, chat = three_turns(store)
    provider.add(reply("B2"))
    assert chat.turn_text(2) == "Q2"
    drain(chat.edit(2, "Q2 edited"))
    assert roles(provider.requests[-1]) == [
        ("user", "Q1"),
        ("assistant", "A1"),
        ("user", "Q2 edited"),
    ]
    assert contents(store) == ["Q1", "A1", "Q2 edited", "B2"]
    row = store.get_session("tree")
    assert row is not None
    every = [m.content for m in store.every_message(row.id)]
    assert every == ["Q1", "A1", "Q2", "A2", "Q3", "A3", "Q2 edited", "B2"]  # nothing lost
    provider.add(reply("B3"))
    drain(chat.send("Q3 on the new branch"))
    assert roles(provider.requests[-1])[-3:] == [
        ("user", "Q2 edited"),
        ("assistant", "B2"),
        ("user", "Q3 on the new branch"),
    ]


def test_regenerate_keeps_both_answers_and_pick_goes_back(store: Store) -> None:
    provider, chat = three_turns(store)
    provider.add(reply("A2 again"))
    drain(chat.regenerate(2))
    assert roles(provider.requests[-1]) == [("user", "Q1"), ("assistant", "A1"), ("user", "Q2")]
    assert contents(store) == ["Q1", "A1", "Q2", "A2 again"]
    answers = chat.answers(2)
    assert [a.content for a in answers] == ["A2", "A2 again"]
    assert chat.current_answer(2) == answers[1].id
    chosen = chat.pick(2, 1)
    assert chosen.content == "A2"
    # the first answer's branch goes on where it left off: turn 3 is back
    assert contents(store) == ["Q1", "A1", "Q2", "A2", "Q3", "A3"]
    provider.add(reply("A4"))
    drain(chat.send("Q4"))
    assert [c for _, c in roles(provider.requests[-1])][-3:] == ["Q3", "A3", "Q4"]
    with pytest.raises(UsageError, match="turn 2 has 2 answers"):
        chat.pick(2, 3)
    with pytest.raises(UsageError, match="no turn 9"):
        drain(chat.regenerate(9))


def test_undo_and_retry_keep_the_old_turns_in_the_store(store: Store) -> None:
    provider, chat = three_turns(store)
    assert chat.undo() == "Q3"
    assert contents(store) == ["Q1", "A1", "Q2", "A2"]
    provider.add(reply("A2 retried"))
    drain(chat.retry())
    assert contents(store) == ["Q1", "A1", "Q2", "A2 retried"]
    assert [a.content for a in chat.answers(2)] == ["A2", "A2 retried"]


def test_resumed_session_continues_the_current_branch(store: Store, tmp_path: Path) -> None:
    provider, chat = three_turns(store)
    provider.add(reply("B2"))
    drain(chat.edit(2, "Q2 edited"))
    row = store.get_session("tree")
    assert row is not None
    again = ScriptedProvider(reply("next"))
    resumed = session(again, store, persist=True, name="tree")
    resumed = ChatSession.open(again, resumed.settings, store=store, row=row)
    assert [m.content for m in resumed.history] == ["Q1", "A1", "Q2 edited", "B2"]
    drain(resumed.send("Q3"))
    assert [c for _, c in roles(again.requests[-1])] == ["Q1", "A1", "Q2 edited", "B2", "Q3"]


def test_fork_continues_in_a_copy(store: Store) -> None:
    provider, chat = three_turns(store)
    fork = chat.fork("copy", upto=1)
    assert fork.forked_from == "tree@1"
    assert chat.name == "copy"
    provider.add(reply("F2"))
    drain(chat.send("other Q2"))
    assert contents(store, "copy") == ["Q1", "A1", "other Q2", "F2"]
    assert contents(store, "tree") == ["Q1", "A1", "Q2", "A2", "Q3", "A3"]


def _old_database(data: Path) -> None:
    """A chatcli.db as the previous release wrote it (schema 5) with two sessions."""
    data.mkdir()
    conn = sqlite3.connect(data / "chatcli.db", isolation_level=None)
    for statements in MIGRATIONS[:5]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 5")
    now = "2026-11-01T10:00:00.000000+00:00"
    for sid, name in ((1, "old"), (2, "other")):
        conn.execute(
            "INSERT INTO sessions (id, name, created_at, updated_at, model, title)"
            " VALUES (?, ?, ?, ?, 'gpt-4o-mini', 't')",
            (sid, name, now, now),
        )
    rows = [
        (1, "user", "q1"), (1, "assistant", "a1"), (2, "user", "elsewhere"),
        (1, "user", "q2"), (2, "assistant", "there"), (1, "assistant", "a2"),
    ]  # fmt: skip
    for sid, role, content in rows:
        conn.execute(
            "INSERT INTO messages (session_id, created_at, role, content, tokens)"
            " VALUES (?, ?, ?, ?, 3)",
            (sid, now, role, content),
        )
    conn.close()


def test_migration_makes_each_old_session_one_branch(tmp_path: Path) -> None:
    _old_database(tmp_path / "data")
    with Store.open(tmp_path / "data") as store:
        old = store.get_session("old")
        assert old is not None and old.head_id is not None
        branch = store.all_messages(old.id)
        assert [(m.content, m.turn) for m in branch] == [
            ("q1", 1), ("a1", 1), ("q2", 2), ("a2", 2)
        ]  # fmt: skip
        assert branch[0].parent_id is None
        assert [m.parent_id for m in branch[1:]] == [m.id for m in branch[:-1]]
        other = store.get_session("other")
        assert other is not None
        assert [m.content for m in store.all_messages(other.id)] == ["elsewhere", "there"]
        assert store.recent_messages(old.id, 7) == (branch[2:], 1)


def test_cli_continues_forks_and_exports_a_migrated_database(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    _old_database(tmp_path / "data")
    env = fake_env(tmp_path, fake)
    done = run_cli("ask", "--session", "old", "q3", env=env)
    assert done.returncode == 0, done.stderr
    sent = fake.chat_requests()[-1].json["messages"]
    assert [m["content"] for m in sent] == ["q1", "a1", "q2", "a2", "q3"]

    forked = run_cli("sessions", "fork", "old", "--at", "1", "--as", "branch", env=env)
    assert (forked.returncode, forked.stdout) == (0, "branch\n")
    assert "forked old up to turn 1 into branch" in forked.stderr
    shown = run_cli("sessions", "show", "branch", env=env).stdout
    assert "forked from old at turn 1" in shown and "q2" not in shown
    bad = run_cli("sessions", "fork", "old", "--at", "7", env=env)
    assert bad.returncode == 2 and "old has no turn 7 (turns 1-3)" in bad.stderr

    with Store.open(tmp_path / "data") as store:
        row = store.get_session("old")
        assert row is not None
        first = store.all_messages(row.id)[1]
        store.set_head(row.id, first.id)  # as /edit 2 leaves it: turn 2 is asked anew
    run_cli("ask", "--session", "old", "q2 edited", env=env)
    exported = json.loads(
        run_cli("sessions", "export", "old", "--format", "json", "--all-branches", env=env).stdout
    )
    assert [m["content"] for m in exported["messages"]] == [
        "q1", "a1", "q2 edited", "echo(2): q2 edited"
    ]  # fmt: skip
    assert len(exported["all_messages"]) == 8
    by_id = {m["id"]: m for m in exported["all_messages"]}
    assert by_id[exported["head_id"]]["content"] == "echo(2): q2 edited"
    md = run_cli("sessions", "export", "old", "--all-branches", env=env).stdout
    assert md.count("## Branch") == 2 and "## Branch 2 (current)" in md
    plain = run_cli("sessions", "show", "old", env=env).stdout
    assert "turn 2: 1 of 2 versions" in plain
