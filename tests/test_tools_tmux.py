"""Approving tool calls on a real terminal (tmux): y runs the call, n and Enter decline it, a
approves the tool for the rest of the session, Ctrl-C at the question stops the turn and the
chat goes on; ``/tools`` lists, turns on and turns off. The fake runs in its own process."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import run_cli
from tests.fakes import FakeControl, Reply
from tests.tmux_helpers import Tmux, at_prompt, chat_tmux, wait_until
from tests.tools_helpers import servers_toml

pytestmark = [pytest.mark.terminal, pytest.mark.external]  # tmux, real MCP servers

ROOT = Path(__file__).resolve().parent.parent
CHAT = [sys.executable, "-m", "chatcli", "chat"]
QUESTION = "run it? [y]es, [N]o, [a]lways this tool:"
STARTS = 90.0
"""Seconds to wait for what needs MCP servers started (a few seconds each on a loaded box)."""


@pytest.fixture
def term(server: str, tmp_path: Path) -> Iterator[Tmux]:
    (tmp_path / "config.toml").write_text(servers_toml())
    with chat_tmux(server, tmp_path, TOOLS_TEST_SECRET="s") as tmux:
        yield tmux


def echo_call(text: str) -> Reply:
    return Reply(tool_calls=[{"name": "own__echo", "arguments": {"text": text}}])


def chat_requests(control: FakeControl) -> list[dict[str, Any]]:
    return [r["json"] for r in control.requests() if r["path"].endswith("/chat/completions")]


def tool_results(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


def send(term: Tmux, text: str) -> None:
    term.wait_for(at_prompt, timeout=STARTS)
    term.type(text)
    term.keys("Enter")


def test_yes_no_always_in_the_repl(term: Tmux, control: FakeControl) -> None:
    control.script(echo_call("one"), Reply(), echo_call("two"), Reply(), echo_call("three"))
    control.script(Reply(), echo_call("four"), Reply())
    term.start([*CHAT, "-T", "own.echo"])

    send(term, "first")
    screen = term.wait_for(QUESTION)
    assert "⚙ the model wants to run own.echo  [read-only]" in screen
    assert '"text": "one"' in screen
    term.keys("y")
    term.wait_for("tools said: echo: one", scrollback=True)
    term.wait_for("2 requests")  # the footer counts the rounds

    send(term, "second")
    term.wait_for(lambda s: '"text": "two"' in s and s.rstrip().endswith(QUESTION))
    term.keys("Enter")  # the default is no
    term.wait_for("tools said: the user declined to run this tool call", scrollback=True)

    send(term, "third")
    term.wait_for(lambda s: '"text": "three"' in s and s.rstrip().endswith(QUESTION))
    term.keys("a")
    term.wait_for("tools said: echo: three", scrollback=True)

    send(term, "fourth")  # always: no question this time
    term.wait_for("tools said: echo: four", scrollback=True)
    assert term.scrollback().count(QUESTION) == 3  # no question for the fourth call
    assert [tool_results(r)[-1] for r in chat_requests(control)[1::2]] == [
        "echo: one",
        "the user declined to run this tool call",
        "echo: three",
        "echo: four",
    ]
    term.wait_for(at_prompt)
    term.keys("C-d")
    assert term.wait_exit() == 0


def test_ctrl_c_at_the_question_stops_the_turn(term: Tmux, control: FakeControl) -> None:
    control.script(echo_call("never"))
    term.start([*CHAT, "-T", "own"])
    send(term, "go")
    term.wait_for(QUESTION)
    term.keys("C-c")
    term.wait_for("interrupted", scrollback=True)
    shown = term.scrollback()
    assert f"{QUESTION} ^C" in shown and f"{QUESTION} no" not in shown, shown
    send(term, "still there?")  # the stored call is answered as interrupted: a valid history
    term.wait_for("echo(2): still there?", scrollback=True)
    last = chat_requests(control)[-1]
    assert tool_results(last) == ["not run: the user interrupted the turn"]
    assert len(chat_requests(control)) == 2  # the declined call was never sent on


def test_tools_command_lists_and_toggles(term: Tmux, control: FakeControl) -> None:
    term.start(CHAT)
    send(term, "/tools")
    term.wait_for("(not started: /tools on own)")
    send(term, "/tools on own.add time")
    term.wait_for("on: own.add, time.get_current_time, time.convert_time", timeout=STARTS)
    send(term, "/tools off time.convert_time")
    term.wait_for("off: time.convert_time")
    send(term, "/tools")
    screen = term.wait_for("  off time.convert_time [read-only]", scrollback=True)
    assert "  on  time.get_current_time [read-only]" in screen
    assert "  on  own.add [read-only]  Add two integers." in screen
    send(term, "hello")
    term.wait_for("echo(1): hello", scrollback=True)
    (body,) = chat_requests(control)
    assert [t["function"]["name"] for t in body["tools"]] == ["own__add", "time__get_current_time"]


def test_ask_on_a_terminal_asks_too(term: Tmux, control: FakeControl) -> None:
    control.script(echo_call("from ask"))
    term.start([sys.executable, "-m", "chatcli", "ask", "-T", "own", "hi"])
    term.wait_for(QUESTION, timeout=STARTS)
    term.keys("y")
    term.wait_for("tools said: echo: from ask")
    assert term.wait_exit() == 0
    wait_until(lambda: len(chat_requests(control)) == 2)


def test_ctrl_c_during_a_call_stops_it_and_the_turn(term: Tmux, control: FakeControl) -> None:
    control.script(Reply(tool_calls=[{"name": "own__slow", "arguments": {"seconds": 60}}]))
    term.start([*CHAT, "-T", "own", "--approve", "own.slow"])
    send(term, "take your time")
    term.wait_for("running own.slow… (Ctrl-C stops the turn)")
    term.keys("C-c")
    term.wait_for("interrupted", scrollback=True)
    send(term, "next")
    term.wait_for("echo(2): next", scrollback=True)
    assert tool_results(chat_requests(control)[-1]) == [
        "interrupted while running (it may have had effects): the user stopped the turn before "
        "the tool answered"
    ]


def test_ctrl_c_during_a_call_in_ask_ends_the_running_line(
    term: Tmux, control: FakeControl
) -> None:
    control.script(Reply(tool_calls=[{"name": "own__slow", "arguments": {"seconds": 60}}]))
    term.start([sys.executable, "-m", "chatcli", "ask", "-T", "own", "--approve", "own", "hi"])
    term.wait_for("running own.slow… (Ctrl-C stops the turn)", timeout=STARTS)
    term.keys("C-c")
    assert term.wait_exit(timeout=STARTS) == 130  # the MCP server is stopped on the way out
    shown = term.scrollback()
    lines = [ln.strip() for ln in shown.splitlines()]
    assert "chatcli: interrupted" in lines, shown  # a line of its own, not after "running…"
    assert any(ln.startswith("⚙ own.slow") and "interrupted" in ln for ln in lines), shown


def test_a_resumed_session_shows_its_calls(term: Tmux, control: FakeControl) -> None:
    control.script(echo_call("resumed"))
    done = run_cli("ask", "-T", "own", "--approve", "own", "hi", env=term.env, timeout=120)
    assert done.returncode == 0, done.stderr
    term.start([*CHAT, "-c"])
    screen = term.wait_for("fn  › echo: resumed")
    assert "ai  › calls own__echo" in screen
    assert "ai  › tools said: echo: resumed" in screen


def test_regenerate_and_edit_run_tools_too(term: Tmux, control: FakeControl) -> None:
    control.script(echo_call("first"), Reply(), echo_call("again"), Reply(), echo_call("edited"))
    term.start([*CHAT, "-T", "own", "--approve", "own"])
    send(term, "go")
    term.wait_for("tools said: echo: first", scrollback=True)
    send(term, "/regenerate")
    term.wait_for("tools said: echo: again", scrollback=True)
    send(term, "/edit 1")
    term.wait_for("turn 1 is in the prompt")
    term.keys("Enter")
    term.wait_for("tools said: echo: edited", scrollback=True)
    bodies = chat_requests(control)
    assert all("tools" in b for b in bodies)
    assert [tool_results(b)[-1] for b in bodies[1::2]] == [
        "echo: first",
        "echo: again",
        "echo: edited",
    ]
