"""The global options -p, -m, --config and --debug, before or after the command."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI


def _config(tmp_path: Path, fake: FakeOpenAI) -> Path:
    path = tmp_path / "other.toml"
    path.write_text(
        f'[profiles.relay]\ntype = "relay"\nbase_url = "{fake.base_url}"\nmodel = "gpt-4o"\n'
        'api_key_env = "OPENAI_API_KEY"\n[aliases]\nfast = "gpt-4.1-mini"\n'
    )
    return path


@pytest.mark.parametrize(
    "where",
    [
        ("{cfg}", "-p", "relay", "-m", "fast", "ask", "hi"),  # all before
        ("ask", "hi", "--config", "{cfg}", "-p", "relay", "-m", "fast"),  # all after
        ("-p", "relay", "ask", "--config", "{cfg}", "hi", "-m", "fast"),  # mixed
    ],
)
def test_options_before_and_after_the_command(
    fake: FakeOpenAI, tmp_path: Path, where: tuple[str, ...]
) -> None:
    cfg = str(_config(tmp_path, fake))
    args = [a.replace("{cfg}", cfg) for a in where]
    if args[0] == cfg:
        args.insert(0, "--config")
    result = run_cli(*args, env=fake_env(tmp_path, fake, OPENAI_BASE_URL="http://127.0.0.1:9"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "echo(1): hi\n"
    assert fake.chat_requests()[0].json["model"] == "gpt-4.1-mini"


def test_an_option_after_the_command_wins(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("-m", "gpt-4o", "ask", "-m", "gpt-4.1", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 0
    assert fake.chat_requests()[0].json["model"] == "gpt-4.1"


def test_debug_before_the_command(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("--debug", "ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 0
    assert "> POST " in result.stderr and "/chat/completions" in result.stderr
    bad = run_cli("-p", "nosuch", "ask", "hi", env=fake_env(tmp_path, fake))
    assert bad.returncode == 3 and "unknown profile 'nosuch'" in bad.stderr


def test_root_help_lists_the_global_options(tmp_path: Path, fake: FakeOpenAI) -> None:
    result = run_cli("--help", env=fake_env(tmp_path, fake, COLUMNS="120"))
    assert result.returncode == 0
    for option in ("--profile", "--model", "--config", "--debug", "completion"):
        assert option in result.stdout
