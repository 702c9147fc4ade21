"""``--schema`` below the CLI: the field-list parser, the strict form, nulls dropped again,
validation, and the fake's instances (everything a structured answer is checked with)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from chatcli.errors import UsageError
from chatcli.features.schema import check, fields, spec, strict
from chatcli.features.schema.turn import judge
from tests.fakes.structured import broken, in_prompt, instance

# -- field lists --------------------------------------------------------------------------------


def test_field_list_of_the_issue() -> None:
    schema = fields.parse("name, age int, tags list[str], bio: a one-line summary")
    assert schema == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "bio": {"type": "string", "description": "a one-line summary"},
        },
        "required": ["name", "age", "tags", "bio"],
        "additionalProperties": False,
    }


def test_field_list_groups_optional_fields_and_lines() -> None:
    schema = fields.parse("who{name, email?: where to write}, people list[{name, age int}], ok")
    assert schema["properties"]["who"]["required"] == ["name"]
    assert schema["properties"]["who"]["properties"]["email"]["description"] == "where to write"
    assert schema["properties"]["people"]["items"]["properties"]["age"] == {"type": "integer"}
    assert schema["properties"]["ok"] == {"type": "string"}
    # one field per line: descriptions may hold commas
    lines = fields.parse("title\nsummary: short, plain, no jargon\nscore float\n")
    assert lines["properties"]["summary"]["description"] == "short, plain, no jargon"
    assert lines["properties"]["score"] == {"type": "number"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "expected a field name"),
        ("name, name", "field 'name' is given twice"),
        ("age integr", "unknown type 'integr'"),
        ("a{b", "expected '}' to close the group"),
        ("tags list[str", "expected ']'"),
        ("a}", "unmatched '}'"),
    ],
)
def test_field_list_errors_say_what_and_where(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as err:
        fields.parse(text)
    assert problem in err.value.message
    assert "column" in err.value.message


_NAMES = st.from_regex(r"[A-Za-z_\u4e00-\u9fff][\w-]{0,8}", fullmatch=True)
_LEAF = st.sampled_from(["", " str", " int", " float", " bool", " list", " list[int]"])


def _field_lists(depth: int = 2) -> st.SearchStrategy[str]:
    def field(kind: str, name: str, optional: bool, desc: str) -> str:
        return f"{name}{'?' if optional else ''}{kind}{f': {desc}' if desc else ''}"

    kinds: st.SearchStrategy[str] = _LEAF
    if depth:
        inner = _field_lists(depth - 1)
        kinds = st.one_of(_LEAF, inner.map(lambda f: "{" + f + "}"),
                          inner.map(lambda f: " list[{" + f + "}]"))  # fmt: skip
    one = st.builds(field, kinds, _NAMES, st.booleans(),
                    st.from_regex(r"[a-z ]{0,12}", fullmatch=True))  # fmt: skip
    return st.lists(one, min_size=1, max_size=4, unique_by=lambda f: f.split("{")[0]).map(", ".join)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(_field_lists())
def test_generated_field_lists_give_valid_schemas(text: str) -> None:
    try:
        schema = fields.parse(text)
    except UsageError:
        return  # e.g. a generated name repeated inside a group: refused, with a message
    Draft202012Validator.check_schema(schema)
    _strict_invariants(strict.to_strict(schema).schema)
    Draft202012Validator(schema).validate(instance(schema))


@given(st.text(alphabet=st.sampled_from(list("ab ,:{}[]?\nlist[int]str")), max_size=40))
def test_any_field_list_it_accepts_is_a_valid_json_schema(text: str) -> None:
    try:
        schema = fields.parse(text)
    except UsageError:
        return
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object" and schema["properties"]
    converted = strict.to_strict(schema)
    assert converted.strict
    _strict_invariants(converted.schema)


def _strict_invariants(node: Any) -> None:
    """What strict mode requires of every object: all properties required, no others."""
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            assert node["additionalProperties"] is False
            assert node["required"] == list(node["properties"])
        for value in node.values():
            _strict_invariants(value)
    elif isinstance(node, list):
        for value in node:
            _strict_invariants(value)


# -- strict form -------------------------------------------------------------------------------

_PERSON = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "A person",
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 2},
        "nickname": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "kind": {"enum": ["a", "b"]},
        "id": {"oneOf": [{"type": "string", "format": "uuid"}, {"type": "integer"}]},
    },
    "required": ["name", "address"],
    "$defs": {
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "zip": {"type": "string"}},
            "required": ["city"],
        }
    },
}


def test_strict_form_nested_optional_and_defs() -> None:
    converted = strict.to_strict(_PERSON)
    out = converted.schema
    assert converted.strict
    Draft202012Validator.check_schema(out)
    _strict_invariants(out)
    assert "$schema" not in out and "title" not in out
    props = out["properties"]
    assert props["name"] == {"type": "string", "description": "minLength: 2"}
    assert props["nickname"] == {"type": ["string", "null"]}  # optional -> nullable
    assert props["address"] == {"$ref": "#/$defs/address"}  # required: as it was
    assert props["tags"]["description"] == "uniqueItems: true"
    assert props["kind"] == {"enum": ["a", "b", None], "type": ["string", "null"]}
    assert props["id"] == {
        "anyOf": [{"type": "string", "format": "uuid"}, {"type": "integer"}, {"type": "null"}]
    }
    address = out["$defs"]["address"]
    assert address["required"] == ["city", "zip"]
    assert address["additionalProperties"] is False
    assert address["properties"]["zip"] == {"type": ["string", "null"]}


def test_schemas_that_cannot_be_strict_say_why() -> None:
    free = strict.to_strict({"type": "object", "properties": {"meta": {"type": "object"}}})
    assert not free.strict and free.why_not == "an object with free-form keys at /properties/meta"
    anything = strict.to_strict({"type": "object", "properties": {"x": {}}})
    assert anything.why_not == "a value of any type at /properties/x"


def test_nulls_of_optional_fields_are_dropped_and_the_answer_validates() -> None:
    answer = {
        "name": "Ada",
        "nickname": None,
        "address": {"city": "London", "zip": None},
        "tags": None,
        "kind": None,
        "id": None,
    }
    data = strict.strip_nulls(answer, _PERSON)
    assert data == {"name": "Ada", "address": {"city": "London"}}
    assert check.errors(data, _PERSON) == []
    assert check.errors(answer, _PERSON)  # with the nulls it would not validate


def test_required_nulls_stay() -> None:
    schema = {"type": "object", "properties": {"x": {"type": ["null", "string"]}}}
    schema["required"] = ["x"]
    assert strict.strip_nulls({"x": None}, schema) == {"x": None}


# -- validation and replies ------------------------------------------------------------------


def test_errors_name_where_most_relevant_first() -> None:
    schema = fields.parse("sentiment, score int, reasons list[str]")
    found = check.errors({"sentiment": "good", "score": "high", "reasons": ["ok", 3]}, schema)
    assert found == [
        "$.score: 'high' is not of type 'integer'",
        "$.reasons[1]: 3 is not of type 'string'",
    ]
    assert check.summary(["a", "b", "c", "d", "e"]) == "a; b; c (and 2 more)"


def test_replies_in_a_code_fence_are_read_prose_is_not() -> None:
    assert check.parse_reply('```json\n{"a": 1}\n```') == {"a": 1}
    with pytest.raises(check.NotJSON, match="the reply is not JSON"):
        check.parse_reply("Sure! Here it is: {")


def test_non_object_roots_and_multi_are_wrapped() -> None:
    listed = spec.load('{"type": "array", "items": {"type": "integer"}}', {})
    assert listed.wrapped and listed.root["required"] == ["value"]
    assert judge('{"value": [1, 2]}', listed) == ([], [1, 2])
    multi = spec.load("name, age int", {}, multi=True)  # sent wrapped, checked as records
    assert multi.root["properties"]["items"]["items"]["required"] == ["name", "age"]
    problems, _ = judge('{"items": [{"name": "x", "age": "y"}]}', multi)
    assert problems == ["$.items[0].age: 'y' is not of type 'integer'"]
    defs = spec.load(json.dumps(_PERSON), {}, multi=True)
    assert "$defs" in defs.root and "$defs" not in defs.root["properties"]["items"]["items"]
    assert judge(json.dumps({"items": [instance(_PERSON)]}), defs)[0] == []


def test_spec_sources(tmp_path: Any) -> None:
    path = tmp_path / "person.json"
    path.write_text(json.dumps(_PERSON), encoding="utf-8")
    from_file = spec.load(str(path), {})
    assert from_file.name == "person" and from_file.user == _PERSON
    named = spec.load("@review", {"review": {"fields": "score int"}})
    assert named.name == "review" and named.user["required"] == ["score"]
    as_toml = spec.load("@t", {"t": {"type": "object", "properties": {"a": {"type": "string"}}}})
    assert as_toml.user["properties"] == {"a": {"type": "string"}}
    with pytest.raises(UsageError, match="not a valid JSON Schema"):
        spec.load('{"type": "objekt"}', {})
    with pytest.raises(UsageError, match="is not valid JSON"):
        spec.load('{"type": ', {})
    with pytest.raises(UsageError, match=r"missing\.json does not exist"):
        spec.load("missing.json", {})
    from chatcli.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unknown schema @nope \(known: @review\)"):
        spec.load("@nope", {"review": {"fields": "a"}})


def test_the_fakes_instances_are_valid_and_broken_ones_are_not() -> None:
    converted = strict.to_strict(_PERSON).schema
    assert check.errors(strict.strip_nulls(instance(converted), _PERSON), _PERSON) == []
    assert check.errors(broken(converted), converted)
    prompt = 'Answer.\nvalid against this JSON Schema:\n{"type": "object"} trailing'
    assert in_prompt(prompt) == {"type": "object"}


@pytest.mark.parametrize(
    ("message", "refusal"),
    [
        ("Invalid parameter: 'response_format' of type 'json_schema' is not supported with "
         "this model.", True),
        ("Unrecognized request argument supplied: response_format", True),
        ("[{'type': 'extra_forbidden', 'loc': ('body', 'response_format'), 'msg': 'Extra inputs "
         "are not permitted'}]", True),
        ("Invalid schema for response_format 'r': In context=(), 'minLength' is not permitted.",
         False),
        ("response_format.json_schema.schema: too deeply nested", False),
    ],
)  # fmt: skip
def test_which_400s_are_a_refusal_of_the_parameter(message: str, refusal: bool) -> None:
    from chatcli.features.schema.turn import names_response_format, rejects_schema

    assert names_response_format(message)
    assert rejects_schema(message) is not refusal


def test_a_one_word_field_list_is_not_taken_for_a_file_of_that_name(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sentiment").write_text("not a schema", encoding="utf-8")
    (tmp_path / "person.json").write_text(json.dumps(_PERSON), encoding="utf-8")
    assert spec.load("sentiment", {}).user["required"] == ["sentiment"]
    assert spec.load("person.json", {}).user == _PERSON


def test_a_schema_nested_absurdly_deep_is_refused_not_a_crash() -> None:
    for levels in (100, 100_000):  # past the limit; past what json.loads can recurse
        text = '{"type": "object", "properties": {"x": ' * levels + "{}" + "}}" * levels
        with pytest.raises(UsageError, match="nests deeper than 64 levels"):
            spec.load(text, {})


def test_field_lists_and_replies_nested_absurdly_deep_are_errors_not_crashes() -> None:
    for text in ("a" + "{a" * 5000 + "}" * 5000, "a list[" + "list[" * 5000 + "str" + "]" * 5001):
        with pytest.raises(UsageError, match="groups nest deeper than 32 levels"):
            fields.parse(text)
    schema = spec.load("a", {})
    problems, data = judge('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", schema)
    assert data is None and problems[0].startswith("the reply")


@pytest.mark.external  # completes in a real bash
def test_shell_completion_offers_named_schemas_then_files(tmp_path: Any) -> None:
    from tests.cli_helpers import clean_env
    from tests.test_completion import _complete

    env = clean_env(tmp_path)
    (tmp_path / "config.toml").write_text(
        '[schemas.review]\nfields = "a"\n[schemas.person]\nfile = "p.json"\n', encoding="utf-8"
    )
    assert _complete(tmp_path, env, "chatcli", "ask", "--schema", "@") == ["@person", "@review"]
    assert _complete(tmp_path, env, "chatcli", "batch", "submit", "--schema", "@r") == ["@review"]
    files = _complete(tmp_path, env, "chatcli", "ask", "--schema", "tests/test_schema_conv")
    assert files == ["tests/test_schema_convert.py"]
