"""A new endpoint type is one module plus one registry line (docs/architecture.md's steps, done
here for real): ``acme``, a provider that speaks the chat-completions protocol with its own key
variable, an ``X-Acme-Tenant`` header on every route and a required ``base_url``, works through
the real CLI against the fake server once its module exists and its line is registered."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from chatcli.settings.endpoint_types import ENDPOINT_TYPES, EndpointType, Needed
from tests.cli_helpers import clean_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI

ACME = '''
"""Acme: OpenAI's wire format, its own tenant header (step 1 of docs/architecture.md)."""
from chatcli.providers import openai_compat
from chatcli.providers.endpoint import BatchLine, ChatEndpoint


def endpoint(profile, key):
    plain = openai_compat.endpoint(profile, key)
    return ChatEndpoint(
        url_for=plain.url_for,
        headers={**plain.headers, "X-Acme-Tenant": profile.name},
        models_url=plain.models_url,
        label="Acme",
        files_root=plain.files_root,
        sdk_client=plain.sdk_client,
    )


def batch_line(profile):
    return BatchLine()


def shown_url(profile):
    return None
'''


@pytest.fixture
def acme(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    module = ModuleType("chatcli.providers.acme")
    exec(compile(ACME, "acme.py", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, "chatcli.providers.acme", module)
    line = EndpointType("acme", "ACME_API_KEY", (Needed("base_url", "Base URL", "https://x/v1"),))
    monkeypatch.setitem(ENDPOINT_TYPES, "acme", line)  # step 2: the one registry line
    yield


def _config(home: Path, fake: FakeOpenAI, base_url: bool = True) -> dict[str, str]:
    url = f'base_url = "{fake.base_url}"\n' if base_url else ""
    (home / "config.toml").write_text(f'[profiles.tenant7]\ntype = "acme"\n{url}')
    return clean_env(home, ACME_API_KEY=DEFAULT_API_KEY)


def test_a_registered_type_runs_every_route_through_its_module(
    acme: None, fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = _config(tmp_path, fake)
    answer = run_cli("ask", "--no-stream", "hello there", env=env)
    assert answer.returncode == 0 and "hello there" in answer.stdout
    assert run_cli("models", "--json", env=env).returncode == 0
    assert [r.path for r in fake.requests] == ["/v1/chat/completions", "/v1/models"]
    assert {r.headers.get("x-acme-tenant") for r in fake.requests} == {"tenant7"}
    shown = run_cli("config", "show", env=env)
    assert "acme" in shown.stdout and "ACME_API_KEY" in shown.stdout


def test_its_needs_and_key_variable_come_from_the_registry(
    acme: None, fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = _config(tmp_path, fake, base_url=False)
    result = run_cli("ask", "-p", "tenant7", "hi", env=env)
    assert result.returncode == 3
    assert "is type acme but has no base_url" in result.stderr
    assert 'add base_url = "https://x/v1"' in result.stderr
    env = replace_key(_config(tmp_path, fake), "")
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 3 and "export ACME_API_KEY=" in result.stderr
    (tmp_path / "config.toml").write_text('[profiles.x]\ntype = "acne"\n')
    result = run_cli("config", "validate", env=env)
    assert result.returncode == 3 and "openai, azure, relay, acme" in result.stderr


def replace_key(env: dict[str, str], value: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k != "ACME_API_KEY"} | (
        {"ACME_API_KEY": value} if value else {}
    )


def test_an_unregistered_type_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[profiles.x]\ntype = "acme"\nbase_url = "http://x"\n')
    result = run_cli("config", "validate", env=clean_env(tmp_path))
    assert result.returncode == 3
    assert "unknown profile type 'acme'" in result.stderr
    assert replace(ENDPOINT_TYPES["azure"]).module == "azure"


def test_a_zero_config_profile_comes_from_the_registry_line_too(
    acme: None, fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    implicit = EndpointType(
        "acme",
        "ACME_API_KEY",
        (Needed("base_url", "Base URL", "https://x/v1"),),
        implicit=True,
        from_env={"base_url": "ACME_BASE_URL"},
    )
    monkeypatch.setitem(ENDPOINT_TYPES, "acme", implicit)
    env = clean_env(tmp_path, ACME_API_KEY=DEFAULT_API_KEY, ACME_BASE_URL=fake.base_url)
    answer = run_cli("ask", "-p", "acme", "--no-stream", "zero config", env=env)
    assert answer.returncode == 0 and "zero config" in answer.stdout
    assert fake.requests[0].headers.get("x-acme-tenant") == "acme"
    shown = run_cli("config", "show", "-p", "acme", "--json", env=env).stdout
    assert '"source": "env ACME_BASE_URL"' in shown
    no_url = {k: v for k, v in env.items() if k != "ACME_BASE_URL"}  # a needed key missing
    assert run_cli("ask", "-p", "acme", "hi", env=no_url).returncode == 3
