"""Tools audit 8: a server's reply that is not UTF-8, and a reader of its stdout that fails;
"[a]lways this tool" ending with its conversation; a tool listed without a usable input schema;
a server's stderr kept bounded; ``--approve SERVER.``; results of a kind chatcli cannot read,
without ``content``, or linking a resource; "1 tool round". A small hostile MCP server of our
own (below) plays the odd server, ``tests/fakes/mcp_tools.py`` the ordinary one."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatcli.features.tools import mcp
from chatcli.features.tools.mcp import Dead, Hub
from chatcli.settings.mcp import McpServer, Secret
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeControl, FakeOpenAI, Reply
from tests.tmux_helpers import Tmux, at_prompt, chat_tmux
from tests.tools_helpers import own_server

pytestmark = pytest.mark.external  # real MCP servers

HOSTILE = r"""
import json, os, sys, threading
lock = threading.Lock()
def send(m):
    with lock:
        sys.stdout.write(json.dumps(m) + "\n"); sys.stdout.flush()
def tool(name, schema=None):
    return {"name": name, "description": name, "inputSchema": schema or {"type": "object"}}
tools = [tool(n) for n in ("ok", "nonutf8", "flood", "weird", "nocontent", "mixed")]
if os.environ.get("NOSCHEMA"):
    tools.append({"name": "noschema", "description": "no input schema"})
    tools.append(tool("arrayschema", {"type": "array"}))
    tools.append(tool("badschema", {"type": "object", "properties": {"a": {"type": "strin"}}}))
def result(rid, content):
    send({"jsonrpc": "2.0", "id": rid, "result": {"content": content}})
def call(rid, name, args):
    if name == "nonutf8":
        line = b'{"jsonrpc": "2.0", "id": ' + json.dumps(rid).encode()
        line += b', "result": {"content": [{"type": "text", "text": "bad \xff\xfe bytes"}]}}\n'
        with lock:
            sys.stdout.buffer.write(line); sys.stdout.flush()
    elif name == "flood":
        for _ in range(int(args.get("mb", 1)) * 1024):
            sys.stderr.write("E" * 1023 + "\n")
        sys.stderr.write("the last line\n"); sys.stderr.flush()
        result(rid, [{"type": "text", "text": "flooded"}])
    elif name == "weird":
        result(rid, [{"type": "weird", "x": 1}])
    elif name == "nocontent":
        send({"jsonrpc": "2.0", "id": rid, "result": {"value": 42}})
    elif name == "mixed":
        result(rid, [{"type": "text", "text": "before"}, {"type": "hologram"},
                     {"type": "resource_link", "uri": "file:///srv/report.pdf", "name": "report"}])
    else:
        result(rid, [{"type": "text", "text": name + " ok"}])
with open(os.environ["HLOG"], "a") as fh:
    fh.write("start\n")
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    rid, method, p = m.get("id"), m.get("method"), m.get("params") or {}
    if rid is None or method is None:
        continue
    if method == "initialize":
        info = {"name": "h", "version": "1"}
        send({"jsonrpc": "2.0", "id": rid, "result": {"protocolVersion": "2025-06-18",
              "capabilities": {"tools": {}}, "serverInfo": info}})
    elif method == "tools/list":
        listed = "not a list" if os.environ.get("BADLIST") else tools
        send({"jsonrpc": "2.0", "id": rid, "result": {"tools": listed}})
    elif method == "tools/call":
        threading.Thread(target=call, args=(rid, p.get("name"), p.get("arguments") or {}),
                         daemon=True).start()
    else:
        send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "no"}})
"""


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """The hostile server's script (it notes each start in ``starts.log`` beside it)."""
    path = tmp_path / "hostile.py"
    path.write_text(HOSTILE)
    return path


def server_toml(name: str, script: Path, **env: str) -> str:
    values = ", ".join(f'{k} = "{v}"' for k, v in {"HLOG": starts(script), **env}.items())
    return f'[mcp.servers.{name}]\ncommand = "{sys.executable}"\nargs = ["{script}"]\n' + (
        f"env = {{ {values} }}\n"
    )


def starts(script: Path) -> Path:
    return script.parent / "starts.log"


def hostile_server(script: Path) -> McpServer:
    env = {"HLOG": Secret(text=str(starts(script)))}
    return McpServer("h", command=sys.executable, args=(str(script),), env=env)


def call(tool: str, **arguments: Any) -> dict[str, Any]:
    return {"name": tool, "arguments": arguments}


def results(fake: FakeOpenAI) -> list[str]:
    """The tool results the last request sent back, in order."""
    body = fake.chat_requests()[-1].json
    return [m["content"] for m in body["messages"] if m.get("role") == "tool"]


def env_for(home: Path, fake: FakeOpenAI, config: str) -> dict[str, str]:
    (home / "config.toml").write_text("[defaults]\ntool_timeout = 20\n" + config)
    return fake_env(home, fake)


# 5. a reply that is not UTF-8; a reader of the server's stdout that fails


def test_a_reply_that_is_not_utf8_is_read_and_the_server_goes_on(
    tmp_path: Path, fake: FakeOpenAI, hostile: Path
) -> None:
    fake.script(
        Reply(tool_calls=[call("h__nonutf8")]),
        Reply(tool_calls=[call("h__ok")]),
    )
    env = env_for(tmp_path, fake, server_toml("h", hostile))
    started = time.monotonic()
    r = run_cli("ask", "-T", "h", "--approve", "h", "go", env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - started < 15  # no call waited out tool_timeout (20 s)
    assert results(fake) == ["bad \ufffd\ufffd bytes", "ok ok"]
    assert "did not answer" not in r.stderr


def test_a_failed_stdout_reader_ends_the_connection_at_once(
    hostile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK's reader fails for real (bytes it is told to refuse): the call waiting learns at
    once that the server cannot answer, and the next call goes to the server started again."""
    monkeypatch.setattr(mcp, "DECODE_ERRORS", "strict", raising=False)
    hub = Hub()
    try:
        tools = {t.name: t for t in hub.start(hostile_server(hostile))}
        started = time.monotonic()
        with pytest.raises(Dead, match="stopped while running this call") as died:
            hub.call(tools["nonutf8"], {}, 20)
        assert time.monotonic() - started < 10, "waited for tool_timeout"
        assert "it is started again for the next call" in str(died.value)
        assert hub.call(tools["ok"], {}, 20).text == "ok ok"
        assert starts(hostile).read_text().count("start") == 2  # started again, once
    finally:
        hub.close()


# 6. "[a]lways this tool" belongs to one conversation

QUESTION = "run it? [y]es, [N]o, [a]lways this tool:"


@pytest.fixture
def term(server: str, tmp_path: Path) -> Iterator[Tmux]:
    (tmp_path / "config.toml").write_text(own_server("own"))
    with chat_tmux(server, tmp_path) as tmux:
        yield tmux


def echo_call(text: str) -> Reply:
    return Reply(tool_calls=[{"name": "own__echo", "arguments": {"text": text}}])


def send(term: Tmux, text: str) -> None:
    term.wait_for(at_prompt, timeout=90)
    term.type(text)
    term.keys("Enter")


@pytest.mark.terminal
def test_always_ends_with_the_conversation(term: Tmux, control: FakeControl) -> None:
    control.script(echo_call("one"), Reply(), echo_call("two"), Reply())
    control.script(echo_call("three"), Reply(), echo_call("four"), Reply())
    term.start([sys.executable, "-m", "chatcli", "chat", "-T", "own.echo"])
    send(term, "first")
    term.wait_for(lambda s: '"text": "one"' in s and s.rstrip().endswith(QUESTION), timeout=90)
    term.keys("a")
    term.wait_for("tools said: echo: one", scrollback=True)
    send(term, "second")  # the same conversation: no question
    term.wait_for("tools said: echo: two", scrollback=True)
    assert term.scrollback().count(QUESTION) == 1

    send(term, "/new")
    term.wait_for("asked about again here: own.echo", scrollback=True)
    send(term, "third")  # another conversation: asked again
    term.wait_for(lambda s: '"text": "three"' in s and s.rstrip().endswith(QUESTION))
    term.keys("a")
    term.wait_for("tools said: echo: three", scrollback=True)

    send(term, "/fork")
    term.wait_for("asked about again here: own.echo", scrollback=True)
    send(term, "fourth")
    term.wait_for(lambda s: '"text": "four"' in s and s.rstrip().endswith(QUESTION))
    term.keys("y")
    term.wait_for("tools said: echo: four", scrollback=True)
    assert term.scrollback().count(QUESTION) == 3
    term.wait_for(at_prompt)
    term.keys("C-d")
    assert term.wait_exit() == 0


# 8. a tool listed without a usable input schema is left out; the server starts


def test_a_tool_without_a_usable_schema_is_left_out_the_others_start(
    tmp_path: Path, fake: FakeOpenAI, hostile: Path
) -> None:
    env = env_for(tmp_path, fake, server_toml("nos", hostile, NOSCHEMA="1"))
    r = run_cli("mcp", "list", "nos", env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    warned = [ln for ln in r.stderr.splitlines() if ln.startswith("chatcli: warning:")]
    assert len(warned) == 3, r.stderr
    noschema, array, bad = warned
    assert "MCP server nos: tool 'noschema' left out: it has no input schema" in noschema
    assert "tool 'arrayschema' left out: its input schema is not usable" in array
    assert "tool 'badschema' left out: its input schema is not valid JSON Schema" in bad
    assert "nos.ok" in r.stdout and "nos.mixed" in r.stdout and "(6 tools)" in r.stdout
    assert "noschema" not in r.stdout
    assert "validation error" not in r.stderr and "run the command yourself" not in r.stderr

    fake.script(Reply(tool_calls=[call("nos__ok")]), Reply(text="done"))
    r = run_cli("ask", "-T", "nos", "--approve", "nos", "go", env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert results(fake) == ["ok ok"]
    names = [t["function"]["name"] for t in fake.chat_requests()[0].json["tools"]]
    assert "nos__ok" in names and "nos__noschema" not in names and len(names) == 6


def test_a_listing_that_cannot_be_read_is_said_in_one_readable_line(
    tmp_path: Path, fake: FakeOpenAI, hostile: Path
) -> None:
    env = env_for(tmp_path, fake, server_toml("bad", hostile, BADLIST="1"))
    r = run_cli("mcp", "list", "bad", env=env, timeout=60)
    assert r.returncode == 3
    error, hint = r.stderr.strip().splitlines()
    assert error.startswith("chatcli: error: MCP server bad (")
    assert "sent an answer that could not be read while starting (tools: " in error
    assert "For further information" not in r.stderr and "validation error" not in r.stderr
    assert hint.startswith("hint: ") and "run the command yourself" not in hint


# 9. a server's stderr is kept bounded


def _deleted_file_bytes() -> int:
    """Bytes of the files this process holds open that are deleted (a temporary file)."""
    total = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            st = os.stat(f"/proc/self/fd/{fd}")
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.endswith("(deleted)") and st.st_size and (st.st_mode & 0o170000) == 0o100000:
            total += st.st_size
    return total


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
def test_a_servers_stderr_is_kept_bounded(hostile: Path) -> None:
    before = _deleted_file_bytes()
    hub = Hub()
    try:
        tools = {t.name: t for t in hub.start(hostile_server(hostile))}
        assert hub.call(tools["flood"], {"mb": 8}, 60).text == "flooded"
        assert _deleted_file_bytes() - before < 1 << 20  # not 8 MiB in a temporary file
        link = hub._conns["h"].link  # its stderr as kept: the end of what it wrote
        assert link.errlog is not None
        deadline = time.monotonic() + 10  # the reply on stdout can overtake stderr's last bytes
        while not link.errlog.kept().endswith(b"the last line\n") and time.monotonic() < deadline:
            time.sleep(0.02)
        kept = link.errlog.kept()
        assert 0 < len(kept) <= 64 * 1024 and kept.endswith(b"the last line\n"), kept[-200:]
    finally:
        hub.close()


def test_a_failed_start_still_quotes_the_last_line_of_a_long_stderr(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    script = tmp_path / "dies.py"
    script.write_text(
        "import sys\nfor _ in range(4096): sys.stderr.write('x' * 1023 + '\\n')\n"
        "sys.stderr.write('fatal: no config\\n')\nsys.exit(1)\n"
    )
    config = f'[mcp.servers.d]\ncommand = "{sys.executable}"\nargs = ["{script}"]\n'
    r = run_cli("ask", "-T", "d", "hi", env=env_for(tmp_path, fake, config), timeout=60)
    assert r.returncode == 3
    assert "its last words: fatal: no config" in r.stderr


# 11. --approve SERVER. is the whole server, as -T SERVER. is


def test_approve_with_a_trailing_dot_approves_the_whole_server(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    fake.script(Reply(tool_calls=[call("t__echo", text="hi")]), Reply(text="done"))
    env = env_for(tmp_path, fake, own_server("t"))
    r = run_cli("ask", "-T", "t.", "--approve", "t.", "go", env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert results(fake) == ["echo: hi"]
    assert "declined" not in r.stderr


# 13. results chatcli cannot read; a resource link; "1 tool round"


def test_unreadable_results_reach_the_model_as_short_texts(
    tmp_path: Path, fake: FakeOpenAI, hostile: Path
) -> None:
    fake.script(
        Reply(tool_calls=[call("h__weird")]),
        Reply(tool_calls=[call("h__nocontent")]),
        Reply(tool_calls=[call("h__mixed")]),
        Reply(text="done"),
    )
    env = env_for(tmp_path, fake, server_toml("h", hostile))
    r = run_cli("ask", "-T", "h", "--approve", "h", "go", env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    weird, nocontent, mixed = results(fake)
    assert weird == "[unsupported result: weird]"
    assert nocontent == "[unsupported result: no content]"
    assert mixed.splitlines() == [
        "before",
        "[unsupported result: hologram]",
        "[resource link: report <file:///srv/report.pdf>]",
    ]
    assert "validation error" not in r.stderr and "error:" not in r.stderr


def test_one_tool_round_is_said_in_the_singular(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.script(
        Reply(tool_calls=[call("t__echo", text="a")]),
        Reply(tool_calls=[call("t__echo", text="b")]),  # past the limit: not run
        Reply(text="done"),
    )
    env = env_for(tmp_path, fake, own_server("t"))
    r = run_cli(
        "ask", "-T", "t", "--approve", "t", "--max-tool-rounds", "1", "go", env=env, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert "1 tool round reached (--max-tool-rounds)" in r.stderr
    assert "1 tool rounds" not in r.stderr
    assert results(fake)[-1].startswith("not run: the limit of 1 tool round per turn")
