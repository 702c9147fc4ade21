"""A profile's own headers, organization and project go on every request it makes, the SDK's
uploads and the Batch API included, and stay out of --debug output."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI

TOKEN = "team-token-0123456789"


def _config(tmp_path: Path, fake: FakeOpenAI) -> dict[str, str]:
    (tmp_path / "config.toml").write_text(
        'default_profile = "work"\n[profiles.work]\ntype = "openai"\n'
        f'base_url = "{fake.base_url}"\napi_key_env = "WORK_KEY"\n'
        'organization = "org-acme"\nproject = "proj_chat"\n'
        '[profiles.work.headers]\n"X-Team" = "alpha"\n"X-Token" = { env = "TEAM_TOKEN" }\n'
        '"X-Signed" = { cmd = "echo signed-by-cmd" }\n'
    )
    return clean_env(tmp_path, WORK_KEY=DEFAULT_API_KEY, TEAM_TOKEN=TOKEN)


def _has_all(headers: dict[str, str]) -> bool:
    return (
        headers.get("x-team") == "alpha"
        and headers.get("x-token") == TOKEN
        and headers.get("x-signed") == "signed-by-cmd"
        and headers.get("openai-organization") == "org-acme"
        and headers.get("openai-project") == "proj_chat"
    )


def test_headers_on_chat_models_sdk_and_batch_requests(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = _config(tmp_path, fake)
    assert run_cli("ask", "hi", env=env).returncode == 0
    assert run_cli("models", env=env).returncode == 0
    speak = run_cli("speak", "hello", "-o", str(tmp_path / "a.mp3"), env=env)
    assert speak.returncode == 0, speak.stderr
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text(json.dumps({"prompt": "q"}) + "\n")
    batch = run_cli("batch", "submit", str(jsonl), "--yes", env=env)
    assert batch.returncode == 0, batch.stderr
    paths = {r.path for r in fake.requests}
    assert {"/v1/chat/completions", "/v1/models", "/v1/audio/speech", "/v1/files"} <= paths
    assert all(_has_all(r.headers) for r in fake.requests), [
        r.path for r in fake.requests if not _has_all(r.headers)
    ]


def test_header_values_are_redacted_in_debug_output(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("--debug", "ask", "hi", env=_config(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert "x-token" in result.stderr.lower()
    assert TOKEN not in result.stderr and TOKEN[-4:] in result.stderr


def test_organization_and_project_from_the_environment(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake, OPENAI_ORG_ID="org-env", OPENAI_PROJECT_ID="proj_env")
    assert run_cli("ask", "hi", env=env).returncode == 0
    (request,) = fake.chat_requests()
    assert request.headers["openai-organization"] == "org-env"
    assert request.headers["openai-project"] == "proj_env"


def test_a_header_from_an_unset_variable_is_a_config_error(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = _config(tmp_path, fake)
    del env["TEAM_TOKEN"]
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 3
    assert "header X-Token of profile 'work' reads $TEAM_TOKEN, which is not set" in result.stderr
    assert fake.requests == []


def test_bad_header_entries_are_refused_with_their_line(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[profiles.work]\ntype = "relay"\nbase_url = "http://x/v1"\n'
        '[profiles.work.headers]\n"X-Num" = 5\n'
    )
    result = run_cli("config", "validate", env=clean_env(tmp_path))
    assert result.returncode == 3
    assert "config.toml:5:1: profiles.work.headers.X-Num must be a string" in result.stderr
