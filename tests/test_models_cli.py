"""``chatcli models``: the endpoint's whole list, with known context windows and prices."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import FakeOpenAI


def test_models_lists_everything_with_known_facts(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.models = ["gpt-4o-2024-08-06", "deepseek-chat", "qwen-max", "o3-mini", "o3-pro"]
    fake.model_meta = {"qwen-max": {"context_length": 32_768}}
    env = fake_env(tmp_path, fake)
    rows = json.loads(run_cli("models", "--json", env=env).stdout)
    by_id = {r["id"]: r for r in rows}
    assert sorted(by_id) == sorted(fake.models)
    gpt4o = by_id["gpt-4o-2024-08-06"]
    assert (gpt4o["context_window"], gpt4o["input_price"], gpt4o["cached_input_price"]) == (
        128_000, 2.50, 1.25,
    )  # fmt: skip
    assert gpt4o["price_source"].startswith("genai-prices ") and gpt4o["price_date"]
    assert (gpt4o["shutdown_date"], gpt4o["replacement"]) == ("2027-01-14", "gpt-6-luna")
    assert by_id["o3-pro"]["input_price"] == 20.0  # its own price, not o3's
    assert by_id["qwen-max"]["input_price"] is None
    assert by_id["qwen-max"]["context_window"] == 32_768  # as the endpoint states it
    table = run_cli("models", env=env).stdout.splitlines()
    assert table[0].split()[:7] == ["model", "context", "$/1M", "in", "cached", "$/1M", "out"]
    assert any(
        line.startswith("qwen-max ") and line.split()[1:] == ["32,768", "-", "-", "-", "-"]
        for line in table
    )
    (o3_mini,) = [line for line in table if line.startswith("o3-mini ")]
    assert "genai-prices" in o3_mini and "retired 2026-10-23; use gpt-5.6-sol" in o3_mini
    assert fake.requests[-1].path == "/v1/models"


def test_models_show_config_prices_and_the_endpoints_shutdown_date(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.models = ["gpt-4o", "house-model"]
    fake.model_meta = {"house-model": {"shutdown_date": "2030-01-01"}}
    (tmp_path / "config.toml").write_text('[models."gpt-4o"]\ninput_price = 1.5\n')
    rows = json.loads(run_cli("models", "--json", env=fake_env(tmp_path, fake)).stdout)
    by_id = {r["id"]: r for r in rows}
    assert (by_id["gpt-4o"]["input_price"], by_id["gpt-4o"]["price_source"]) == (1.5, "config")
    assert by_id["house-model"]["shutdown_date"] == "2030-01-01"
    assert by_id["house-model"]["deprecated"] and by_id["gpt-4o"]["deprecated"]  # both retire


def test_models_mark_what_the_dataset_calls_deprecated(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.models = ["grok-voice-think-fast-1.0", "gpt-6-luna"]
    env = fake_env(tmp_path, fake)
    rows = {r["id"]: r for r in json.loads(run_cli("models", "--json", env=env).stdout)}
    assert rows["grok-voice-think-fast-1.0"]["deprecated"] is True
    assert rows["gpt-6-luna"]["deprecated"] is False
    table = run_cli("models", env=env).stdout
    assert "deprecated (genai-prices" in table


def test_models_on_azure_and_auth_failure(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key="az-key-00001111") as fake:
        (tmp_path / "config.toml").write_text(
            f'[profiles.az]\ntype = "azure"\nendpoint = "{fake.root}/openai/"\n'
            'api_version = "2024-10-21"\napi_key = "az-key-00001111"\n'
        )
        result = run_cli("models", "-p", "az", "--json", env=clean_env(tmp_path))
        assert result.returncode == 0, result.stderr
        assert "gpt-4o" in [r["id"] for r in json.loads(result.stdout)]
        (tmp_path / "config.toml").write_text(
            f'[profiles.az]\ntype = "azure"\nendpoint = "{fake.root}"\n'
            'api_version = "2024-10-21"\napi_key = "wrong-key-99998888"\n'
        )
        denied = run_cli("models", "-p", "az", env=clean_env(tmp_path))
        assert denied.returncode == 4 and "wrong-key-99998888" not in denied.stderr
