"""``chatcli ask --schema`` end to end: the real CLI against the fake answering structured
output (valid by default, invalid on demand, ignoring or refusing ``response_format``)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import Error, FakeOpenAI, Reply

FIELDS = "sentiment, score int, reasons list[str], note?: only if something stands out"


def test_valid_answer_compact_on_stdout_strict_form_sent(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("ask", "--schema", FIELDS, "Classify", env=fake_env(tmp_path, fake),
                     input="great product, fast delivery")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    # the optional field came back null (strict mode) and was dropped again
    assert result.stdout == '{"sentiment":"example","score":0,"reasons":["example"]}\n'
    body = fake.chat_requests()[0].json
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True
    sent = fmt["json_schema"]["schema"]
    assert sent["required"] == ["sentiment", "score", "reasons", "note"]
    assert sent["additionalProperties"] is False
    assert sent["properties"]["note"]["type"] == ["string", "null"]
    assert body["messages"][-1]["content"] == "Classify\n\ngreat product, fast delivery"


def test_json_puts_the_result_under_data(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    result = run_cli("ask", "--schema", "name, age int", "--json", "who", env=env)
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert obj["data"] == {"name": "example", "age": 0}
    assert json.loads(obj["answer"]) == obj["data"]
    assert obj["usage"]["prompt_tokens"] > 0


def test_invalid_answer_is_retried_once_with_the_errors(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(structured="invalid"))  # then the default: a valid instance
    result = run_cli("ask", "--schema", "sentiment, score int", "x", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == '{"sentiment":"example","score":0}\n'
    assert "is not of type 'string'); asking once more" in result.stderr
    second = fake.chat_requests()[1].json
    retry = second["messages"][-1]["content"]
    assert retry.startswith("Your reply is not valid against the required JSON Schema:\n")
    assert "\n- $.sentiment: {'unexpected'" in retry
    assert second["messages"][-2]["role"] == "assistant"  # the invalid reply, kept in context
    assert "response_format" in second


def test_still_invalid_after_the_retry_is_exit_5_and_kept(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text='{"sentiment": 1}'), Reply(text="no JSON here, sorry"))
    env = fake_env(tmp_path, fake)
    result = run_cli("ask", "--schema", "sentiment, score int", "x", env=env)
    assert result.returncode == 5
    assert result.stdout == ""  # never printed as if valid
    last = result.stderr.strip().splitlines()
    assert last[-2] == (
        "chatcli: error: the answer is not valid against the field list: the reply is not JSON "
        "(Expecting value: line 1 column 1 (char 0)): 'no JSON here, sorry'"
    )
    assert last[-1].startswith("hint: the replies are kept: chatcli sessions show ")
    shown = run_cli("sessions", "show", last[-1].rsplit(" ", 1)[1], env=env)
    assert '{"sentiment": 1}' in shown.stdout and "no JSON here, sorry" in shown.stdout
    fake.script(Reply(text="nope"), Reply(text='{"a": "one"}'))
    as_json = run_cli("ask", "--schema", "a int", "--json", "y", env=env)
    assert as_json.returncode == 5
    obj = json.loads(as_json.stdout)
    assert obj["data"] is None and obj["answer"] == '{"a": "one"}'
    assert obj["error"] == (
        "the answer is not valid against the field list: $.a: 'one' is not of type 'integer'"
    )


def test_relay_ignoring_response_format_gets_the_schema_in_the_retry(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.structured = "ignore"
    env = fake_env(tmp_path, fake)
    result = run_cli("ask", "--schema", "city, population int", "Paris?", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"city": "example", "population": 0}
    assert "the reply is not JSON" in result.stderr
    retry = fake.chat_requests()[1].json["messages"][-1]["content"]
    assert 'The JSON Schema:\n{"type": "object", "properties": {"city"' in retry


def _formats(fake: FakeOpenAI) -> list[str | None]:
    """How each chat request asked for JSON: json_schema, json_object or None (in words)."""
    kinds = []
    for request in fake.chat_requests():
        fmt = request.json.get("response_format")
        kinds.append(fmt["type"] if isinstance(fmt, dict) else None)
    return kinds


def test_refused_response_format_falls_back_and_is_remembered(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.structured = "refuse"
    env = fake_env(tmp_path, fake)
    first = run_cli("ask", "--schema", "city, population int", "Paris?", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"city": "example", "population": 0}
    notes = [line for line in first.stderr.splitlines() if "refuses response_format" in line]
    assert len(notes) == 1
    assert notes[0].startswith(
        "chatcli: openai refuses response_format json_schema or json_object for gpt-6-luna ("
    )
    assert _formats(fake) == ["json_schema", "json_object", None]
    fallback = fake.chat_requests()[-1].json
    assert "valid against this JSON Schema:\n{" in fallback["messages"][-1]["content"]
    # the next run goes straight to the prompt, and says nothing more
    second = run_cli("ask", "--schema", "city", "Rome?", env=env)
    assert second.returncode == 0 and second.stderr == ""
    assert _formats(fake)[3:] == [None]
    # another model of the same profile is not affected
    other = run_cli("ask", "-m", "gpt-4o", "--schema", "city", "Rome?", env=env)
    assert other.returncode == 0
    assert _formats(fake)[4:] == ["json_schema", "json_object", None]
    db = sqlite3.connect(tmp_path / "data" / "chatcli.db")
    query = "SELECT model, quirk FROM endpoint_quirks WHERE quirk != 'api' ORDER BY model, quirk"
    rows = db.execute(query).fetchall()  # ('*', 'api'): the fake has no /responses
    assert rows == [
        ("gpt-4o", "no_json_schema"),
        ("gpt-4o", "no_response_format"),
        ("gpt-6-luna", "no_json_schema"),
        ("gpt-6-luna", "no_response_format"),
    ]


def test_json_object_where_json_schema_is_refused(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.structured = "json_object"  # a model from before structured outputs
    env = fake_env(tmp_path, fake)
    first = run_cli("ask", "--schema", "city, population int", "Paris?", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"city": "example", "population": 0}
    assert "refuses response_format json_schema for gpt-6-luna (" in first.stderr
    assert "asking for a JSON object with the schema in the prompt" in first.stderr
    second = run_cli("ask", "--schema", "city", "Rome?", env=env)
    assert second.returncode == 0 and second.stderr == ""
    assert _formats(fake) == ["json_schema", "json_object", "json_object"]
    asked = fake.chat_requests()[-1].json["messages"][-1]["content"]
    assert asked.startswith("Rome?\n\nReply with only one JSON object")


def test_other_400s_are_not_taken_for_a_refused_schema(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Error(400, "This model's maximum context length is 8192 tokens."))
    result = run_cli("ask", "--schema", "a", "x", env=fake_env(tmp_path, fake))
    assert result.returncode == 5
    assert "maximum context length" in result.stderr
    assert len(fake.chat_requests()) == 1


def test_refusal_is_exit_5_with_the_models_words(fake: FakeOpenAI, tmp_path: Path) -> None:
    for stream in ([], ["--no-stream"]):
        fake.script(Reply(refusal="I can't help with that request."))
        result = run_cli("ask", *stream, "--schema", "a", "x", env=fake_env(tmp_path, fake))
        assert result.returncode == 5
        assert result.stdout == ""
        assert "chatcli: error: the model refused: I can't help with that request." in result.stderr


def test_multi_defs_and_named_schemas(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    multi = run_cli("ask", "--schema", "name, age int", "--schema-multi", "people", env=env)
    assert multi.returncode == 0, multi.stderr
    assert json.loads(multi.stdout) == {"items": [{"name": "example", "age": 0}]}
    schema = {
        "type": "object",
        "properties": {"home": {"$ref": "#/$defs/place"}, "work": {"$ref": "#/$defs/place"}},
        "required": ["home"],
        "$defs": {"place": {"type": "object", "properties": {"city": {"type": "string"}},
                            "required": ["city"]}},
    }  # fmt: skip
    path = tmp_path / "places.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    from_file = run_cli("ask", "--schema", str(path), "where", env=env)
    assert from_file.returncode == 0, from_file.stderr
    assert json.loads(from_file.stdout) == {"home": {"city": "example"}}
    sent = fake.chat_requests()[-1].json["response_format"]["json_schema"]
    assert sent["name"] == "places"
    work = sent["schema"]["properties"]["work"]
    assert work == {"anyOf": [{"$ref": "#/$defs/place"}, {"type": "null"}]}
    (tmp_path / "config.toml").write_text(
        '[schemas.review]\nfields = "sentiment, score int"\n', encoding="utf-8"
    )
    named = run_cli("ask", "--schema", "@review", "ok", env=env)
    assert named.returncode == 0, named.stderr
    assert json.loads(named.stdout) == {"sentiment": "example", "score": 0}
    unknown = run_cli("ask", "--schema", "@nope", "ok", env=env)
    assert unknown.returncode == 3
    assert "unknown schema @nope (known: @review)" in unknown.stderr


def test_bad_schemas_are_usage_errors_before_anything_is_sent(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    for spec, message in [
        ("score integr", "--schema: unknown type 'integr'"),
        ('{"type": "objekt"}', "--schema: the inline JSON is not a valid JSON Schema"),
        ("nowhere.json", "--schema: nowhere.json does not exist"),
    ]:
        result = run_cli("ask", "--schema", spec, "x", env=env)
        assert result.returncode == 2, result.stderr
        assert f"chatcli: error: {message}" in result.stderr
        assert "Traceback" not in result.stderr
    lonely = run_cli("ask", "--schema-multi", "x", env=env)
    assert lonely.returncode == 2 and "needs --schema SPEC" in lonely.stderr
    assert fake.chat_requests() == []


# -- verify: does the endpoint honour strict json_schema? ---------------------------------------


def _json_schema_check(env: dict[str, str]) -> dict[str, str]:
    result = run_cli("verify", "--json", env=env)
    checks = json.loads(result.stdout)["checks"]
    check: dict[str, str] = next(c for c in checks if c["name"] == "json_schema")
    return check


def test_verify_reports_json_schema_and_updates_what_ask_remembers(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    honoured = _json_schema_check(env)
    assert honoured["status"] == "pass" and honoured["strength"] == "medium"
    assert honoured["evidence"].startswith('strict json_schema honoured: {"greeting": "example"')
    body = fake.chat_requests()[-1].json
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["messages"][-1]["content"].startswith("Say hello in French")

    fake.structured = "ignore"
    ignored = _json_schema_check(env)
    assert ignored["status"] == "warn"
    assert ignored["evidence"].startswith("json_schema ignored: answered 'echo(1): Say hello")

    fake.structured = "refuse"
    refused = _json_schema_check(env)
    assert refused["status"] == "warn"
    assert refused["evidence"].startswith("the endpoint refused response_format json_schema: ")
    fake.reset()
    fake.structured = "json_object"
    asked = run_cli("ask", "--schema", "city", "Rome?", env=env)  # remembered: no 400 first
    assert asked.returncode == 0 and asked.stderr == ""
    assert _formats(fake) == ["json_object"]

    fake.structured = "honour"
    assert _json_schema_check(env)["status"] == "pass"  # honoured again: the note is cleared
    fake.reset()
    assert run_cli("ask", "--schema", "city", "Rome?", env=env).returncode == 0
    assert "response_format" in fake.chat_requests()[0].json


def test_a_rejected_schema_falls_back_once_and_is_not_remembered(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    message = (
        "Invalid schema for response_format 'response': In context=('properties', 'a'), "
        "'pattern' is not permitted."
    )
    fake.script(Error(400, message, param="response_format"))
    env = fake_env(tmp_path, fake)
    result = run_cli("ask", "--schema", "a", "x", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"a": "example"}
    assert "did not take the schema in strict mode" in result.stderr
    assert "refuses" not in result.stderr
    again = run_cli("ask", "--schema", "a", "y", env=env)
    assert again.returncode == 0 and again.stderr == ""
    assert _formats(fake) == ["json_schema", "json_object", "json_schema"]


def test_azure_deployment_gets_the_strict_format(tmp_path: Path) -> None:
    from tests.cli_helpers import clean_env

    with FakeOpenAI(api_key=None, azure_key="az-env-key-1111") as fake:
        env = clean_env(
            tmp_path,
            AZURE_OPENAI_API_KEY="az-env-key-1111",
            AZURE_OPENAI_ENDPOINT=fake.root,
            OPENAI_API_VERSION="2024-10-21",
        )
        result = run_cli("ask", "-m", "gpt-4o", "--schema", "name, age int", "x", env=env)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"name": "example", "age": 0}
        (request,) = fake.chat_requests()
        assert request.path == "/openai/deployments/gpt-4o/chat/completions"
        assert request.json["response_format"]["json_schema"]["strict"] is True


def test_an_answer_cut_at_the_token_limit_says_so(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text='{"a": "x", "b": "y"}'), Reply(text='{"a": "x", "b": "y"}'))
    env = fake_env(tmp_path, fake)
    result = run_cli("ask", "--max-tokens", "3", "--schema", "a, b", "x", env=env)
    assert result.returncode == 5
    assert "hint: the answer was cut at the token limit: raise --max-tokens; " in result.stderr
