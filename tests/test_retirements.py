"""Retiring models: current defaults, marks in doctor, notices in ask, replacements on errors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from chatcli.retirements import notice, retirement
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import Error, FakeOpenAI


def test_retirements_by_exact_id_and_snapshot_never_by_prefix() -> None:
    found = retirement("gpt-4o-2024-08-06")
    assert found is not None and str(found.shutdown) == "2027-01-14"
    assert found.replacement == "gpt-6-luna"
    assert retirement("gpt-4o-mini-tts") is not None  # listed itself, not as gpt-4o-mini
    assert retirement("gpt-4o-mini-tts").shutdown.isoformat() == "2027-01-06"  # type: ignore[union-attr]
    assert retirement("gpt-4o-custom") is None
    assert retirement("gpt-6-luna") is None


def test_a_notice_within_30_days_only() -> None:
    assert notice("gpt-4o", date(2026, 12, 1)) is None
    soon = notice("gpt-4o", date(2026, 12, 20))
    assert (
        soon == "gpt-4o retires 2027-01-14 (25 days); use gpt-6-luna (OpenAI's deprecations page)"
    )
    assert notice("dall-e-3", date(2026, 12, 20)).startswith("dall-e-3 retired 2026-05-12")  # type: ignore[union-attr]


def test_defaults_are_models_nobody_retires() -> None:
    from chatcli.features.images.run import EDIT_MODEL, GENERATE_MODEL
    from chatcli.features.transcribe.run import DEFAULT_MODEL as TRANSCRIBE
    from chatcli.settings.loading import DEFAULT_MODEL as CHAT

    for model in (CHAT, GENERATE_MODEL, EDIT_MODEL, TRANSCRIBE):
        assert retirement(model) is None, model


def test_ask_says_once_when_its_model_is_retired(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("ask", "-m", "o4-mini", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "o4-mini" in line]
    assert lines == [
        "chatcli: o4-mini retired 2026-10-23; use gpt-5.6-terra (OpenAI's deprecations page)"
    ]
    quiet = run_cli("ask", "-m", "gpt-6-luna", "hi", env=fake_env(tmp_path, fake))
    assert quiet.stderr == ""


def test_a_model_not_found_error_names_the_replacement(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(
        Error(404, "The model `gpt-4-0613` does not exist or you do not have access to it.",
              code="model_not_found")
    )  # fmt: skip
    result = run_cli("ask", "-m", "gpt-4-0613", "hi", env=fake_env(tmp_path, fake))
    assert result.returncode == 5
    assert "hint: OpenAI shut gpt-4-0613 down on 2026-10-23; use -m gpt-5.6-sol" in result.stderr


def test_doctor_marks_a_retiring_model(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.models = ["gpt-4o", "house-model"]
    fake.model_meta = {"house-model": {"shutdown_date": "2026-01-01"}}
    result = run_cli("doctor", "-m", "house-model", env=fake_env(tmp_path, fake))
    assert "retirement" in result.stdout + result.stderr
    assert "house-model retired 2026-01-01" in result.stdout + result.stderr
    listing = json.loads(run_cli("models", "--json", env=fake_env(tmp_path, fake)).stdout)
    assert {r["id"]: r["shutdown_date"] for r in listing} == {
        "gpt-4o": "2027-01-14", "house-model": "2026-01-01",
    }  # fmt: skip
