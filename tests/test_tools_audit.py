"""Tools audit 7: what a server's error answer, death, unreadable reply or stuck start comes
to; turning a dead server off and on; ``--approve`` without ``-T``; ``mcp import`` of odd
files into odd configs; ``mcp list`` of an HTTP server answering 401, its start time and its
one-line failures. Our own MCP server (``tests/fakes/mcp_tools.py``) plays every server."""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatcli.errors import ConfigError
from chatcli.features.tools.approval import Approval
from chatcli.features.tools.mcp import Dead, Hub
from chatcli.features.tools.toolbox import Toolbox
from chatcli.settings.loading import load
from chatcli.settings.mcp import McpServer
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply
from tests.tools_helpers import ROOT, http_server, own_server

pytestmark = pytest.mark.external  # real MCP servers


def call(tool: str, **arguments: Any) -> dict[str, Any]:
    return {"name": tool, "arguments": arguments}


def results(fake: FakeOpenAI) -> list[str]:
    """The tool results the last request sent back, in order."""
    body = fake.chat_requests()[-1].json
    return [m["content"] for m in body["messages"] if m.get("role") == "tool"]


def env_for(home: Path, fake: FakeOpenAI, config: str = "", **extra: str) -> dict[str, str]:
    (home / "config.toml").write_text(config + own_server("t"))
    return fake_env(home, fake, **extra)


OWN = McpServer("t", command=sys.executable, args=("-m", "tests.fakes.mcp_tools"), cwd=str(ROOT))


# 1. an error answer is the tool's result; a call is never sent twice


def test_an_error_answer_is_the_result_and_the_call_runs_once(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    log = tmp_path / "calls.log"
    fake.script(
        Reply(
            tool_calls=[call("t__rpc_error", code=-32000, message="quota exceeded", log=str(log))]
        ),
        Reply(
            tool_calls=[
                call(
                    "t__rpc_error", code=-32603, message="the receipt store is closed", log=str(log)
                )
            ]
        ),
        Reply(
            tool_calls=[
                call("t__rpc_error", code=-32000, message="Connection closed", log=str(log))
            ]
        ),
        Reply(tool_calls=[call("t__echo", text="still here")]),
    )
    r = run_cli("ask", "-T", "t", "--approve", "t", "pay", env=env_for(tmp_path, fake))
    assert r.returncode == 0, r.stderr
    assert log.read_text() == "called\n" * 3  # each call ran once: none was sent again
    quota, closed, connection, echo = results(fake)
    assert "quota exceeded" in quota and "stopped" not in quota
    assert "the receipt store is closed" in closed and "stopped" not in closed
    assert "Connection closed" in connection and "stopped" not in connection
    assert echo == "echo: still here"
    assert "stopped" not in r.stderr


def test_a_call_its_server_dies_during_is_not_sent_again(tmp_path: Path, fake: FakeOpenAI) -> None:
    marker = tmp_path / "crashed-once"
    fake.script(
        Reply(tool_calls=[call("t__crash_once", marker=str(marker))]),  # dies while running it
        Reply(tool_calls=[call("t__crash_once", marker=str(marker))]),  # started again: answers
        Reply(tool_calls=[call("t__crash")]),  # dies again
        Reply(tool_calls=[call("t__echo", text="x")]),  # not started a third time
    )
    r = run_cli("ask", "-T", "t", "--approve", "t", "go", env=env_for(tmp_path, fake))
    assert r.returncode == 0, r.stderr
    died, back, again, gone = results(fake)
    assert "MCP server t stopped while running this call" in died
    assert "may have had effects, so it was not sent again" in died
    assert "it is started again for the next call" in died
    assert back == "back after a restart"  # the crashed call was not resent: this one ran
    assert "MCP server t stopped while running this call" in again
    assert "it is not started again" in again
    assert "MCP server t stopped" in gone and "already started again once" in gone


# 6. a server that died comes back when turned off and on


def test_a_dead_server_comes_back_when_turned_off_and_on() -> None:
    box = Toolbox({"t": OWN}, Approval(frozenset({"t"})))
    try:
        box.enable(["t"])
        crash, echo = box.enabled["t.crash"], box.enabled["t.echo"]
        for _ in range(2):  # dies, is started again, dies again
            with pytest.raises(Dead, match="stopped while running this call"):
                box.hub.call(crash, {}, 10)
        with pytest.raises(Dead, match="already started again once"):
            box.hub.call(echo, {"text": "x"}, 10)
        assert [t.qualified for t in box.disable("t")][:2] == ["t.echo", "t.add"]
        assert not box.hub.running("t")  # turned off: stopped
        box.enable(["t"])
        assert box.hub.call(echo, {"text": "back"}, 10).text == "echo: back"
        with pytest.raises(Dead, match="it is started again for the next call"):
            box.hub.call(crash, {}, 10)  # its one restart is its own again
        assert box.hub.call(echo, {"text": "again"}, 10).text == "echo: again"
    finally:
        box.close()


# 7. --approve naming an unknown server is exit 2 without -T too


def test_approving_an_unknown_server_without_tools_is_exit_2(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    env = env_for(tmp_path, fake)
    r = run_cli("ask", "--approve", "nosuch", "hi", env=env)
    assert r.returncode == 2
    assert "cannot approve 'nosuch': no MCP server named 'nosuch' (servers: t)" in r.stderr
    assert fake.chat_requests() == []
    r = run_cli("ask", "--approve", "t.whatever", "hi", env=env)  # a tool: known once started
    assert r.returncode == 0, r.stderr


def test_chat_refuses_an_unknown_approve_server_before_its_prompt(
    tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not minutes later, at ``/tools on``, where it blocked every server."""
    from chatcli.errors import UsageError
    from chatcli.settings.resolve import ChatFlags
    from tests.test_repl import Chat

    env_for(tmp_path, fake)  # the config with server t
    with pytest.raises(UsageError, match="cannot approve 'nosuch'"):
        Chat(tmp_path, fake, monkeypatch).run("/tools on t\r", opts=ChatFlags(approve=("nosuch",)))


# 8 and 9. mcp import


def test_import_into_a_malformed_config_is_exit_3_with_its_position(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    source = tmp_path / "two.json"
    source.write_text('{"mcpServers": {"time": {"command": "mcp-server-time"}}}')
    cases = {
        'mcp = "oops"\n': ":1:1: mcp must be a table",
        "[profiles.x\n": "invalid TOML",
        "[mcp]\nservers = 5\n": ":2:1: mcp.servers must be a table",
    }
    for text, said in cases.items():
        config = tmp_path / "config.toml"
        config.write_text(text)
        r = run_cli("mcp", "import", str(source), env=fake_env(tmp_path, fake))
        assert r.returncode == 3, r.stderr
        assert f"chatcli: error: {config}" in r.stderr and said in r.stderr
        assert "unexpected" not in r.stderr
        assert config.read_text() == text


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ({"command": "x", "env": ["A=1"]}, 'server "a": env must be an object of NAME: value'),
        ({"url": "https://x.example/mcp", "headers": "k: v"}, 'server "a": headers must be an'),
        ({"command": "x", "args": [{"a": 1}]}, 'server "a": args[0] must be text, not an object'),
        ({"command": "x", "env": {"A": [1]}}, 'server "a": env.A must be text, not an array'),
        ({"command": 5}, 'server "a": command must be a program'),
        ({"url": "ftp://x"}, 'server "a": url "ftp://x" is not an http(s) URL'),
        ({"type": "sse", "url": "https://x.example/sse"}, 'server "a": type is "sse"'),
        (
            {"command": "x", "env": {"T": "${input:token}"}},
            'server "a": env.T holds ${input:token}',
        ),
        (
            {"command": "x", "args": ["--token", "${env:TOK}"]},
            'server "a": args[1] holds ${env:TOK}',
        ),
    ],
)
def test_import_refuses_what_cannot_work_naming_the_file_the_server_and_the_key(
    tmp_path: Path, fake: FakeOpenAI, spec: dict[str, Any], said: str
) -> None:
    source = tmp_path / "odd.json"
    source.write_text(json.dumps({"mcpServers": {"a": spec, "ok": {"command": "y"}}}))
    config = tmp_path / "config.toml"
    r = run_cli("mcp", "import", str(source), env=fake_env(tmp_path, fake))
    assert r.returncode == 2, r.stderr
    assert f"chatcli: error: {source}: {said}" in r.stderr
    assert "not imported" in r.stderr and "toml:" not in r.stderr and "unexpected" not in r.stderr
    assert "added [mcp.servers.ok]: y" in r.stderr  # the others are imported
    assert "[mcp.servers.a]" not in config.read_text()


def test_import_turns_values_into_ones_that_work(tmp_path: Path, fake: FakeOpenAI) -> None:
    source = tmp_path / "vs.json"
    servers = {
        "gh": {
            "type": "http",
            "url": "https://api.example.com/mcp",
            "headers": {"Authorization": "Bearer ${env:GH_TOKEN}", "X-Whole": "${GH_TOKEN}"},
        },
        "s": {"command": "x", "args": "--flag 'two words'", "env": {"A": None, "B": True, "C": 1}},
    }
    source.write_text(json.dumps({"servers": servers}))
    r = run_cli("mcp", "import", str(source), env=fake_env(tmp_path, fake))
    assert r.returncode == 0, r.stderr
    assert 'server "s": args is one string: split as a shell would' in r.stderr
    assert 'server "s": env.A is null: left out' in r.stderr
    assert "failing when GH_TOKEN is unset" in r.stderr
    config = load(tmp_path / "config.toml").mcp_servers
    assert config["s"].args == ("--flag", "two words")
    assert {k: v.value() for k, v in config["s"].env.items()} == {"B": "true", "C": "1"}
    headers = config["gh"].headers
    os.environ["GH_TOKEN"] = "tok 1$`\"'"
    try:
        assert headers["Authorization"].value() == "Bearer tok 1$`\"'"
        assert headers["X-Whole"].env == "GH_TOKEN"
    finally:
        del os.environ["GH_TOKEN"]
    with pytest.raises(ConfigError):  # a variable that is not set is an error, not "Bearer "
        headers["Authorization"].value()


# 10 and 18. mcp list: an HTTP server answering 401, the start time, one-line failures


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    with http_server(token="s3cret") as url:
        yield url


def test_an_http_server_answering_401_is_named_with_its_status(
    tmp_path: Path, fake: FakeOpenAI, web: str
) -> None:
    (tmp_path / "config.toml").write_text(f'[mcp.servers.web]\nurl = "{web}"\n')
    r = run_cli("mcp", "list", "web", env=fake_env(tmp_path, fake))
    assert r.returncode == 3
    error, hint = r.stderr.splitlines()  # one error line and one hint line
    said = f"MCP server web ({web}) failed to start: it answered HTTP 401 Unauthorized"
    assert error == f"chatcli: error: {said}"
    assert hint.startswith("hint: the server refused the credentials: check headers in")
    r = run_cli("mcp", "list", "web", "--debug", env=fake_env(tmp_path, fake))
    assert "HTTP 401" in r.stderr


def test_an_imported_bearer_header_reaches_the_server(
    tmp_path: Path, fake: FakeOpenAI, web: str
) -> None:
    source = tmp_path / "web.json"
    header = {"Authorization": "Bearer ${env:TOK}"}
    source.write_text(json.dumps({"servers": {"web": {"url": web, "headers": header}}}))
    assert run_cli("mcp", "import", str(source), env=fake_env(tmp_path, fake)).returncode == 0
    r = run_cli("mcp", "list", "web", env=fake_env(tmp_path, fake, TOK="s3cret"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith(f"web  {web}  started in ")


def test_mcp_list_shows_the_start_time_and_fails_in_two_lines(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    config = '[mcp.servers.gone]\ncommand = "no-such-mcp-server-anywhere"\n'
    env = env_for(tmp_path, fake, config)
    r = run_cli("mcp", "list", "t", env=env)
    assert r.returncode == 0, r.stderr
    first = r.stdout.splitlines()[0]
    assert first.startswith("t  ") and " started in " in first and first.endswith(" tools)")
    r = run_cli("mcp", "list", env=env)
    assert r.returncode == 3
    assert r.stderr.splitlines() == [
        "chatcli: error: MCP server gone: command not found: no-such-mcp-server-anywhere",
        "hint: install it, or fix command in [mcp.servers.gone]",
    ]
    assert "  t.echo  [read-only]  Say the text back." in r.stdout  # the others still listed


# 11 and 12. a start that does not finish is stopped, quietly


@pytest.fixture
def stuck() -> Iterator[str]:
    """A ``sleep`` that never answers its start, with an argument no other process has; what
    a test leaves of it is killed (by pid) afterwards."""
    seconds = f"{3600 + uuid.uuid4().int % 100000}"
    yield seconds
    for pid in _running(seconds):
        os.kill(pid, signal.SIGKILL)


def _running(seconds: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", f"^sleep {seconds}$"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def test_a_server_that_does_not_start_is_stopped_not_orphaned(
    tmp_path: Path, fake: FakeOpenAI, stuck: str
) -> None:
    config = f'[mcp.servers.stuck]\ncommand = "sleep"\nargs = ["{stuck}"]\nstartup_timeout = 1\n'
    env = env_for(tmp_path, fake, config)
    for args in (["ask", "-T", "stuck", "hi"], ["mcp", "list", "stuck"]):
        r = run_cli(*args, env=env)
        assert r.returncode == 3
        assert "MCP server stuck (sleep " in r.stderr and "did not answer within 1 s" in r.stderr
        assert _running(stuck) == []  # stopped before chatcli gave up
    assert fake.chat_requests() == []


def test_a_start_that_timed_out_leaves_no_asyncio_noise(stuck: str) -> None:
    """As in the REPL: the hub stays open after a start timed out (``/tools on``)."""
    said: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said.append(record.getMessage())

    catch = Catch()
    logging.getLogger("asyncio").addHandler(catch)
    hub = Hub()
    try:
        with pytest.raises(ConfigError, match="did not answer within 1 s"):
            hub.start(McpServer("stuck", command="sleep", args=(stuck,), startup_timeout=1))
        deadline = time.monotonic() + 15
        while _running(stuck) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # the connection's task ends after its process
        gc.collect()
        assert not [s for s in said if "never retrieved" in s]
    finally:
        hub.close()
        logging.getLogger("asyncio").removeHandler(catch)


# 17. a reply that cannot be read fails its call at once


def test_an_unreadable_reply_fails_its_call_at_once(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.script(
        Reply(tool_calls=[call("t__surrogate")]),
        Reply(tool_calls=[call("t__echo", text="after")]),
    )
    env = env_for(tmp_path, fake, "[defaults]\ntool_timeout = 20\n")
    started = time.monotonic()
    r = run_cli("ask", "-T", "t", "--approve", "t", "--debug", "go", env=env)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - started < 15  # not the tool_timeout
    unreadable, after = results(fake)
    assert "MCP server t sent a reply that could not be read" in unreadable
    assert after == "echo: after"  # the server kept running
    logged = [ln for ln in r.stderr.splitlines() if "Failed to parse JSONRPC message" in ln]
    assert len(logged) == 1 and logged[0].startswith("mcp.client.stdio: ")
    assert "unexpected end of hex escape" in logged[0]  # the reason, on the same line
    assert "For further information visit" not in r.stderr.replace(logged[0], "")
