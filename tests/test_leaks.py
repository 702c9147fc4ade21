"""Nothing leaked: the key (and a URL's user:password) never reaches stdout, stderr, --json or
the database, whatever text of the server carries it and whatever its HTTP status.

The real CLI in process against the fake server, whose answers quote the key back.
"""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import clean_env, fake_env
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI, Raw, Reply

pytest_plugins = ["tests.inprocess"]  # the in-process `cli` fixture
Run = Callable[..., "subprocess.CompletedProcess[str]"]

KEY = DEFAULT_API_KEY
SHOWN = "****" + KEY[-4:]


@pytest.fixture(autouse=True)
def no_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))


def chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def no_key(*texts: str) -> None:
    for text in texts:
        assert KEY not in text
        assert KEY[3:-4] not in text  # not even most of it


def database_text(tmp_path: Path) -> str:
    with sqlite3.connect(tmp_path / "data" / "chatcli.db") as db:
        rows = db.execute("SELECT content FROM messages").fetchall()
    return "\n".join(str(r[0]) for r in rows)


ERRORS = {
    "error inside a 200 answer": Raw(body=json.dumps({"error": {"message": f"bad key {KEY}"}})),
    "error with the key in \\u escapes": Raw(
        body='{"error": {"message": "key ' + "".join(f"\\u{ord(c):04x}" for c in KEY) + '"}}'
    ),
    "401 quoting the key": Raw(status=401, body=json.dumps({"error": {"message": f"{KEY}?"}})),
    "mid-stream error chunk": Raw(chunks=[chunk("a"), {"error": {"message": f"no {KEY}"}}]),
    "event: error": Raw(
        lines=["event: error", f'data: {{"message": "upstream said {KEY}"}}', ""],
        content_type="text/event-stream",
    ),
    "malformed chunk quoted": Raw(chunks=[chunk("a"), f"{{not json {KEY}"]),
    "HTML page with the key": Raw(
        body=f"<html><title>Denied for {KEY}</title></html>", content_type="text/html"
    ),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_the_key_is_masked_in_every_server_error(
    cli: Run, fake: FakeOpenAI, tmp_path: Path, name: str
) -> None:
    fake.script(ERRORS[name])
    result = cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode in (4, 5), result.stderr
    no_key(result.stdout, result.stderr)
    if "{not json" not in name:
        assert SHOWN in result.stderr, result.stderr


def test_json_error_field_masks_the_key(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Raw(chunks=[chunk("partial"), {"error": {"message": f"died: {KEY}"}}]))
    result = cli("ask", "--json", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5
    obj = json.loads(result.stdout)
    assert obj["incomplete"] is True and SHOWN in obj["error"]
    no_key(result.stdout, result.stderr)


def test_debug_lines_mask_the_key(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Raw(chunks=[chunk(f"the key is {KEY}"), chunk(finish="stop")]))
    result = cli("--debug", "ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert "> authorization:" in result.stderr.lower() and "< data:" in result.stderr
    no_key(result.stdout, result.stderr)


@pytest.mark.parametrize("pieces", [1, 2, 7])
def test_the_key_in_the_answer_is_masked_on_stdout_and_in_the_database(
    cli: Run, fake: FakeOpenAI, tmp_path: Path, pieces: int
) -> None:
    text = f"Your key is {KEY}, keep it safe."
    size = -(-len(text) // pieces)
    parts = [text[i : i + size] for i in range(0, len(text), size)]
    fake.script(Raw(chunks=[*[chunk(p) for p in parts], chunk(finish="stop")]))
    result = cli("ask", "--session", "k", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Your key is {SHOWN}, keep it safe.\n"
    no_key(result.stdout, result.stderr, database_text(tmp_path))


def test_url_credentials_are_masked(cli: Run, tmp_path: Path) -> None:
    password = "Zq9-very-secret-pass"
    (tmp_path / "config.toml").write_text(
        'default_profile = "r"\n[defaults]\nmax_retries = 0\n[profiles.r]\ntype = "relay"\n'
        f'base_url = "http://alice:{password}@127.0.0.1:9/v1"\napi_key = "{KEY}"\n'
    )
    (tmp_path / "config.toml").chmod(0o600)
    result = cli("ask", "hi", env=clean_env(tmp_path))
    assert result.returncode == 3, result.stderr  # refused: Basic auth would replace the key
    assert password not in result.stderr
    assert "http://alice:****@127.0.0.1:9" in result.stderr


def test_sdk_routes_mask_the_key_in_what_they_return(
    cli: Run, fake: FakeOpenAI, tmp_path: Path
) -> None:
    from tests.fakes import make_wav

    audio = tmp_path / "a.wav"
    audio.write_bytes(make_wav(1.0))
    fake.script(Raw(body=f"transcript mentions {KEY} twice: {KEY}", content_type="text/plain"),
                route="audio")  # fmt: skip
    result = cli("transcribe", str(audio), "--format", "text", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(SHOWN) == 2
    no_key(result.stdout, result.stderr)


def test_a_normal_answer_is_unchanged(cli: Run, fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply("sk-like words such as sk-test are fine"))
    result = cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.stdout == "sk-like words such as sk-test are fine\n"
