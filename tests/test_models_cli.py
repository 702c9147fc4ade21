"""``chatcli models``: the endpoint's whole list, with known context windows and prices."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import FakeOpenAI


def test_models_lists_everything_with_known_facts(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.models = ["gpt-4o-2024-08-06", "deepseek-chat", "qwen-max", "o3-mini"]
    env = fake_env(tmp_path, fake)
    rows = json.loads(run_cli("models", "--json", env=env).stdout)
    by_id = {r["id"]: r for r in rows}
    assert sorted(by_id) == sorted(fake.models)
    assert by_id["gpt-4o-2024-08-06"]["context_window"] == 128_000
    assert by_id["gpt-4o-2024-08-06"]["input_price"] == 2.50
    assert by_id["qwen-max"]["input_price"] is None
    table = run_cli("models", env=env).stdout.splitlines()
    assert table[0].split() == ["model", "context", "$/1M", "in", "$/1M", "out"]
    assert any(
        line.startswith("qwen-max ") and line.split()[1:] == ["-", "-", "-"] for line in table
    )
    assert fake.requests[-1].path == "/v1/models"


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
