"""Settings that cannot work are refused before anything is sent, naming what is wrong: NaN or
negative prices, an empty model name, an API URL with a query string, a read-only data dir (a
real read-only mount), and a dead proxy from the environment named as the proxy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI
from tests.mounts import read_only, tmpfs


def _config(tmp_path: Path, body: str) -> None:
    (tmp_path / "config.toml").write_text(body, encoding="utf-8")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("input_price = nan", "input_price must be a finite number, not nan"),
        ("output_price = -1.5", "output_price must be between 0 and 1,000,000, not -1.5"),
        ("image_price = nan", "image_price must be a finite number, not nan"),
        ("image_price = -0.04", "image_price must be between 0 and 1,000,000, not -0.04"),
        ("minute_price = -inf", "minute_price must be a finite number, not -inf"),
    ],
)
def test_nan_or_negative_prices_are_config_errors(
    fake: FakeOpenAI, tmp_path: Path, line: str, problem: str
) -> None:
    _config(tmp_path, f'[models."gpt-4o-mini"]\n{line}\n')
    env = fake_env(tmp_path, fake)
    for args in (["ask", "hi"], ["config", "validate"]):
        result = run_cli(*args, env=env)
        assert result.returncode == 3, result.stderr
        assert problem in result.stderr
    assert fake.requests == []


def test_config_set_refuses_a_nan_price(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    result = run_cli("config", "set", "models.gpt-4o.image_price", "nan", env=env)
    assert result.returncode == 3
    assert "image_price must be a finite number" in result.stderr
    assert not (tmp_path / "config.toml").exists()


@pytest.mark.parametrize("args", [["-m", "", "ask", "hi"], ["ask", "hi", "-m", "  "],
                                  ["-p", "", "ask", "hi"]])  # fmt: skip
def test_an_empty_model_or_profile_flag_is_a_usage_error(
    fake: FakeOpenAI, tmp_path: Path, args: list[str]
) -> None:
    result = run_cli(*args, env=fake_env(tmp_path, fake))
    assert result.returncode == 2
    assert "is empty" in result.stderr and "Traceback" not in result.stderr
    assert fake.requests == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('[defaults]\nmodel = ""\n', "defaults.model must not be empty"),
        ('[profiles.r]\ntype = "relay"\nbase_url = "http://x.example/v1"\nmodel = " "\n',
         "profiles.r.model must not be empty"),
        ('[aliases]\nfast = ""\n', "aliases.fast needs a model name"),
        ('[models.""]\ncontext_window = 10\n', 'needs a model name'),
    ],
)  # fmt: skip
def test_an_empty_model_name_in_the_config_is_a_config_error(
    fake: FakeOpenAI, tmp_path: Path, body: str, problem: str
) -> None:
    _config(tmp_path, body)
    result = run_cli("config", "validate", env=fake_env(tmp_path, fake))
    assert result.returncode == 3
    assert problem in result.stderr


def test_base_url_with_a_query_string_is_refused(fake: FakeOpenAI, tmp_path: Path) -> None:
    _config(tmp_path, f'[profiles.r]\ntype = "relay"\nbase_url = "{fake.base_url}?key=1"\n')
    result = run_cli("-p", "r", "ask", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 3
    assert "base_url" in result.stderr and "has a query string" in result.stderr
    assert "hint: drop the ?... part" in result.stderr
    (tmp_path / "config.toml").unlink()
    env = fake_env(tmp_path, fake, OPENAI_BASE_URL=fake.base_url + "?api-version=1")
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 3
    assert "env OPENAI_BASE_URL" in result.stderr and "has a query string" in result.stderr
    env = clean_env(
        tmp_path,
        AZURE_OPENAI_API_KEY=DEFAULT_API_KEY,
        AZURE_OPENAI_ENDPOINT=fake.root + "/#frag",
        OPENAI_API_VERSION="2024-10-21",
    )
    result = run_cli("-p", "azure", "ask", "hi", env=env)
    assert result.returncode == 3
    assert "env AZURE_OPENAI_ENDPOINT" in result.stderr
    assert fake.requests == []


def test_read_only_data_dir_is_named_in_the_hint(fake: FakeOpenAI, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt") as mnt:
        env = fake_env(tmp_path, fake, CHATCLI_HOME=str(mnt / "data"))
        assert run_cli("ask", "first", env=env).returncode == 0  # a database already there
        sent = len(fake.requests)
        read_only(mnt)
        for home in (mnt / "data", mnt / "new"):
            env = fake_env(tmp_path, fake, CHATCLI_HOME=str(home))
            result = run_cli("ask", "hi", env=env)
            assert result.returncode == 1, result.stderr
            assert f"hint: the data dir {home} must be writable" in result.stderr
            assert "CHATCLI_HOME" in result.stderr and "Traceback" not in result.stderr
        assert len(fake.requests) == sent  # refused before anything was paid for


def test_dead_proxy_from_the_environment_is_named_as_the_proxy(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    _config(tmp_path, "[defaults]\nmax_retries = 0\n")
    env = fake_env(tmp_path, fake, HTTP_PROXY="http://user:pw-secret@127.0.0.1:9")
    env.pop("NO_PROXY")
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 6
    assert (
        "chatcli: error: cannot connect to the proxy http://user:****@127.0.0.1:9 "
        "(from the environment's HTTP_PROXY): connection refused"
    ) in result.stderr
    assert "unset HTTP_PROXY" in result.stderr
    assert "pw-secret" not in result.stderr
    assert fake.requests == []
    env["NO_PROXY"] = "127.0.0.1"  # bypassed: the endpoint is reached directly
    assert run_cli("ask", "hi", env=env).returncode == 0
