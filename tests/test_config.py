"""Configuration: the example file, validation errors with positions, key sources, zero-config."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from chatcli.errors import ConfigError
from chatcli.settings import keys
from chatcli.settings import loading as config
from tests.cli_helpers import clean_env, run_cli

ROOT = Path(__file__).resolve().parent.parent


def _load(tmp_path: Path, text: str) -> config.Config:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return config.load(path)


def test_example_config_is_valid_and_complete() -> None:
    cfg = config.load(ROOT / "config.example.toml")
    assert cfg.default_profile == "openai"
    assert {"openai", "azure", "relay"} <= set(cfg.profiles)
    azure = cfg.profiles["azure"]
    assert azure.deployment("gpt-4o") == "gpt4o-prod" and azure.deployment("o3") == "o3"
    assert azure.model == "gpt-4o" and azure.timeout == 60
    relay = cfg.profiles["relay"]
    assert relay.proxy == "http://127.0.0.1:7890" and relay.requests_per_minute == 200
    assert relay.sources["model"] == "[profiles.relay]"
    assert cfg.profiles["openai"].sources["model"] == "[defaults]"
    assert cfg.resolve_model("fast") == "gpt-4o-mini"
    assert cfg.model_info("gpt-4o").input_price == 2.50
    assert "English" in cfg.role("translator")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("default_profile = \n", "config.toml: invalid TOML: "),
        ("[defaults]\nmodle = 'x'\n", "config.toml:2:1: defaults.modle: unknown key"),
        ("[profiles.x]\ntype = 'bedrock'\n", "2:1: profiles.x.type: unknown profile type"),
        ("[profiles.x]\ntype = 'azure'\napi_version = '1'\n", "type azure but has no endpoint"),
        ("[defaults]\ntimeout = 'soon'\n", "config.toml:2:1: defaults.timeout must be a number"),
        ("\n[profiles.r]\ntype = 'relay'\n  stream_usage = 1\n", "config.toml:4:3: profiles.r."),
        ("[profiles.r]\ntype = 'relay'\nbase_url = 'relay.example.com'\n", "is not a URL"),
        ("[defaults]\nmarkdown = 'sometimes'\n", "markdown must be one of auto, always, never"),
        ("surprise = 1\n", "config.toml:1:1: unknown top-level key 'surprise'"),
        ('[models."gpt-x"]\ncontext_window = "big"\n', "context_window must be an integer"),
        ("[profiles.x]\ntype = 'openai'\napi = 'rest'\n", "3:1: profiles.x.api must be one of"),
        ("[profiles.x]\ntype = 'openai'\nstore = 'yes'\n", "profiles.x.store must be true or"),
        ("[defaults]\nshow_reasoning = 0\n", "defaults.show_reasoning must be true or false"),
    ],
)
def test_malformed_config_names_place_and_problem(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text).profile("x")  # an incomplete profile fails only when used
    assert expected in info.value.message
    assert str(tmp_path) in info.value.message


def test_toml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, "[defaults]\nmodel = gpt\n")
    assert "line 2, column 9" in info.value.message


def test_key_sources_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "from-conventional")
    monkeypatch.setenv("MY_KEY", "from-env-var")
    cfg = _load(
        tmp_path,
        "[profiles.a]\ntype = 'openai'\napi_key = 'inline'\napi_key_cmd = 'echo cmd'\n"
        "[profiles.b]\ntype = 'openai'\napi_key_cmd = 'echo \"  from-cmd  \"'\n"
        "api_key_env = 'MY_KEY'\n"
        "[profiles.c]\ntype = 'openai'\napi_key_env = 'MY_KEY'\n"
        "[profiles.d]\ntype = 'openai'\n"
        "[profiles.e]\ntype = 'relay'\nbase_url = 'http://x'\napi_key_cmd = 'exit 3'\n"
        "[profiles.f]\ntype = 'azure'\nendpoint = 'https://x'\napi_version = 'v'\n",
    )
    assert keys.resolve_key(cfg.profile("a")) == "inline"
    assert keys.resolve_key(cfg.profile("b")) == "from-cmd"
    assert keys.resolve_key(cfg.profile("c")) == "from-env-var"
    assert keys.resolve_key(cfg.profile("d")) == "from-conventional"
    with pytest.raises(ConfigError, match="api_key_cmd of profile 'e' exited with 3"):
        keys.resolve_key(cfg.profile("e"))
    with pytest.raises(ConfigError, match="no API key found for profile 'f'") as info:
        keys.resolve_key(cfg.profile("f"))
    assert "AZURE_OPENAI_API_KEY" in (info.value.hint or "")


def test_profile_choice_flag_env_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _load(
        tmp_path,
        "default_profile = 'a'\n[profiles.a]\ntype = 'openai'\n[profiles.b]\ntype = 'openai'\n",
    )
    monkeypatch.delenv("CHATCLI_PROFILE", raising=False)
    assert cfg.profile().name == "a"
    monkeypatch.setenv("CHATCLI_PROFILE", "b")
    assert cfg.profile().name == "b"
    assert cfg.profile("a").name == "a"
    with pytest.raises(ConfigError, match="unknown profile 'zz' \\(known: a, b"):
        cfg.profile("zz")


def test_zero_config_profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in list(os.environ):
        if var.startswith(("OPENAI_", "AZURE_OPENAI_", "CHATCLI_")):
            monkeypatch.delenv(var)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1")
    cfg = config.load(tmp_path / "missing.toml")
    assert not cfg.exists
    openai = cfg.profile()
    assert (openai.name, openai.type, openai.base_url) == (
        "openai",
        "openai",
        "http://localhost:11434/v1",
    )
    assert openai.implicit and openai.sources["base_url"] == "env OPENAI_BASE_URL"


def test_cli_config_errors_exit_3(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    no_key = run_cli("ask", "hi", env=env)
    assert no_key.returncode == 3
    assert "chatcli: error: no profile configured" in no_key.stderr
    assert "OPENAI_API_KEY" in no_key.stderr
    missing = run_cli("ask", "--config", str(tmp_path / "nope.toml"), "hi", env=env)
    assert missing.returncode == 3 and "does not exist" in missing.stderr
    (tmp_path / "config.toml").write_text("[profiles.x]\ntype = 'openai'\n")
    unknown = run_cli("ask", "-p", "other", "hi", env=env)
    assert unknown.returncode == 3 and "unknown profile 'other'" in unknown.stderr
    nokey = run_cli("ask", "-p", "x", "hi", env=env)
    assert nokey.returncode == 3 and "no API key found for profile 'x'" in nokey.stderr
    (tmp_path / "config.toml").write_text("[defaults\n")
    bad = run_cli("ask", "hi", env=env)
    assert bad.returncode == 3 and "invalid TOML" in bad.stderr
    for r in (no_key, missing, unknown, nokey, bad):
        assert "Traceback" not in r.stderr and len(r.stderr.splitlines()) <= 2


def test_private_write_modes(tmp_path: Path) -> None:
    from chatcli.settings.paths import write_private

    target = tmp_path / "new" / "dir" / "config.toml"
    before = os.umask(0o002)  # a group-writable umask loosens nothing chatcli makes
    try:
        write_private(target, "x = 1\n")
    finally:
        os.umask(before)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(target.parent.parent.stat().st_mode) == 0o700  # every one it made


@pytest.mark.parametrize(
    ("key", "shown"),
    [("abcd", "****"), ("sk-12345678", "****"), ("sk-1234567890ab", "****90ab"), ("", "****")],
)
def test_redact_key_one_rule(key: str, shown: str) -> None:
    """A key is shown as its last 4 characters only when that is a small part of it."""
    assert keys.redact_key(key) == shown
    if key:
        assert key not in keys.redact(f"Bearer {key}!", (key,)) or len(key) < 4


def test_redact_replaces_longest_secret_first() -> None:
    assert keys.redact("x sk-aaaaaaaaaaaaXYZ1 y", ("sk-aaaa", "sk-aaaaaaaaaaaaXYZ1")) == (
        "x ****XYZ1 y"
    )


def test_wire_api_settings_are_read_with_defaults(tmp_path: Path) -> None:
    cfg = _load(
        tmp_path,
        "[defaults]\nshow_reasoning = false\n"
        "[profiles.x]\ntype = 'openai'\napi = 'responses'\nstore = true\n"
        "[profiles.r]\ntype = 'relay'\nbase_url = 'https://relay.example.com/v1'\n",
    )
    x, r = cfg.profile("x"), cfg.profile("r")
    assert (x.api, x.store, x.show_reasoning) == ("responses", True, False)
    assert (r.api, r.store, r.show_reasoning) == ("auto", False, False)
    assert x.sources["api"] == "[profiles.x]" and r.sources["show_reasoning"] == "[defaults]"
