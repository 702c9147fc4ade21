"""Fixes from an audit of the chat REPL (in-process, keys from a pipe, replies from the fake):
``--schema``/``/schema`` with tools, ``/sessions TEXT``, ``/model`` with an unknown name,
``/save`` of the session's own name, an unknown command keeping its text, and Ctrl-C at the
tool approval question."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

from chatcli.repl import prepare
from chatcli.repl.loop import Repl
from chatcli.settings.resolve import ChatFlags, Globals, invocation
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply
from tests.test_repl import CTRL_C, CTRL_D, Chat, paste, wait_until
from tests.tools_helpers import own_server

SERVER = own_server("t")

CONFLICT = "--schema and -T cannot be used together yet"


@pytest.fixture
def chat(tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chat]:
    yield Chat(tmp_path, fake, monkeypatch)


def run_repl(
    chat: Chat,
    *keys: str,
    flags: ChatFlags | None = None,
    schema: tuple[str, bool] | None = None,
    before: Callable[[Repl], None] | None = None,
) -> Repl:
    """Type ``keys`` (then Ctrl-D) into a REPL prepared with ``flags`` and ``schema``;
    ``before(repl)`` runs once it is prepared."""
    with create_pipe_input() as inp, chat.store() as store:
        repl = prepare(chat.environment, invocation(Globals()), flags or ChatFlags(), store,
                       schema=schema, input=inp, output=DummyOutput())  # fmt: skip
        if before is not None:
            before(repl)
        inp.send_text("".join(keys) + CTRL_D)
        repl.run()
    return repl


def tool_names(body: dict[str, object]) -> list[str]:
    tools = body.get("tools")
    assert isinstance(tools, list)
    return [t["function"]["name"] for t in tools]


# 1. --schema / /schema with tools


def test_chat_refuses_schema_with_tools_at_start(tmp_path: Path, fake: FakeOpenAI) -> None:
    (tmp_path / "config.toml").write_text(SERVER, encoding="utf-8")
    env = fake_env(tmp_path, fake)
    result = run_cli("chat", "-T", "t", "--schema", "word, n int", env=env)
    assert result.returncode == 2
    assert f"chatcli: error: {CONFLICT}" in result.stderr
    assert fake.requests == []
    asked = run_cli("ask", "-T", "t", "--schema", "word, n int", "hi", env=env)
    assert asked.returncode == 2 and f"chatcli: error: {CONFLICT}" in asked.stderr  # the same
    allowed = run_cli("chat", "-T", "none", "--schema", "word", env=env)
    assert CONFLICT not in allowed.stderr  # -T none turns tools off: no conflict


def test_schema_command_refuses_while_tools_are_on(chat: Chat, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(SERVER, encoding="utf-8")
    run_repl(chat, "/schema word, n int\r", "hello\r", flags=ChatFlags(tools=("t",)))
    err = chat.err.getvalue()
    refused = [line for line in err.splitlines() if line.startswith("chatcli: error: /schema")]
    assert len(refused) == 1 and "/tools off all" in refused[0], err
    (request,) = chat.fake.chat_requests()
    assert "response_format" not in request.json  # the turn is an ordinary one, with tools
    assert tool_names(request.json)


def test_tools_on_refuses_while_a_schema_is_set(chat: Chat, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(SERVER, encoding="utf-8")
    repl = run_repl(chat, "/schema word\r", "/tools on t\r", "hello\r")
    err = chat.err.getvalue()
    refused = [line for line in err.splitlines() if line.startswith("chatcli: error: /tools")]
    assert len(refused) == 1 and "/schema off" in refused[0], err
    (request,) = chat.fake.chat_requests()
    assert "response_format" in request.json and "tools" not in request.json
    assert repl.tools is None  # no server was started for tools that stay off

    chat.err = io.StringIO()
    run_repl(chat, "/tools on t\r", "/schema off\r", schema=("word", False))  # chat --schema
    err = chat.err.getvalue()
    assert "chatcli: error: /tools on" in err and "/schema off" in err


def test_profile_tools_stay_off_under_chat_schema(chat: Chat, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[defaults]\ntools = ["t"]\n' + SERVER, "utf-8")
    repl = run_repl(chat, "hello\r", schema=("word", False))
    assert repl.tools is None
    assert "tools stay off while every reply is JSON" in chat.err.getvalue()
    (request,) = chat.fake.chat_requests()
    assert "response_format" in request.json and "tools" not in request.json


# 2. /sessions TEXT


def test_sessions_takes_a_search_text(chat: Chat) -> None:
    chat.run("one\r", "/save apple-chat\r", "/new\r", "two\r", "/save pear-chat\r",
             "/sessions apple\r", "/help\r")  # fmt: skip
    err = chat.err.getvalue()
    assert "takes no argument" not in err
    listing = err[err.index("session saved as pear-chat") :]
    listing = listing[: listing.index("/help")]
    assert "apple-chat" in listing and "pear-chat" not in listing.split("\n", 1)[1]
    assert "/sessions [TEXT]" in err  # /help names the argument


# 3. /model with an unknown name


def test_model_with_an_unknown_name_switches_and_says_so(chat: Chat) -> None:
    repl = chat.run("/model gpt-4oo\r", "hi\r", "/model gpt-4o\r")
    err = chat.err.getvalue().splitlines()
    notices = [line for line in err if "not a model chatcli knows" in line]
    assert len(notices) == 1, err  # gpt-4o, a known name, gets none
    assert "gpt-4oo" in notices[0] and "gpt-4o" in notices[0].split("nearest:")[1]
    assert chat.fake.chat_requests()[0].json["model"] == "gpt-4oo"  # the switch is kept
    assert repl.session.model == "gpt-4o"


# 4. /save with the session's own name


def test_save_with_the_current_name_says_so(chat: Chat) -> None:
    chat.run("one\r", "/save mine\r", "/save mine\r", "two\r")
    err = chat.err.getvalue()
    assert "already exists" not in err and "--session" not in err
    assert "this session is already called 'mine'" in err
    assert chat.sent() == ["one", "two"]


# 5. an unknown command keeps its text


def test_unknown_command_keeps_the_text_in_the_prompt(chat: Chat) -> None:
    text = "/usr/bin/env python\nprint(1)"

    def feed(repl: Repl, inp: PipeInput) -> None:
        inp.send_text(paste(text.replace("\n", "\r\n")) + "\r")
        try:  # the next prompt starts with the text again
            wait_until(lambda: "unknown command" in chat.err.getvalue())
            wait_until(lambda: bool(repl.prompt.default_buffer.text == text))
            kept.append(True)
        finally:
            inp.send_text(CTRL_C + CTRL_D)

    kept: list[bool] = []

    chat.run(during=feed)
    err = chat.err.getvalue()
    assert "chatcli: error: unknown command /usr/bin/env" in err
    assert "a space first sends a message starting with /" in err
    assert chat.fake.chat_requests() == []
    assert kept == [True]


# 6. Ctrl-C at the tool approval question


class Interrupting:
    """An approval question answered with Ctrl-C."""

    writer: object = None

    def settle(self) -> None:
        """Nothing is on screen to print for good first."""

    def ask(self, qualified: str, arguments: str, hint: str) -> str:
        raise KeyboardInterrupt


def test_ctrl_c_at_the_approval_question_says_what_is_kept(chat: Chat, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(SERVER, encoding="utf-8")
    chat.fake.script(Reply(tool_calls=[{"name": "t__echo", "arguments": {"text": "x"}}]))

    def interrupting(repl: Repl) -> None:
        assert repl.tools is not None
        repl.tools.approval.terminal = Interrupting()  # type: ignore[assignment]

    run_repl(chat, "go\r", flags=ChatFlags(tools=("t",)), before=interrupting)
    err = chat.err.getvalue()
    assert "partial reply" not in err
    assert "t.echo was not run" in err
    assert len(chat.fake.chat_requests()) == 1  # nothing sent on
