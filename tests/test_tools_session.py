"""Tool calls below the CLI: the provider's shape-checked reading of streamed ``tool_calls``,
and the session keeping calls and results through /undo, /retry and a resume, in process
against the fake server (through the real provider) and our own MCP server over stdio."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatcli.environment import ManualClock
from chatcli.errors import APIError
from chatcli.events import Finish, StreamEvent, TextDelta, ToolCall, ToolCalls
from chatcli.features.tools.results import card
from chatcli.features.tools.toolbox import Toolbox, open_toolbox
from chatcli.features.tools.use import send
from chatcli.pricing import lookup
from chatcli.providers import connect
from chatcli.providers.answers import stream_events, whole_events
from chatcli.session import ChatSession
from chatcli.settings.loading import Profile
from chatcli.settings.mcp import McpServer
from chatcli.settings.resolve import ChatSettings
from chatcli.store import Store
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI, Reply

ROOT = Path(__file__).resolve().parent.parent


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def piece(index: int, **fields: Any) -> dict[str, Any]:
    function = {k: v for k, v in fields.items() if k in ("name", "arguments")}
    out: dict[str, Any] = {"index": index, "function": function}
    if "id" in fields:
        out["id"] = fields["id"]
    return out


def test_streamed_pieces_of_parallel_calls_are_joined() -> None:
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"tool_calls": [piece(0, id="call_a", name="time__now", arguments="")]}),
        chunk({"tool_calls": [piece(1, id="call_b", name="own__echo", arguments='{"te')]}),
        chunk({"tool_calls": [piece(0, arguments='{"tz": "U')]}),
        chunk({"tool_calls": [piece(1, arguments='xt": "你好"}')]}),
        chunk({"tool_calls": [piece(0, name="time__now", arguments='TC"}')]}),  # name repeated
        chunk({}, "tool_calls"),
    ]
    events = list(stream_events(chunks))
    assert events[-2:] == [
        ToolCalls(
            (
                ToolCall("call_a", "time__now", '{"tz": "UTC"}'),
                ToolCall("call_b", "own__echo", '{"text": "你好"}'),
            )
        ),
        Finish("tool_calls", "m"),
    ]


def test_a_call_without_an_id_gets_one_and_a_whole_body_is_read() -> None:
    events = list(stream_events([chunk({"tool_calls": [piece(0, name="f")]}, "tool_calls")]))
    assert isinstance(events[0], ToolCalls)
    (made,) = events[0].calls
    assert (made.name, made.arguments) == ("f", "") and re.fullmatch(r"call_[0-9a-f]{24}", made.id)
    body = {
        "model": "m",
        "choices": [
            {
                "message": {
                    "content": "let me check",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
    }
    assert list(whole_events(body))[:2] == [
        TextDelta("let me check"),
        ToolCalls((ToolCall("c1", "f", "{}"),)),
    ]


@pytest.mark.parametrize(
    ("tool_calls", "field"),
    [
        ("oops", "choices[0].delta.tool_calls"),
        ([5], "choices[0].delta.tool_calls[0]"),
        ([{"index": "0", "function": {}}], "choices[0].delta.tool_calls[0].index"),
        ([{"index": 0, "function": {"name": 7}}], "tool_calls[0].function.name"),
        ([{"index": 0, "function": {"arguments": {"a": 1}}}], "function.arguments"),
        ([{"index": 0, "function": {"arguments": "{}"}}], "tool_calls[0].function.name"),
    ],
)
def test_malformed_tool_calls_are_named(tool_calls: Any, field: str) -> None:
    with pytest.raises(APIError, match="malformed") as caught:
        list(stream_events([chunk({"tool_calls": tool_calls}, "tool_calls")]))
    assert field in caught.value.message


def test_the_approval_card_is_pretty_sanitised_and_folded() -> None:
    arguments = json.dumps({"path": "/tmp/\x1b]0;pwned\x07x", "text": "y" * 1000, "n": [1, 2]})
    shown = card("own.remove", arguments, "destructive")
    assert shown.splitlines()[0] == "⚙ the model wants to run own.remove  [destructive]"
    assert "\x1b" not in shown and "\x07" not in shown
    assert '    "text": "' + "y" * 300 + '… (700 more characters)",' in shown
    assert '    "n": [\n      1,' in shown
    many = json.dumps({f"k{i}": i for i in range(100)})
    assert card("t.x", many, "").splitlines()[-1] == "  … (62 more lines)"
    assert card("t.x", "not json", "").splitlines()[1] == "  not json"


@pytest.fixture
def box() -> Iterator[Toolbox]:
    """Our own MCP server over stdio, its tools on and approved."""
    own = McpServer(
        "own", command=sys.executable, args=("-m", "tests.fakes.mcp_tools"), cwd=str(ROOT)
    )
    toolbox = open_toolbox({"own": own}, ["own"], approve=["own"])
    try:
        yield toolbox
    finally:
        toolbox.close()


def open_session(fake: FakeOpenAI, store: Store, row: Any = None) -> ChatSession:
    profile = Profile(name="fake", type="relay", base_url=fake.base_url, api_key=DEFAULT_API_KEY)
    settings = ChatSettings(profile=profile, model="gpt-4o-mini", model_info=lookup)
    return ChatSession.open(
        connect(profile, lookup, clock=ManualClock()), settings, store=store, row=row, persist=True
    )


def drain(events: Iterator[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


@pytest.mark.external
def test_undo_retry_and_resume_keep_calls_and_results(
    fake: FakeOpenAI, box: Toolbox, tmp_path: Path
) -> None:
    store = Store.open(tmp_path / "data")
    session = open_session(fake, store)
    add = {"name": "own__add", "arguments": {"a": 1, "b": 2}}
    fake.script(Reply(text="checking", tool_calls=[add]))
    assert drain(send(session, "add them", box)) == "checking\n\ntools said: 3"
    assert [m.role for m in session.history] == ["user", "assistant", "tool", "assistant"]
    turn = session.last_turn
    assert turn is not None and turn.requests == 2 and turn.text == "checking\n\ntools said: 3"

    fake.script(Reply(tool_calls=[add]))
    assert drain(send(session, None, box, retry=True)) == "tools said: 3"
    assert [m.role for m in session.history] == ["user", "assistant", "tool", "assistant"]
    assert session.row is not None
    stored = store.all_messages(session.row.id)
    assert [m.role for m in stored] == ["user", "assistant", "tool", "assistant"]
    assert stored[2].tool_call_id == stored[1].tool_calls[0]["id"]  # type: ignore[index]
    assert stored[2].tool_info == {"name": "own.add", "approved": True, "how": "auto",
                                   "duration_ms": stored[2].tool_info["duration_ms"]}  # type: ignore[index]  # fmt: skip

    resumed = open_session(fake, store, row=store.latest_session())
    assert drain(resumed.send("thanks")) == "echo(2): thanks"
    last = fake.chat_requests()[-1].json
    assert [m["role"] for m in last["messages"]] == [
        "user", "assistant", "tool", "assistant", "user"
    ]  # fmt: skip
    assert json.loads(last["messages"][1]["tool_calls"][0]["function"]["arguments"]) == {
        "a": 1,
        "b": 2,
    }

    assert resumed.undo() == "thanks"
    assert resumed.undo() == "add them"  # the whole tool turn goes
    assert store.all_messages(session.row.id) == []
