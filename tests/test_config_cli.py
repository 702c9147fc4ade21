"""``chatcli config init | show | path | validate | set`` through the real CLI."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, run_cli

KEY = "sk-secret-value-abcdefgh12345678"


def test_show_zero_config_redacts_key_and_names_sources(tmp_path: Path) -> None:
    env = clean_env(tmp_path, OPENAI_API_KEY=KEY, OPENAI_BASE_URL="http://127.0.0.1:1/v1")
    result = run_cli("config", "show", env=env)
    assert result.returncode == 0, result.stderr
    assert KEY not in result.stdout + result.stderr
    assert "****5678" in result.stdout
    assert "implicit from the environment" in result.stdout
    data = json.loads(run_cli("config", "show", "--json", env=env).stdout)
    assert data["settings"]["api_key"] == {"value": "****5678", "source": "env OPENAI_API_KEY"}
    assert data["settings"]["base_url"]["source"] == "env OPENAI_BASE_URL"
    assert data["settings"]["model"] == {"value": "gpt-6-luna", "source": "built-in"}


def test_show_profile_flag_and_key_inside_command_redacted(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        "[defaults]\nmodel = 'gpt-4o'\n"
        f"[profiles.r]\ntype = 'relay'\nbase_url = 'http://x/v1'\napi_key_cmd = 'echo {KEY}'\n"
        "model = 'deepseek-chat'\n"
    )
    result = run_cli("config", "show", "-p", "r", "--json", env=clean_env(tmp_path))
    assert KEY not in result.stdout
    data = json.loads(result.stdout)
    assert data["profile"] == "r" and data["profile_source"] == "-p/--profile"
    assert data["settings"]["model"] == {"value": "deepseek-chat", "source": "[profiles.r]"}
    assert data["settings"]["timeout"]["source"] == "built-in"
    assert data["settings"]["api_key"]["value"] == "****5678"


def test_show_tool_settings_and_servers_without_their_secrets(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        "[defaults]\ntools = ['time']\nauto_approve_read_only = true\n"
        "[profiles.r]\ntype = 'relay'\nbase_url = 'http://x/v1'\napi_key = 'sk-abcdefgh1234'\n"
        "tool_timeout = 5\n"
        f"[mcp.servers.time]\ncommand = 'mcp-server-time'\nenv = {{ TOKEN = '{KEY}' }}\n"
        f"[mcp.servers.web]\nurl = 'https://mcp.example.com/mcp'\n"
        f"headers = {{ Authorization = 'Bearer {KEY}' }}\n"
    )
    (tmp_path / "config.toml").chmod(0o600)
    result = run_cli("config", "show", "--json", env=clean_env(tmp_path))
    assert KEY not in result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["settings"]["tools"] == {"value": ["time"], "source": "[defaults]"}
    assert data["settings"]["auto_approve_read_only"]["value"] is True
    assert data["settings"]["tool_timeout"] == {"value": 5.0, "source": "[profiles.r]"}
    assert "tool_output_limit" not in data["settings"]  # built-in defaults of tools: not shown
    assert data["mcp_servers"] == {
        "time": "mcp-server-time",
        "web": "https://mcp.example.com/mcp",
    }
    text = run_cli("config", "show", env=clean_env(tmp_path)).stdout
    assert "mcp servers   time, web" in text and KEY not in text


def test_path_and_validate(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    assert run_cli("config", "path", env=env).stdout == f"{tmp_path / 'config.toml'}\n"
    missing = run_cli("config", "validate", env=env)
    assert missing.returncode == 0 and "no config file there yet" in missing.stdout  # SPEC §1
    (tmp_path / "config.toml").write_text("[profiles.a]\ntype = 'openai'\napi_key = 'k'\n")
    ok = run_cli("config", "validate", env=env)
    assert ok.returncode == 0 and "OK (1 profile)" in ok.stdout
    (tmp_path / "config.toml").write_text("[profiles.a]\ntype = 'openai'\ncolour = 'red'\n")
    bad = run_cli("config", "validate", env=env)
    assert bad.returncode == 3
    assert f"{tmp_path / 'config.toml'}:3:1: profiles.a.colour: unknown key" in bad.stderr


def test_set_edits_validates_and_keeps_mode(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    path = tmp_path / "config.toml"
    bad_type = run_cli("config", "set", "profiles.r.type", "bedrock", env=env)
    assert bad_type.returncode == 3 and "unknown profile type 'bedrock'" in bad_type.stderr
    assert not path.exists()  # an invalid result is never written
    partial = run_cli("config", "set", "profiles.r.type", "relay", env=env)
    assert partial.returncode == 0 and "has no base_url; set that next" in partial.stderr
    nosuch = run_cli("config", "set", "default_profile", "nosuch", env=env)
    assert nosuch.returncode == 3 and "default_profile 'nosuch' is not a profile" in nosuch.stderr
    run_cli("config", "set", "default_profile", "r", env=env)
    for key, value in (
        ("profiles.r.base_url", "http://127.0.0.1:8/v1"),
        ("defaults.timeout", "30"),
        ("profiles.r.stream_usage", "false"),
        ('models."gpt-4o".input_price', "2.5"),
    ):
        result = run_cli("config", "set", key, value, env=env)
        assert result.returncode == 0, (key, result.stderr)
    data = tomllib.loads(path.read_text())
    assert data["profiles"]["r"] == {
        "base_url": "http://127.0.0.1:8/v1",
        "type": "relay",
        "stream_usage": False,
    }
    assert data["defaults"]["timeout"] == 30 and data["models"]["gpt-4o"]["input_price"] == 2.5
    bad = run_cli("config", "set", "defaults.timeout", "soon", env=env)
    assert bad.returncode == 3 and "timeout must be a number" in bad.stderr
    assert tomllib.loads(path.read_text())["defaults"]["timeout"] == 30
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _in_terminal(env: dict[str, str], answers: str, *args: str) -> tuple[int, str]:
    """Run chatcli with a pseudo-terminal as stdin, typing ``answers``; (exit code, stderr)."""
    import os
    import pty
    import subprocess
    import sys

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatcli", *args],
        stdin=slave, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    os.close(slave)
    os.write(master, answers.encode())
    _, err = proc.communicate(timeout=60)
    os.close(master)
    return proc.returncode, err


def test_init_asks_and_writes_a_valid_commented_config(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    answers = "relay\nmine\nhttp://127.0.0.1:9/v1\ncmd pass show relay\n\ngpt-4o\n"
    piped = run_cli("config", "init", env=env, input=answers)
    assert piped.returncode == 2 and "needs a terminal" in piped.stderr
    assert not (tmp_path / "config.toml").exists()
    code, err = _in_terminal(env, answers, "config", "init")
    assert code == 0, err
    path = tmp_path / "config.toml"
    text = path.read_text()
    assert text.startswith("# chatcli configuration")
    data = tomllib.loads(text)
    assert data["default_profile"] == "mine"
    assert data["profiles"]["mine"]["api_key_cmd"] == "pass show relay"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = run_cli("config", "init", env=env, input=answers)
    assert again.returncode == 2 and "already exists" in again.stderr


@pytest.mark.parametrize(
    "command", [["sessions", "list"], ["usage"], ["config", "path"], ["ask", "hi"]]
)
@pytest.mark.parametrize("before", [True, False])
def test_config_flag_naming_no_file_is_exit_3_for_every_command(
    tmp_path: Path, command: list[str], before: bool
) -> None:
    missing = str(tmp_path / "missing.toml")
    flag = ["--config", missing]
    args = [*flag, *command] if before else [*command, *flag]
    result = run_cli(*args, env=clean_env(tmp_path, OPENAI_API_KEY="sk-test-0000000000"))
    assert result.returncode == 3
    assert f"config file {missing} does not exist" in result.stderr


def test_config_set_creates_the_file_the_flag_names(tmp_path: Path) -> None:
    target = tmp_path / "new.toml"
    result = run_cli("config", "set", "defaults.model", "gpt-4.1", "--config", str(target),
                     env=clean_env(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "gpt-4.1" in target.read_text()
