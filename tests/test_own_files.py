"""No output file (``-o``) is ever one of chatcli's own files or a database: written whole, an
export or a transcript would replace every stored session (audit 8)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, make_wav


@pytest.fixture
def env(fake: FakeOpenAI, tmp_path: Path) -> dict[str, str]:
    env = fake_env(tmp_path, fake)
    assert run_cli("ask", "--session", "keep", "first", env=env).returncode == 0
    return env


def _sessions(env: dict[str, str]) -> str:
    listed = run_cli("sessions", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    return listed.stdout


def test_an_export_never_replaces_the_database_however_it_is_named(
    env: dict[str, str], tmp_path: Path
) -> None:
    db = tmp_path / "data" / "chatcli.db"
    (tmp_path / "link.db").symlink_to(db)
    for target in (db, tmp_path / "data" / ".." / "data" / "chatcli.db", tmp_path / "link.db",
                   tmp_path / "data" / "chatcli.db-wal"):  # fmt: skip
        result = run_cli("sessions", "export", "keep", "-o", str(target), env=env)
        assert result.returncode == 2, result.stderr
        assert "is chatcli's own" in result.stderr
    assert "keep" in _sessions(env)


def test_an_export_never_replaces_the_config_or_another_database(
    env: dict[str, str], tmp_path: Path
) -> None:
    config = Path(env["CHATCLI_CONFIG"])
    config.write_text("[defaults]\ntimeout = 30\n", encoding="utf-8")
    other = tmp_path / "notes.sqlite"
    sqlite3.connect(other).execute("create table t (x)").connection.close()
    for target, said in ((config, "is chatcli's own"), (other, "is an SQLite database")):
        result = run_cli("sessions", "export", "keep", "-o", str(target), env=env)
        assert result.returncode == 2 and said in result.stderr, result.stderr
    assert config.read_text(encoding="utf-8") == "[defaults]\ntimeout = 30\n"
    assert other.read_bytes().startswith(b"SQLite format 3\x00")
    named = run_cli("--config", str(config), "sessions", "export", "keep", "-o", str(config),
                    env=env)  # fmt: skip
    assert named.returncode == 2 and "is chatcli's own" in named.stderr


def test_a_paid_command_refuses_such_a_file_before_it_pays(
    env: dict[str, str], fake: FakeOpenAI, tmp_path: Path
) -> None:
    (tmp_path / "talk.wav").write_bytes(make_wav(1.0))
    db = tmp_path / "data" / "chatcli.db"
    before = len(fake.requests)
    for args in (["transcribe", str(tmp_path / "talk.wav")], ["speak", "hello"]):
        result = run_cli(*args, "-o", str(db), env=env)
        assert result.returncode == 2 and "is chatcli's own" in result.stderr, result.stderr
    assert len(fake.requests) == before
    assert "keep" in _sessions(env)
