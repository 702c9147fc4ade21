"""audit10, area ``schema``: wrapped schemas keep what their ``$ref``s mean, what is sent
non-strict allows every answer the user's schema allows, a structured REPL turn asked again is
asked (and checked) under its schema, a template's schema is judged as the template's, and a
template can write a literal ``{{``. The real CLI and the in-process REPL against the fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import fake_env, json_documents, run_cli
from tests.fakes import FakeOpenAI, Reply
from tests.test_repl import CTRL_D, Chat

TREE = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "kids": {"type": "array", "items": {"$ref": "#"}}},
    "required": ["name", "kids"],
}
FOREST = {
    "type": "array",
    "items": {"$ref": "#/$defs/node"},
    "$defs": {
        "node": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "kids": {"$ref": "#"}},
            "required": ["name", "kids"],
        }
    },
}


def _sent(fake: FakeOpenAI, index: int = -1) -> dict[str, Any]:
    schema: dict[str, Any] = fake.chat_requests()[index].json["response_format"]["json_schema"]
    return schema


def _resolve(root: dict[str, Any], ref: str) -> Any:
    """What a local ``$ref`` names in ``root`` (KeyError when it names nothing)."""
    node: Any = root
    for part in ref.removeprefix("#").split("/")[1:]:
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


# -- 1: wrapped schemas and their $refs ---------------------------------------------------------


def test_multi_recursive_schema_takes_a_right_answer_and_refuses_a_wrong_one(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    tree = tmp_path / "tree.json"
    tree.write_text(json.dumps(TREE))
    right = {"items": [{"name": "a", "kids": [{"name": "b", "kids": []}]}]}
    fake.script(Reply(text=json.dumps(right)))
    done = run_cli("ask", "--no-stream", "--schema", str(tree), "--schema-multi", "trees", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == right
    assert len(fake.chat_requests()) == 1  # no paid retry for a right answer
    sent = _sent(fake)["schema"]
    record = _resolve(sent, sent["properties"]["items"]["items"]["$ref"])
    assert record["required"] == ["name", "kids"]  # each item is a tree node ...
    assert _resolve(sent, record["properties"]["kids"]["items"]["$ref"]) is record  # ... of nodes
    # what a model obeying the old (wrong) schema sent would answer: refused, never printed
    wrong = json.dumps({"items": [{"name": "a", "kids": [{"items": []}]}]})
    fake.script(Reply(text=wrong), Reply(text=wrong))
    bad = run_cli("ask", "--no-stream", "--schema", str(tree), "--schema-multi", "trees", env=env)
    assert bad.returncode == 5
    assert bad.stdout == ""
    assert "$.items[0].kids[0]: 'name' is a required property" in bad.stderr


def test_a_non_object_root_sends_refs_that_name_the_users_root(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Reply(text='{"value": [{"name": "a", "kids": [{"name": "b", "kids": []}]}]}'))
    done = run_cli("ask", "--no-stream", "--schema", json.dumps(FOREST), "forest", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"name": "a", "kids": [{"name": "b", "kids": []}]}]
    sent = _sent(fake)["schema"]
    node = _resolve(sent, "#/$defs/node")
    kids = _resolve(sent, node["properties"]["kids"]["$ref"])
    assert kids["type"] == "array"  # the forest, not the {"value": ...} wrapper
    assert _resolve(sent, kids["items"]["$ref"]) is node


def test_multi_of_a_schema_pointing_into_its_properties_is_not_refused(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    moved = json.dumps({
        "type": "object",
        "properties": {"a": {"$ref": "#/properties/b"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    })  # fmt: skip
    fake.script(Reply(text='{"items": [{"a": 1, "b": 2}]}'))
    done = run_cli("ask", "--schema-multi", "--schema", moved, "x", env=fake_env(tmp_path, fake))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"items": [{"a": 1, "b": 2}]}
    sent = _sent(fake)["schema"]
    record = _resolve(sent, sent["properties"]["items"]["items"]["$ref"])
    assert _resolve(sent, record["properties"]["a"]["$ref"]) == {"type": "integer"}


# -- 2, 3: what is sent non-strict --------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "kept"),
    [
        ({"type": "object", "additionalProperties": {"type": "integer"}}, "additionalProperties"),
        ({"type": "object", "patternProperties": {"^[a-z]+$": {"type": "integer"}}},
         "patternProperties"),
        ({"type": "object", "properties": {"total": {"type": "integer"}},
          "additionalProperties": {"type": "integer"}}, "additionalProperties"),
    ],
)  # fmt: skip
def test_a_map_is_sent_as_a_map(
    fake: FakeOpenAI, tmp_path: Path, schema: dict[str, Any], kept: str
) -> None:
    fake.script(Reply(text='{"the": 2, "cat": 1}'))
    done = run_cli("ask", "--no-stream", "--schema", json.dumps(schema), "count: the cat the",
                   env=fake_env(tmp_path, fake))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"the": 2, "cat": 1}
    fmt = _sent(fake)
    assert fmt["strict"] is False
    assert fmt["schema"][kept] == schema[kept]  # the extra keys are allowed, as given
    if kept == "patternProperties":
        assert fmt["schema"].get("additionalProperties", True) is not False


def test_a_required_key_without_a_property_is_sent_required_and_allowed(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a", "note"]}
    fake.script(Reply(text='{"a": 1, "note": "x"}'))
    done = run_cli("ask", "--no-stream", "--schema", json.dumps(schema), "hi",
                   env=fake_env(tmp_path, fake))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "a required key not among its properties ('note')" in done.stderr
    fmt = _sent(fake)
    assert fmt["strict"] is False
    assert fmt["schema"]["required"] == ["a", "note"]
    assert fmt["schema"].get("additionalProperties", True) is not False


# -- 4: the REPL asks a structured turn again under its schema ----------------------------------


@pytest.fixture
def chat(tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chat]:
    yield Chat(tmp_path, fake, monkeypatch)


def _standing(chat: Chat, spec: str, keys: str) -> None:
    """``chat --schema SPEC``, ``keys`` typed."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from chatcli.repl import prepare
    from chatcli.settings.resolve import ChatFlags, Globals, invocation

    with create_pipe_input() as inp, chat.store() as store:
        repl = prepare(chat.environment, invocation(Globals()), ChatFlags(), store,
                       schema=(spec, False), input=inp, output=DummyOutput())  # fmt: skip
        inp.send_text(keys + CTRL_D)
        repl.run()


def test_regenerate_and_edit_under_chat_schema_are_asked_and_checked(chat: Chat) -> None:
    chat.fake.script(Reply(text='{"city": "Oslo", "pop": 1}'), Reply(text="Paris, big."),
                     Reply(text='{"city": "Paris", "pop": 2}'), Reply(text="Rome, sure."),
                     Reply(text='{"city": "Rome", "pop": 3}'))  # fmt: skip
    _standing(chat, "city, pop int", "a city\r/regenerate\r/edit 1\r please\r")
    out, err = chat.out.getvalue(), chat.err.getvalue()
    requests = chat.fake.chat_requests()
    assert len(requests) == 5
    assert all("response_format" in r.json for r in requests)  # the corrections' too
    assert "Paris, big." not in out and "Rome, sure." not in out  # prose is never the answer
    assert "the answer is not valid against the field list" in err
    assert [doc["city"] for doc in json_documents(out)] == ["Oslo", "Paris", "Rome"]
    assert requests[3].json["messages"][-1]["content"] == "a city please"


def test_retry_of_a_failed_schema_turn_asks_under_the_schema(chat: Chat) -> None:
    chat.fake.script(Reply(text="not json"), Reply(text="still not"),
                     Reply(text="Sure! Paris is a nice city."))  # fmt: skip
    chat.run("/schema city, pop int\r", "another city\r", "/retry\r")
    out, err = chat.out.getvalue(), chat.err.getvalue()
    requests = chat.fake.chat_requests()
    assert "chatcli: error: the answer is not valid against the field list" in err
    assert "Sure! Paris" not in out
    assert len(requests) == 4 and all("response_format" in r.json for r in requests)
    assert json.loads(out) == {"city": "example", "pop": 0}  # the retry's valid answer


def test_schema_off_makes_regenerate_text_again(chat: Chat) -> None:
    chat.run("/schema city\r", "a city\r", "/schema off\r", "/regenerate\r")
    formats = ["response_format" in r.json for r in chat.fake.chat_requests()]
    assert formats == [True, False]
    assert "echo(1): a city" in chat.out.getvalue()  # the same turn, asked again as text


# -- 5, 7: a template's schema is the template's ------------------------------------------------


def _templates(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_", ".")).write_text(text)
    return folder


def test_a_broken_template_schema_is_marked_and_names_the_template(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    (tmp_path / "config.toml").write_text(
        '[templates.both]\nprompt = "x"\nschema = "a"\ntools = ["time"]\n'
        '[mcp.servers.time]\ncommand = "mcp-server-time"\n'
    )
    _templates(tmp_path, bad_toml='prompt = "x {{a|1}}"\nschema = "a integr"\n',
               bad2_toml='prompt = "x"\nschema = {type = "object", properties = '
                         '{a = {"$ref" = "#/nope"}}}\n')  # fmt: skip
    listed = run_cli("templates", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()}
    assert "(broken: " in lines["bad"] and "schema: unknown type 'integr'" in lines["bad"]
    assert "(broken: " in lines["bad2"] and "points nowhere: '#/nope'" in lines["bad2"]
    assert "(broken: " in lines["both"] and "a schema and tools" in lines["both"]
    shown = run_cli("templates", "show", "bad", env=env)
    assert "broken: schema: unknown type 'integr'" in shown.stdout
    for name in ("bad", "bad2", "both"):
        used = run_cli("ask", "--template", name, env=env)
        assert used.returncode == 3, used.stderr
        assert used.stderr.startswith(f"chatcli: error: template {name!r} (")
        assert "--schema" not in used.stderr.splitlines()[0].split("): ", 1)[0]
    assert fake.requests == []


def test_a_template_schema_file_is_read_beside_the_template(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = fake_env(tmp_path, fake)
    folder = _templates(tmp_path, fileschema_toml='prompt = "x"\nschema = "person.json"\n')
    (folder / "person.json").write_text('{"type":"object","properties":{"name":{"type":"string"}}}')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "person.json").write_text(
        '{"type":"object","properties":{"n":{"type":"integer"}}}'
    )
    monkeypatch.chdir(elsewhere)  # an unrelated file of that name where chatcli runs
    done = run_cli("ask", "--template", "fileschema", env=env)
    assert done.returncode == 0, done.stderr
    assert "name" in _sent(fake)["schema"]["properties"]
    (folder / "person.json").unlink()
    gone = run_cli("ask", "--template", "fileschema", env=env)
    assert gone.returncode == 3
    assert f"{folder / 'person.json'} does not exist" in gone.stderr


def test_schema_multi_takes_the_templates_schema(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    (tmp_path / "config.toml").write_text(
        '[templates.person]\nprompt = "Describe {{who}}"\nschema = "name, age int"\n'
    )
    done = run_cli("ask", "--template", "person", "-V", "who=Bob", "--schema-multi", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"items": [{"name": "example", "age": 0}]}


# -- 6: a literal {{ in a template -------------------------------------------------------------


def test_a_backslash_writes_a_literal_double_brace(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    _templates(
        tmp_path, jinja_md="Keep \\{{ user }} as is, in {{lang}} at C:\\\\{{dir}}:\n{{input}}\n"
    )
    done = run_cli("ask", "--template", "jinja", "-V", "lang=Jinja2", "-V", "dir=x",
                   env=env, input="<p>{{ user }}</p>")  # fmt: skip
    assert done.returncode == 0, done.stderr
    sent = fake.chat_requests()[0].json["messages"][-1]["content"]
    assert sent == "Keep {{ user }} as is, in Jinja2 at C:\\x:\n<p>{{ user }}</p>"
    listed = run_cli("templates", "list", env=env)
    assert "jinja  lang, dir, input  (" in listed.stdout  # the escaped one is no variable


# -- 7: the smaller ones ------------------------------------------------------------------------


def test_whole_numbers_of_int_fields_are_printed_as_ints(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text='{"a": 1e3, "b": 5.0, "c": 2.5}'))
    done = run_cli("ask", "--no-stream", "--schema", "a int, b int, c float", "hi",
                   env=fake_env(tmp_path, fake))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == '{"a":1000,"b":5,"c":2.5}\n'


def test_a_reply_cut_at_the_token_limit_is_not_retried(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text='{"a": 1, "b', finish_reason="length"))
    done = run_cli("ask", "--max-tokens", "3", "--schema", "a int, b", "hi",
                   env=fake_env(tmp_path, fake))  # fmt: skip
    assert done.returncode == 5
    assert "hint: the answer was cut at the token limit: raise --max-tokens" in done.stderr
    assert "asking once more" not in done.stderr
    assert len(fake.chat_requests()) == 1


def test_json_answer_of_a_non_object_root_is_unwrapped(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text='{"value": [0]}'))
    done = run_cli("ask", "--json", "--schema", '{"type":"array","items":{"type":"integer"}}',
                   "hi", env=fake_env(tmp_path, fake))  # fmt: skip
    assert done.returncode == 0, done.stderr
    obj = json.loads(done.stdout)
    assert (obj["answer"], obj["data"]) == ("[0]", [0])


def test_a_bare_list_type_asks_for_a_field_name(fake: FakeOpenAI, tmp_path: Path) -> None:
    done = run_cli("ask", "--schema", "list[list]", "hi", env=fake_env(tmp_path, fake))
    assert done.returncode == 2
    assert "a field needs a name before its type ('items list[str]')" in done.stderr
