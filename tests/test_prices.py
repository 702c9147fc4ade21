"""Prices from the maintained dataset (genai-prices): exact ids, cached input, tiers, overrides,
the compact cache, and what the CLI bills and shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatcli import price_catalog
from chatcli.pricing import cost_usd, lookup, speech_cost
from chatcli.repl.loop import footer_text
from chatcli.session import TurnResult
from chatcli.store import DB_NAME, Store, caches
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply


@pytest.mark.parametrize(
    ("model", "family_price", "own_price"),
    [
        ("o3-pro", 2.0, 20.0),
        ("o1-pro", 15.0, 150.0),
        ("gpt-5-pro", 1.25, 15.0),
        ("gpt-4o-mini-tts", 0.15, 0.6),
        ("gpt-4o-realtime-preview", 2.5, 5.0),
    ],
)
def test_a_model_is_priced_as_itself_not_as_its_name_prefix(
    model: str, family_price: float, own_price: float
) -> None:
    info = lookup(model)
    assert info.input_price == own_price != family_price
    assert info.catalog is not None and info.catalog.id == model


def test_snapshots_and_vendor_prefixes_follow_the_datasets_rules() -> None:
    assert lookup("gpt-4o-2024-08-06").catalog.id == "gpt-4o"  # type: ignore[union-attr]
    assert lookup("openai/o3-pro").input_price == 20.0
    assert lookup("OpenAI/GPT-4o").context_window == 128_000


@pytest.mark.parametrize("model", ["my-finetune", "gpt-4o-custom-relay-name", "llama3:8b"])
def test_a_model_the_dataset_does_not_know_costs_unknown(model: str) -> None:
    info = lookup(model)
    assert info.input_price is None and info.catalog is None
    assert cost_usd(info, 100, 10) is None


def test_cached_input_costs_the_cached_rate() -> None:
    info = lookup("gpt-4o-mini")  # 0.15 in, 0.075 cached, 0.60 out per 1M
    full = cost_usd(info, 1_000, 100)
    cached = cost_usd(info, 1_000, 100, cached_tokens=600)
    assert full == pytest.approx((1_000 * 0.15 + 100 * 0.60) / 1e6)
    assert cached == pytest.approx((400 * 0.15 + 600 * 0.075 + 100 * 0.60) / 1e6)


def test_service_tier_and_batch_rates_come_from_the_dataset() -> None:
    import genai_prices

    info = lookup("gpt-5")
    for tier in ("flex", "priority"):
        expected = genai_prices.calc_price(
            genai_prices.Usage(input_tokens=10_000, output_tokens=1_000),
            "gpt-5",
            provider_id="openai",
            price_context={"service_tier": tier},
        ).total_price
        assert cost_usd(info, 10_000, 1_000, service_tier=tier) == pytest.approx(float(expected))
    assert cost_usd(info, 10_000, 1_000, service_tier="flex") != cost_usd(info, 10_000, 1_000)


def _all_openai_models() -> list[str]:
    catalog = price_catalog.load()
    assert catalog is not None
    openai = next(p for p in catalog.providers if p["id"] == "openai")
    return [m["id"] for m in price_catalog._models(openai)]


def test_costs_equal_the_packages_own_calculation_for_every_openai_model() -> None:
    """The compact cache and its calculator agree with genai-prices' calc_price, including
    cached input, dated prices and long-context tiers (inputs above 272k tokens)."""
    import genai_prices

    when = datetime(2026, 12, 1, 12, tzinfo=UTC)
    usages = [(1_000, 0, 200), (50_000, 30_000, 2_000), (300_000, 100_000, 5_000)]
    checked = 0
    for model in _all_openai_models():
        entry = price_catalog.find(f"openai/{model}")
        if entry is None:  # an id its own rule does not match (``ft:gpt-4o`` wants a suffix)
            continue
        for prompt, cached, completion in usages:
            usage = {
                "input_tokens": float(prompt),
                "cache_read_tokens": float(cached),
                "output_tokens": float(completion),
            }
            ours = price_catalog.cost(entry, usage, entry.rates(when))
            theirs = genai_prices.calc_price(
                genai_prices.Usage(
                    input_tokens=prompt, cache_read_tokens=cached, output_tokens=completion
                ),
                model,
                provider_id="openai",
                genai_request_timestamp=when,
            ).total_price
            assert ours == pytest.approx(float(theirs), rel=1e-9, abs=1e-12), model
            checked += 1
    assert checked > 250


def test_config_prices_win_over_the_dataset(tmp_path: Path) -> None:
    from chatcli.settings.loading import load

    path = tmp_path / "config.toml"
    path.write_text(
        '[models."gpt-4o"]\ninput_price = 1.0\noutput_price = 2.0\ncached_input_price = 0.1\n'
        '[models."o3-pro"]\ncontext_window = 1000\n'
    )
    cfg = load(path)
    info = cfg.model_info("gpt-4o")
    assert (info.input_price, info.price_source) == (1.0, "config")
    assert cost_usd(info, 1_000, 1_000, cached_tokens=500) == pytest.approx(
        (500 * 1.0 + 500 * 0.1 + 1_000 * 2.0) / 1e6
    )
    window_only = cfg.model_info("o3-pro")
    assert window_only.context_window == 1000 and window_only.input_price == 20.0


def test_speech_is_priced_per_character_or_per_minute() -> None:
    assert speech_cost(lookup("tts-1"), "x" * 1000, None) == pytest.approx(1000 * 15 / 1e6)
    assert speech_cost(lookup("gpt-4o-mini-tts"), "hello", 60.0) == pytest.approx(0.015)
    assert speech_cost(lookup("my-tts"), "hello", 60.0) is None


def test_the_cache_is_kept_in_the_database_and_rebuilt_when_the_package_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("CHATCLI_HOME", str(data))
    key = json.dumps(price_catalog.package_key())
    price_catalog.load.cache_clear()
    try:
        catalog = price_catalog.load()
        assert catalog is not None
        text = caches.read(data, price_catalog.CACHE_NAME, key)
        assert text is not None
        assert json.loads(text.split("\n", 1)[0])["version"] == catalog.version
        assert [p.name for p in data.iterdir()] == [DB_NAME]  # nothing beside the database
        newer = [price_catalog.FORMAT, 1, 2]  # another version of the package installed
        monkeypatch.setattr(price_catalog, "package_key", lambda: newer)
        price_catalog.load.cache_clear()
        assert price_catalog.load() == catalog
        assert caches.read(data, price_catalog.CACHE_NAME, json.dumps(newer)) == text
        assert caches.read(data, price_catalog.CACHE_NAME, key) is None  # replaced
    finally:
        price_catalog.load.cache_clear()


def test_ask_bills_a_pro_model_at_its_own_price(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text="ok", prompt_tokens=1_000, completion_tokens=100))
    result = run_cli("ask", "--json", "-m", "o3-pro", "q", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["cost_usd"] == pytest.approx((1_000 * 20 + 100 * 80) / 1e6)


def test_cached_tokens_are_billed_logged_and_reported(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(Reply(text="ok", prompt_tokens=19, completion_tokens=5, cached_tokens=12))
    env = fake_env(tmp_path, fake)
    result = run_cli("ask", "--json", "-m", "gpt-4o-mini", "q", env=env)
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert obj["usage"]["cached_tokens"] == 12
    assert obj["cost_usd"] == pytest.approx((7 * 0.15 + 12 * 0.075 + 5 * 0.60) / 1e6)
    with Store.open(tmp_path / "data") as store:
        (row,) = store.usage_rows()
    assert (row.prompt_tokens, row.cached_tokens) == (19, 12)
    report = json.loads(run_cli("usage", "--json", env=env).stdout)
    assert report["total"]["cached_tokens"] == 12
    table = run_cli("usage", env=env).stdout
    assert "cached" in table.splitlines()[0]


def test_the_footer_shows_cached_tokens() -> None:
    turn = TurnResult(
        "hi", "gpt-4o", 19, 34, False, 0.00002, None, 1.0, "stop", False, cached_tokens=12
    )
    assert footer_text(turn).startswith("19 in (12 cached) · 34 out · ")


def test_reasoning_effort_and_service_tier_are_sent_and_priced(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(
        Reply(text="ok", prompt_tokens=10_000, completion_tokens=1_000, service_tier="flex")
    )
    env = fake_env(tmp_path, fake)
    args = ("ask", "--json", "-m", "gpt-5", "--reasoning", "high", "--service-tier", "flex", "q")
    result = run_cli(*args, env=env)
    assert result.returncode == 0, result.stderr
    (body,) = [r.json for r in fake.chat_requests()]
    assert body["reasoning_effort"] == "high" and body["service_tier"] == "flex"
    flex = cost_usd(lookup("gpt-5"), 10_000, 1_000, service_tier="flex")
    assert json.loads(result.stdout)["cost_usd"] == pytest.approx(flex)
    assert flex != cost_usd(lookup("gpt-5"), 10_000, 1_000)
    bad = run_cli("ask", "--reasoning", "extreme", "q", env=env)
    assert (
        bad.returncode == 2
        and "'extreme' is not one of 'minimal', 'low', 'medium', 'high'" in bad.stderr
    )


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=8,
)


@settings(deadline=None)
@given(
    prompt=st.integers(0, 10_000),
    completion=st.integers(0, 10_000),
    prompt_details=_JSON | st.fixed_dictionaries({"cached_tokens": _JSON}),
    completion_details=_JSON | st.fixed_dictionaries({"reasoning_tokens": _JSON}),
)
def test_usage_details_of_any_shape_never_break_and_stay_within_their_whole(
    prompt: int, completion: int, prompt_details: object, completion_details: object
) -> None:
    from chatcli.providers.answers import usage

    found = usage({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": completion_details,
    })  # fmt: skip
    assert found is not None
    assert 0 <= found.cached_tokens <= prompt and 0 <= found.reasoning_tokens <= completion
    cost = cost_usd(lookup("gpt-4o"), prompt, completion, cached_tokens=found.cached_tokens)
    assert cost is not None and cost >= 0
