"""Audit 10, area escapes: what is shown as what will run or what was configured makes hidden
characters visible (``⟨U+XXXX⟩``) instead of deleting them; a URL holding a control, space or
invisible character is a config error (exit 3) at validate and at use; a title is cleaned
before it is cut; a server's line breaks part words; an unknown finish reason is said.

The real CLI in process against the fake server; ``mcp list`` starts a real process
(``false``: it exits at once, so the server "fails to start" and is named)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from chatcli.features.shell import menu
from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, Error, FakeOpenAI, Reply

ESC, BEL = "\x1b", "\x07"
HIDDEN_ARG = f"mcp-notes-server{ESC}]0;x 2>/dev/null; touch PWNED #{BEL}"
"""An argument whose middle a terminal sanitizer would swallow whole, with its payload."""


def _write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


# -- 1. MCP: import refuses hidden characters; list and errors show them ------------------


def test_mcp_import_refuses_a_command_hiding_an_escape_sequence(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    _write_config(tmp_path, "")
    source = tmp_path / "mcp.json"
    servers = {
        "notes": {"command": "bash", "args": ["-c", HIDDEN_ARG]},
        "time": {"command": "uvx", "args": ["mcp-server-time"]},
    }
    source.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    r = run_cli("mcp", "import", str(source), env=env, tty=True)
    assert r.returncode == 2, r.stderr
    assert 'server "notes": args[1] holds characters a terminal would not show' in r.stderr
    assert "(⟨U+001B⟩, ⟨U+0007⟩)" in r.stderr
    assert "⟨U+001B⟩]0;x 2>/dev/null; touch PWNED #⟨U+0007⟩" in r.stderr  # all of it, seen
    assert "not imported" in r.stderr and ESC not in r.stderr
    text = (tmp_path / "config.toml").read_text(encoding="utf-8")
    assert "[mcp.servers.notes]" not in text  # the clean one is imported all the same
    assert "[mcp.servers.time]" in text and "added [mcp.servers.time]" in r.stderr


def test_mcp_import_refuses_hidden_characters_in_env_names_and_urls(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    _write_config(tmp_path, "")
    source = tmp_path / "mcp.json"
    servers = {
        "web": {"url": "https://mcp.example.com/mcp\u200b"},
        "files": {"command": "npx", "env": {f"PATH{ESC}[8m": "x"}},
    }
    source.write_text(json.dumps({"mcpServers": servers}), encoding="utf-8")
    r = run_cli("mcp", "import", str(source), env=env)
    assert r.returncode == 2
    assert 'server "web": url "https://mcp.example.com/mcp⟨U+200B⟩" holds ⟨U+200B⟩' in r.stderr
    assert 'server "files": env.PATH⟨U+001B⟩[8m holds characters' in r.stderr
    assert "[mcp.servers" not in (tmp_path / "config.toml").read_text(encoding="utf-8")


def test_mcp_list_and_config_show_a_configured_command_with_its_hidden_part_visible(
    tmp_path: Path,
) -> None:
    env = clean_env(tmp_path, OPENAI_API_KEY=DEFAULT_API_KEY)
    args = json.dumps(["-c", HIDDEN_ARG])  # JSON's \u001b is TOML's too
    _write_config(
        tmp_path, f'[mcp.servers.notes]\ncommand = "false"\nargs = {args}\nstartup_timeout = 5\n'
    )
    r = run_cli("mcp", "list", env=env, tty=True)
    assert r.returncode == 3
    shown = "false -c 'mcp-notes-server⟨U+001B⟩]0;x 2>/dev/null; touch PWNED #⟨U+0007⟩'"
    assert f"MCP server notes ({shown})" in r.stderr, r.stderr
    r = run_cli("config", "show", "--json", env=env, tty=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["mcp_servers"]["notes"] == shown


def test_a_configured_mcp_url_with_an_invisible_character_is_exit_3(tmp_path: Path) -> None:
    env = clean_env(tmp_path, OPENAI_API_KEY=DEFAULT_API_KEY)
    _write_config(tmp_path, '[mcp.servers.web]\nurl = "https://mcp.example.com/m\\u200bcp"\n')
    r = run_cli("config", "validate", env=env)
    assert r.returncode == 3
    assert "mcp.servers.web.url 'https://mcp.example.com/m\\u200bcp' holds ⟨U+200B⟩" in r.stderr


# -- config show / set: a command as it will run -------------------------------------------


def test_config_set_show_and_errors_show_an_api_key_cmd_with_its_hidden_part_visible(
    tmp_path: Path,
) -> None:
    env = clean_env(tmp_path)
    run_cli("config", "set", "profiles.x.type", "relay", env=env)
    run_cli("config", "set", "profiles.x.base_url", "http://127.0.0.1:9/v1", env=env)
    cmd = f"exit 7 #{ESC}]0;x; touch PWNED #{BEL}"  # harmless: all of it after # is a comment
    shown = "exit 7 #⟨U+001B⟩]0;x; touch PWNED #⟨U+0007⟩"
    r = run_cli("config", "set", "profiles.x.api_key_cmd", cmd, env=env, tty=True)
    assert r.returncode == 0, r.stderr
    assert f"= {shown} in" in r.stderr
    r = run_cli("config", "show", "-p", "x", env=env, tty=True)
    assert f"api_key_cmd  {shown}" in r.stdout, r.stdout
    r = run_cli("ask", "--no-log", "-p", "x", "hi", env=env, tty=True)
    assert r.returncode == 3
    assert f"hint: run it yourself to check: {shown}\n" in r.stderr, r.stderr


# -- cmd: the command printed on a terminal -----------------------------------------------


def test_cmd_without_a_menu_prints_hidden_characters_visibly_on_a_terminal(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(menu.Tty, "open", classmethod(lambda cls, env: None))  # no keys
    fake.script(Reply(text="ls\u2066 -la\u2069"), Reply(text="ls\u2066 -la\u2069"))
    r = run_cli("cmd", "--shell", "bash", "x", env=fake_env(tmp_path, fake), tty=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ls⟨U+2066⟩ -la⟨U+2069⟩\n"
    r = run_cli("cmd", "--shell", "bash", "x", env=fake_env(tmp_path, fake))
    assert r.stdout == "ls\u2066 -la\u2069\n"  # a pipe gets the command as it is


# -- 2. URLs holding control, space or invisible characters: exit 3 ------------------------


def test_a_base_url_with_a_control_character_is_refused_at_validate_and_use(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    _write_config(
        tmp_path,
        f'[profiles.bad]\ntype = "relay"\nbase_url = "{fake.base_url}\\u0007"\n'
        f'api_key = "{DEFAULT_API_KEY}"\n',
    )
    env = clean_env(tmp_path)
    r = run_cli("config", "validate", env=env)
    assert r.returncode == 3
    assert "profiles.bad.base_url" in r.stderr and "holds ⟨U+0007⟩" in r.stderr
    for args in (("ask", "--no-log", "-p", "bad", "hi"), ("models", "-p", "bad")):
        r = run_cli(*args, env=env)
        assert r.returncode == 3, (args, r.stderr)
        assert "holds ⟨U+0007⟩" in r.stderr and "unexpected" not in r.stderr
    r = run_cli("doctor", "-p", "bad", env=env)  # a failed check, said as such
    assert "[FAIL] config" in r.stdout and "holds ⟨U+0007⟩" in r.stdout
    assert "[ok ] reachable" not in r.stdout and "unexpected" not in r.stdout + r.stderr
    assert fake.chat_requests() == []


@pytest.mark.parametrize("odd", ["\x7f", "\x01", "\u200b", "/\u202ev1"])
def test_openai_base_url_with_a_hidden_character_is_exit_3(
    tmp_path: Path, fake: FakeOpenAI, odd: str
) -> None:
    env = fake_env(tmp_path, fake, OPENAI_BASE_URL=fake.base_url + odd)
    point = f"⟨U+{ord(odd.strip('/v1')):04X}⟩"
    r = run_cli("ask", "--no-log", "hi", env=env)
    assert r.returncode == 3, r.stderr
    assert f"env OPENAI_BASE_URL: {fake.base_url + odd!r} holds {point}" in r.stderr
    r = run_cli("config", "validate", env=env)  # no config file: the zero-config rules
    assert r.returncode == 3 and f"holds {point}" in r.stderr
    assert fake.chat_requests() == []


def test_whitespace_around_a_base_url_is_still_forgiven(tmp_path: Path, fake: FakeOpenAI) -> None:
    for padded in (f"{fake.base_url}\n", f" {fake.base_url}\u3000"):
        env = fake_env(tmp_path, fake, OPENAI_BASE_URL=padded)
        r = run_cli("ask", "--no-log", "hi", env=env)
        assert r.returncode == 0, r.stderr


def test_an_endpoint_or_proxy_with_a_newline_is_a_config_error(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    root = fake.base_url.removesuffix("/v1")
    _write_config(
        tmp_path,
        f'[profiles.az]\ntype = "azure"\nendpoint = "{root}\\n"\n'
        f'api_key = "{DEFAULT_API_KEY}"\napi_version = "2024-10-21"\n'
        f'[profiles.r]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\nproxy = "http://127.0.0.1:9 "\n',
    )
    env = clean_env(tmp_path)
    r = run_cli("config", "validate", env=env)
    assert r.returncode == 3
    assert "profiles.az.endpoint" in r.stderr and "holds ⟨U+000A⟩" in r.stderr
    assert "profiles.r.proxy" in r.stderr and "holds ⟨U+0020⟩" in r.stderr
    r = run_cli("ask", "--no-log", "-p", "az", "-m", "gpt-4o-mini", "hi", env=env)
    assert r.returncode == 3 and "unexpected" not in r.stderr


# -- 3. titles and snippets: cleaned before they are cut ----------------------------------


def test_a_title_and_a_search_snippet_are_cleaned_before_they_are_cut(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    env = fake_env(tmp_path, fake)
    link = f"{ESC}]8;;http://evil.example/some/long/path{BEL}LINK{ESC}]8;;{BEL}"
    question = "question " * 6 + link
    fake.script(Reply(text="ok"), Reply(text="ok"))
    assert run_cli("ask", "--session", "s1", question, env=env).returncode == 0
    body = "Body about dogs " + "x" * 20 + f" {ESC}]8;;http://evil.example/{'p' * 80}{BEL}LINK"
    assert run_cli("ask", "--session", "s2", body, env=env).returncode == 0
    db = sqlite3.connect(tmp_path / "data" / "chatcli.db")
    (title,) = db.execute("SELECT title FROM sessions WHERE name = 's1'").fetchone()
    db.close()
    assert title == "question question question question question question LINK"
    for shown in (run_cli("sessions", "list", env=env).stdout,
                  run_cli("sessions", "list", env=env, tty=True).stdout):  # fmt: skip
        assert "question question question question question question LINK" in shown
        assert "8;;" not in shown and "evil" not in shown
    for tty in (False, True):
        found = run_cli("sessions", "search", "dogs", env=env, tty=tty)
        assert found.returncode == 0, found.stderr
        assert "Body about dogs" in found.stdout
        assert "8;;" not in found.stdout and "evil" not in found.stdout and ESC not in found.stdout


# -- 4. smaller ones ----------------------------------------------------------------------


def test_line_breaks_in_a_server_error_part_the_words(tmp_path: Path, fake: FakeOpenAI) -> None:
    fake.script(Error(400, "alpha\u0085beta\x0bgamma\x0cdelta\repsilon", "invalid_request_error"))
    r = run_cli("ask", "--no-log", "hi", env=fake_env(tmp_path, fake))
    assert r.returncode != 0
    assert "alpha beta gamma delta epsilon" in r.stderr, r.stderr


@pytest.mark.parametrize("stream", [True, False])
def test_an_unknown_finish_reason_is_said(tmp_path: Path, fake: FakeOpenAI, stream: bool) -> None:
    fake.script(Reply(text="hello", finish_reason=f"weird{ESC}[2J"))
    flags = [] if stream else ["--no-stream"]
    r = run_cli("ask", "--no-log", *flags, "hi", env=fake_env(tmp_path, fake), tty=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("hello")
    assert "finish_reason 'weird', which chatcli does not know: taken as finished" in r.stderr
    assert ESC + "[2J" not in r.stderr
    fake.script(Reply(text="hello"))
    r = run_cli("ask", "--no-log", *flags, "hi", env=fake_env(tmp_path, fake))
    assert r.returncode == 0 and "finish_reason" not in r.stderr
