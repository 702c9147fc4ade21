"""Audit 9, area ``models``: findings 1, 3, 6, 7, 8 and the gpt-4.1 window.

- (1) Fine-tuned ids and the OpenAI ids no provider's rule claims (``chatgpt-4o-latest``,
  ``codex-mini-latest``) get the dataset's price, window and tokenizer: costs are known, the
  budget counts them, ``models`` shows them.
- (3) A chat-tuned variant the dataset lists under a reasoning model (``gpt-5-chat-latest``
  under ``gpt-5``) is neither that model's window nor a reasoning model.
- (6) On an Azure profile OpenAI's retirement dates are never said (ask, doctor, error hints);
  a date Azure's own model list states is shown by ``models``.
- (7) ``/model NAME`` (and ``/profile``) says the retirement line ``chat -m NAME`` says.
- (8) Aliases resolve through aliases; a loop is a config problem (exit 3) for every command
  and for ``config validate``.

The real CLI (in process) against the fake server; the REPL as ``tests/test_repl.py`` runs it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, Error, FakeOpenAI, Reply
from tests.test_repl import Chat

FINE_TUNED = "ft:gpt-4o-mini-2024-07-18:my-org::abc123"


def _config(home: Path, text: str) -> None:
    (home / "config.toml").write_text(text, encoding="utf-8")


def _azure(fake: FakeOpenAI) -> str:
    return (
        f'default_profile = "az"\n[profiles.az]\ntype = "azure"\nendpoint = "{fake.root}"\n'
        f'api_version = "2024-10-21"\napi_key = "{DEFAULT_API_KEY}"\n'
    )


def _dataset_cost(model: str, prompt: int, completion: int) -> float:
    """What the price dataset itself charges on OpenAI's API (the reference, not chatcli)."""
    price = calc_price(
        Usage(input_tokens=prompt, output_tokens=completion), model_ref=model, provider_id="openai"
    )
    return float(price.total_price)


def _listing(home: Path, fake: FakeOpenAI) -> dict[str, dict[str, object]]:
    result = run_cli("models", "--json", env=fake_env(home, fake))
    assert result.returncode == 0, result.stderr
    return {row["id"]: row for row in json.loads(result.stdout)}


# -- (1) fine-tuned and unclaimed OpenAI ids ---------------------------------------------------


@pytest.mark.parametrize(
    ("model", "dataset_id"),
    [
        (FINE_TUNED, "ft:gpt-4o-mini-2024-07-18:my-org::abc123"),
        ("ft:gpt-4o-2024-08-06:acme::x1", "ft:gpt-4o-2024-08-06:acme::x1"),
        ("chatgpt-4o-latest", "chatgpt-4o-latest"),
        ("codex-mini-latest", "codex-mini-latest"),
    ],
)
def test_fine_tuned_and_unclaimed_openai_ids_are_priced_as_the_dataset_prices_them(
    fake: FakeOpenAI, tmp_path: Path, model: str, dataset_id: str
) -> None:
    fake.script(Reply(text="ok", prompt_tokens=1000, completion_tokens=500))
    result = run_cli("ask", "-m", model, "--json", "hello", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["usage"]["estimated"] is False
    assert answer["cost_usd"] == pytest.approx(_dataset_cost(dataset_id, 1000, 500))


def test_a_fine_tuned_model_costs_its_fine_tuned_rate_not_its_base_rate(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    other_tuned = "ft:gpt-4.1-mini-2025-04-14:o::x"
    fake.models = [FINE_TUNED, "gpt-4o-mini", "chatgpt-4o-latest", other_tuned]
    rows = _listing(tmp_path, fake)
    tuned, base = rows[FINE_TUNED], rows["gpt-4o-mini"]
    assert (tuned["input_price"], tuned["output_price"]) == (0.3, 1.2)  # OpenAI's ft rates
    assert (base["input_price"], base["output_price"]) == (0.15, 0.6)
    assert tuned["context_window"] == base["context_window"] == 128_000  # the base's window
    assert rows["chatgpt-4o-latest"]["context_window"] == 128_000
    # a fine-tuned model the dataset has no rate for: the base's window, never its price
    other = rows[other_tuned]
    assert other["context_window"] == 1_047_576
    assert other["input_price"] is None and other["output_price"] is None


def test_the_budget_counts_a_fine_tuned_model(fake: FakeOpenAI, tmp_path: Path) -> None:
    _config(tmp_path, "[defaults]\ndaily_budget_usd = 0.5\n")
    result = run_cli("ask", "-m", FINE_TUNED, "hello", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert "cannot count" not in result.stderr
    assert "price is unknown" not in result.stderr


def test_a_fine_tuned_model_is_counted_with_its_base_models_tokenizer(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """An endpoint that reports no usage: the estimate is the base's exact o200k count, not a
    rough guess (the same prompt to gpt-4o-mini gives the same count)."""
    env = fake_env(tmp_path, fake)
    counts = []
    for model in (FINE_TUNED, "gpt-4o-mini"):
        fake.script(Reply(text="ok", usage=False))
        result = run_cli("ask", "-m", model, "--json", "数据 alpha beta 模型 river", env=env)
        assert result.returncode == 0, result.stderr
        counts.append(json.loads(result.stdout)["usage"]["prompt_tokens"])
    assert counts[0] == counts[1]


# -- (3) chat-tuned variants are not their reasoning base --------------------------------------


def test_gpt_5_chat_latest_has_its_own_window_not_gpt_5s(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.models = ["gpt-5", "gpt-5-chat-latest", "gpt-5-chat", "gpt-4.1"]
    rows = _listing(tmp_path, fake)
    assert rows["gpt-5"]["context_window"] == 400_000
    assert rows["gpt-5-chat-latest"]["context_window"] == 128_000
    assert rows["gpt-5-chat"]["context_window"] == 128_000
    assert rows["gpt-5-chat-latest"]["input_price"] == rows["gpt-5"]["input_price"]  # same price
    assert rows["gpt-4.1"]["context_window"] == 1_047_576  # OpenAI's figure, not 1,000,000


def test_an_input_beyond_the_chat_variants_window_is_refused_before_sending(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    big = tmp_path / "big.txt"
    big.write_text(" alpha" * 140_000, encoding="utf-8")  # ~140k tokens: under 400k, over 128k
    result = run_cli(
        "ask", "-m", "gpt-5-chat-latest", "-f", str(big), "summarize", env=fake_env(tmp_path, fake)
    )
    assert result.returncode == 2, result.stderr
    assert "context window of 128,000" in result.stderr
    assert fake.chat_requests() == []


@pytest.mark.parametrize("responses", [False, True], ids=["chat", "responses"])
def test_gpt_5_chat_latest_is_sent_as_a_chat_model(
    fake: FakeOpenAI, tmp_path: Path, responses: bool
) -> None:
    fake.responses = responses
    env = fake_env(tmp_path, fake)
    result = run_cli("ask", "-m", "gpt-5-chat-latest", "-t", "0.4", "--max-tokens", "50", "hi",
                     env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "temperature" not in result.stderr  # no "does not take a temperature" notice
    assert "retire" not in result.stderr  # gpt-5's shutdown (2026-12-11) is not its own
    (sent,) = [r.json for r in fake.requests if r.method == "POST"]
    assert sent["temperature"] == 0.4
    assert "reasoning" not in sent and "reasoning_effort" not in sent
    assert "max_completion_tokens" not in sent


# -- (6) Azure: its own retirement schedule ----------------------------------------------------


def test_azure_says_nothing_of_openais_retirement_dates(fake: FakeOpenAI, tmp_path: Path) -> None:
    _config(tmp_path, _azure(fake))
    env = clean_env(tmp_path)
    asked = run_cli("ask", "-m", "o1", "hi", env=env)
    assert asked.returncode == 0, asked.stderr
    assert "retired" not in asked.stderr and "deprecations" not in asked.stderr
    doctor = run_cli("doctor", "-m", "o1", env=env)
    assert "retire" not in doctor.stdout + doctor.stderr
    fake.script(Error(404, "The model `o1` has been deprecated.", code="model_not_found"))
    failed = run_cli("ask", "-m", "o1", "hi", env=env)
    assert failed.returncode == 5
    assert "OpenAI shut" not in failed.stderr and "gpt-5.6-sol" not in failed.stderr
    # the same on an openai profile still says OpenAI's dates
    openai = run_cli("ask", "-m", "o1", "hi", env=fake_env(tmp_path / "o", fake))
    assert "o1 retired 2026-10-23; use gpt-5.6-sol" in openai.stderr


def test_azure_models_shows_the_date_azures_own_list_states(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.models = ["o1", "gpt-4o"]
    day = int(datetime(2027, 3, 1, tzinfo=UTC).timestamp())
    fake.model_meta = {"gpt-4o": {"deprecation": {"fine_tune": day, "inference": day}}}
    _config(tmp_path, _azure(fake))
    result = run_cli("models", "--json", env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert rows["o1"]["shutdown_date"] is None  # OpenAI's 2026-10-23 is not Azure's
    assert rows["gpt-4o"]["shutdown_date"] == "2027-03-01"
    assert rows["gpt-4o"]["replacement"] is None  # OpenAI's replacement is not Azure's


# -- (7) /model says the retirement line -------------------------------------------------------


@pytest.fixture
def chat(tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chat]:
    yield Chat(tmp_path, fake, monkeypatch)


def test_model_switch_says_the_retirement_line_chat_starts_with(chat: Chat) -> None:
    chat.run("/model o1\r", "/model gpt-4.1\r")
    lines = chat.err.getvalue().splitlines()
    assert "o1 retired 2026-10-23; use gpt-5.6-sol (OpenAI's deprecations page)" in lines
    assert not any("gpt-4.1 retire" in line for line in lines)  # 40 days away: no line
    shown = next(line for line in lines if line.startswith("model gpt-4.1 "))
    assert shown.endswith("$2.00 in ($0.50 cached), $8.00 out per 1M tokens")  # one money format


def test_profile_switch_says_it_too(chat: Chat, tmp_path: Path) -> None:
    _config(tmp_path, f'[profiles.old]\ntype = "relay"\nbase_url = "{chat.fake.base_url}"\n'
            f'api_key = "{DEFAULT_API_KEY}"\nmodel = "o4-mini"\n')  # fmt: skip
    chat.run("/profile old\r")
    assert "o4-mini retired 2026-10-23; use gpt-5.6-terra (OpenAI's deprecations page)" in (
        chat.err.getvalue().splitlines()
    )


# -- (8) aliases through aliases; loops are config problems ------------------------------------


def test_an_alias_naming_an_alias_resolves_to_the_model(fake: FakeOpenAI, tmp_path: Path) -> None:
    _config(tmp_path, '[aliases]\nthink = "o3"\ndeep = "think"\ndeeper = "deep"\n')
    env = fake_env(tmp_path, fake)
    assert run_cli("config", "validate", env=env).returncode == 0
    result = run_cli("ask", "-m", "deeper", "-t", "0.5", "--max-tokens", "50", "hi", env=env)
    assert result.returncode == 0, result.stderr
    (sent,) = [r.json for r in fake.chat_requests()]
    assert sent["model"] == "o3"
    assert "temperature" not in sent and sent["max_completion_tokens"] == 50  # o3's parameters


def test_an_alias_loop_is_a_config_problem(fake: FakeOpenAI, tmp_path: Path) -> None:
    _config(tmp_path, '[aliases]\nfast = "gpt-4o-mini"\nloop1 = "loop2"\nloop2 = "loop1"\n'
            'same = "same"\n')  # fmt: skip
    env = fake_env(tmp_path, fake)
    for args in (("config", "validate"), ("ask", "-m", "fast", "hi")):
        result = run_cli(*args, env=env)
        assert result.returncode == 3, result.stderr
        assert "config.toml:3:1: aliases.loop1 never reaches a model: loop1 -> loop2 -> loop1 " \
               "is a loop" in result.stderr  # fmt: skip
        assert "point one of these aliases at a model name" in result.stderr
        assert "same" not in result.stderr  # an alias naming itself is that model
    assert fake.chat_requests() == []
