"""Limits a model or an MCP server cannot get around: ``--max-tool-rounds`` ends the turn even
when the endpoint ignores ``tool_choice: "none"``; a server's listing is bounded (tools per
server, schema size, names listed twice); ``--approve`` refuses names ``-T`` would refuse."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Raw, Reply
from tests.tools_helpers import servers_toml

pytestmark = pytest.mark.external  # real MCP servers

# A bare JSON-RPC MCP server over stdio whose listing is what argv[1] asks for.
RAW = r"""
import json, sys
mode = sys.argv[1]
def tool(name, description="t", schema=None):
    schema = schema or {"type": "object", "properties": {"text": {"type": "string"}}}
    return {"name": name, "description": description, "inputSchema": schema}
if mode == "dups":
    tools = [tool("echo", "first"), tool("echo", "second"), tool("Echo")]
elif mode == "many":
    tools = [tool(f"t{i}") for i in range(1500)]
else:
    big = {f"p{i}": {"type": "string", "description": "d" * 200} for i in range(500)}
    tools = [tool("huge", schema={"type": "object", "properties": big}), tool("small")]
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("id") is None:
        continue
    if msg["method"] == "initialize":
        result = {"protocolVersion": msg["params"]["protocolVersion"],
                  "capabilities": {"tools": {}}, "serverInfo": {"name": "raw", "version": "1"}}
    elif msg["method"] == "tools/list":
        result = {"tools": tools}
    else:
        result = {"content": [{"type": "text", "text": "ok"}]}
    print(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}), flush=True)
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "raw.py").write_text(RAW)
    (tmp_path / "config.toml").write_text(servers_toml())
    return tmp_path


def env_for(home: Path, fake: FakeOpenAI, mode: str = "") -> dict[str, str]:
    if mode:
        raw = f'[mcp.servers.r]\ncommand = "{sys.executable}"\nargs = ["{home / "raw.py"}", '
        (home / "config.toml").write_text(raw + f'"{mode}"]\n' + servers_toml())
    return fake_env(home, fake, TOOLS_TEST_SECRET="s")


def add(a: int) -> Raw:
    """A streamed reply asking for a call whatever ``tool_choice`` says (the fake's ``Reply``
    obeys ``none``; some endpoints do not)."""
    base = {"id": f"c{a}", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini"}
    arguments = json.dumps({"a": a, "b": 1})
    function = {"name": "own__add", "arguments": arguments}
    call = {"index": 0, "id": f"call_{a}", "type": "function", "function": function}
    delta = {"role": "assistant", "tool_calls": [call]}
    return Raw(
        content_type="text/event-stream",
        chunks=[
            {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
            {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        ],
    )


def answered(messages: list[dict[str, Any]]) -> bool:
    """Every tool call of the history has its result (what an endpoint insists on)."""
    asked = {c["id"] for m in messages for c in m.get("tool_calls") or []}
    return asked == {m["tool_call_id"] for m in messages if m["role"] == "tool"}


def test_an_endpoint_ignoring_tool_choice_none_cannot_keep_the_turn(
    home: Path, fake: FakeOpenAI
) -> None:
    fake.script(*(add(i) for i in range(4)), Reply(text="fine"))  # the last for ``-c``
    env = env_for(home, fake)
    r = run_cli("ask", "-T", "own", "--approve", "own", "--max-tool-rounds", "2", "go", env=env)
    assert r.returncode == 5, r.stderr  # no answer is not an empty success
    requests = fake.chat_requests()
    assert len(requests) == 4  # two rounds of calls, then once without tools
    assert [q.json.get("tool_choice") for q in requests] == [None, None, None, "none"]
    assert r.stderr.count("2 tool rounds reached") == 1
    assert r.stderr.count("the model still asked for tools after 2 tool rounds") == 1
    r = run_cli("ask", "-c", "and now?", env=env)
    assert r.returncode == 0, r.stderr
    assert answered(fake.chat_requests()[-1].json["messages"])  # the history stayed valid


def test_a_listing_is_cut_to_the_tools_per_server(home: Path, fake: FakeOpenAI) -> None:
    fake.script(Reply(text="x"))
    r = run_cli("ask", "-T", "r", "hi", env=env_for(home, fake, "many"))
    assert r.returncode == 0, r.stderr
    assert len(fake.chat_requests()[0].json["tools"]) == 1000
    assert r.stderr.count("MCP server r lists more than 1,000 tools") == 1


def test_a_tool_with_a_huge_schema_is_left_out(home: Path, fake: FakeOpenAI) -> None:
    fake.script(Reply(text="x"))
    r = run_cli("ask", "-T", "r", "hi", env=env_for(home, fake, "huge"))
    assert r.returncode == 0, r.stderr
    names = [t["function"]["name"] for t in fake.chat_requests()[0].json["tools"]]
    assert names == ["r__small"]
    assert r.stderr.count("tool 'huge' left out: its input schema is") == 1


def test_a_name_listed_twice_keeps_its_first_tool(home: Path, fake: FakeOpenAI) -> None:
    env = env_for(home, fake, "dups")
    listed = run_cli("mcp", "list", "r", env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.count("r.echo ") == 1 and "r.Echo" in listed.stdout
    fake.script(Reply(text="x"))
    r = run_cli("ask", "-T", "r", "hi", env=env)
    assert r.returncode == 0, r.stderr
    tools = [t["function"] for t in fake.chat_requests()[0].json["tools"]]
    assert [(t["name"], t["description"]) for t in tools] == [
        ("r__echo", "first"),
        ("r__Echo", "t"),
    ]
    assert r.stderr.count("lists the tool 'echo' more than once") == 1


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("OWN", "no MCP server named 'OWN' (servers: own, time)"),
        ("own.ech", "server own has no tool 'ech' (its tools: "),
        ("own,own.echo", "no MCP server named 'own,own'"),
    ],
)
def test_approving_an_unknown_name_is_refused_like_t(
    home: Path, fake: FakeOpenAI, name: str, said: str
) -> None:
    r = run_cli("ask", "-T", "own", "--approve", name, "hi", env=env_for(home, fake))
    assert r.returncode == 2
    assert f"cannot approve {name!r}: {said}" in r.stderr
    assert fake.chat_requests() == []  # refused before anything was sent


def test_approving_a_server_not_started_is_checked_by_name_only(
    home: Path, fake: FakeOpenAI
) -> None:
    fake.script(Reply(text="x"))
    r = run_cli("ask", "-T", "own", "--approve", "time.whatever", "hi", env=env_for(home, fake))
    assert r.returncode == 0, r.stderr
    assert json.dumps(fake.chat_requests()[0].json["tools"]).count("time__") == 0
