"""MCP servers beyond stdio and beyond our fake: the reference ``mcp-server-git`` on a real
repository, our own server over streamable HTTP with a header from a command, and
``chatcli mcp list | import``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply
from tests.tools_helpers import http_server, servers_toml

pytestmark = pytest.mark.external  # real MCP servers


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    with http_server() as url:
        yield url


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=T", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (repo / "notes.txt").write_text("first note\n")
    subprocess.run([*git, "add", "notes.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "add the first note"], check=True)
    (repo / "notes.txt").write_text("first note\nsecond note\n")
    return repo


def setup(tmp_path: Path, fake: FakeOpenAI, repo: Path | None, web: str | None) -> dict[str, str]:
    (tmp_path / "config.toml").write_text(servers_toml(repo, web))
    return fake_env(tmp_path, fake, TOOLS_TEST_SECRET="s")


def tool_messages(body: dict[str, object]) -> list[str]:
    messages = body["messages"]
    assert isinstance(messages, list)
    return [m["content"] for m in messages if m.get("role") == "tool"]


def test_git_server_reads_a_real_repository(tmp_path: Path, fake: FakeOpenAI, repo: Path) -> None:
    env = setup(tmp_path, fake, repo, None)
    fake.script(
        Reply(
            tool_calls=[
                {"name": "git__git_log", "arguments": {"repo_path": str(repo)}},
                {"name": "git__git_diff_unstaged", "arguments": {"repo_path": str(repo)}},
            ]
        )
    )
    r = run_cli(
        "ask", "-T", "git.git_log", "-T", "git.git_diff_unstaged", "--approve", "git",
        "what changed?", env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    log, diff = tool_messages(fake.chat_requests()[1].json)
    assert "add the first note" in log
    assert "+second note" in diff
    assert "⚙ git.git_log" in r.stderr and "⚙ git.git_diff_unstaged" in r.stderr


def test_streamable_http_with_a_header_from_a_command(
    tmp_path: Path, fake: FakeOpenAI, web: str
) -> None:
    env = setup(tmp_path, fake, None, web)
    fake.script(Reply(tool_calls=[{"name": "web__add", "arguments": {"a": 40, "b": 2}}]))
    r = run_cli("ask", "-T", "web.add", "--approve", "web", "sum", env=env)
    assert r.returncode == 0, r.stderr
    assert tool_messages(fake.chat_requests()[1].json) == ["42"]
    assert "s3cret-token" not in r.stderr + r.stdout


def test_http_server_refusing_the_header_is_exit_3(tmp_path: Path, fake: FakeOpenAI) -> None:
    with http_server(token="another-token") as url:
        env = setup(tmp_path, fake, None, url)
        r = run_cli("ask", "-T", "web", "hi", env=env)
    assert r.returncode == 3
    assert f"chatcli: error: MCP server web ({url}) failed to start" in r.stderr
    assert "s3cret-token" not in r.stderr
    assert fake.chat_requests() == []


def test_mcp_list_shows_tools_and_hints(tmp_path: Path, fake: FakeOpenAI, repo: Path) -> None:
    env = setup(tmp_path, fake, repo, None)
    r = run_cli("mcp", "list", "time", "own", env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("time  ") and lines[0].endswith("(2 tools)")
    assert "  time.get_current_time  [read-only]  Get current time in a specific timezone" in lines
    assert any(line.startswith("  own.remove  [destructive]") for line in lines)
    r = run_cli("mcp", "list", "git", "--json", env=env)
    (entry,) = json.loads(r.stdout)
    names = {t["name"]: t for t in entry["tools"]}
    assert names["git.git_status"]["read_only"] is True
    assert names["git.git_reset"]["destructive"] is True
    assert entry["startup_s"] > 0


def test_mcp_list_reports_a_server_that_fails(tmp_path: Path, fake: FakeOpenAI) -> None:
    env = setup(tmp_path, fake, None, None)
    with (tmp_path / "config.toml").open("a") as fh:
        fh.write('\n[mcp.servers.gone]\ncommand = "no-such-mcp-server-anywhere"\n')
    r = run_cli("mcp", "list", env=env)
    assert r.returncode == 3
    assert "MCP server gone: command not found: no-such-mcp-server-anywhere" in r.stderr
    assert "time.get_current_time" in r.stdout  # the others are listed all the same


def test_mcp_import_reads_claude_desktop_json(tmp_path: Path, fake: FakeOpenAI) -> None:
    env = fake_env(tmp_path, fake)
    config = tmp_path / "config.toml"
    config.write_text('# my settings\n[defaults]\nmodel = "gpt-4o"\n')
    source = tmp_path / "claude_desktop_config.json"
    source.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "time": {"command": "uvx", "args": ["mcp-server-time"]},
                    "github api": {
                        "url": "https://api.example.com/mcp",
                        "headers": {"Authorization": "${env:GITHUB_TOKEN}"},
                    },
                    "files": {
                        "command": "npx",
                        "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],
                        "env": {"DEBUG": "1"},
                    },
                }
            }
        )
    )
    r = run_cli("mcp", "import", str(source), env=env)
    assert r.returncode == 0, r.stderr
    text = config.read_text()
    assert text.startswith("# my settings\n")  # edited in place
    assert '[mcp.servers.github-api]\nurl = "https://api.example.com/mcp"' in text
    assert 'headers = {Authorization = {env = "GITHUB_TOKEN"}}' in text
    assert 'env = {DEBUG = "1"}' in text
    assert "added [mcp.servers.time]: uvx mcp-server-time" in r.stderr
    again = run_cli("mcp", "import", str(source), env=env)
    assert "kept the existing [mcp.servers.time] (--force replaces it)" in again.stderr
    assert config.read_text() == text
    r = run_cli("config", "validate", env=env)
    assert r.returncode == 0, r.stderr


def test_bad_server_config_is_exit_3(tmp_path: Path, fake: FakeOpenAI) -> None:
    env = fake_env(tmp_path, fake)
    (tmp_path / "config.toml").write_text('[mcp.servers.x]\nargs = ["a"]\n')
    r = run_cli("ask", "hi", env=env)
    assert r.returncode == 3
    assert "[mcp.servers.x] needs either command (stdio) or url (HTTP)" in r.stderr
