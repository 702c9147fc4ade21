"""Inputs that used to crash chatcli ("unexpected ..." and exit 1) end in one clear error line
and the documented exit code, or simply work: deeply nested TOML, batch CSVs in other encodings
or with huge cells, bad timestamps in the store, stdout on a full device or one that can only
encode ASCII, dates at the edge of the calendar, a bad COMP_CWORD, split transcriptions whose
pieces carry times that are not numbers. Real CLI, real files, the fake server."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, fake_env, run_cli, run_process
from tests.fakes import FakeOpenAI, Malformed
from tests.test_transcribe import wav_file


def one_error(stderr: str) -> str:
    """The single ``chatcli: error:`` line of ``stderr`` (and no traceback, no "unexpected")."""
    assert "Traceback" not in stderr and "unexpected" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("chatcli: error:")]
    assert len(errors) == 1, stderr
    return errors[0]


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "x = " + "[" * 5000 + "]" * 5000,
        "x = " + "{a = " * 3000 + "1" + "}" * 3000,
        "[defaults]\nmodel = " + "[" * 2000 + '"m"' + "]" * 2000,
    ],
    ids=["arrays", "inline-tables", "in-a-table"],
)
def test_deeply_nested_toml_is_a_config_error(tmp_path: Path, body: str) -> None:
    config = tmp_path / "deep.toml"
    config.write_text(body, encoding="utf-8")
    env = clean_env(tmp_path, OPENAI_API_KEY="sk-test-0123456789abcdef")
    for args in (["ask", "hi"], ["config", "validate"], ["config", "set", "defaults.model", "x"]):
        result = run_cli("--config", str(config), *args, env=env)
        assert result.returncode == 3, (args, result.stderr)
        assert "nested too deeply" in one_error(result.stderr) or "nested more than" in (
            result.stderr
        )


def test_completion_survives_a_deeply_nested_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("x = " + "[" * 5000 + "]" * 5000, encoding="utf-8")
    env = {**clean_env(tmp_path), "_CHATCLI_COMPLETE": "bash_complete",
           "COMP_WORDS": "chatcli ask -p ", "COMP_CWORD": "3"}  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "chatcli"], env=env, capture_output=True,
                          text=True, timeout=30)  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


# --- batch inputs -------------------------------------------------------------------------------


def _dry_run(tmp_path: Path, fake: FakeOpenAI, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatcli", "batch", "submit", name, "--dry-run"],
        env=fake_env(tmp_path, fake), cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def _dry_run_prompts(tmp_path: Path) -> list[str]:
    lines = (tmp_path / "chatcli-batch-dry-run.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["body"]["messages"][-1]["content"] for line in lines]


def test_batch_csv_in_gb18030_and_utf16_is_read(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "gb.csv").write_bytes("prompt\n你好，世界\n再见\n".encode("gb18030"))
    result = _dry_run(tmp_path, fake, "gb.csv")
    assert result.returncode == 0, result.stderr
    assert _dry_run_prompts(tmp_path) == ["你好，世界", "再见"]
    (tmp_path / "u16.csv").write_bytes("prompt\ncafé\n".encode("utf-16"))
    result = _dry_run(tmp_path, fake, "u16.csv")
    assert result.returncode == 0, result.stderr
    assert _dry_run_prompts(tmp_path) == ["café"]
    assert fake.requests == []


def test_batch_inputs_in_latin1_are_refused_with_a_hint(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "l1.csv").write_bytes("prompt\ncafé crème\nnaïve\n".encode("latin-1"))
    (tmp_path / "l1.jsonl").write_bytes('{"prompt": "café"}\n'.encode("latin-1"))
    for name in ("l1.csv", "l1.jsonl"):
        result = _dry_run(tmp_path, fake, name)
        assert result.returncode == 2, result.stderr
        assert "is not text in UTF-8, UTF-16 or GB18030" in one_error(result.stderr)
        assert "hint: convert it first" in result.stderr
    assert fake.requests == []


def test_batch_csv_cell_over_128_kib_is_read(fake: FakeOpenAI, tmp_path: Path) -> None:
    big = "word " * 40_000  # 200,000 characters in one cell
    (tmp_path / "big.csv").write_text(f'prompt\n"{big}"\nshort\n', encoding="utf-8")
    result = _dry_run(tmp_path, fake, "big.csv")
    assert result.returncode == 0, result.stderr
    assert _dry_run_prompts(tmp_path) == [big, "short"]


# --- the store ----------------------------------------------------------------------------------


def test_bad_timestamps_do_not_break_listing_or_continuing(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    for words in ("first", "second", "third"):
        assert run_cli("ask", words, env=env).returncode == 0
    listed = json.loads(run_cli("sessions", "list", "--json", env=env).stdout)
    first = next(s["name"] for s in listed if s["title"] == "first")
    with sqlite3.connect(tmp_path / "data" / "chatcli.db") as db:
        db.execute("UPDATE sessions SET updated_at = 'garbage' WHERE id = 1")
        db.execute("UPDATE sessions SET created_at = 12345 WHERE id = 2")
        db.execute("UPDATE messages SET created_at = 'yesterday' WHERE id = 1")
        db.execute("UPDATE messages SET created_at = '2026-01-01T10:00:00' WHERE id = 2")  # naive
        db.execute("UPDATE usage SET created_at = '0001-01-01T00:00:00+14:00' WHERE id = 1")
        db.execute("UPDATE usage SET created_at = x'00ff' WHERE id = 2")
    for args in (
        ["sessions", "list"],
        ["sessions", "list", "--json"],
        ["sessions", "show", first],
        ["sessions", "search", "second"],
        ["ask", "-c", "again"],
        ["usage"],
        ["usage", "--by", "day", "--json"],
        ["usage", "--since", "2000-01-01"],
    ):
        result = run_cli(*args, env=env)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
    listing = run_cli("sessions", "list", env=env).stdout
    assert listing.count("\n") == 3  # every session still listed


# --- stdout -------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["ask", "hi"], ["usage"], ["sessions", "list"], ["--help"]])
def test_stdout_on_a_full_device_is_one_line(
    fake: FakeOpenAI, tmp_path: Path, args: list[str]
) -> None:
    env = fake_env(tmp_path, fake)
    assert run_cli("ask", "something to list", env=env).returncode == 0
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "chatcli", *args], env=env, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=30)  # fmt: skip
    assert proc.returncode == 1
    assert (
        one_error(proc.stderr) == "chatcli: error: cannot write to stdout: No space left on device"
    )
    assert proc.stderr.count("\n") == 1


def test_ascii_only_stdout_gets_escapes_not_a_crash(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake, PYTHONIOENCODING="ascii")  # a real process's stdout
    result = run_process("ask", "你好 café", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "echo(1): \\u4f60\\u597d caf\\xe9\n"
    listing = run_process("sessions", "list", env=env)
    assert listing.returncode == 0 and "\\u4f60\\u597d" in listing.stdout


def test_c_locale_arguments_in_utf8_are_taken_as_utf8(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake, LC_ALL="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    result = run_process("ask", "café", env=env)  # the locale is the process's
    assert result.returncode == 0, result.stderr
    assert result.stdout == "echo(1): caf\\xe9\n"  # stdout is ASCII here: escaped, not lost
    assert fake.requests[-1].json["messages"][-1]["content"] == "café"


# --- dates, completion --------------------------------------------------------------------------


@pytest.mark.parametrize("since", ["0001-01-01", "9999-12-31", "1970-01-01"])
def test_usage_since_any_calendar_date(fake: FakeOpenAI, tmp_path: Path, since: str) -> None:
    env = fake_env(tmp_path, fake)
    assert run_cli("ask", "hi", env=env).returncode == 0
    result = run_cli("usage", "--since", since, "--json", env=env)
    assert result.returncode == 0, result.stderr
    requests = sum(row["requests"] for row in json.loads(result.stdout)["rows"])
    assert requests == (0 if since.startswith("9999") else 1)


@pytest.mark.parametrize("cword", ["abc", "99", "-5", "0", "", "1.5"])
def test_bad_comp_cword_completes_the_last_word(tmp_path: Path, cword: str) -> None:
    env = {**clean_env(tmp_path), "_CHATCLI_COMPLETE": "bash_complete",
           "COMP_WORDS": "chatcli ses", "COMP_CWORD": cword}  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "chatcli"], env=env, capture_output=True,
                          text=True, timeout=30)  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "plain,ask\n" in proc.stdout  # the words typed so far, completed after the last


# --- split transcriptions -----------------------------------------------------------------------


def _verbose(start: object, end: object, text: str) -> str:
    segments = [{"id": 0, "start": start, "end": end, "text": text}]
    return json.dumps({"text": text, "duration": 2.0, "segments": segments})


def test_split_transcription_with_non_numeric_segment_times(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    audio = wav_file(tmp_path, 6.0)  # three pieces of 2 s under this limit
    fake.script(
        Malformed(_verbose(0.0, 2.0, "one")),
        Malformed(_verbose("abc", [1], "two")),
        Malformed(json.dumps({"text": "three", "duration": "long", "segments": [
            {"id": 0, "start": 0.0, "end": 2.0, "text": "three"},
            {"id": 1, "start": None, "end": float("inf"), "text": "bad"}]})),
        route="audio",
    )  # fmt: skip
    env = fake_env(tmp_path, fake, CHATCLI_UPLOAD_LIMIT="33000")
    result = run_cli("transcribe", str(audio), "--format", "verbose_json", env=env)
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert [(s["id"], s["start"], s["end"], s["text"]) for s in obj["segments"]] == [
        (0, 0.0, 2.0, "one"),
        (1, 4.0, 6.0, "three"),
    ]
    assert obj["text"] == "one two three"  # the words of every piece are kept
    assert obj["duration"] == 6.0
    assert "piece 2: 1 segment without usable times left out" in result.stderr
    assert "piece 3: 1 segment without usable times left out" in result.stderr
    assert len(fake.uploads) == 3


def test_split_srt_with_unreadable_cue_times(fake: FakeOpenAI, tmp_path: Path) -> None:
    audio = wav_file(tmp_path, 6.0)
    cue = "1\n00:00:00,000 --> 00:00:02,000\n{}\n"
    fake.script(
        Malformed(cue.format("one"), content_type="text/plain"),
        Malformed("1\nsoon --> later\ntwo\n", content_type="text/plain"),
        Malformed(cue.format("three"), content_type="text/plain"),
        route="audio",
    )
    env = fake_env(tmp_path, fake, CHATCLI_UPLOAD_LIMIT="33000")
    result = run_cli("transcribe", str(audio), "--format", "srt", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "1\n00:00:00,000 --> 00:00:02,000\none\n\n2\n00:00:04,000 --> 00:00:06,000\nthree\n\n"
    )
    assert "piece 2: 1 cue without usable times left out" in result.stderr
