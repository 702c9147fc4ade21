"""``chatcli doctor``: every stage reported, failures with a fix, keys never shown."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI


def test_doctor_all_good(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("doctor", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stdout + result.stderr
    names = [line[7:19].strip() for line in result.stdout.splitlines() if line.startswith("[")]
    assert names == [
        "config",
        "profile",
        "key",
        "url",
        "proxy",
        "reachable",
        "auth",
        "model",
        "request",
    ]
    assert "FAIL" not in result.stdout and DEFAULT_API_KEY not in result.stdout
    # an openai profile tries the Responses API first; this endpoint has none: chat from now on
    assert f"url          {fake.base_url}/responses (Responses API)" in result.stdout
    assert f"over the Chat Completions API from now on ({fake.base_url}/chat/c" in result.stdout
    assert fake.chat_requests()[0].json["max_tokens"] == 5
    again = run_cli("doctor", env=fake_env(tmp_path, fake))
    assert f"url          {fake.base_url}/chat/completions (Chat Completions)" in again.stdout
    assert "from now on" not in again.stdout


def test_doctor_over_the_responses_api(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.responses = True
    result = run_cli("doctor", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"url          {fake.base_url}/responses (Responses API)" in result.stdout
    assert "from now on" not in result.stdout and "[ok  ] request " in result.stdout
    assert fake.responses_requests()[0].json["max_output_tokens"] == 16
    assert fake.chat_requests() == []


def test_doctor_reports_bad_key_with_fix(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake, OPENAI_API_KEY="sk-bad-key-00000000zzzz")
    result = run_cli("doctor", env=env)
    assert result.returncode == 1
    assert "[FAIL] auth" in result.stdout and "fix:" in result.stdout
    assert "sk-bad-key-00000000zzzz" not in result.stdout + result.stderr


def test_doctor_unlisted_model_and_unreachable(fake: FakeOpenAI, tmp_path: Path) -> None:
    warn = run_cli("doctor", "-m", "gpt-4o-typo", env=fake_env(tmp_path, fake))
    assert "[warn] model        gpt-4o-typo is not among" in warn.stdout
    assert "e.g. gpt-4o," in warn.stdout
    down = clean_env(tmp_path, OPENAI_API_KEY="k", OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    result = run_cli("doctor", env=down)
    assert result.returncode == 1 and "[FAIL] reachable" in result.stdout
    unknown = run_cli("doctor", env=clean_env(tmp_path, CHATCLI_PROFILE="x"))
    assert unknown.returncode == 1 and "[FAIL] profile      unknown profile 'x'" in unknown.stdout
    nothing = run_cli("doctor", env=clean_env(tmp_path))
    assert nothing.returncode == 1 and "no API key in the environment" in nothing.stdout


def test_doctor_on_azure_does_not_judge_a_deployment_by_the_model_list(tmp_path: Path) -> None:
    """Azure's model list holds base models: a deployment named like one is not "listed",
    and one named freely is not "missing"; the request step is what checks it."""
    with FakeOpenAI(api_key=None, azure_key="azure-secret-key-9876") as fake:
        (tmp_path / "config.toml").write_text(
            f'default_profile = "az"\n[profiles.az]\ntype = "azure"\nendpoint = "{fake.root}"\n'
            'api_version = "2024-10-21"\napi_key_env = "MY_AZ_KEY"\nmodel = "gpt-4o"\n'
            '[profiles.az.deployments]\n"gpt-4o" = "gpt4o-prod"\n'
        )
        env = clean_env(tmp_path, MY_AZ_KEY="azure-secret-key-9876")
        result = run_cli("doctor", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "is listed" not in result.stdout and "not among" not in result.stdout
        assert "Azure lists models, not deployments" in result.stdout
        assert "[ok  ] request" in result.stdout
        assert "azure-secret-key-9876" not in result.stdout + result.stderr
