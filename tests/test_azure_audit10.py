"""Audit 10, Azure OpenAI end to end: ``config init`` asks for the deployment (taking it and the
api-version from a pasted portal URI), checking each answer as it is typed; batch jobs name a
Global-Batch deployment of their own; errors name the deployment on every route, blame a wrong
``api_version`` where Azure does, and name the profile; empty deployments, a malformed
``api_version`` and another type's settings are config errors; the v1 route's echo of the
deployment is no other model; Entra ID tokens go as ``Authorization: Bearer`` on every route,
fetched again on a 401; a content filter says which category fired."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, run_cli
from tests.fakes import Error, FakeOpenAI, Raw, make_wav
from tests.test_batch import write_jsonl
from tests.test_config_cli import _in_terminal

KEY = "sk-test-0123456789abcdef"


def _config(tmp_path: Path, fake: FakeOpenAI, extra: str = "", **profile: str) -> dict[str, str]:
    """Profiles ``az`` (chat) and ``azr`` (Responses) on ``fake``'s Azure routes."""
    lines = "".join(f'{k} = "{v}"\n' for k, v in profile.items())
    path = tmp_path / "config.toml"
    path.write_text(
        f'default_profile = "az"\n[defaults]\nmodel = "gpt-4o-mini"\nmax_retries = 0\n'
        f'[profiles.az]\ntype = "azure"\nendpoint = "{fake.root}"\napi_version = "2024-10-21"\n'
        f"{lines}"
        '[profiles.az.deployments]\n"gpt-4o-mini" = "mini-prod"\n"tts-1" = "tts-dep"\n'
        f"{extra}"
        f'[profiles.azr]\ntype = "azure"\nendpoint = "{fake.root}"\napi_version = "2024-10-21"\n'
        f'api_key = "{KEY}"\napi = "responses"\n'
        '[profiles.azr.deployments]\n"gpt-4o-mini" = "mini-prod"\n'
    )
    path.chmod(0o600)
    return clean_env(tmp_path, AZURE_OPENAI_API_KEY=KEY)


# 1, 2. config init: the deployment is asked for; a portal URI gives it and the api-version


def test_init_takes_the_deployment_and_version_from_a_pasted_portal_uri(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key=KEY) as fake:
        env = clean_env(tmp_path)
        uri = (
            f"{fake.root}/openai/deployments/mini-prod/chat/completions"
            "?api-version=2025-01-01-preview"
        )
        answers = f"azure\n\n{uri}\n\n\n{KEY}\n\ngpt-4o-mini\n"
        code, err = _in_terminal(env, answers, "config", "init")
        assert code == 0, err
        assert "API version [2025-01-01-preview]" in err and "[mini-prod]" in err
        path = tmp_path / "config.toml"
        data = tomllib.loads(path.read_text())
        profile = data["profiles"]["azure"]
        assert profile["endpoint"] == fake.root and profile["api_version"] == "2025-01-01-preview"
        assert profile["deployments"] == {"gpt-4o-mini": "mini-prod"}
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        result = run_cli("ask", "hi", env=env)
        assert result.returncode == 0, result.stderr
        (rec,) = fake.chat_requests()
        assert rec.path == "/openai/deployments/mini-prod/chat/completions"
        assert rec.query["api-version"] == "2025-01-01-preview"


def test_init_asks_again_for_an_answer_it_cannot_use_keeping_the_others(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    answers = (
        "azure\nwork-az\nres.example.com\nhttps://res.openai.azure.com/\n"
        "2024-10-21&x=1\n2024-10-21\n\nprod-4o\nenv AZ_KEY\nftp://proxy\n\ngpt-4o\n"
    )
    code, err = _in_terminal(env, answers, "config", "init")
    assert code == 0, err
    for refused in (
        "'res.example.com' is not a URL",
        "api_version '2024-10-21&x=1' is not an Azure API version",
        "a deployment name is needed",
        "proxy 'ftp://proxy' is not http or https or socks5 or socks5h",
    ):
        assert f"chatcli: {refused}" in err and "answer again" in err, (refused, err)
    data = tomllib.loads((tmp_path / "config.toml").read_text())
    profile = data["profiles"]["work-az"]
    assert profile["endpoint"] == "https://res.openai.azure.com"
    assert profile["api_version"] == "2024-10-21" and profile["api_key_env"] == "AZ_KEY"
    assert profile["deployments"] == {"gpt-4o": "prod-4o"} and "proxy" not in profile
    assert data["defaults"]["model"] == "gpt-4o"


# 3. batch jobs name the Global-Batch deployment; chat keeps its own; the price stays known


def test_batch_deployments_serve_batches_only_and_keep_the_models_price(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where --dry-run writes its lines
    with FakeOpenAI(api_key=None, azure_key=KEY) as fake:
        fake.batch_api.refuse_models = {"mini-prod"}  # a Standard deployment
        env = _config(
            tmp_path, fake, extra='[profiles.az.batch_deployments]\n"gpt-4o-mini" = "mini-gb"\n'
        )
        jsonl = str(write_jsonl(tmp_path / "in.jsonl", 2))
        dry = run_cli("batch", "submit", jsonl, "--dry-run", env=env)
        assert dry.returncode == 0, dry.stderr
        assert "cost unknown" not in dry.stderr and "$" in dry.stderr
        shown = (tmp_path / "chatcli-batch-dry-run.jsonl").read_text().splitlines()
        assert json.loads(shown[0])["body"]["model"] == "mini-gb"
        submitted = run_cli("batch", "submit", jsonl, env=env)
        assert submitted.returncode == 0, submitted.stderr
        waited = run_cli("batch", "wait", submitted.stdout.strip(), env=env)
        assert waited.returncode == 0, waited.stderr
        line = json.loads(next(iter(fake.batch_api.files.values())).data.splitlines()[0])
        assert line["body"]["model"] == "mini-gb"
        assert run_cli("ask", "hi", env=env).returncode == 0
        assert fake.chat_requests()[-1].path == "/openai/deployments/mini-prod/chat/completions"
        config = run_cli("config", "show", env=env)
        assert "batch_deployments" in config.stdout and "mini-gb" in config.stdout


def test_a_refused_batch_deployment_hint_names_the_profiles_batch_table(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key=KEY) as fake:
        fake.batch_api.refuse_models = {"mini-prod"}
        env = _config(tmp_path, fake)
        submitted = run_cli("batch", "submit", str(write_jsonl(tmp_path / "in.jsonl", 2)), env=env)
        assert submitted.returncode == 0, submitted.stderr
        waited = run_cli("batch", "wait", submitted.stdout.strip(), env=env)
        assert waited.returncode == 5
        assert "[profiles.az.batch_deployments]" in waited.stderr
        assert "[profiles.NAME" not in waited.stderr


# 4, 7. a missing deployment is named on every route, in the profile's table


def test_deployment_not_found_on_the_responses_route_names_the_deployment(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key=KEY) as fake:
        fake.responses = True
        env = _config(tmp_path, fake)
        body = '{"error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource does not exist."}}'  # noqa: E501
        fake.script(Raw(status=404, body=body))
        result = run_cli("ask", "-p", "azr", "hi", env=env)
        assert result.returncode == 5
        assert "hint: the resource has no deployment named 'mini-prod'" in result.stderr
        assert "[profiles.azr.deployments]" in result.stderr and "base_url" not in result.stderr
        fake.script(Raw(status=404, body=body))
        chat = run_cli("ask", "hi", env=env)
        assert chat.returncode == 5
        assert "no deployment named 'mini-prod'" in chat.stderr
        assert "[profiles.az.deployments]" in chat.stderr


# 5. a wrong api_version is named as such, by ask and by doctor


def test_resource_not_found_and_unsupported_versions_blame_api_version(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key=KEY) as fake:
        env = _config(tmp_path, fake)
        gone = Raw(status=404, body='{"error": {"code": "404", "message": "Resource not found"}}')
        fake.script(gone)
        asked = run_cli("ask", "hi", env=env)
        assert asked.returncode == 5
        assert "api_version in [profiles.az]" in asked.stderr
        assert "no deployment named" not in asked.stderr
        fake.script(gone, route="models")
        fake.script(gone)
        doctor = run_cli("doctor", env=env)
        assert doctor.returncode == 1
        assert doctor.stdout.count("fix: Azure says this for an API version it does not know") == 2
        unsupported = Raw(
            status=400,
            body='{"error": {"code": "BadRequest", "message": "API version not supported"}}',
        )
        fake.script(unsupported, route="models")
        fake.script(unsupported)
        doctor = run_cli("doctor", env=env)
        assert doctor.returncode == 1
        assert doctor.stdout.count("fix: set api_version in [profiles.az] to a version") == 2


# 6, 10. empty deployments, a malformed api_version and another type's settings: exit 3


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('[profiles.a.deployments]\n"gpt-4o" = ""\n', 'profiles.a.deployments."gpt-4o" needs'),
        ('[profiles.a.batch_deployments]\n"gpt-4o" = " "\n', 'batch_deployments."gpt-4o"'),
        ('base_url = "http://x/v1"\n', "profiles.a.base_url does not apply to type azure"),
        ('organization = "org-1"\n', "profiles.a.organization does not apply to type azure"),
    ],
)
def test_settings_azure_cannot_use_are_config_errors(
    tmp_path: Path, table: str, expected: str
) -> None:
    with FakeOpenAI(api_key=None, azure_key=KEY) as fake:
        (tmp_path / "config.toml").write_text(
            f'[profiles.a]\ntype = "azure"\nendpoint = "{fake.root}"\napi_version = "2024-10-21"\n'
            f'api_key_env = "AZ_KEY"\n{table}'
        )
        env = clean_env(tmp_path, AZ_KEY=KEY)
        checked = run_cli("config", "validate", env=env)
        assert checked.returncode == 3 and expected in checked.stderr, checked.stderr
        assert "config.toml:" in checked.stderr
        asked = run_cli("ask", "-p", "a", "-m", "gpt-4o", "hi", env=env)
        assert asked.returncode == 3 and expected in asked.stderr
        assert fake.requests == []


def test_a_relay_with_azure_settings_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[profiles.r]\ntype = "relay"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'api_version = "2024-10-21"\n'
    )
    checked = run_cli("config", "validate", env=clean_env(tmp_path))
    assert checked.returncode == 3
    assert "profiles.r.api_version does not apply to type relay" in checked.stderr


@pytest.mark.parametrize("version", ["2024-10-21&foo=1", "1", "2024-10"])
def test_a_malformed_api_version_is_refused_before_sending(tmp_path: Path, version: str) -> None:
    with FakeOpenAI(api_key=None, azure_key=KEY) as fake:
        env = _config(tmp_path, fake)
        path = tmp_path / "config.toml"
        path.write_text(path.read_text().replace('"2024-10-21"', f'"{version}"', 1))
        checked = run_cli("config", "validate", env=env)
        assert checked.returncode == 3
        assert f"config.toml:8:1: api_version {version!r} is not an Azure API version" in (
            checked.stderr
        )
        for command in (
            ["ask", "hi"],
            ["models"],
            ["speak", "-m", "tts-1", "hi", "-o", str(tmp_path / "a.mp3")],
        ):
            result = run_cli(*command, env=env)
            assert result.returncode == 3, (command, result.stderr)
            assert f"api_version {version!r} is not an Azure API version" in result.stderr
        assert fake.requests == []
    zero = clean_env(
        tmp_path, AZURE_OPENAI_API_KEY=KEY, AZURE_OPENAI_ENDPOINT="https://r.openai.azure.com",
        OPENAI_API_VERSION=version, CHATCLI_CONFIG=str(tmp_path / "none.toml"),
    )  # fmt: skip
    result = run_cli("ask", "hi", env=zero)
    assert result.returncode == 3 and "env OPENAI_API_VERSION" in result.stderr


# 8. the v1 route's echo of the deployment chatcli sent is not another model


def test_the_responses_routes_echo_of_the_deployment_is_no_other_model(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key=KEY) as fake:
        fake.responses = True
        env = _config(tmp_path, fake)
        asked = run_cli("ask", "-p", "azr", "--json", "hi", env=env)
        assert asked.returncode == 0, asked.stderr
        assert fake.responses_requests()[0].json["model"] == "mini-prod"
        assert json.loads(asked.stdout)["model"] == "gpt-4o-mini"
        usage = run_cli("usage", "--by", "model", env=env)
        assert usage.returncode == 0 and "answered by" not in usage.stdout + usage.stderr
        doctor = run_cli("doctor", "-p", "azr", env=env)
        assert doctor.returncode == 0, doctor.stdout
        assert "answered as" not in doctor.stdout


# 9. Entra ID: a bearer token on every route, fetched again when refused


def _entra(tmp_path: Path, fake: FakeOpenAI, tokens: int = 1) -> dict[str, str]:
    """Profile ``az`` with ``auth = "entra"``; its api_key_cmd prints ``entra-token-N``, N
    counting its runs (so a second run gives a fresh token)."""
    script = tmp_path / "token.sh"
    script.write_text(
        f'n=$(cat "{tmp_path}/runs" 2>/dev/null || echo 0); n=$((n + 1)); '
        f'echo $n > "{tmp_path}/runs"; echo "eyJ0eXAiOiJKV1Qi.entra-token-$n"\n'
    )
    fake.azure_key = f"eyJ0eXAiOiJKV1Qi.entra-token-{tokens}"
    return _config(tmp_path, fake, auth="entra", api_key_cmd=f"sh {script}")


def test_entra_tokens_go_as_bearer_on_every_route(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None) as fake:
        fake.responses = True
        env = _entra(tmp_path, fake)
        wav = tmp_path / "a.wav"
        wav.write_bytes(make_wav(0.5))
        commands = [
            ["ask", "hi"],
            ["models"],
            ["speak", "-m", "tts-1", "hello", "-o", str(tmp_path / "a.mp3")],
            ["transcribe", str(wav)],
            ["batch", "submit", str(write_jsonl(tmp_path / "in.jsonl", 1))],
        ]
        for command in commands:
            (tmp_path / "runs").unlink(missing_ok=True)
            result = run_cli(*command, env=env)
            assert result.returncode == 0, (command, result.stderr)
            assert "entra-token" not in result.stdout + result.stderr
        assert len({r.path for r in fake.requests}) >= 5
        for rec in fake.requests:
            assert rec.headers.get("authorization") == "Bearer eyJ0eXAiOiJKV1Qi.entra-token-1"
            assert "api-key" not in rec.headers, rec.path


def test_a_refused_entra_token_is_fetched_again_once(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None) as fake:
        env = _entra(tmp_path, fake, tokens=2)  # the first token has expired
        result = run_cli("ask", "hi", env=env)
        assert result.returncode == 0, result.stderr
        sent = [r.headers["authorization"][-13:] for r in fake.chat_requests()]
        assert sent == ["entra-token-1", "entra-token-2"]
        (tmp_path / "runs").unlink()
        speech = run_cli("speak", "-m", "tts-1", "hi", "-o", str(tmp_path / "a.mp3"), env=env)
        assert speech.returncode == 0, speech.stderr
        fake.azure_key = "eyJ0eXAiOiJKV1Qi.entra-token-9"  # refused again: once is enough
        refused = run_cli("ask", "hi", env=env)
        assert refused.returncode == 4
        assert (tmp_path / "runs").read_text().strip() == "4"


def test_key_authentication_disabled_says_to_use_entra(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key=KEY) as fake:
        env = _config(tmp_path, fake)
        fake.script(
            Error(
                403,
                "Key based authentication is disabled for this resource.",
                code="AuthenticationTypeDisabled",
            )
        )
        result = run_cli("ask", "hi", env=env)
        assert result.returncode == 4
        assert 'set auth = "entra" and api_key_cmd = ' in result.stderr
        assert "[profiles.az]" in result.stderr and "lacks permission" not in result.stderr


# 10. the content filter says which category fired


def test_the_content_filter_names_the_category(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=None, azure_key=KEY) as fake:
        env = _config(tmp_path, fake)
        fired = {"violence": {"filtered": True, "severity": "medium"},
                 "hate": {"filtered": False, "severity": "safe"}}  # fmt: skip
        stop = {"index": 0, "delta": {}, "finish_reason": "content_filter"}
        started = {"index": 0, "delta": {"content": "Once"}, "finish_reason": None}
        chunks = [{"choices": [started]}, {"choices": [{**stop, "content_filter_results": fired}]}]
        fake.script(Raw(chunks=chunks))
        streamed = run_cli("ask", "hi", env=env)
        assert streamed.returncode == 5 and streamed.stdout.startswith("Once")
        assert "stopped by the provider's content filter (violence (medium))" in streamed.stderr
        error = {"error": {"code": "content_filter", "message": "The prompt was filtered.",
                           "innererror": {"code": "ResponsibleAIPolicyViolation",
                                          "content_filter_result": {
                                              "jailbreak": {"filtered": True, "detected": True},
                                              "sexual": {"filtered": False}}}}}  # fmt: skip
        fake.script(Raw(status=400, body=json.dumps(error)))
        refused = run_cli("ask", "hi", env=env)
        assert refused.returncode == 5
        assert "The prompt was filtered. (filtered: jailbreak)" in refused.stderr
