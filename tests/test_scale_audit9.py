"""Audit 9 (scale): a heavy user's data costs what is shown, not what is stored.

``/history`` reads the branch once, a budget check sums the usage log in SQL, a search snippet
measures only the characters around its match, ``sessions rm`` of many names is one
transaction whose freed pages go back to the disk, and ``sessions list`` says how many it left
out. Performance is checked by the shape of the work (statements run, characters measured),
never by a timing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chatcli.settings.resolve import ChatFlags
from chatcli.store import Store
from chatcli.store.db import insert_usage
from chatcli.store.records import NewMessage, UsageRecord
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI
from tests.test_repl import Chat


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement the connections opened from now on run (a trace, not a fake)."""
    seen: list[str] = []
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn: sqlite3.Connection = connect(*args, **kwargs)
        conn.set_trace_callback(seen.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    yield seen


def _grow(data: Path, name: str, turns: int, size: int = 40) -> None:
    """Append ``turns`` turns to session ``name`` through the store, as ``ask`` writes them."""
    with Store.open(data) as store:
        row = store.get_session(name)
        assert row is not None
        for i in range(turns):
            head = store.get_session(name)
            assert head is not None
            store.add_turn(
                row.id,
                [
                    NewMessage(role="user", content=f"question {i} " + "q" * size, tokens=20),
                    NewMessage(
                        role="assistant",
                        content=f"answer {i} " + "a" * size,
                        tokens=30,
                        finish_reason="stop",
                    ),
                ],
                parent=head.head_id,
            )


# 1. /history


def _history_reads(chat: Chat, statements: list[str]) -> list[str]:
    """The statements reading messages that ``/history`` adds to a REPL run on ``long``."""
    statements.clear()
    chat.run("", opts=ChatFlags(session="long"))
    before = sum("FROM messages" in s for s in statements)
    statements.clear()
    chat.run("/history\r", opts=ChatFlags(session="long"))
    return [s for s in statements if "FROM messages" in s][before:]


def test_history_reads_the_branch_once_whatever_its_length(
    tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, statements: list[str]
) -> None:
    env = fake_env(tmp_path, fake)
    run_cli("ask", "--session", "long", "first question", env=env)
    chat = Chat(tmp_path, fake, monkeypatch)
    chat.run("/regenerate 1\r", opts=ChatFlags(session="long"))  # turn 1: two answers
    _grow(tmp_path / "data", "long", 59)  # 60 turns, 121 messages on the branch
    chat.err.seek(0)
    chat.err.truncate(0)
    reads = _history_reads(chat, statements)
    shown = chat.err.getvalue().split("/history")[-1].splitlines()
    assert "    1 you › first question [2 answers]" in shown, shown
    assert "   60 you › question 58 " + "q" * 40 in shown
    assert sum("answers]" in line for line in shown) == 1
    # the old code read the whole branch (one statement a message) twice per turn: ~14,000
    assert len(reads) <= 2 * 121 + 5, len(reads)


# 2. the budget check


def _usage(
    data: Path, rows: int, cost: float | None, days_ago: int = 0, model: str = "gpt-6-luna"
) -> None:
    """``rows`` requests in the usage log, logged ``days_ago`` days ago, in one transaction."""
    with Store.open(data) as store, store._write() as conn:
        for _ in range(rows):
            insert_usage(conn, UsageRecord(model=model, profile="openai", command="ask",
                                           status="ok", prompt_tokens=10, completion_tokens=5,
                                           cost_usd=cost))  # fmt: skip
        if days_ago:
            when = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
            conn.execute("UPDATE usage SET created_at = ? WHERE id > (SELECT max(id) FROM usage)"
                         " - ?", (when, rows))  # fmt: skip


def test_budget_check_sums_in_sql_with_the_same_figures(
    tmp_path: Path, fake: FakeOpenAI, statements: list[str]
) -> None:
    env = fake_env(tmp_path, fake)
    (tmp_path / "config.toml").write_text(
        "[defaults]\ndaily_budget_usd = 5.5\nmonthly_budget_usd = 1000.0\n"
    )
    data = tmp_path / "data"
    _usage(data, 5000, 0.001)  # $5.00 today
    _usage(data, 3, None, model="qwen-max")  # no price known yet: the figure is a lower bound
    _usage(data, 2000, 0.01, days_ago=40)  # $20, before this month: counted by neither
    statements.clear()
    done = run_cli("ask", "hi", env=env)
    assert done.returncode == 0, done.stderr
    assert "$5.00 or more of your daily budget $5.50 is spent (90%)" in done.stderr
    usage_reads = [s for s in statements if "FROM usage" in s]
    summed = ("total(cost_usd)", "cost_usd IS NULL")  # the sums, and the unpriced ones by model
    assert usage_reads and all(any(k in s for k in summed) for s in usage_reads), usage_reads[:3]
    assert len(usage_reads) <= 12  # two windows (and their unpriced), before and at the request


# 3. search snippets


def test_search_snippet_measures_the_match_not_the_message(
    tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = fake_env(tmp_path, fake)
    attached = tmp_path / "big.txt"
    words = "log line 日志 with café\u0301 and 👨\u200d👩\u200d👧 "
    attached.write_text(words * 1_000 + "the NEEDLE-Straße is here " + words * 100)
    assert (
        run_cli("ask", "--session", "att", "-f", str(attached), "read it", env=env).returncode == 0
    )
    from chatcli.store import text

    measured = 0
    cells = text.cells

    def counting(char: str) -> int:
        nonlocal measured
        measured += 1
        return cells(char)

    monkeypatch.setattr(text, "cells", counting)
    done = run_cli("sessions", "search", "needle-strasse", "--json", env=env)
    hits = json.loads(done.stdout)
    assert hits and all("NEEDLE-Straße" in h["snippet"] for h in hits)
    assert all(h["snippet"].startswith("…") and h["snippet"].endswith("…") for h in hits)
    # the old code measured every character of each 45 KB message
    assert measured < 2_000 * len(hits), measured


# 7. sessions rm of many names


def _sessions(data: Path, count: int, size: int) -> list[str]:
    with Store.open(data) as store:
        for i in range(count):
            row = store.create_session(f"s{i:04d}", one_shot=True)
            store.add_turn(row.id, [NewMessage(role="user", content=f"q{i} " + "x" * size,
                                               tokens=20)], parent=None)  # fmt: skip
    return [f"s{i:04d}" for i in range(count)]


def test_rm_of_many_sessions_is_one_transaction_and_gives_the_space_back(
    tmp_path: Path, fake: FakeOpenAI, statements: list[str]
) -> None:
    env = fake_env(tmp_path, fake)
    data = tmp_path / "data"
    names = _sessions(data, 300, 20_000)
    assert run_cli("sessions", "search", "q12", env=env).returncode == 0  # the index is built
    before = (data / "chatcli.db").stat().st_size
    statements.clear()
    done = run_cli("sessions", "rm", *names[:250], env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("deleted session") == 250
    assert sum(s.startswith("BEGIN") for s in statements) == 1  # the old code: one per name
    with sqlite3.connect(data / "chatcli.db") as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 50
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    assert free == 0 and (data / "chatcli.db").stat().st_size < before / 2


def test_rm_with_a_missing_name_deletes_nothing(tmp_path: Path, fake: FakeOpenAI) -> None:
    env = fake_env(tmp_path, fake)
    names = _sessions(tmp_path / "data", 5, 10)
    done = run_cli("sessions", "rm", *names, "nope", env=env)
    assert done.returncode == 2 and "no session named 'nope'" in done.stderr
    assert "nothing was deleted" in done.stderr
    listed = json.loads(run_cli("sessions", "list", "--json", env=env).stdout)
    assert sorted(r["name"] for r in listed) == names


def test_the_dropped_old_search_index_gives_its_space_back(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    env = fake_env(tmp_path, fake)
    data = tmp_path / "data"
    _sessions(data, 40, 100)
    with sqlite3.connect(data / "chatcli.db") as conn:  # what an earlier chatcli built
        conn.execute("CREATE VIRTUAL TABLE messages_fts USING fts5(content)")
        conn.executemany("INSERT INTO messages_fts (content) VALUES (?)",
                         [(f"{i} " + "old text " * 3000,) for i in range(300)])  # fmt: skip
    before = (data / "chatcli.db").stat().st_size
    assert run_cli("sessions", "search", "q12", env=env).returncode == 0
    with sqlite3.connect(data / "chatcli.db") as conn:
        assert not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'messages_fts'"
        ).fetchall()
    assert (data / "chatcli.db").stat().st_size < before / 2


def test_an_upgrade_gives_back_what_an_earlier_one_left_free(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    env = fake_env(tmp_path, fake)
    data = tmp_path / "data"
    _sessions(data, 100, 20_000)
    with sqlite3.connect(data / "chatcli.db") as conn:  # as schema 17 left it, pages free
        conn.execute("DELETE FROM messages")
        for index in ("usage_session", "sessions_forked_from", "journal_sessions_session"):
            conn.execute(f"DROP INDEX IF EXISTS {index}")
        conn.execute("PRAGMA user_version = 17")
    before = (data / "chatcli.db").stat().st_size
    assert run_cli("sessions", "list", env=env).returncode == 0
    assert (data / "chatcli.db").stat().st_size < before / 2


# 8. what a listing leaves out


def test_sessions_list_says_how_many_more_there_are(
    tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = fake_env(tmp_path, fake)
    _sessions(tmp_path / "data", 60, 10)
    done = run_cli("sessions", "list", env=env)
    assert len(done.stdout.splitlines()) == 50
    assert "… and 10 more; -n to show more" in done.stderr
    as_json = run_cli("sessions", "list", "--json", "-n", "7", env=env)
    assert len(json.loads(as_json.stdout)) == 7  # stdout: the list alone
    assert "… and 53 more; -n to show more" in as_json.stderr
    matching = run_cli("sessions", "list", "s005", "-n", "3", env=env)
    assert "… and 7 more" in matching.stderr  # s0050-s0059
    everything = run_cli("sessions", "list", "-n", "60", env=env)
    assert "more" not in everything.stderr
    chat = Chat(tmp_path, fake, monkeypatch)
    chat.run("/sessions\r")
    assert "… and 50 more" in chat.out.getvalue() + chat.err.getvalue()
