"""Audit 10, escapes: every JSON document chatcli writes (``--json``, ``--format json``, JSONL)
writes each character a terminal would not show as it is (DEL, C1 controls such as U+009B, bidi
overrides, zero-width and format characters, tags beyond the BMP) as a ``\\uXXXX`` escape, on a
terminal and off it: the value a parser reads back is exact and the raw output holds nothing
hidden. ``json.dumps`` escapes only C0 controls; the rest used to go out raw (off a terminal) or
be stripped, changing the value (on one).

The real CLI in process against the fake server, scripted with hostile model ids, answers,
served model names, batch ids and error texts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chatcli.safetext import hidden
from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply

HOSTILE = (
    "a\x1bb\x7fc\x85d\x9b31me\u202ef\u2066g\u2069h\u200bi\u200dj\u2028k\ufeffl\u00adm"
    "\U000e0041n\ue000o"
)
"""ESC (C0), DEL, NEL and CSI (C1), RLO, LRI, PDI, ZWSP, ZWJ, LINE SEPARATOR, BOM, soft hyphen,
a tag (U+E0041: beyond the BMP, a surrogate pair in JSON) and a private-use character."""
SHOWN = "é 中文 😀"
"""Characters a terminal shows: JSON output keeps them as they are (UTF-8)."""
TEXT = f"{SHOWN} {HOSTILE}"


def _unseen(text: str) -> list[str]:
    """The characters of ``text`` a terminal would not show as they are (newline and tab are
    shown: they lay the JSON out)."""
    return [f"U+{ord(c):04X}" for c in text if hidden(c)]


def _clean_json(stdout: str) -> Any:
    """The one JSON document of ``stdout``, after checking that nothing in it is hidden and
    that shown non-ASCII text stayed UTF-8."""
    assert _unseen(stdout) == [], stdout
    return json.loads(stdout)


@pytest.mark.parametrize("tty", [False, True])
def test_ask_json_carries_answer_and_served_model_exactly(
    fake: FakeOpenAI, tmp_path: Path, tty: bool
) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Reply(text=TEXT, model="gpt-4o" + HOSTILE))
    result = run_cli("ask", "--json", "hi", env=env, tty=tty)
    assert result.returncode == 0, result.stderr
    obj = _clean_json(result.stdout)
    assert obj["answer"] == TEXT
    assert obj["model"] == "gpt-4o" + HOSTILE
    assert SHOWN in result.stdout  # not escaped: a terminal shows it
    assert "\\u009b" in result.stdout and "\\udb40\\udc41" in result.stdout

    if not tty:  # without --json, off a terminal, the answer's bytes are the model's own
        fake.script(Reply(text=TEXT))
        raw = run_cli("ask", "hi", env=env)
        assert raw.returncode == 0, raw.stderr
        assert raw.stdout == TEXT + "\n"


@pytest.mark.parametrize("tty", [False, True])
def test_ask_schema_answer_is_exact_json(fake: FakeOpenAI, tmp_path: Path, tty: bool) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Reply(text=json.dumps({"name": TEXT})))
    result = run_cli("ask", "--schema", "name", "who", env=env, tty=tty)
    assert result.returncode == 0, result.stderr
    assert _clean_json(result.stdout) == {"name": TEXT}

    fake.script(Reply(text=json.dumps({"name": TEXT})))
    both = run_cli("ask", "--schema", "name", "--json", "who", env=env, tty=tty)
    assert both.returncode == 0, both.stderr
    obj = _clean_json(both.stdout)
    assert obj["data"] == {"name": TEXT} and json.loads(obj["answer"]) == {"name": TEXT}


@pytest.mark.parametrize("tty", [False, True])
def test_models_json_gives_the_listed_ids_exactly(
    fake: FakeOpenAI, tmp_path: Path, tty: bool
) -> None:
    env = fake_env(tmp_path, fake)
    odd = ["gpt-4o\x1b[31mred", "m" + HOSTILE, "wide " + SHOWN]
    fake.models = ["gpt-4o", *odd]
    result = run_cli("models", "--json", env=env, tty=tty)
    assert result.returncode == 0, result.stderr
    ids = [row["id"] for row in _clean_json(result.stdout)]
    assert set(odd) <= set(ids) and "gpt-4o" in ids
    table = run_cli("models", env=env, tty=tty)  # the table still shows cleaned ids
    assert table.returncode == 0, table.stderr
    assert "gpt-4ored" in table.stdout and "\x1b" not in table.stdout


@pytest.mark.parametrize("tty", [False, True])
def test_sessions_list_search_and_export_json(fake: FakeOpenAI, tmp_path: Path, tty: bool) -> None:
    env = fake_env(tmp_path, fake)
    prompt = f"needle {SHOWN}\u200b\u202e\u2066x\u00ad"
    fake.script(Reply(text=f"needle {TEXT}", model="gpt-4o" + HOSTILE))
    asked = run_cli("ask", "--session", "s1", prompt, env=env)
    assert asked.returncode == 0, asked.stderr

    listed = run_cli("sessions", "list", "--json", env=env, tty=tty)
    assert listed.returncode == 0, listed.stderr
    (row,) = _clean_json(listed.stdout)
    assert row["name"] == "s1" and row["title"].startswith("needle")
    assert "\u200b" in row["title"]  # what the store holds, as it holds it

    found = run_cli("sessions", "search", "needle", "--json", env=env, tty=tty)
    assert found.returncode == 0, found.stderr
    hits = _clean_json(found.stdout)
    assert hits and all("needle" in h["snippet"] for h in hits)

    for args in (["--format", "json"], ["--format", "json", "-o", "-"]):
        export = run_cli("sessions", "export", "s1", *args, env=env, tty=tty)
        assert export.returncode == 0, export.stderr
        messages = _clean_json(export.stdout)["messages"]
        assert [m["content"] for m in messages] == [prompt, f"needle {TEXT}"]
    target = tmp_path / "s1.json"
    written = run_cli("sessions", "export", "s1", "--format", "json", "-o", str(target), env=env)
    assert written.returncode == 0, written.stderr
    text = target.read_text(encoding="utf-8")
    assert json.loads(text)["messages"][1]["content"] == f"needle {TEXT}"
    assert _unseen(text) == []


@pytest.mark.parametrize("tty", [False, True])
def test_usage_json_names_the_served_model_exactly(
    fake: FakeOpenAI, tmp_path: Path, tty: bool
) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Reply(text="ok", model="gpt-4o" + HOSTILE))
    assert run_cli("ask", "hi", env=env).returncode == 0
    result = run_cli("usage", "--by", "model", "--json", env=env, tty=tty)
    assert result.returncode == 0, result.stderr
    report = _clean_json(result.stdout)
    assert "gpt-4o" + HOSTILE in _strings(report)


def _strings(value: object) -> set[str]:
    """Every string of a JSON value, its object keys too."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set(value).union(*(_strings(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value))
    return set()


def _batch(fake: FakeOpenAI, tmp_path: Path, env: dict[str, str]) -> str:
    """A finished batch job whose input ids, answers and error text are hostile."""

    def mangle(text: str, line: dict[str, Any]) -> str:
        if line.get("error"):
            line["error"]["message"] = "scripted " + TEXT
        else:
            line["response"]["body"]["choices"][0]["message"]["content"] = "answer: " + TEXT
        return json.dumps(line)  # ASCII: the provider's file is JSONL whatever reads it

    fake.batch_api.mangle = mangle
    inputs = tmp_path / "in.jsonl"
    rows = [{"id": "q1" + HOSTILE, "prompt": "say hi"}, {"id": "q2", "prompt": "FAIL"}]
    inputs.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    submitted = run_cli("batch", "submit", str(inputs), env=env)
    assert submitted.returncode == 0, submitted.stderr
    job = submitted.stdout.strip()
    assert run_cli("batch", "wait", job, env=env).returncode in (0, 1)
    return job


@pytest.mark.parametrize("tty", [False, True])
def test_batch_results_jsonl_and_list_json(fake: FakeOpenAI, tmp_path: Path, tty: bool) -> None:
    env = fake_env(tmp_path, fake)
    job = _batch(fake, tmp_path, env)
    result = run_cli("batch", "results", job, env=env, tty=tty)
    assert _unseen(result.stdout) == [], result.stdout
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r["id"] for r in lines] == ["q1" + HOSTILE, "q2"]
    assert lines[0]["answer"] == "answer: " + TEXT
    error = lines[1]["error"]
    assert "scripted" in error and "\u200b" in error and "\U000e0041" in error  # kept, escaped

    target = tmp_path / "r.jsonl"
    run_cli("batch", "results", job, "--jsonl", str(target), env=env, tty=tty)
    text = target.read_text(encoding="utf-8")
    assert _unseen(text) == []
    assert [json.loads(x) for x in text.splitlines()] == lines

    listed = run_cli("batch", "list", "--json", env=env, tty=tty)
    assert listed.returncode == 0, listed.stderr
    assert [j["name"] for j in _clean_json(listed.stdout)] == [job]


@pytest.mark.parametrize("tty", [False, True])
def test_config_show_json_gives_configured_values_exactly(tmp_path: Path, tty: bool) -> None:
    model = "gpt-4o\u200b\u2066x\u2069\u00ad"
    config = tmp_path / "config.toml"
    escaped = json.dumps(model)  # TOML's basic strings read JSON's \\uXXXX escapes
    config.write_text(
        f'[profiles.p]\ntype = "openai"\napi_key = "sk-test-0123456789abcdef"\nmodel = {escaped}\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    result = run_cli("config", "show", "-p", "p", "--json", env=clean_env(tmp_path), tty=tty)
    assert result.returncode == 0, result.stderr
    info = _clean_json(result.stdout)
    assert info["settings"]["model"]["value"] == model


@pytest.mark.parametrize("tty", [False, True])
def test_verify_json_quotes_the_served_model_exactly(
    fake: FakeOpenAI, tmp_path: Path, tty: bool
) -> None:
    fake.script(*[Reply(model="gpt-4o" + HOSTILE) for _ in range(20)])
    result = run_cli("verify", "--json", env=fake_env(tmp_path, fake), tty=tty)
    checks = {c["name"]: c for c in _clean_json(result.stdout)["checks"]}
    assert checks["model"]["evidence"].endswith("the response names gpt-4o" + HOSTILE)


@pytest.mark.parametrize("tty", [False, True])
def test_mcp_list_json_quotes_a_failed_servers_last_words(tmp_path: Path, tty: bool) -> None:
    """The server's stderr (a zero-width space, a C1 CSI, an RLO: octal escapes of printf) in
    the error of ``mcp list --json``: cleaned as every error is, the rest escaped."""
    script = r"printf 'boom \342\200\213 \302\233 \342\200\256 x\n' >&2; exit 2"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[mcp.servers.bad]\ncommand = "sh"\nargs = ["-c", {json.dumps(script)}]\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    result = run_cli("mcp", "list", "--json", env=clean_env(tmp_path), tty=tty)
    assert result.returncode == 3, result.stderr
    (server,) = _clean_json(result.stdout)
    assert server["name"] == "bad" and server["error"].endswith("last words: boom \u200b x")


def test_repl_schema_answer_is_exact_json(
    tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``/schema`` in the chat REPL (in process, keys from a pipe) prints JSON the same way."""
    from tests.test_repl import Chat

    chat = Chat(tmp_path, fake, monkeypatch)
    fake.script(Reply(text=json.dumps({"name": TEXT})))
    chat.run("/schema name\r", "who?\r")
    out = chat.out.getvalue()
    assert _unseen(out) == [], out
    assert json.loads(out) == {"name": TEXT}
