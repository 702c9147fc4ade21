"""A config that edits safely: ``config set`` in place, ``config validate`` listing every
problem, incomplete profiles blocking only themselves, misspelt keys, exposed keys."""

from __future__ import annotations

import os
from pathlib import Path

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI

COMMENTED = """\
# My chatcli config. Hand-written; keep my notes!
default_profile = "relay"   # the one I use most

[defaults]
model = "gpt-4o-mini"       # cheap by default
# temperature = 0.7
timeout = 60

[profiles.relay]
type = "relay"
base_url = "https://relay.example.com/v1"   # company gateway
api_key_env = "RELAY_KEY"

# Azure, for work
[profiles.azure]
type = "azure"
endpoint = "https://res.openai.azure.com"
api_version = "2024-10-21"
"""


def test_set_changes_one_line_and_keeps_every_other_byte(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    result = run_cli("config", "set", "profiles.relay.base_url", "https://b.example/v1",
                     env=clean_env(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    before, after = COMMENTED.splitlines(keepends=True), path.read_bytes().decode()
    pairs = zip(before, after.splitlines(True), strict=True)
    changed = [i for i, (a, b) in enumerate(pairs) if a != b]
    assert changed == [10]
    assert after.splitlines()[10] == 'base_url = "https://b.example/v1"   # company gateway'
    assert len(after.splitlines()) == len(before)


def test_set_adds_keys_and_tables_without_touching_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    env = clean_env(tmp_path)
    assert run_cli("config", "set", "defaults.max_retries", "5", env=env).returncode == 0
    assert run_cli("config", "set", "aliases.fast", "gpt-4.1-mini", env=env).returncode == 0
    text = path.read_text()
    assert text.startswith(COMMENTED.split("[profiles.relay]")[0].replace(
        "timeout = 60\n", "timeout = 60\nmax_retries = 5\n"))  # fmt: skip
    assert COMMENTED.split("timeout = 60\n")[1] in text
    assert text.endswith('[aliases]\nfast = "gpt-4.1-mini"\n')


def test_set_refuses_an_invalid_result_and_leaves_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    os.chmod(path, 0o600)
    env = clean_env(tmp_path)
    for key, value, message in (
        ("default_profile", "nosuch", "default_profile 'nosuch' is not a profile"),
        ("defaults.modle", "gpt-4o", "did you mean `model`?"),
        ("profiles.relay.timeout", "soon", "timeout must be a number"),
    ):
        result = run_cli("config", "set", key, value, env=env)
        assert result.returncode == 3 and message in result.stderr, result.stderr
        assert "not written" in result.stderr
        assert path.read_text() == COMMENTED


def test_validate_names_every_problem_at_once(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "[defaults]\nmodle = 'gpt-4o'\ntimeout = 'soon'\n\n[profiles.half]\ntype = 'relay'\n"
    )
    result = run_cli("config", "validate", env=clean_env(tmp_path))
    assert result.returncode == 3
    lines = result.stderr.splitlines()
    assert f"{path}:2:1: defaults.modle: unknown key (did you mean `model`?)" in lines
    assert any(f"{path}:3:1: defaults.timeout must be a number" in ln for ln in lines)
    assert any("[profiles.half] is type relay but has no base_url" in ln for ln in lines)
    assert lines[-1] == f"chatcli: error: {path}: 3 problems"


def test_an_incomplete_profile_blocks_only_itself(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    for key, value in (("profiles.main.type", "relay"), ("profiles.main.base_url", fake.base_url)):
        assert run_cli("config", "set", key, value, env=env).returncode == 0  # the default
    made = run_cli("config", "set", "profiles.new.type", "relay", env=env)
    assert made.returncode == 0 and "set that next" in made.stderr
    ok = run_cli("ask", "hi", env=env)
    assert ok.returncode == 0 and ok.stdout == "echo(1): hi\n"
    assert run_cli("config", "show", env=env).returncode == 0
    used = run_cli("ask", "-p", "new", "hi", env=env)
    assert (
        used.returncode == 3 and "[profiles.new] is type relay but has no base_url" in used.stderr
    )


def test_an_inline_key_readable_by_others_warns(fake: FakeOpenAI, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[profiles.r]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\n'
    )
    os.chmod(path, 0o644)
    env = fake_env(tmp_path, fake)
    warned = run_cli("-p", "r", "ask", "hi", env=env)
    assert warned.returncode == 0
    assert f"chmod 600 '{path}'" in warned.stderr and "other users can read it" in warned.stderr
    assert DEFAULT_API_KEY not in warned.stderr
    os.chmod(path, 0o600)
    assert run_cli("-p", "r", "ask", "hi", env=env).stderr == ""


def test_set_on_a_symlinked_config_edits_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles" / "chatcli"
    dotfiles.mkdir(parents=True)
    target = dotfiles / "config.toml"
    target.write_text(COMMENTED)
    (tmp_path / "hop.toml").symlink_to(target)  # a chain of links, relative and absolute
    link = tmp_path / "config.toml"
    link.symlink_to("hop.toml")
    result = run_cli("config", "set", "defaults.model", "gpt-4o", env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == "hop.toml"
    assert (tmp_path / "hop.toml").is_symlink()
    assert 'model = "gpt-4o"       # cheap by default' in target.read_text()
    assert sorted(p.name for p in dotfiles.iterdir()) == ["config.toml"]  # no temp file left
    dangling = tmp_path / "other" / "config.toml"  # a link to a config not written yet
    dangling.parent.mkdir()
    dangling.symlink_to(tmp_path / "dotfiles" / "new.toml")
    env = clean_env(tmp_path, CHATCLI_CONFIG=str(dangling))
    result = run_cli("config", "set", "defaults.model", "x", env=env)
    assert result.returncode == 0, result.stderr
    assert dangling.is_symlink()
    assert (tmp_path / "dotfiles" / "new.toml").read_text() == '[defaults]\nmodel = "x"\n'
