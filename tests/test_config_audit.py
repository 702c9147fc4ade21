"""Regression tests of the config audit: ``config show`` never prints a key, ``completion`` takes
the global options, ``config validate`` without a file, every command group called bare,
Azure's zero-config variables, an unknown ``default_profile``, and CJK profile names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import FakeOpenAI
from tests.test_config_cli import _in_terminal

CMD_KEY = "sk-other-SECRETKEY98765"
HEADER_KEY = "sk-hdr-SECRETKEY11112222"
HEADER_CMD_KEY = "sk-hcmd-SECRETKEY1234abcd"
INLINE_KEY = "sk-inline-SECRETKEY33334444"
MCP_ARG_KEY = "sk-mcparg-SECRETKEY5555aaaa"
MCP_ENV_KEY = "sk-mcpenv-SECRETKEY6666bbbb"
MCP_URL_KEY = "sk-mcpurl-SECRETKEY7777cccc"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


# 1. config show redacts every key, whatever the key resolution did


def test_show_redacts_a_key_in_a_failing_api_key_cmd(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "[profiles.r]\ntype = 'relay'\nbase_url = 'http://127.0.0.1:9/v1'\n"
        f"api_key_cmd = 'echo {CMD_KEY}; exit 1'\n",
    )
    env = clean_env(tmp_path)
    text = run_cli("-p", "r", "config", "show", env=env)
    assert text.returncode == 0, text.stderr
    assert CMD_KEY not in text.stdout + text.stderr
    assert "echo ****8765; exit 1" in text.stdout
    shown = run_cli("config", "show", "--json", "-p", "r", env=env)
    assert shown.returncode == 0, shown.stderr
    assert CMD_KEY not in shown.stdout + shown.stderr
    data = json.loads(shown.stdout)
    assert data["settings"]["api_key_cmd"]["value"] == "echo ****8765; exit 1"
    assert data["settings"]["api_key"]["value"] is None
    assert "exited with 1" in data["settings"]["api_key"]["source"]


def test_show_redacts_keys_in_headers_inline_keys_and_mcp_servers(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "[profiles.r]\ntype = 'relay'\nbase_url = 'http://127.0.0.1:9/v1'\n"
        f"api_key = '{INLINE_KEY}'\n"
        "[profiles.r.headers]\n"
        f"Authorization = 'Bearer {HEADER_KEY}'\n"
        "X-Team = { env = 'TEAM_TOKEN' }\n"
        f"X-Signed = {{ cmd = 'echo {HEADER_CMD_KEY}' }}\n"
        "[mcp.servers.s]\ncommand = 'srv'\n"
        f"args = ['--token', '{MCP_ARG_KEY}']\nenv = {{ TOKEN = '{MCP_ENV_KEY}' }}\n"
        f"[mcp.servers.h]\nurl = 'https://mcp.example.com/mcp/{MCP_URL_KEY}'\n"
        f"headers = {{ Authorization = 'Bearer {MCP_ENV_KEY}' }}\n",
    )
    env = clean_env(tmp_path)
    secrets = (INLINE_KEY, HEADER_KEY, HEADER_CMD_KEY, MCP_ARG_KEY, MCP_ENV_KEY, MCP_URL_KEY)
    text = run_cli("config", "show", "-p", "r", env=env)
    assert text.returncode == 0, text.stderr
    for secret in secrets:
        assert secret not in text.stdout + text.stderr, secret
    assert "****4444" in text.stdout  # the inline key, by its last four characters
    assert "Authorization: ****2222" in text.stdout
    shown = run_cli("config", "show", "-p", "r", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    for secret in secrets:
        assert secret not in shown.stdout + shown.stderr, secret
    data = json.loads(shown.stdout)
    assert data["settings"]["api_key"]["value"] == "****4444"
    assert data["settings"]["headers"] == {
        "value": {
            "Authorization": "****2222",
            "X-Team": "env TEAM_TOKEN",
            "X-Signed": "cmd echo ****abcd",
        },
        "source": "[profiles.r]",
    }
    assert data["mcp_servers"] == {
        "s": "srv --token ****aaaa",
        "h": "https://mcp.example.com/mcp/****cccc",
    }


# 2. completion takes the global options, before or after its name


@pytest.mark.parametrize(
    "options",
    [["-p", "relay"], ["--profile", "relay"], ["-m", "gpt-4o"], ["--model", "gpt-4o"],
     ["--debug"], ["--config", "CONFIG"]],
)  # fmt: skip
@pytest.mark.parametrize("before", [True, False])
def test_completion_takes_the_global_options(
    tmp_path: Path, options: list[str], before: bool
) -> None:
    config = _write(tmp_path, "[profiles.relay]\ntype = 'relay'\nbase_url = 'http://x/v1'\n")
    options = [str(config) if o == "CONFIG" else o for o in options]
    args = [*options, "completion", "bash"] if before else ["completion", "bash", *options]
    result = run_cli(*args, env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "chatcli" in result.stdout and "complete" in result.stdout


@pytest.mark.parametrize("before", [True, False])
def test_completion_with_a_config_flag_naming_no_file_is_exit_3(
    tmp_path: Path, before: bool
) -> None:
    missing = str(tmp_path / "nonexistent.toml")
    flag = ["--config", missing]
    args = [*flag, "completion", "bash"] if before else ["completion", "bash", *flag]
    result = run_cli(*args, env=clean_env(tmp_path))
    assert result.returncode == 3
    assert f"config file {missing} does not exist" in result.stderr
    assert result.stdout == ""


# 3. config validate without a config file: zero-config, not an error


def test_validate_without_the_file_chatcli_config_names_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    result = run_cli("config", "validate", env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert f"{path}: no config file there yet" in result.stdout
    assert "zero-config" in result.stdout
    assert "error" not in result.stderr
    named = run_cli("config", "validate", "--config", str(path), env=clean_env(tmp_path))
    assert named.returncode == 3 and f"config file {path} does not exist" in named.stderr


# 4. every command group called bare prints its help and exits 0


def _groups(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The command path of every group under ``command`` (Typer vendors its own click: a
    group is whatever has sub-commands)."""
    found: list[tuple[str, ...]] = []
    commands = getattr(command, "commands", None)
    if isinstance(commands, dict):
        found.append(path)
        for name, sub in commands.items():
            found.extend(_groups(sub, (*path, name)))
    return found


def _every_group() -> list[tuple[str, ...]]:
    from chatcli.__main__ import command_tree

    return _groups(command_tree())


def test_the_app_has_command_groups() -> None:
    groups = _every_group()
    assert {("batch",), ("sessions",), ("config",), ("mcp",), ("templates",)} <= set(groups)


@pytest.mark.parametrize("group", _every_group(), ids=lambda p: " ".join(p) or "chatcli")
def test_every_group_called_bare_prints_its_help(tmp_path: Path, group: tuple[str, ...]) -> None:
    result = run_cli(*group, env=clean_env(tmp_path, COLUMNS="100"))
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout and "chatcli" in result.stdout
    assert result.stderr == ""


# 5. Azure zero-config: a missing variable is named


@pytest.mark.parametrize(
    ("present", "missing"),
    [
        (("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT"), ("OPENAI_API_VERSION",)),
        (("AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION"), ("AZURE_OPENAI_ENDPOINT",)),
        (("AZURE_OPENAI_ENDPOINT", "OPENAI_API_VERSION"), ("AZURE_OPENAI_API_KEY",)),
        (("AZURE_OPENAI_API_KEY",), ("AZURE_OPENAI_ENDPOINT", "OPENAI_API_VERSION")),
        (("AZURE_OPENAI_ENDPOINT",), ("AZURE_OPENAI_API_KEY", "OPENAI_API_VERSION")),
    ],
)
def test_azure_zero_config_names_the_missing_variable(
    tmp_path: Path, present: tuple[str, ...], missing: tuple[str, ...]
) -> None:
    values = {
        "AZURE_OPENAI_API_KEY": "azure-key-0123456789abcdef",
        "AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com",
        "OPENAI_API_VERSION": "2024-10-21",
    }
    env = clean_env(tmp_path, **{name: values[name] for name in present})
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 3
    assert "no profile configured" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("chatcli: error: ") and "azure" in first
    for name in missing:
        assert name in first
    assert "azure-key-0123456789abcdef" not in result.stderr


def test_azure_zero_config_with_all_three_still_works(tmp_path: Path) -> None:
    env = clean_env(
        tmp_path,
        AZURE_OPENAI_API_KEY="azure-key-0123456789abcdef",
        AZURE_OPENAI_ENDPOINT="https://res.openai.azure.com",
        OPENAI_API_VERSION="2024-10-21",
    )
    shown = run_cli("config", "show", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["profile"] == "azure"


# 6. an unknown profile says who named it


def test_unknown_default_profile_names_file_line_and_column(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    path = _write(tmp_path, "# mine\n  default_profile = 'nope'\n")
    result = run_cli("ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 3
    said = f"{path}:2:3: default_profile 'nope' is not a profile"
    assert f"chatcli: error: {said} (known: openai)\n" in result.stderr
    validate = run_cli("config", "validate", env=fake_env(tmp_path, fake))
    assert validate.returncode == 3 and said in validate.stderr  # the same place, the same words
    assert not fake.chat_requests()


def test_unknown_profile_from_the_flag_or_the_environment_says_which(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    flag = run_cli("ask", "hi", "-p", "nope", env=fake_env(tmp_path, fake))
    assert flag.returncode == 3
    assert "unknown profile 'nope' from -p/--profile (known: openai)" in flag.stderr
    variable = run_cli("ask", "hi", env=fake_env(tmp_path, fake, CHATCLI_PROFILE="nope"))
    assert variable.returncode == 3
    assert "unknown profile 'nope' from CHATCLI_PROFILE (known: openai)" in variable.stderr


# 7. CJK profile names are written as themselves


def test_init_writes_a_chinese_profile_name_as_itself(tmp_path: Path) -> None:
    env = clean_env(tmp_path, PYTHONIOENCODING="utf-8")
    answers = "relay\n中转\nhttp://127.0.0.1:9/v1\nenv RELAY_KEY\n\n模型-1\n"
    code, err = _in_terminal(env, answers, "config", "init")
    assert code == 0, err
    text = (tmp_path / "config.toml").read_text(encoding="utf-8")
    assert 'default_profile = "中转"' in text
    assert '[profiles."中转"]' in text
    assert 'model = "模型-1"' in text
    assert "\\u" not in text
    check = run_cli("config", "validate", env=env)
    assert check.returncode == 0, check.stderr


def test_set_writes_a_chinese_profile_name_as_itself(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    path = tmp_path / "config.toml"
    for key, value in (
        ("profiles.中转.type", "relay"),
        ("profiles.中转.base_url", "http://127.0.0.1:9/v1"),
        ("default_profile", "中转"),
        ("profiles.中转.system", "用中文回答"),
    ):
        result = run_cli("config", "set", key, value, env=env)
        assert result.returncode == 0, (key, result.stderr)
    text = path.read_text(encoding="utf-8")
    assert '[profiles."中转"]' in text and 'default_profile = "中转"' in text
    assert 'system = "用中文回答"' in text and "\\u" not in text
