"""``/schema`` in the chat REPL (in-process, keys from a pipe): the next turn only answers
with JSON valid against the schema, through the same checks as ``ask --schema``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeOpenAI, Reply
from tests.test_repl import Chat


@pytest.fixture
def chat(tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chat]:
    yield Chat(tmp_path, fake, monkeypatch)


def test_schema_applies_to_the_next_turn_only(chat: Chat) -> None:
    chat.run("/schema\r", "/schema name, age int\r", "who is it?\r", "and now?\r")
    err, out = chat.err.getvalue(), chat.out.getvalue()
    assert "no schema set; usage: /schema SPEC" in err
    assert "the next reply will be JSON valid against the field list (/schema off cancels)" in err
    first, second = chat.fake.chat_requests()
    assert first.json["response_format"]["json_schema"]["schema"]["required"] == ["name", "age"]
    assert "response_format" not in second.json
    assert out.startswith(json.dumps({"name": "example", "age": 0}, indent=2) + "\n")
    assert "echo(2): and now?" in out  # the turn after is an ordinary one
    assert " in · " in err  # the footer follows the JSON


def test_invalid_twice_is_one_error_line_and_the_repl_goes_on(chat: Chat) -> None:
    chat.fake.script(Reply(text="nope"), Reply(text='{"a": "x"}'))
    chat.run("/schema a int\r", "go\r", "/schema off\r", "/schema multi a\r", "list\r")
    err, out = chat.err.getvalue(), chat.out.getvalue()
    assert "asking once more" in err
    assert "chatcli: error: the answer is not valid against the field list: $.a: 'x'" in err
    assert "Traceback" not in err
    assert json.loads(out) == {"items": [{"a": "example"}]}  # the invalid replies never printed
    assert chat.sent()[1].startswith("Your reply is not valid against the required JSON Schema")


def test_bad_schema_is_refused_before_anything_is_sent(chat: Chat) -> None:
    chat.run("/schema a integr\r", "plain\r")
    assert "chatcli: error: --schema: unknown type 'integr'" in chat.err.getvalue()
    assert "response_format" not in chat.fake.chat_requests()[0].json


def test_chat_schema_makes_every_reply_json_until_off(chat: Chat) -> None:
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from chatcli.repl import prepare
    from chatcli.settings.resolve import ChatFlags, Globals, invocation

    with create_pipe_input() as inp, chat.store() as store:
        repl = prepare(
            chat.environment, invocation(Globals()), ChatFlags(), store,
            schema=("city", False), input=inp, output=DummyOutput(),
        )  # fmt: skip
        inp.send_text("one\r/schema\rtwo\r/schema off\rthree\r\x04")
        repl.run()
    err = chat.err.getvalue()
    assert "every reply is JSON valid against the field list (/schema off ends it)" in err
    assert "every reply is JSON valid against the field list\n" in err  # what /schema shows
    formats = ["response_format" in r.json for r in chat.fake.chat_requests()]
    assert formats == [True, True, False]
    assert chat.out.getvalue().count('"city": "example"') == 2
    assert "echo(3): three" in chat.out.getvalue()


def test_chat_schema_is_checked_before_the_repl_starts(chat: Chat) -> None:
    from chatcli.errors import UsageError
    from chatcli.repl import prepare
    from chatcli.settings.resolve import ChatFlags, Globals, invocation

    with chat.store() as store, pytest.raises(UsageError, match="unknown type 'integr'"):
        prepare(chat.environment, invocation(Globals()), ChatFlags(), store,
                schema=("a integr", False))  # fmt: skip
    assert chat.fake.requests == []
