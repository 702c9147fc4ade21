"""Function calling over the Responses API with the existing tool loop: the reference
``mcp-server-time`` and our own stdio server (``tests/fakes/mcp_tools.py``) answer calls the
fake streams as ``function_call`` items; results go back as ``function_call_output`` items
that answer the calls they name (the fake checks it, as OpenAI does); ``-c`` resends them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply
from tests.test_responses_protocol import problems
from tests.tools_helpers import servers_toml

pytestmark = pytest.mark.external  # real MCP servers


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """The fake with its Responses API on."""
    with FakeOpenAI() as server:
        server.responses = True
        yield server


@pytest.fixture
def env(tmp_path: Path, fake: FakeOpenAI) -> dict[str, str]:
    (tmp_path / "config.toml").write_text(servers_toml())
    return fake_env(tmp_path, fake, TOOLS_TEST_SECRET="s")


def call(tool: str, **arguments: Any) -> dict[str, Any]:
    return {"name": tool, "arguments": arguments}


def outputs(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in body["input"] if i.get("type") == "function_call_output"]


@pytest.mark.parametrize("stream", [True, False])
def test_the_time_server_answers_a_call(
    fake: FakeOpenAI, env: dict[str, str], stream: bool
) -> None:
    fake.script(Reply(tool_calls=[call("time__get_current_time", timezone="Asia/Shanghai")]))
    r = run_cli(
        "ask", "-T", "time", "--approve", "time.get_current_time", "what time is it in Beijing",
        *([] if stream else ["--no-stream"]), env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    first, second = fake.responses_requests()
    assert fake.chat_requests() == []
    assert problems(first.json) == [] and problems(second.json) == []
    tools = first.json["tools"]
    assert [t["name"] for t in tools] == ["time__get_current_time", "time__convert_time"]
    assert all(t["type"] == "function" and t["strict"] is False for t in tools)
    made = [i for i in second.json["input"] if i.get("type") == "function_call"]
    (result,) = outputs(second.json)
    assert made[0]["name"] == "time__get_current_time"
    assert result["call_id"] == made[0]["call_id"]
    assert json.loads(result["output"])["timezone"] == "Asia/Shanghai"
    assert r.stdout.startswith("tools said: {")
    assert "⚙ time.get_current_time" in r.stderr


def test_our_server_parallel_calls_json_and_continue(fake: FakeOpenAI, env: dict[str, str]) -> None:
    fake.script(
        Reply(tool_calls=[call("own__rendezvous", n=2), call("own__rendezvous", n=2)]),
        Reply(tool_calls=[call("own__add", a=20, b=22)]),
    )
    r = run_cli("ask", "-T", "own", "--approve", "own", "--json", "go", env=env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["requests"] == 3
    assert [c["result"] for c in out["tool_calls"]] == ["met 2", "met 2", "42"]
    second = fake.responses_requests()[1].json
    assert [o["output"] for o in outputs(second)] == ["met 2", "met 2"]  # ran at once
    again = run_cli("ask", "-c", "and now?", env=env)  # no -T: the history holds the calls
    assert again.returncode == 0, again.stderr
    last = fake.responses_requests()[-1].json
    assert problems(last) == []
    kinds = [i.get("type") or i["role"] for i in last["input"]]
    assert kinds == [
        "user", "function_call", "function_call", "function_call_output",
        "function_call_output", "function_call", "function_call_output", "assistant", "user",
    ]  # fmt: skip
    assert "tools" not in last


def test_an_endpoint_refusing_tools_is_a_clear_error(fake: FakeOpenAI, env: dict[str, str]) -> None:
    fake.tools_mode = "refuse"
    r = run_cli("ask", "-T", "own", "hi", env=env)
    assert r.returncode == 5
    assert "chatcli: error: the endpoint refused the tools it was sent" in r.stderr
