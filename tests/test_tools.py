"""Function calling through the real CLI: the fake server asks for tool calls, chatcli runs them
on real MCP servers (the reference ``mcp-server-time`` and our own over stdio) and sends the
results back; approval off a terminal, limits, failures and what the session keeps."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chatcli.store import Store
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply
from tests.tools_helpers import servers_toml

pytestmark = pytest.mark.external  # real MCP servers


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "config.toml").write_text(servers_toml())
    return tmp_path


def env_for(home: Path, fake: FakeOpenAI, extra_config: str = "", **extra: str) -> dict[str, str]:
    if extra_config:
        (home / "config.toml").write_text(extra_config + servers_toml())
    return fake_env(home, fake, **{"TOOLS_TEST_SECRET": "s", **extra})


def call(tool: str, **arguments: Any) -> dict[str, Any]:
    return {"name": tool, "arguments": arguments}


def tool_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m.get("role") == "tool"]


def test_time_server_answers_a_streamed_call(home: Path, fake: FakeOpenAI) -> None:
    fake.script(Reply(tool_calls=[call("time__get_current_time", timezone="Asia/Shanghai")]))
    r = run_cli(
        "ask", "-T", "time", "--approve", "time.get_current_time", "what time is it in Beijing",
        env=env_for(home, fake),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    first, second = fake.chat_requests()
    names = [t["function"]["name"] for t in first.json["tools"]]
    assert names == ["time__get_current_time", "time__convert_time"]
    assert first.json["stream"] is True
    (result,) = tool_messages(second.json)
    assistant = second.json["messages"][-2]
    assert result["tool_call_id"] == assistant["tool_calls"][0]["id"]
    assert json.loads(result["content"])["timezone"] == "Asia/Shanghai"
    assert r.stdout.startswith("tools said: {")
    assert '⚙ time.get_current_time {"timezone": "Asia/Shanghai"} → 6 lines, ' in r.stderr


def test_json_lists_the_calls_and_requests(home: Path, fake: FakeOpenAI) -> None:
    fake.script(
        Reply(tool_calls=[call("own__add", a=2, b=3)]),
        Reply(tool_calls=[call("own__echo", text="你好")]),
    )
    r = run_cli(
        "ask", "-T", "own", "--approve", "own", "add then echo", "--json", env=env_for(home, fake)
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["requests"] == 3
    assert [(c["name"], c["arguments"], c["result"], c["approved"]) for c in out["tool_calls"]] == [
        ("own.add", {"a": 2, "b": 3}, "5", True),
        ("own.echo", {"text": "你好"}, "echo: 你好", True),
    ]
    assert out["answer"] == "tools said: echo: 你好"
    rows = Store.open(home / "data").usage_rows()
    assert [r.status for r in rows] == ["ok", "ok", "ok"]  # every round logged and priced
    assert all(r.cost_usd is not None for r in rows)


def test_parallel_calls_run_concurrently(home: Path, fake: FakeOpenAI) -> None:
    fake.script(Reply(tool_calls=[call("own__rendezvous", n=2), call("own__rendezvous", n=2)]))
    r = run_cli("ask", "-T", "own.rendezvous", "--approve", "own", "meet", env=env_for(home, fake))
    assert r.returncode == 0, r.stderr
    results = [m["content"] for m in tool_messages(fake.chat_requests()[1].json)]
    assert results == ["met 2", "met 2"]  # each waited for the other: they ran at once


def test_off_a_terminal_unapproved_calls_are_declined(home: Path, fake: FakeOpenAI) -> None:
    fake.script(Reply(tool_calls=[call("own__echo", text="x"), call("own__add", a=1, b=1)]))
    r = run_cli("ask", "-T", "own", "--approve", "own.add", "go", env=env_for(home, fake))
    assert r.returncode == 0, r.stderr
    declined, ran = tool_messages(fake.chat_requests()[1].json)
    assert declined["content"] == "the user declined to run this tool call"
    assert ran["content"] == "2"
    assert "⚙ own.echo" in r.stderr and "declined" in r.stderr and "--approve own.echo" in r.stderr


def test_auto_approve_and_read_only_from_the_config(home: Path, fake: FakeOpenAI) -> None:
    config = '[defaults]\nauto_approve_read_only = true\nauto_approve = ["own.fail"]\n'
    fake.script(
        Reply(
            tool_calls=[
                call("own__echo", text="ro"),  # read-only: runs
                call("own__remove", path="/tmp/x"),  # destructive: declined
                call("own__fail", message="boom"),  # approved by name; fails
            ]
        )
    )
    r = run_cli("ask", "-T", "own", "--no-stream", "go", env=env_for(home, fake, config))
    assert r.returncode == 0, r.stderr
    assert fake.chat_requests()[0].json.get("stream") is None  # whole bodies carry calls too
    echo, remove, fail = (m["content"] for m in tool_messages(fake.chat_requests()[1].json))
    assert echo == "echo: ro"
    assert remove == "the user declined to run this tool call"
    assert "boom" in fail  # the tool's error is its result: the model can recover
    assert "⚙ own.fail" in r.stderr and "error:" in r.stderr


def test_profile_tools_are_on_by_default_and_none_turns_them_off(
    home: Path, fake: FakeOpenAI
) -> None:
    env = env_for(home, fake, '[defaults]\ntools = ["own.echo"]\n')
    assert run_cli("ask", "hi", env=env).returncode == 0
    assert run_cli("ask", "-T", "none", "hi", env=env).returncode == 0
    with_tools, without = fake.chat_requests()
    assert [t["function"]["name"] for t in with_tools.json["tools"]] == ["own__echo"]
    assert "tools" not in without.json


def test_timeout_and_output_limit(home: Path, fake: FakeOpenAI) -> None:
    config = "[defaults]\ntool_timeout = 1\ntool_output_limit = 300\n"
    fake.script(Reply(tool_calls=[call("own__slow", seconds=30), call("own__big", lines=5000)]))
    r = run_cli("ask", "-T", "own", "--approve", "own", "go", env=env_for(home, fake, config))
    assert r.returncode == 0, r.stderr
    slow, big = (m["content"] for m in tool_messages(fake.chat_requests()[1].json))
    assert slow == "the tool did not answer within 1 s"
    assert big.startswith("line 0: the quick brown fox")
    assert "[chatcli: the output was cut here: 300 of its" in big
    assert len(big) < 3000
    assert "cut to 300 of its" in r.stderr


def test_bad_calls_go_back_to_the_model(home: Path, fake: FakeOpenAI) -> None:
    fake.script(
        Reply(
            tool_calls=[
                {"name": "own__echo", "arguments": '{"text": "unterminated'},
                call("own__nonexistent"),
                call("time__get_current_time", timezone="UTC"),  # a server not turned on
            ]
        )
    )
    r = run_cli("ask", "-T", "own.echo", "--approve", "own", "go", env=env_for(home, fake))
    assert r.returncode == 0, r.stderr
    bad_json, unknown, not_on = (m["content"] for m in tool_messages(fake.chat_requests()[1].json))
    assert bad_json.startswith("the arguments are not valid JSON")
    assert unknown.startswith("there is no tool 'own__nonexistent' (tools: own__echo)")
    assert not_on.startswith("there is no tool 'time__get_current_time'")


def test_max_tool_rounds(home: Path, fake: FakeOpenAI) -> None:
    fake.script(
        Reply(tool_calls=[call("own__add", a=1, b=1)]),
        Reply(tool_calls=[call("own__add", a=2, b=2)]),
        Reply(text="done", tool_calls=[call("own__add", a=3, b=3)]),  # not made: choice none
    )
    r = run_cli(
        "ask", "-T", "own", "--approve", "own", "--max-tool-rounds", "1", "go",
        env=env_for(home, fake),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    _, second, third = fake.chat_requests()
    assert "tool_choice" not in second.json and third.json["tool_choice"] == "none"
    assert third.json["tools"] == second.json["tools"]  # still declared: the history has calls
    assert tool_messages(third.json)[-1]["content"].startswith("not run: the limit of 1")
    assert "1 tool round reached" in r.stderr
    assert r.stdout == "done\n"


def test_env_values_reach_the_server(home: Path, fake: FakeOpenAI) -> None:
    fake.script(Reply(tool_calls=[call("own__env", name="SECRET_FROM_ENV")]))
    r = run_cli(
        "ask", "-T", "own.env", "--approve", "own", "go",
        env=env_for(home, fake, TOOLS_TEST_SECRET="from the environment"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert tool_messages(fake.chat_requests()[1].json)[0]["content"] == "from the environment"


def test_a_server_that_fails_to_start_is_exit_3(home: Path, fake: FakeOpenAI) -> None:
    config = f"""
[mcp.servers.broken]
command = "{sys.executable}"
args = ["-m", "tests.fakes.mcp_tools", "--fail-start"]
cwd = "{Path(__file__).resolve().parent.parent}"
"""
    r = run_cli("ask", "-T", "broken", "hi", env=env_for(home, fake, config))
    assert r.returncode == 3
    assert "chatcli: error: MCP server broken (" in r.stderr
    assert "tests.fakes.mcp_tools --fail-start" in r.stderr
    assert "its last words: error: cannot open the database /nonexistent/db" in r.stderr
    assert "Traceback" not in r.stderr
    assert fake.chat_requests() == []  # nothing was sent, nothing paid


def test_a_server_that_never_answers_is_not_a_hang(home: Path, fake: FakeOpenAI) -> None:
    config = '[mcp.servers.mute]\ncommand = "sleep"\nargs = ["600"]\nstartup_timeout = 1\n'
    r = run_cli("ask", "-T", "mute", "hi", env=env_for(home, fake, config), timeout=60)
    assert r.returncode == 3
    assert "MCP server mute (sleep 600) did not answer within 1 s" in r.stderr


def test_unknown_tool_names_are_usage_errors(home: Path, fake: FakeOpenAI) -> None:
    env = env_for(home, fake)
    r = run_cli("ask", "-T", "nosuch", "hi", env=env)
    assert r.returncode == 2
    assert "no MCP server named 'nosuch' (servers: own, time)" in r.stderr
    r = run_cli("ask", "-T", "time.nosuch", "hi", env=env)
    assert r.returncode == 2
    assert "server time has no tool 'nosuch'" in r.stderr


def test_a_dying_server_is_restarted_once(home: Path, fake: FakeOpenAI, tmp_path: Path) -> None:
    """The call it died running is not sent again (it may have had effects); the next one
    runs on the server started again (tests/test_tools_audit.py has the rest)."""
    marker = str(tmp_path / "crashed-once")
    fake.script(
        Reply(tool_calls=[call("own__crash_once", marker=marker)]),
        Reply(tool_calls=[call("own__crash_once", marker=marker)]),
        Reply(tool_calls=[call("own__crash")]),
    )
    r = run_cli("ask", "-T", "own", "--approve", "own", "go", env=env_for(home, fake))
    assert r.returncode == 0, r.stderr
    requests = fake.chat_requests()
    died = tool_messages(requests[1].json)[0]["content"]
    assert "MCP server own stopped while running this call" in died
    assert tool_messages(requests[2].json)[-1]["content"] == "back after a restart"
    dead = tool_messages(requests[3].json)[-1]["content"]
    assert "MCP server own stopped" in dead
    assert "MCP server own stopped" in r.stderr


def test_an_endpoint_refusing_tools_is_a_clear_error(home: Path, fake: FakeOpenAI) -> None:
    fake.tools_mode = "refuse"
    r = run_cli("ask", "-T", "own", "hi", env=env_for(home, fake))
    assert r.returncode == 5
    assert "chatcli: error: the endpoint refused the tools it was sent" in r.stderr
    assert "hint: this endpoint or model does not take function calling" in r.stderr


def test_an_endpoint_dropping_tools_just_answers(home: Path, fake: FakeOpenAI) -> None:
    fake.tools_mode = "drop"
    fake.script(Reply(tool_calls=[call("own__echo", text="x")], text="plain answer"))
    r = run_cli("ask", "-T", "own", "hi", env=env_for(home, fake))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "plain answer\n"
    assert len(fake.chat_requests()) == 1


def test_the_session_carries_calls_across_continue(home: Path, fake: FakeOpenAI) -> None:
    env = env_for(home, fake)
    fake.script(Reply(tool_calls=[call("own__add", a=20, b=22)]))
    assert run_cli("ask", "-T", "own", "--approve", "own", "add", env=env).returncode == 0
    r = run_cli("ask", "-c", "and now?", env=env)  # no -T: the history still holds the calls
    assert r.returncode == 0, r.stderr
    last = fake.chat_requests()[-1].json
    roles = [m["role"] for m in last["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant", "user"]
    assert last["messages"][1]["tool_calls"][0]["function"]["name"] == "own__add"
    assert last["messages"][2]["content"] == "42"
    exported = run_cli("sessions", "export", "--format", "json", "--", latest(home), env=env)
    messages = json.loads(exported.stdout)["messages"]
    assert messages[1]["tool_calls"][0]["arguments"] == '{"a": 20, "b": 22}'
    assert messages[2]["tool_call_id"] == messages[1]["tool_calls"][0]["id"]
    assert messages[2]["tool"]["name"] == "own.add" and messages[2]["tool"]["approved"] is True


def latest(home: Path) -> str:
    row = Store.open(home / "data").latest_session()
    assert row is not None
    return row.name


PROBE = """
import json, sys
from chatcli.__main__ import run
code = run(sys.argv[1:])
print(json.dumps({"code": code, "mods": sorted(sys.modules)}))
"""


def test_ask_without_tools_imports_nothing_of_them(home: Path, fake: FakeOpenAI) -> None:
    env = env_for(home, fake, '[defaults]\nmodel = "gpt-4o-mini"\n')
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "ask", "hi"],
        capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["code"] == 0, proc.stderr
    loaded = [m for m in result["mods"] if m.startswith(("chatcli.features.tools", "mcp"))]
    assert loaded == []


def test_a_role_brings_its_tools(home: Path, fake: FakeOpenAI) -> None:
    config = '[roles.clock]\nsystem = "You tell the time."\ntools = ["time.get_current_time"]\n'
    r = run_cli("ask", "-r", "clock", "hi", env=env_for(home, fake, config))
    assert r.returncode == 0, r.stderr
    (body,) = (req.json for req in fake.chat_requests())
    assert [t["function"]["name"] for t in body["tools"]] == ["time__get_current_time"]


def test_a_spent_budget_refuses_before_any_mcp_server_starts(home: Path, fake: FakeOpenAI) -> None:
    """The turn's budget check comes before the toolbox opens: a server that cannot even
    start (``no-such-program``) is never tried when the budget is spent."""
    config = (
        '[defaults]\ndaily_budget_usd = 0.000001\n[mcp.servers.gone]\ncommand = "no-such-program"\n'
    )
    env = env_for(home, fake, config)
    assert run_cli("ask", "spend it", env=env).returncode == 0
    r = run_cli("ask", "-T", "gone", "hi", env=env)
    assert r.returncode == 1, r.stderr
    assert "daily budget" in r.stderr and "is spent" in r.stderr
    assert "no-such-program" not in r.stderr and len(fake.chat_requests()) == 1


def test_budgets_are_checked_before_every_round(home: Path, fake: FakeOpenAI) -> None:
    config = "[defaults]\ndaily_budget_usd = 0.000001\n"
    fake.script(Reply(tool_calls=[call("own__add", a=1, b=1)], prompt_tokens=1000))
    r = run_cli("ask", "-T", "own", "--approve", "own", "go", env=env_for(home, fake, config))
    assert r.returncode == 1
    assert "daily budget" in r.stderr and "is spent" in r.stderr
    assert len(fake.chat_requests()) == 1  # the second round was not sent
    assert "⚙ own.add" in r.stderr  # the call itself ran and is stored


def test_a_key_in_tool_arguments_and_results_is_never_stored_or_shown(
    home: Path, fake: FakeOpenAI
) -> None:
    """The model echoes the key into a call's arguments and the server echoes it back: the
    database, its journal, ``sessions show`` and ``sessions export`` hold only the masked key."""
    from tests.fakes import DEFAULT_API_KEY as key

    fake.script(Reply(tool_calls=[call("own__echo", text=f"my key is {key}")]), Reply("ok"))
    env = env_for(home, fake)
    r = run_cli("ask", "-T", "own", "--approve", "own", "--session", "leak", "echo it", env=env)
    assert r.returncode == 0, r.stderr
    shown = run_cli("sessions", "show", "leak", env=env).stdout
    exported = run_cli("sessions", "export", "leak", "--format", "json", env=env).stdout
    stored = b"".join(p.read_bytes() for p in (home / "data").iterdir() if p.is_file())
    assert "****" + key[-4:] in shown and "****" + key[-4:] in exported
    for text in (shown, exported, stored.decode("utf-8", "replace"), r.stdout, r.stderr):
        assert key not in text and key[3:-4] not in text
