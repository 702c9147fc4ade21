"""A database damaged where only a write after the paid answer finds it (SPEC §8: a clear
error, never silent loss): the answer is journaled like one a busy or full database could
not take, and the user is told what is wrong and what to do."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from chatcli.store import DB_NAME
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI


def _damage(db: Path, table: str) -> None:
    """Overwrite ``table``'s root page with garbage, leaving the header and schema whole."""
    conn = sqlite3.connect(db)
    (page,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    (size,) = conn.execute("PRAGMA page_size").fetchone()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with db.open("r+b") as f:
        f.seek((page - 1) * size)
        f.write(b"\xa5" * size)


def test_a_damaged_page_met_after_the_answer_journals_it(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    data = Path(env["CHATCLI_HOME"])
    assert run_cli("ask", "--session", "s", "first", env=env).returncode == 0
    _damage(data / DB_NAME, "messages")
    result = run_cli("ask", "--session", "t", "second question", env=env)
    assert result.returncode == 0, result.stderr  # delivered and kept, as when busy or full
    assert result.stdout == "echo(1): second question\n"  # delivered, and paid for
    assert "is damaged or not a chatcli database" in result.stderr, result.stderr
    assert f"saved to {data / 'recovery.jsonl'}" in result.stderr
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
    (entry,) = [json.loads(line) for line in (data / "recovery.jsonl").read_text().splitlines()]
    assert [m["content"] for m in entry["turn"]["messages"]] == [
        "second question",
        "echo(1): second question",
    ]
    # as the notice says: the damaged file moved aside, the next command keeps the answer
    (data / DB_NAME).rename(data / f"{DB_NAME}.broken")
    shown = run_cli("sessions", "show", "t", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "wrote 1 saved answer" in shown.stderr
    assert "echo(1): second question" in shown.stdout
