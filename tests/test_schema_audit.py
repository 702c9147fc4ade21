"""Audit 7, schemas: a schema is checked whole before anything is sent (``$ref``s that resolve,
nothing fetched, values JSON can carry), an answer the validator fails on is never a crash after
paying (``ask``, the REPL, the local batch runner), ``ask --schema --json`` prints its object
whenever a reply came back, counting every paid request, and a broken ``[schemas.NAME]`` is a
config problem (exit 3) at its line and column."""

from __future__ import annotations

import http.server
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import CutStream, FakeOpenAI, Reply
from tests.test_repl import Chat

DANGLING = '{"type":"object","properties":{"a":{"$ref":"#/$defs/missing"}},"required":["a"]}'
HUGE = "1" + "0" * 400
"""An integer no float holds: ``multipleOf`` with a float divides by it and overflows."""
MULTIPLE = (
    '{"type":"object","properties":{"n":{"type":"number","multipleOf":0.5}},"required":["n"]}'
)

CONFIG = """\
[schemas.bad]
fields = "a integr"
[schemas.missing]
file = "nope.json"
[schemas.tomlk]
type = "object"
properties = { a = { type = "strin" } }
[schemas.reff]
json = '{"type":"object","properties":{"x":{"$ref":"#/nowhere"}},"required":["x"]}'
[schemas.nan]
type = "object"
[schemas.nan.properties.n]
maximum = nan
[schemas.good]
fields = "a int"
"""

PROBLEMS = {
    "bad": "2:1: schemas.bad: fields: unknown type 'integr'",
    "missing": "4:1: schemas.missing: file: no such file: ",
    "tomlk": "7:22: schemas.tomlk: the table is not a valid JSON Schema: 'strin' is not valid",
    "reff": "9:1: schemas.reff: json: the value has a $ref that points nowhere: '#/nowhere'",
    "nan": "13:1: schemas.nan: the table has NaN, which JSON has no number for",
}


def _usage(home: Path, command: str) -> list[tuple[int, int, float | None]]:
    db = sqlite3.connect(home / "data" / "chatcli.db")
    try:
        query = "SELECT prompt_tokens, completion_tokens, cost_usd FROM usage WHERE command = ?"
        return list(db.execute(query + " ORDER BY id", (command,)).fetchall())
    finally:
        db.close()


# -- (1) (10) every schema is checked whole before anything is sent ----------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (DANGLING, "has a $ref that points nowhere: '#/$defs/missing' (at $.properties.a)"),
        ('{"type":"object","properties":{"a":{"$ref":"#nope"}}}', "points nowhere: '#nope'"),
        (
            '{"type":"object","properties":{"a":{"$ref":"#/required"}},"required":["a"]}',
            "has a $ref to something that is not a schema: '#/required' (at $.properties.a)",
        ),
        (
            '{"type":"object","properties":{"a":{"$ref":"http://127.0.0.1:9/x.json"}}}',
            "has a $ref to another document, which chatcli does not fetch: "
            "'http://127.0.0.1:9/x.json' (at $.properties.a)",
        ),
        (
            '{"$id":"https://example.com/r.json","type":"object",'
            '"properties":{"a":{"$ref":"other.json"}}}',
            "to another document, which chatcli does not fetch: 'other.json'",
        ),
        (
            '{"$schema":"http://json-schema.org/draft-04/schema#","type":"object",'
            '"properties":{"a":{"$ref":5}}}',
            "has a $ref that is not a string (at $.properties.a)",
        ),
        (
            '{"type":"object","properties":{"n":{"type":"number","maximum":NaN}}}',
            "has NaN, which JSON has no number for (at $.properties.n.maximum)",
        ),
        (
            '{"type":"object","properties":{"n":{"type":"number","maximum":1e999}}}',
            "has an infinite number (Infinity, or one as large as 1e999)",
        ),
        ('{"type":"object","properties":{"n":{"enum":[-Infinity]}}}', "an infinite number"),
        (
            '{"type":"object","properties":{"s":{"type":"string","description":"\\ud800"}}}',
            'has a string with half a surrogate pair ("\\ud800") (at $.properties.s.description)',
        ),
    ],
)
def test_a_schema_that_cannot_be_used_is_exit_2_before_anything_is_sent(
    fake: FakeOpenAI, tmp_path: Path, spec: str, message: str
) -> None:
    result = run_cli("ask", "--json", "--schema", spec, "x", env=fake_env(tmp_path, fake))
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    (line, *hint) = result.stderr.splitlines()
    assert line.startswith("chatcli: error: --schema: the inline JSON ")
    assert message in line
    assert len(hint) <= 1 and "unexpected" not in result.stderr
    assert fake.requests == []


def test_schema_files_and_multi_are_checked_whole_too(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    path = tmp_path / "person.json"
    path.write_text(DANGLING, encoding="utf-8")
    from_file = run_cli("ask", "--schema", str(path), "x", env=env)
    assert from_file.returncode == 2
    assert f"--schema: {path} has a $ref that points nowhere" in from_file.stderr
    # --schema-multi moves it under items: its #/properties/b is made to point there (audit10)
    moved = '{"type":"object","properties":{"a":{"$ref":"#/properties/b"},"b":{}}}'
    assert run_cli("ask", "--schema", moved, "x", env=env).returncode == 0
    multi = run_cli("ask", "--schema-multi", "--schema", moved, "x", env=env)
    assert multi.returncode == 0, multi.stderr
    assert len(fake.chat_requests()) == 2


def test_remote_refs_are_never_fetched_when_an_answer_is_checked() -> None:
    """A schema that escaped the checks (a batch line stored by an older chatcli) is validated
    without downloading anything: jsonschema's default registry would fetch the URL."""
    from chatcli.features.schema import check

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            body = b'{"type": "string"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/s.json"
        schema = {"type": "object", "properties": {"a": {"$ref": url}}}
        outcome: object = None
        try:
            outcome = check.errors({"a": 1}, schema)
        except Exception as exc:
            outcome = exc
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []
    assert type(outcome).__name__ == "Unchecked" and "Unresolvable" in str(outcome)


def test_batch_lines_schemas_are_checked_whole_at_submit(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.batch_api.enabled = False
    env = fake_env(tmp_path, fake)
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"prompt": "a"}\n{"prompt": "b"}\n', encoding="utf-8")
    refused = run_cli("batch", "submit", str(inputs), "--local", "--yes", "--schema", DANGLING,
                      env=env)  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "--schema: the inline JSON has a $ref that points nowhere" in refused.stderr
    nan = '{"id": "x", "prompt": "a", "schema": {"properties": {"n": {"maximum": NaN}}}}\n'
    inputs.write_text(nan, encoding="utf-8")
    line = run_cli("batch", "submit", str(inputs), "--local", "--yes", env=env)
    assert line.returncode == 2, line.stderr
    assert "input x: the line's schema has NaN" in line.stderr
    assert fake.requests == []
    assert run_cli("batch", "list", "--json", env=env).stdout.strip() == "[]"


# -- the REPL reports a bad /schema and goes on ------------------------------------------------


@pytest.fixture
def chat(tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chat]:
    yield Chat(tmp_path, fake, monkeypatch)


def test_repl_bad_schema_is_reported_and_the_repl_goes_on(chat: Chat) -> None:
    (chat.home / "config.toml").write_text(CONFIG, encoding="utf-8")
    ref = '{"type": "object", "properties": {"a": {"$ref": "#/nope"}}, "required": ["a"]}'
    nan = '{"type":"object","properties":{"n":{"type":"number","maximum":NaN}}}'
    chat.run(f"/schema {ref}\r", "q3\r", f"/schema {nan}\r", "hello\r", "/schema @reff\r",
             "last\r")  # fmt: skip
    err, out = chat.err.getvalue(), chat.out.getvalue()
    assert "chatcli: error: --schema: the inline JSON has a $ref that points nowhere" in err
    assert "chatcli: error: --schema: the inline JSON has NaN" in err
    assert f"chatcli: error: {chat.home / 'config.toml'}:{PROBLEMS['reff']}" in err
    assert "unexpected" not in err and "Traceback" not in err
    assert "echo(1): q3" in out and "echo(2): hello" in out  # plain turns: no schema was set
    assert "echo(3): last" in out
    assert all("response_format" not in r.json for r in chat.fake.chat_requests())


# -- defence in depth: an answer the validator fails on, after paying -------------------------


def test_an_answer_the_validator_fails_on_is_exit_5_kept_and_logged(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Reply(text=f'{{"n": {HUGE}}}'), Reply(text=f'{{"n": {HUGE}}}'))
    result = run_cli("ask", "--json", "--schema", MULTIPLE, "x", env=env)
    assert result.returncode == 5, result.stderr
    assert "unexpected" not in result.stderr
    assert "could not be checked against the schema (OverflowError" in result.stderr
    obj = json.loads(result.stdout)
    assert obj["data"] is None and obj["answer"] == f'{{"n": {HUGE}}}'
    assert "could not be checked" in obj["error"]
    assert len(_usage(tmp_path, "ask")) == 2  # both paid requests are in the usage log
    fake.script(Reply(text=f'{{"n": {HUGE}}}'))  # then a valid one: the retry is enough
    again = run_cli("ask", "--schema", MULTIPLE, "x", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"n": 0}


def test_nan_in_a_reply_is_not_json_and_is_asked_again(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text='{"n": NaN}'))
    result = run_cli("ask", "--schema", "n float", "x", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert "the reply is not JSON (NaN is not a JSON number)" in result.stderr
    assert json.loads(result.stdout, parse_constant=lambda c: pytest.fail(c)) == {"n": 0}


def _local_job(fake: FakeOpenAI, tmp_path: Path, schema: str) -> tuple[dict[str, str], str, Any]:
    fake.batch_api.enabled = False
    env = fake_env(tmp_path, fake)
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"id": "a", "prompt": "a"}\n{"id": "b", "prompt": "b"}\n', "utf-8")
    result = run_cli("batch", "submit", str(inputs), "--local", "--yes", "--concurrency", "1",
                     "--schema", schema, env=env)  # fmt: skip
    return env, result.stdout.strip(), result


def test_local_batch_answers_the_validator_fails_on_fail_the_line_and_the_job_ends(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(Reply(text=f'{{"n": {HUGE}}}'))  # line a; line b gets a valid answer
    env, job, submitted = _local_job(fake, tmp_path, MULTIPLE)
    assert "unexpected" not in submitted.stderr, submitted.stderr
    assert "1/2 completed, 1 failed" in submitted.stderr
    assert len(_usage(tmp_path, "batch")) == 2
    status = run_cli("batch", "status", job, env=env)
    assert "running" not in status.stdout + status.stderr
    before = len(fake.requests)
    waited = run_cli("batch", "wait", job, env=env)
    assert "unexpected" not in waited.stderr
    assert len(fake.requests) == before  # nothing paid again
    rows = {r["id"]: r for r in map(json.loads, run_cli("batch", "results", job, env=env)
                                    .stdout.splitlines())}  # fmt: skip
    assert rows["b"]["data"] == {"n": 0}
    assert "could not be checked" in rows["a"]["error"]


def test_a_job_stored_with_a_broken_schema_ends_instead_of_paying_again(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audit's stuck job: stored by a chatcli that did not check ``$ref``s (simulated by
    turning the checks off for the submit), its answers cannot be validated."""
    from chatcli.features.schema import check, spec

    with monkeypatch.context() as m:
        m.setattr(check, "check_schema", lambda schema, source: None)
        m.setattr(spec, "check_schema", lambda schema, source: None, raising=False)
        env, job, submitted = _local_job(fake, tmp_path, DANGLING)
    assert "unexpected" not in submitted.stderr, submitted.stderr
    assert len(fake.chat_requests()) == 2
    assert len(_usage(tmp_path, "batch")) == 2  # each paid answer is logged
    run_cli("batch", "wait", job, env=env)
    assert len(fake.chat_requests()) == 2  # and never paid for again
    status = run_cli("batch", "status", job, env=env)
    assert "running" not in status.stdout + status.stderr


# -- (11) ask --schema --json: one object whenever a reply came back ---------------------------


def _plain_keys(fake: FakeOpenAI, env: dict[str, str]) -> set[str]:
    plain = run_cli("ask", "--json", "q", env=env)
    return set(json.loads(plain.stdout))


def test_json_object_for_a_refusal(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Reply(refusal="I cannot do that"))
    result = run_cli("ask", "--json", "--schema", "name, age int", "q", env=env)
    assert result.returncode == 5, result.stderr
    obj = json.loads(result.stdout)
    assert obj["answer"] == "" and obj["refusal"] == "I cannot do that"
    assert obj["data"] is None and obj["error"] == "the model refused: I cannot do that"
    assert _plain_keys(fake, env) <= set(obj)


def test_json_object_for_a_cut_stream(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(CutStream(text='{"name": "par'))
    result = run_cli("ask", "--json", "--schema", "name, age int", "q", env=env)
    assert result.returncode == 6, result.stderr
    obj = json.loads(result.stdout)
    assert obj["answer"] == '{"name": "par' and obj["incomplete"] is True
    assert obj["data"] is None and obj["error"]
    assert _plain_keys(fake, env) <= set(obj)


def test_json_object_for_a_content_filter_stop(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Reply(text='{"name": "x", "age":', finish_reason="content_filter"))
    result = run_cli("ask", "--json", "--schema", "name, age int", "q", env=env)
    assert result.returncode == 5, result.stderr
    obj = json.loads(result.stdout)
    assert obj["finish_reason"] == "content_filter" and obj["data"] is None
    assert obj["error"] == "the answer was stopped by the provider's content filter"


def test_json_usage_and_cost_count_the_retried_first_reply(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Reply(text="nope"))  # then the default: a valid instance
    result = run_cli("ask", "--json", "--schema", "name, age int", "q", env=env)
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    rows = _usage(tmp_path, "ask")
    assert len(rows) == 2
    assert obj["usage"]["prompt_tokens"] == sum(r[0] for r in rows)
    assert obj["usage"]["completion_tokens"] == sum(r[1] for r in rows)
    assert obj["cost_usd"] == pytest.approx(sum(r[2] or 0 for r in rows), rel=1e-6)
    assert obj["data"] == {"name": "example", "age": 0}


# -- (12) a broken [schemas.NAME] is a config problem, at its place -----------------------------


def test_using_a_broken_named_schema_is_exit_3_at_its_line(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    for name, problem in PROBLEMS.items():
        result = run_cli("ask", "--schema", f"@{name}", "q", env=env)
        assert result.returncode == 3, (name, result.stderr)
        assert result.stderr.startswith(f"chatcli: error: {config}:{problem}"), result.stderr
    assert fake.requests == []
    good = run_cli("ask", "--schema", "@good", "q", env=env)
    assert good.returncode == 0 and good.stdout == '{"a":0}\n'


def test_config_problems_lists_every_broken_named_schema(tmp_path: Path) -> None:
    """What ``config validate`` reports for ``[schemas]`` (with the file's other problems)."""
    from chatcli.features.schema.spec import config_problems
    from chatcli.settings.loading import load

    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    found = [p.message for p in config_problems(load(config))]
    assert len(found) == len(PROBLEMS)
    for message, problem in zip(found, PROBLEMS.values(), strict=True):
        assert message.startswith(f"{config}:{problem}")


def test_config_validate_reports_broken_named_schemas(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    result = run_cli("config", "validate", env=clean_env(tmp_path))
    assert result.returncode == 3
    lines = result.stderr.splitlines()
    for problem in PROBLEMS.values():
        assert any(line.startswith(f"{config}:{problem}") for line in lines)
