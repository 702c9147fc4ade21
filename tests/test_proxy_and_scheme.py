"""A proxy or an endpoint URL chatcli cannot use is a config error (exit 3) naming it and where
it was set, the same for every command: the base_url's scheme is checked when the config is
read, and a proxy httpx2 cannot build a client for is reported by the one client builder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import FakeOpenAI


@pytest.mark.parametrize(
    ("proxy", "said"),
    [("::not a proxy::", "Invalid port"), ("gopher://x:1", "Unknown scheme")],
)
@pytest.mark.parametrize("command", [["ask", "hi"], ["models"]])
def test_a_proxy_from_the_environment_that_is_not_one_is_exit_3_naming_it(
    tmp_path: Path, fake: FakeOpenAI, proxy: str, said: str, command: list[str]
) -> None:
    env = fake_env(tmp_path, fake, HTTP_PROXY=proxy, NO_PROXY="")
    result = run_cli(*command, env=env)
    assert result.returncode == 3, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"chatcli: error: cannot use proxy '{proxy}'")
    assert "(the environment's HTTP_PROXY)" in first and said in first
    assert fake.requests == []


@pytest.mark.parametrize("command", [["ask", "hi"], ["speak", "hello"], ["image", "a cat"]])
def test_a_base_url_chatcli_cannot_speak_is_exit_3_for_every_command(
    tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "config.toml").write_text(
        'default_profile = "r"\n[profiles.r]\ntype = "relay"\n'
        'base_url = "ftp://example.com/v1"\napi_key = "sk-test-0000000000"\n'
    )
    result = run_cli(*command, env=clean_env(tmp_path))
    assert result.returncode == 3
    assert "base_url 'ftp://example.com/v1' is not http or https" in result.stderr


def test_a_socks_proxy_in_the_profile_is_a_valid_scheme(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        'default_profile = "r"\n[profiles.r]\ntype = "relay"\n'
        'base_url = "http://127.0.0.1:9/v1"\napi_key = "sk-test-0000000000"\n'
        'proxy = "socks5h://127.0.0.1:1080"\n'
    )
    assert run_cli("config", "validate", env=clean_env(tmp_path)).returncode == 0
    (tmp_path / "config.toml").write_text(
        'default_profile = "r"\n[profiles.r]\ntype = "relay"\n'
        'base_url = "http://127.0.0.1:9/v1"\napi_key = "sk-test-0000000000"\n'
        'proxy = "ftp://127.0.0.1:21"\n'
    )
    result = run_cli("config", "validate", env=clean_env(tmp_path))
    assert result.returncode == 3
    assert "is not http or https or socks5 or socks5h" in result.stderr
