"""``chatcli balance`` against relay billing endpoints, and where there are none."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_BILLING, FakeOpenAI


def test_balance_from_relay_billing(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.billing = DEFAULT_BILLING
    env = fake_env(tmp_path, fake)
    data = json.loads(run_cli("balance", "--json", env=env).stdout)
    assert data["limit_usd"] == 100.0
    assert data["used_usd"] == 12.345
    assert abs(data["remaining_usd"] - 87.655) < 1e-9
    text = run_cli("balance", env=env).stdout
    assert "remaining  $87.65" in text  # 100.00 - 12.35, as shown
    paths = [r.path for r in fake.requests]
    assert paths == ["/v1/dashboard/billing/subscription", "/v1/dashboard/billing/usage"] * 2


def test_balance_where_there_is_none(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("balance", env=fake_env(tmp_path, fake))
    assert result.returncode == 1
    assert "has no billing endpoints" in result.stderr and "hint:" in result.stderr
    (tmp_path / "config.toml").write_text(
        '[profiles.az]\ntype = "azure"\nendpoint = "https://x.openai.azure.com"\n'
        'api_version = "2024-10-21"\napi_key = "k"\n'
    )
    azure = run_cli("balance", "-p", "az", env=clean_env(tmp_path))
    assert azure.returncode == 1 and "Azure OpenAI, which has no balance endpoint" in azure.stderr


def test_balance_of_the_official_api_says_it_has_none_without_a_request(tmp_path: Path) -> None:
    """The official API has no relay billing routes (they answer only a browser session): no
    request is made, and the answer is the same at once, online or not."""
    (tmp_path / "config.toml").write_text(
        '[profiles.official]\ntype = "openai"\napi_key_env = "OFFICIAL_KEY"\n'
        'proxy = "http://127.0.0.1:1"\n'  # any request would fail here (exit 6)
    )
    env = clean_env(tmp_path, OFFICIAL_KEY="sk-abcdef0123456789")
    result = run_cli("balance", "-p", "official", env=env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[0] == (
        "chatcli: error: profile 'official' is the official OpenAI API, which has no balance "
        "endpoint"
    )
