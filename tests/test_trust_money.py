"""Issue 11 end to end: exact prompt counts offline in verify, every request priced, the
requested and served model logged apart, money printed honestly."""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path

import pytest

from chatcli.pricing import image_cost, json_usd, lookup, money
from chatcli.store import Store
from chatcli.tokens import count_messages, count_text, exact_available
from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI


def relay_env(tmp_path: Path, fake: FakeOpenAI) -> dict[str, str]:
    """A ``relay`` profile at the fake, an empty tiktoken cache, no route off this machine."""
    (tmp_path / "config.toml").write_text(
        f'[profiles.relay]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\n'
    )
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    return clean_env(
        tmp_path,
        TIKTOKEN_CACHE_DIR=str(cache),
        HTTPS_PROXY="http://127.0.0.1:9",  # any attempt to go online would fail
        HTTP_PROXY="http://127.0.0.1:9",
    )


def prompt_check(stdout: str) -> dict[str, str]:
    (check,) = [c for c in json.loads(stdout)["checks"] if c["name"] == "prompt_tokens"]
    return dict(check)


def test_verify_prompt_tokens_pass_for_an_honest_endpoint(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.exact_usage = True
    result = run_cli(
        "verify", "-p", "relay", "-m", "gpt-4o", "--json", env=relay_env(tmp_path, fake)
    )
    check = prompt_check(result.stdout)
    assert check["status"] == "pass", check
    assert check["strength"] == "strong"
    assert check["evidence"].endswith("o200k_base counts 100")


def test_verify_prompt_tokens_fail_when_gpt_3_5_is_served(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.serve_model = "gpt-3.5-turbo"
    result = run_cli(
        "verify", "-p", "relay", "-m", "gpt-4o", "--json", env=relay_env(tmp_path, fake)
    )
    assert result.returncode == 1
    obj = json.loads(result.stdout)
    check = prompt_check(result.stdout)
    assert check["status"] == "fail"
    assert check["evidence"] == (
        "reported 106, but o200k_base counts 100; cl100k_base counts 106: the tokenizer of "
        "gpt-4-turbo, gpt-4, gpt-3.5-turbo"
    )
    status = {c["name"]: c["status"] for c in obj["checks"]}
    assert status["system_fingerprint"] == "warn" and status["logprobs"] == "warn"
    with Store.open(tmp_path / "data") as store:
        rows = store.usage_rows()
    assert {(r.model, r.served_model) for r in rows} == {("gpt-4o", "gpt-3.5-turbo")}


def test_unknown_tokenizer_says_why_it_is_skipped(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli(
        "verify", "-p", "relay", "-m", "qwen-max", "--json", env=relay_env(tmp_path, fake)
    )
    check = prompt_check(result.stdout)
    assert check["status"] == "skip"
    assert check["evidence"] == (
        'no tokenizer is known for qwen-max; set tokenizer in [models."qwen-max"] '
        '(e.g. "o200k_base") to count its tokens exactly'
    )


def test_counts_are_exact_offline_for_openai_families_only() -> None:
    assert exact_available("o200k_base") and exact_available("cl100k_base")
    assert count_text("hello world", "o200k_base").exact
    assert not count_text("hello world", None).exact
    # OpenAI's chat framing: 3 priming + (3 + role + content) per message, + 1 per name
    one = count_messages([{"role": "user", "content": "hi"}], "o200k_base")
    named = count_messages([{"role": "user", "content": "hi", "name": "bob"}], "o200k_base")
    assert one.n == 3 + 3 + 1 + 1
    assert named.n == one.n + count_text("bob", "o200k_base").n + 1


def _wav(seconds: float) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * int(seconds * 8000))
    return buf.getvalue()


def test_usage_by_model_prices_asks_images_and_audio(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.serve_model = "gpt-4o-2024-08-06"
    env = fake_env(tmp_path, fake)
    assert run_cli("ask", "-m", "gpt-4o", "hello", env=env).returncode == 0
    assert run_cli("ask", "-m", "gpt-4o-mini", "hello", env=env).returncode == 0
    args = ("image", "a fox", "-n", "2", "--size", "512x512", "-m", "dall-e-2")
    assert run_cli(*args, "-o", str(tmp_path), env=env).returncode == 0
    audio = tmp_path / "talk.wav"
    audio.write_bytes(_wav(30.0))
    assert run_cli("transcribe", str(audio), env=env).returncode == 0
    result = run_cli("usage", "--by", "model", "--json", env=env)
    assert result.returncode == 0, result.stderr
    rows = {r["key"]: r for r in json.loads(result.stdout)["rows"]}
    assert set(rows) == {"gpt-4o", "gpt-4o-mini", "dall-e-2", "gpt-transcribe"}
    assert all(r["cost_usd"] and r["requests_with_unknown_cost"] == 0 for r in rows.values())
    assert rows["dall-e-2"]["cost_usd"] == 0.036
    assert rows["gpt-transcribe"]["cost_usd"] == 0.00225  # half a minute at $0.27 per hour
    assert rows["gpt-4o"]["served_as"] == {}  # a dated snapshot of the family asked for
    assert rows["gpt-4o-mini"]["served_as"] == {"gpt-4o-2024-08-06": 1}
    table = run_cli("usage", "--by", "model", env=env).stdout
    assert "! gpt-4o-mini: 1 request(s) answered by gpt-4o-2024-08-06" in table
    assert "unknown" not in table and "$0.0000 " not in table


@pytest.mark.parametrize(
    ("usd", "shown"),
    [(0.0, "$0.00"), (0.00003, "$0.00003"), (0.00034605, "$0.00035"), (0.0123, "$0.012"),
     (0.5, "$0.50"), (1234.5, "$1,234.50")],
)  # fmt: skip
def test_money_never_shows_a_cost_as_zero(usd: float, shown: str) -> None:
    assert money(usd) == shown


def test_json_costs_carry_no_float_noise() -> None:
    assert json_usd(0.0003460499999999998) == 0.00034605
    assert json_usd(None) is None


def test_image_prices_by_model_size_and_quality() -> None:
    assert image_cost(lookup("dall-e-3"), 1) == 0.04
    assert image_cost(lookup("dall-e-3"), 1, "1792x1024", "hd") == 0.12
    assert image_cost(lookup("gpt-image-1"), 1, "1024x1024", "low") == 0.011
    assert image_cost(lookup("gpt-image-1"), 1) == 0.25  # auto: the dearest, an upper bound
    assert image_cost(lookup("dall-e-2"), 1, "999x999") is None


def test_an_azure_deployment_name_is_not_logged_as_a_model(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key="azure-secret-key-9876") as fake:
        fake.serve_model = "gpt-4o-2024-08-06"
        (tmp_path / "config.toml").write_text(
            f'default_profile = "az"\n[profiles.az]\ntype = "azure"\nendpoint = "{fake.root}"\n'
            'api_version = "2024-10-21"\napi_key_env = "MY_AZ_KEY"\n'
            '[profiles.az.deployments]\n"gpt-4o" = "prod-4o"\n'
        )
        env = clean_env(tmp_path, MY_AZ_KEY="azure-secret-key-9876")
        assert run_cli("ask", "-m", "gpt-4o", "hi", env=env).returncode == 0
        assert run_cli("ask", "-m", "my-deployment", "hi", env=env).returncode == 0
        assert [r.path.split("/")[3] for r in fake.chat_requests()] == ["prod-4o", "my-deployment"]
    with Store.open(tmp_path / "data") as store:
        rows = store.usage_rows()
    assert [(r.model, r.served_model) for r in rows] == [
        ("gpt-4o", "gpt-4o-2024-08-06"),
        ("gpt-4o-2024-08-06", "gpt-4o-2024-08-06"),
    ]
    assert all(r.cost_usd for r in rows)
