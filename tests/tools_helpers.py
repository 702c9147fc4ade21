"""Config for tool tests: the reference MCP servers (mcp-server-time, mcp-server-git) and our
own (``tests/fakes/mcp_tools.py``) over stdio, and our own over streamable HTTP."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bin(name: str) -> str:
    """A console script of the test environment (beside this Python, else on PATH)."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def own_server(name: str) -> str:
    """``[mcp.servers.NAME]``: our own MCP server over stdio (``tests/fakes/mcp_tools.py``)."""
    return f"""
[mcp.servers.{name}]
command = "{sys.executable}"
args = ["-m", "tests.fakes.mcp_tools"]
cwd = "{ROOT}"
"""


def servers_toml(repo: Path | None = None, http_url: str | None = None) -> str:
    """``[mcp.servers.*]`` for time, own (stdio), and optionally git on ``repo`` and web."""
    text = f"""
[mcp.servers.time]
command = "{_bin("mcp-server-time")}"
args = ["--local-timezone", "UTC"]

[mcp.servers.own]
command = "{sys.executable}"
args = ["-m", "tests.fakes.mcp_tools"]
cwd = "{ROOT}"
env = {{ SECRET_FROM_ENV = {{ env = "TOOLS_TEST_SECRET" }}, PLAIN = "plain value" }}
"""
    if repo is not None:
        text += f"""
[mcp.servers.git]
command = "{_bin("mcp-server-git")}"
args = ["--repository", "{repo}"]
"""
    if http_url is not None:
        text += f"""
[mcp.servers.web]
url = "{http_url}"
headers = {{ Authorization = {{ cmd = "echo Bearer s3cret-token" }} }}
"""
    return text


@contextmanager
def http_server(token: str = "s3cret-token") -> Iterator[str]:
    """Our MCP server over streamable HTTP on a free loopback port; yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.mcp_tools", "--http", "--token", token],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
