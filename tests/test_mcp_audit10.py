"""MCP audit 10: a tool list in pages; an HTTP session that ends (404) is renewed and the call
sent again; more tools than the endpoint takes; VS Code's JSONC files imported; a value's
command failing on an unset variable names it; a JSON-RPC error reaches the model whole; the
command is looked for in its ``cwd`` and "not executable" said as such; an ``isError`` result
marked as an error for the model; an HTTP status during a call named.

Our own server (``tests/fakes/mcp_tools.py``) plays the ordinary one; a raw stdio server and a
small streamable-HTTP server (below) play the odd ones."""

from __future__ import annotations

import itertools
import json
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import Error, FakeOpenAI, Reply
from tests.tools_helpers import ROOT

pytestmark = pytest.mark.external  # MCP servers are real processes

RAW = r"""
import json, sys
MODE = sys.argv[1]
def send(m):
    sys.stdout.write(json.dumps(m) + "\n"); sys.stdout.flush()
def tool(name):
    return {"name": name, "description": name, "inputSchema": {"type": "object"}}
ISSUES = [{"code": "invalid_type", "expected": "string", "received": "undefined",
           "path": [f], "message": "Required"} for f in ("owner", "repo", "title")]
for line in sys.stdin:
    m = json.loads(line)
    rid, method, p = m.get("id"), m.get("method"), m.get("params") or {}
    if rid is None:
        continue
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": rid, "result": {"protocolVersion": "2025-06-18",
              "capabilities": {"tools": {}}, "serverInfo": {"name": "raw", "version": "1"}}})
    elif method == "tools/list":
        if MODE == "many":
            many = [tool(f"t{i}") for i in range(130)]
            send({"jsonrpc": "2.0", "id": rid, "result": {"tools": many}})
        elif MODE == "cursorloop":
            page = {"tools": [tool("t" + str(p.get("cursor", "")))], "nextCursor": "again"}
            send({"jsonrpc": "2.0", "id": rid, "result": page})
        else:
            names = ["zod", "huge", "iserr", "blank", "data"]
            send({"jsonrpc": "2.0", "id": rid, "result": {"tools": [tool(n) for n in names]}})
    elif method == "tools/call":
        name = p["name"]
        if name == "zod":
            text = "MCP error -32602: Invalid arguments for tool create_issue: "
            send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32602,
                  "message": text + json.dumps(ISSUES, indent=2)}})
        elif name == "huge":
            send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32603,
                  "message": "R" * 200000}})
        elif name == "data":
            send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32602,
                  "message": "Invalid params", "data": {"missing": ["owner", "repo"]}}})
        elif name == "iserr":
            send({"jsonrpc": "2.0", "id": rid, "result": {"content": [
                  {"type": "text", "text": "not found"}], "isError": True}})
        elif name == "blank":
            send({"jsonrpc": "2.0", "id": rid, "result": {"content": [], "isError": True}})
    else:
        send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "no"}})
"""


def raw_server(tmp_path: Path, name: str, mode: str) -> str:
    script = tmp_path / "raw.py"
    script.write_text(RAW)
    return f'[mcp.servers.{name}]\ncommand = "{sys.executable}"\nargs = ["{script}", "{mode}"]\n'


def own_server(name: str, *args: str) -> str:
    listed = ", ".join(json.dumps(a) for a in ["-m", "tests.fakes.mcp_tools", *args])
    return (
        f'[mcp.servers.{name}]\ncommand = "{sys.executable}"\nargs = [{listed}]\ncwd = "{ROOT}"\n'
    )


def env_for(home: Path, fake: FakeOpenAI, config: str, **extra: str) -> dict[str, str]:
    (home / "config.toml").write_text("[defaults]\ntool_timeout = 20\n" + config)
    return fake_env(home, fake, **extra)


def call(tool: str, **arguments: Any) -> dict[str, Any]:
    return {"name": tool, "arguments": arguments}


def results(fake: FakeOpenAI) -> list[str]:
    """The tool results the last request sent back, in order."""
    body = fake.chat_requests()[-1].json
    return [m["content"] for m in body["messages"] if m.get("role") == "tool"]


# a streamable-HTTP MCP server of the 2025-06-18 era, with sessions; the first path segment is
# its mode: "expire" ends a session after each tools/call (later requests of it: 404, as the
# SDK's servers answer), "always" answers 404 to every tools/call (its session ends there)


@dataclass
class Http:
    url: str
    log: list[tuple[str | None, str | None]] = field(default_factory=list)
    expired: set[str] = field(default_factory=set)
    sessions: Iterator[int] = field(default_factory=lambda: itertools.count(1))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: Http

    def log_message(self, *args: Any) -> None:
        pass

    def reply(self, code: int, body: Any, extra: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        ctype = "text/plain" if isinstance(body, bytes) else "application/json"
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def huge(self, size: int) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(size))
        self.end_headers()
        block = b"a" * (1 << 20)
        try:
            self.wfile.write(b'{"jsonrpc": "2.0", "pad": "')
            for _ in range(size >> 20):
                self.wfile.write(block)
        except OSError:  # the client stopped reading: what it should do
            pass

    def do_GET(self) -> None:
        self.reply(405, b"")

    def do_DELETE(self) -> None:
        self.reply(200, b"")

    def do_POST(self) -> None:
        mode = self.path.strip("/").split("/")[0]
        msg = json.loads(self.rfile.read(int(self.headers["content-length"])))
        method, rid, sid = msg.get("method"), msg.get("id"), self.headers.get("mcp-session-id")
        self.state.log.append((sid, method))
        gone = {
            "jsonrpc": "2.0",
            "id": rid,
            "error": {"code": -32001, "message": "Session not found"},
        }
        if sid in self.state.expired:
            return self.reply(404, gone)
        if rid is None:
            return self.reply(202, b"")
        if method == "initialize":
            result = {
                "protocolVersion": "2025-06-18",
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "h", "version": "1"},
            }
            session = {"mcp-session-id": f"s{next(self.state.sessions)}"}
            return self.reply(200, {"jsonrpc": "2.0", "id": rid, "result": result}, session)
        if method == "tools/list":
            tools = [{"name": n, "inputSchema": {"type": "object"}} for n in ("echo", "die500")]
            return self.reply(200, {"jsonrpc": "2.0", "id": rid, "result": {"tools": tools}})
        if method == "tools/call":
            if mode == "always" and sid is not None:
                self.state.expired.add(sid)
                return self.reply(404, gone)
            if mode == "expire" and sid is not None:
                self.state.expired.add(sid)
            if msg["params"]["name"] == "die500":
                return self.reply(500, b"oops")
            if mode == "huge":  # a JSON answer of 200 MiB, sent as fast as it is read
                return self.huge(200 << 20)
            if mode == "garbled":  # labelled JSON, cut short
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", "9")
                self.end_headers()
                self.wfile.write(b'{"oops": ')
                return None
            content = [{"type": "text", "text": "echo ok"}]
            return self.reply(200, {"jsonrpc": "2.0", "id": rid, "result": {"content": content}})
        error = {"code": -32601, "message": "Method not found"}
        return self.reply(200, {"jsonrpc": "2.0", "id": rid, "error": error})


@pytest.fixture
def http() -> Iterator[Http]:
    state = Http("")
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


# 1. a tool list in pages (nextCursor) is read whole


def test_a_tool_list_in_pages_is_read_whole(tmp_path: Path, fake: FakeOpenAI) -> None:
    env = env_for(tmp_path, fake, own_server("p", "--page-size", "5"))
    r = run_cli("mcp", "list", "p", env=env)
    assert r.returncode == 0, r.stderr
    assert "(12 tools)" in r.stdout and "p.surrogate" in r.stdout  # the last of 3 pages
    fake.script(Reply(tool_calls=[call("p__env", name="PATH")]), Reply(text="done"))
    r = run_cli("ask", "-T", "p", "--approve", "p", "go", env=env)
    assert r.returncode == 0, r.stderr
    assert len(fake.chat_requests()[0].json["tools"]) == 12


def test_a_tool_list_whose_pages_come_round_is_cut_with_a_warning(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    env = env_for(tmp_path, fake, raw_server(tmp_path, "loop", "cursorloop"))
    r = run_cli("mcp", "list", "loop", env=env)
    assert r.returncode == 0, r.stderr
    assert "(2 tools)" in r.stdout  # the first page, and the page of "again"
    assert (
        "chatcli: warning: the tool list of MCP server loop gives a page's cursor again; "
        "the 2 tools listed until then are used"
    ) in r.stderr


# 2. an HTTP session that ended (404) is renewed, and the call sent again on it


def test_an_ended_http_session_is_renewed_and_the_call_sent_again(
    tmp_path: Path, fake: FakeOpenAI, http: Http
) -> None:
    env = env_for(tmp_path, fake, f'[mcp.servers.exp]\nurl = "{http.url}/expire/mcp"\n')
    fake.script(*[Reply(tool_calls=[call("exp__echo")])] * 3, Reply(text="done"))
    r = run_cli("ask", "-T", "exp", "--approve", "exp", "go", env=env)
    assert r.returncode == 0, r.stderr
    requests = fake.chat_requests()
    said = [m["content"] for m in requests[-1].json["messages"] if m.get("role") == "tool"]
    assert said == ["echo ok"] * 3
    assert r.stderr.count("MCP server exp: its session ended (HTTP 404 Not Found); a new") == 2
    assert "exp.echo sent again on it (the server had not run it)" in r.stderr
    calls = [sid for sid, method in http.log if method == "tools/call"]
    assert calls == ["s1", "s1", "s2", "s2", "s3"]  # each 404 once, then on a new session


def test_a_session_that_ends_again_at_once_is_the_calls_error(
    tmp_path: Path, fake: FakeOpenAI, http: Http
) -> None:
    env = env_for(tmp_path, fake, f'[mcp.servers.gone]\nurl = "{http.url}/always/mcp"\n')
    fake.script(Reply(tool_calls=[call("gone__echo")]), Reply(text="done"))
    r = run_cli("ask", "-T", "gone", "--approve", "gone", "--json", "go", env=env)
    assert r.returncode == 0, r.stderr
    (result,) = results(fake)
    assert result.startswith("error: MCP server gone: its session ended (HTTP 404 Not Found)")
    assert result.endswith("and again on the new session")
    assert json.loads(r.stdout)["tool_calls"][0]["error"] is True
    assert [m for _, m in http.log].count("tools/call") == 2  # sent again once, not more


# 3. more tools than the endpoint takes


TOO_MANY = Error(
    400,
    "Invalid 'tools': array too long. Expected an array with maximum length 128, but got an "
    "array with length 142 instead.",
    "invalid_request_error",
    "array_above_max_length",
    param="tools",
)


def test_more_tools_than_the_endpoint_takes_gets_a_hint_naming_the_servers(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    config = raw_server(tmp_path, "many", "many") + own_server("own")
    fake.script(TOO_MANY)
    r = run_cli("ask", "-T", "many", "-T", "own", "go", env=env_for(tmp_path, fake, config))
    assert r.returncode == 5
    assert "array too long" in r.stderr
    hint = r.stderr.strip().splitlines()[-1]
    assert hint.startswith("hint: 142 tools were on (many 130, own 12); the endpoint takes")
    assert "-T SERVER.TOOL" in hint and "/tools off NAME" in hint
    assert "function calling" not in r.stderr and "model that supports tools" not in r.stderr


# 4. VS Code's mcp.json and settings.json are JSONC

VSCODE = """{
  // 💡 Inputs are prompted on first server start, then stored securely by VS Code.
  "servers": {
    "time": {
      "type": "stdio", /* the reference server */
      "command": "mcp-server-time",
      "args": ["--local-timezone", "Europe/Berlin",],
      "env": {"TZ_URL": "http://example.com/a//b"},
    },
  },
}
"""


def test_vscode_mcp_json_with_comments_and_trailing_commas_is_imported(tmp_path: Path) -> None:
    source = tmp_path / "mcp.json"
    source.write_text(VSCODE)
    config = tmp_path / "config.toml"
    env = {**os.environ, "CHATCLI_CONFIG": str(config)}
    r = run_cli("mcp", "import", str(source), env=env)
    assert r.returncode == 0, r.stderr
    text = config.read_text()
    assert "[mcp.servers.time]" in text and '"Europe/Berlin"' in text
    assert 'TZ_URL = "http://example.com/a//b"' in text  # a // inside a string is no comment


def test_vscode_settings_json_mcp_block_is_imported(tmp_path: Path) -> None:
    source = tmp_path / "settings.json"
    source.write_text(
        '{\n  "editor.fontSize": 14, // mine\n  "mcp": {\n    "servers": {\n'
        '      "fs": {"command": "npx", "args": ["-y", "server-fs"],\n'
        '             "env": {"ROOT": "${userHome}/x", "H": "${userHome}"}},\n'
        '      "ws": {"command": "npx", "env": {"DIR": "${workspaceFolder}"}},\n'
        "    },\n  },\n}\n"
    )
    config = tmp_path / "config.toml"
    env = {**os.environ, "CHATCLI_CONFIG": str(config)}
    r = run_cli("mcp", "import", str(source), env=env)
    assert r.returncode == 2  # ws is not imported, fs is
    assert 'server "ws": env.DIR holds ${workspaceFolder}, the editor\'s own variable' in (r.stderr)
    text = config.read_text()
    assert "[mcp.servers.fs]" in text and "[mcp.servers.ws]" not in text
    assert "${HOME:?}" in text and 'H = {env = "HOME"}' in text and "userHome" not in text


def test_a_file_that_is_not_json_still_says_so(tmp_path: Path) -> None:
    source = tmp_path / "mcp.json"
    source.write_text('{"servers": {/* never closed }')
    env = {**os.environ, "CHATCLI_CONFIG": str(tmp_path / "config.toml")}
    r = run_cli("mcp", "import", str(source), env=env)
    assert r.returncode == 2
    assert "is not JSON: Unterminated comment: line 1 column 14" in r.stderr


# 5. a value's command failing on an unset variable names it


def test_an_imported_value_failing_on_an_unset_variable_names_it(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    source = tmp_path / "cursor.json"
    source.write_text(
        '{"mcpServers": {"remote": {"url": "https://cursor.example.com/mcp",'
        ' "headers": {"Authorization": "Bearer ${env:AUDIT10_TOKEN}"}}}}'
    )
    env = env_for(tmp_path, fake, "")
    env.pop("AUDIT10_TOKEN", None)
    r = run_cli("mcp", "import", str(source), env=env)
    assert r.returncode == 0, r.stderr
    r = run_cli("mcp", "list", "remote", env=env)
    assert r.returncode == 3
    error, hint = r.stderr.strip().splitlines()
    assert error == (
        "chatcli: error: MCP server remote: environment variable AUDIT10_TOKEN is not set, or "
        "empty (needed by mcp.servers.remote.headers.Authorization)"
    )
    assert hint == "hint: set it (export AUDIT10_TOKEN=...), or change the value in the config"


def test_a_failing_value_command_is_shown_whole_to_run_by_hand(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    config = own_server("own") + 'env = { X = { cmd = "ls /no/such/dir/audit10" } }\n'
    r = run_cli("mcp", "list", "own", env=env_for(tmp_path, fake, config))
    assert r.returncode == 3
    error, hint = r.stderr.strip().splitlines()
    assert error.startswith("chatcli: error: MCP server own: the command of mcp.servers.own.env.X")
    assert hint == "hint: run it yourself to check: ls /no/such/dir/audit10"


# 6. a JSON-RPC error reaches the model whole, within tool_output_limit


def test_a_json_rpc_error_reaches_the_model_whole(tmp_path: Path, fake: FakeOpenAI) -> None:
    config = "tool_output_limit = 1000\n" + raw_server(tmp_path, "raw", "ok")
    fake.script(
        Reply(tool_calls=[call("raw__zod"), call("raw__data"), call("raw__huge")]),
        Reply(text="done"),
    )
    r = run_cli("ask", "-T", "raw", "--approve", "raw", "go", env=env_for(tmp_path, fake, config))
    assert r.returncode == 0, r.stderr
    zod, data, huge = results(fake)
    assert zod.startswith("error: MCP error -32602: Invalid arguments for tool create_issue: [\n")
    issues = json.loads(zod.split("create_issue: ", 1)[1])
    assert [i["path"] for i in issues] == [["owner"], ["repo"], ["title"]]  # all three
    assert data == 'error: Invalid params\ndata: {"missing": ["owner", "repo"]}'
    assert len(huge) > 1000 and "[chatcli: the output was cut here: 1,000 of its" in huge
    assert "the output of raw.huge was cut to 1,000 of its" in r.stderr


# 7. the command is looked for in its cwd; "not executable" is said as such


def test_a_command_relative_to_the_servers_cwd_is_found(tmp_path: Path, fake: FakeOpenAI) -> None:
    work = tmp_path / "srv"
    work.mkdir()
    script = work / "run.sh"
    script.write_text(
        f'#!/bin/sh\ncd "{ROOT}" && exec "{sys.executable}" -m tests.fakes.mcp_tools\n'
    )
    script.chmod(0o755)
    assert Path.cwd() != work
    config = f'[mcp.servers.rel]\ncommand = "./run.sh"\ncwd = "{work}"\n'
    r = run_cli("mcp", "list", "rel", env=env_for(tmp_path, fake, config))
    assert r.returncode == 0, r.stderr
    assert "(12 tools)" in r.stdout


def test_a_command_that_cannot_be_run_is_said_as_such(tmp_path: Path, fake: FakeOpenAI) -> None:
    plain = tmp_path / "plain.sh"
    plain.write_text("#!/bin/sh\n")
    plain.chmod(0o644)
    config = (
        f'[mcp.servers.ne]\ncommand = "{plain}"\n'
        f'[mcp.servers.d]\ncommand = "{tmp_path}"\n'
        f'[mcp.servers.rel]\ncommand = "./nope.sh"\ncwd = "{tmp_path}"\n'
    )
    env = env_for(tmp_path, fake, config)
    r = run_cli("mcp", "list", "ne", env=env)
    assert r.returncode == 3
    assert r.stderr.strip().splitlines() == [
        "chatcli: error: MCP server ne: the command is not executable (permission denied): "
        f"{plain}",
        "hint: make it executable (chmod +x), or fix command in [mcp.servers.ne]",
    ]
    r = run_cli("mcp", "list", "d", env=env)
    assert r.returncode == 3
    assert f"MCP server d: the command is a directory: {tmp_path}" in r.stderr
    assert "install it" not in r.stderr
    r = run_cli("mcp", "list", "rel", env=env)
    assert r.returncode == 3
    assert f"MCP server rel: command not found: ./nope.sh (in {tmp_path})" in r.stderr
    assert "hint: fix command or cwd in [mcp.servers.rel]" in r.stderr


# 8. an isError result is marked as an error for the model


def test_an_is_error_result_is_marked_as_an_error_for_the_model(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    config = raw_server(tmp_path, "raw", "ok") + own_server("own")
    fake.script(
        Reply(tool_calls=[call("raw__iserr"), call("raw__blank"), call("own__fail", message="no")]),
        Reply(text="done"),
    )
    r = run_cli("ask", "-T", "raw", "-T", "own", "--approve", "raw", "--approve", "own", "--json",
                "go", env=env_for(tmp_path, fake, config))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert results(fake) == [
        "error: not found",
        "error: the tool reported an error without saying what",
        "error: Error executing tool fail: no",
    ]
    assert "⚙ raw.iserr {} → error: not found," in r.stderr  # not "error: error:"
    assert [c["error"] for c in json.loads(r.stdout)["tool_calls"]] == [True] * 3


# 9. an HTTP status during a call is named


def test_an_http_error_status_during_a_call_is_named(
    tmp_path: Path, fake: FakeOpenAI, http: Http
) -> None:
    env = env_for(tmp_path, fake, f'[mcp.servers.hok]\nurl = "{http.url}/ok/mcp"\n')
    fake.script(Reply(tool_calls=[call("hok__die500")]), Reply(text="done"))
    r = run_cli("ask", "-T", "hok", "--approve", "hok", "go", env=env)
    assert r.returncode == 0, r.stderr
    assert results(fake) == ["error: the server answered HTTP 500 Internal Server Error"]
    assert "⚙ hok.die500 {} → error: the server answered HTTP 500 Internal Server Error" in (
        r.stderr
    )


def test_a_huge_http_answer_is_refused_at_its_cap_not_read_into_memory(
    tmp_path: Path, fake: FakeOpenAI, http: Http
) -> None:
    """The SDK reads a JSON answer whole: 100 MB took 1.5 GB (netmatrix audit 10, #3). The
    body is cut at ``MAX_HTTP_BODY`` and the call fails saying so; the model hears it."""
    env = env_for(tmp_path, fake, f'[mcp.servers.big]\nurl = "{http.url}/huge/mcp"\n')
    fake.script(Reply(tool_calls=[call("big__echo")]), Reply(text="done"))
    r = run_cli("ask", "-T", "big", "--approve", "big", "go", env=env)
    assert r.returncode == 0, r.stderr
    (said,) = results(fake)
    assert "over 64 MiB" in said, said


def test_an_answer_that_is_not_json_rpc_is_said_in_plain_words(
    tmp_path: Path, fake: FakeOpenAI, http: Http
) -> None:
    """The SDK's "Failed to parse JSON response: 1 validation error for union[...] ... For
    further information visit https://errors.pydantic.dev/..." reached the model and the
    screen (netmatrix audit 10, #8)."""
    env = env_for(tmp_path, fake, f'[mcp.servers.bad]\nurl = "{http.url}/garbled/mcp"\n')
    fake.script(Reply(tool_calls=[call("bad__echo")]), Reply(text="done"))
    r = run_cli("ask", "-T", "bad", "--approve", "bad", "go", env=env)
    assert r.returncode == 0, r.stderr
    (said,) = results(fake)
    assert said.startswith("error: the server's answer is not JSON-RPC (Invalid JSON: "), said
    assert "pydantic" not in said + r.stderr and "validation error" not in said + r.stderr
