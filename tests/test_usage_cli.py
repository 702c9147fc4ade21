"""``chatcli usage``: totals from the usage log; unknown prices stay unknown."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply


def test_usage_groups_and_null_cost(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(
        Reply(text="a", prompt_tokens=1000, completion_tokens=100),
        Reply(text="b", prompt_tokens=2000, completion_tokens=200),
        Reply(text="c", prompt_tokens=10, completion_tokens=5),
    )
    run_cli("ask", "one", env=env)
    run_cli("ask", "two", env=env)
    run_cli("ask", "-m", "qwen-max", "three", env=env)

    by_model = json.loads(run_cli("usage", "--by", "model", "--json", env=env).stdout)
    rows = {r["key"]: r for r in by_model["rows"]}
    mini = rows["gpt-6-luna"]
    assert mini["requests"] == 2 and mini["prompt_tokens"] == 3000
    assert abs(mini["cost_usd"] - (3000 * 0.10 + 300 * 0.50) / 1e6) < 1e-12
    assert rows["qwen-max"]["cost_usd"] is None
    assert by_model["total"]["requests"] == 3
    assert by_model["total"]["requests_with_unknown_cost"] == 1

    table = run_cli("usage", env=env).stdout
    assert date.today().isoformat() in table and "≥ $0.00045" in table
    assert "1 request(s) used a model without a known price" in table

    later = (date.today() + timedelta(days=1)).isoformat()
    assert json.loads(run_cli("usage", "--since", later, "--json", env=env).stdout)["rows"] == []
    bad = run_cli("usage", "--since", "yesterday", env=env)
    assert bad.returncode == 2 and "not a date" in bad.stderr


def test_daily_budget_warns_then_refuses(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[defaults]\ndaily_budget_usd = 1.0\n")
    env = fake_env(tmp_path, fake)
    # gpt-4o: $2.50 / 1M in, $10 / 1M out -> 100k out tokens = $1.00 in two steps.
    fake.script(
        Reply(text="a", prompt_tokens=0, completion_tokens=85_000),
        Reply(text="b", prompt_tokens=0, completion_tokens=15_000),
        Reply(text="c"),
    )
    first = run_cli("ask", "-m", "gpt-4o", "one", env=env)
    assert first.returncode == 0 and first.stderr == ""
    second = run_cli("ask", "-m", "gpt-4o", "two", env=env)
    assert "$0.85 of your daily budget $1.00 is spent (85%)" in second.stderr
    refused = run_cli("ask", "three", env=env)
    assert refused.returncode == 1
    assert "$1.00 of your daily budget $1.00 is spent" in refused.stderr
    assert "--over-budget" in refused.stderr
    assert len(fake.chat_requests()) == 2
    forced = run_cli("ask", "--over-budget", "three", env=env)
    assert forced.returncode == 0 and forced.stdout == "c\n"
