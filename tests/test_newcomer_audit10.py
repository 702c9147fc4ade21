"""Audit 10, area ``newcomer``: the first hour of a new user (reports/audit10/newcomer.md).

The profile a config means no longer depends on an unrelated ``OPENAI_API_KEY``; ``doctor``
reads the proxy variables as a request does; ``config init`` asks again for a key source that
names nothing; ``config set`` refuses what ``validate`` refuses and says how to quote a name
with dots; ``--help`` cuts no option name on a narrow terminal; the README's MCP example runs
in a fresh HOME.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI
from tests.test_config_cli import _in_terminal

RELAY_KEY = "sk-relay-0123456789abcdef"


# -- 1. the file's one profile is the one used, whatever the environment holds ------------


def test_config_set_profile_is_used_though_openai_api_key_is_set(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """The README's ``config set`` path to a relay, with the relay's key in OPENAI_API_KEY:
    the requests (and that key) go to the relay, never to the implicit ``openai`` profile."""
    with FakeOpenAI() as elsewhere:  # where OPENAI_BASE_URL points: api.openai.com's stand-in
        env = fake_env(tmp_path, elsewhere)
        first = run_cli("config", "set", "profiles.relay.type", "relay", env=env)
        assert first.returncode == 0, first.stderr
        assert "note: default_profile = relay set too" in first.stderr
        for key, value in (
            ("profiles.relay.base_url", fake.base_url),
            ("profiles.relay.api_key_env", "OPENAI_API_KEY"),
        ):
            assert run_cli("config", "set", key, value, env=env).returncode == 0
        asked = run_cli("ask", "hi", env=env)
        assert asked.returncode == 0, asked.stderr
        assert asked.stdout == "echo(1): hi\n"
        assert len(fake.chat_requests()) == 1 and elsewhere.requests == []
    data = tomllib.loads((tmp_path / "config.toml").read_text())
    assert data["default_profile"] == "relay"


def test_a_hand_written_single_profile_wins_over_the_environment(tmp_path: Path) -> None:
    with FakeOpenAI(api_key=RELAY_KEY) as relay, FakeOpenAI() as elsewhere:
        (tmp_path / "config.toml").write_text(
            f'[profiles.relay]\ntype = "relay"\nbase_url = "{relay.base_url}"\n'
            f'api_key = "{RELAY_KEY}"\n'
        )
        (tmp_path / "config.toml").chmod(0o600)
        env = fake_env(tmp_path, elsewhere)
        asked = run_cli("ask", "hi", env=env)
        assert asked.returncode == 0, asked.stderr
        assert elsewhere.requests == []  # neither key went there
        assert relay.chat_requests()[0].headers["authorization"] == f"Bearer {RELAY_KEY}"
        shown = run_cli("config", "show", env=env)
        assert "profile       relay  (the file's only profile)" in shown.stdout
        checked = run_cli("config", "validate", env=env)
        assert checked.stdout.endswith(": OK (1 profile)\n"), checked.stdout
        explicit = run_cli("-p", "openai", "ask", "hi", env=env)  # still reachable by name
        assert explicit.returncode == 0 and len(elsewhere.chat_requests()) == 1


def test_several_profiles_and_no_default_is_exit_3_naming_them(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[profiles.b]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
        f'[profiles.a]\ntype = "relay"\nbase_url = "{fake.base_url}"\n'
    )
    env = fake_env(tmp_path, fake)
    asked = run_cli("ask", "hi", env=env)
    assert asked.returncode == 3
    assert f"chatcli: error: {path} has 2 profiles (a, b) and no default_profile" in asked.stderr
    assert "chatcli config set default_profile a" in asked.stderr
    assert fake.requests == []
    checked = run_cli("config", "validate", env=env)
    assert checked.returncode == 0
    assert "no default_profile, so commands need -p NAME" in checked.stdout
    assert run_cli("-p", "a", "ask", "hi", env=env).returncode == 0


def test_adding_a_second_profile_keeps_the_one_in_use(fake: FakeOpenAI, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[profiles.main]\ntype = "relay"\nbase_url = "{fake.base_url}"\n')
    env = fake_env(tmp_path, fake)
    added = run_cli("config", "set", "profiles.new.type", "relay", env=env)
    assert added.returncode == 0, added.stderr
    assert "note: default_profile = main set too, so commands keep using it" in added.stderr
    assert tomllib.loads(path.read_text())["default_profile"] == "main"
    assert run_cli("ask", "hi", env=env).returncode == 0  # main, not the unfinished new one


# -- 2, 3. doctor reads the proxy variables as a request does --------------------------------


def _host(fake: FakeOpenAI) -> str:
    """``127.0.0.1:PORT`` of the fake."""
    return fake.base_url.removeprefix("http://").removesuffix("/v1")


@pytest.mark.parametrize("bypass", ["127.0.0.1", "*", "127.0.0.0/8"])
def test_doctor_honours_no_proxy(fake: FakeOpenAI, tmp_path: Path, bypass: str) -> None:
    env = fake_env(tmp_path, fake, HTTP_PROXY="http://127.0.0.1:1", NO_PROXY=bypass)
    asked = run_cli("ask", "hi", env=env)
    assert asked.returncode == 0, asked.stderr
    result = run_cli("doctor", env=env)
    assert result.returncode == 0, result.stdout
    assert "[    ] proxy        none\n" in result.stdout
    assert f"[ok  ] reachable    {_host(fake)}" in result.stdout


def test_doctor_reads_a_proxy_without_scheme_as_http(fake: FakeOpenAI, tmp_path: Path) -> None:
    listening = _host(fake)  # a proxy written as Clash writes it, and up
    env = fake_env(tmp_path, fake, HTTP_PROXY=listening, NO_PROXY="")
    result = run_cli("doctor", env=env)
    assert f"[    ] proxy        http://{listening} (env HTTP_PROXY)" in result.stdout
    assert f"[ok  ] reachable    {listening}" in result.stdout
    garbage = run_cli("doctor", env=fake_env(tmp_path, fake, HTTP_PROXY="garbage", NO_PROXY=""))
    assert "[FAIL] reachable    host name garbage not found" in garbage.stdout
    assert "None" not in result.stdout + garbage.stdout
    env = fake_env(tmp_path, fake, HTTP_PROXY="http://127.0.0.1:1", NO_PROXY="example.com")
    used = run_cli("doctor", env=env)  # a proxy NO_PROXY does not bypass is still named
    assert used.returncode == 1
    assert "[    ] proxy        http://127.0.0.1:1 (env HTTP_PROXY)" in used.stdout
    assert "[FAIL] reachable    127.0.0.1:1: Connection refused" in used.stdout


def test_doctor_names_the_api_it_falls_back_to(fake: FakeOpenAI, tmp_path: Path) -> None:
    result = run_cli("doctor", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stdout
    assert "; over the Chat Completions API from now on (" in result.stdout


# -- 4, 9. config init: the key's source, the profile name, end of input -------------------


def test_init_asks_again_for_a_key_source_naming_nothing(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    answers = "relay\nmy relay\nmine\nhttp://127.0.0.1:9/v1\nenv\ncmd\nenv:X\n$MY_KEY\n\n\n"
    code, err = _in_terminal(env, answers, "config", "init")
    assert code == 0, err
    assert err.count("profile name 'my relay' is not a plain name") == 1
    assert err.count("env and cmd need what follows them") == 3
    assert "key: from env MY_KEY" in err
    data = tomllib.loads((tmp_path / "config.toml").read_text())
    assert data["default_profile"] == "mine"
    assert data["profiles"]["mine"]["api_key_env"] == "MY_KEY"
    assert "api_key" not in data["profiles"]["mine"]


def test_init_at_end_of_input_says_so_on_a_line_of_its_own(tmp_path: Path) -> None:
    code, err = _in_terminal(clean_env(tmp_path), "relay\n\x04", "config", "init")
    assert code == 2
    assert "Profile name [relay]: \nchatcli: error: config init was given no answer" in err
    assert not (tmp_path / "config.toml").exists()


# -- 5, 6. config set checks what validate checks; a name with dots -------------------------


def test_set_refuses_what_validate_refuses(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    path = tmp_path / "config.toml"
    for key, value, said in (
        ("schemas.s.fields", "x integr", "schemas.s: fields: unknown type 'integr'"),
        ("schemas.e.fields", "", "schemas.e: fields: expected a field name"),
    ):
        refused = run_cli("config", "set", key, value, env=env)
        assert refused.returncode == 3, refused.stderr
        assert f"chatcli: error: not written: {path}:" in refused.stderr and said in refused.stderr
        assert not path.exists()
    assert run_cli("config", "set", "schemas.ok.fields", "x int", env=env).returncode == 0
    for key, value in (
        ("profiles.az.type", "azure"),
        ("profiles.az.endpoint", "https://x.example"),
    ):
        assert run_cli("config", "set", key, value, env=env).returncode == 0
    before = path.read_text()
    bad = run_cli("config", "set", "profiles.az.api_version", "'2024-10-21&x=1'", env=env)
    assert bad.returncode == 3 and "is not an Azure API version" in bad.stderr
    assert path.read_text() == before
    dated = run_cli("config", "set", "profiles.az.api_version", "2024-10-21", env=env)
    assert dated.returncode == 0, dated.stderr  # a date typed bare is the string it means
    assert tomllib.loads(path.read_text())["profiles"]["az"]["api_version"] == "2024-10-21"
    assert run_cli("config", "validate", env=env).returncode == 0


def test_an_old_problem_elsewhere_does_not_block_set(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[schemas.old]\nfields = "x integr"\n')
    env = clean_env(tmp_path)
    assert run_cli("config", "validate", env=env).returncode == 3
    assert run_cli("config", "set", "defaults.model", "gpt-4o", env=env).returncode == 0
    still = run_cli("config", "set", "schemas.old.fields", "y integr", env=env)
    assert still.returncode == 3  # the very table set is still broken


def test_set_says_to_quote_a_name_with_dots(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    refused = run_cli("config", "set", "models.gpt-4.1.input_price", "2", env=env)
    assert refused.returncode == 3
    assert "hint: quote a name that holds dots: config set 'models.\"gpt-4.1\".input_price'" in (
        refused.stderr
    )
    quoted = run_cli("config", "set", 'models."gpt-4.1".input_price', "2", env=env)
    assert quoted.returncode == 0, quoted.stderr


# -- 7, 9. --help on a narrow terminal; help texts ------------------------------------------


def _screens() -> list[list[str]]:
    from chatcli.__main__ import command_tree

    found: list[list[str]] = [[]]

    def walk(command: object, path: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            found.append([*path, name])
            walk(sub, [*path, name])

    walk(command_tree(), [])
    return found


def test_narrow_help_cuts_no_option_name(tmp_path: Path) -> None:
    screens = _screens()
    assert len(screens) > 40
    for width in (40, 60):
        env = clean_env(tmp_path, COLUMNS=str(width))
        for screen in screens:
            result = run_cli(*screen, "--help", env=env)
            assert result.returncode == 0, (screen, result.stderr)
            assert "…" not in result.stdout, (width, screen, result.stdout)
            long = [line for line in result.stdout.splitlines() if len(line) > width]
            assert all(line.startswith("  -") for line in long), (width, screen, long)
    narrow = run_cli("ask", "--help", env=clean_env(tmp_path, COLUMNS="40")).stdout
    assert "--max-tool-rounds" in narrow and "--temperature" in narrow
    wide = run_cli("ask", "--help", env=clean_env(tmp_path, COLUMNS="120")).stdout
    assert "╭─ Options" in wide  # Rich's layout wherever it fits


def test_help_texts_newcomers_read(tmp_path: Path) -> None:
    env = clean_env(tmp_path, COLUMNS="200")
    top = run_cli("--help", env=env).stdout
    assert (
        "Print a snippet binding a key (default Alt+E) that turns the command line's text into "
        "a command in place" in top
    )
    assert "Config file to use (must exist, except for config init/set, which create it)" in top
    set_help = run_cli("config", "set", "--help", env=env).stdout
    assert "one that starts with - goes after --" in set_help


def test_repl_help_keeps_arguments_apart_from_descriptions(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_repl import Chat

    chat = Chat(tmp_path, fake, monkeypatch)
    chat.run("/help\r")
    lines = [line for line in chat.err.getvalue().splitlines() if line.startswith("  /")]
    assert any(re.match(r"  /tools on\|off NAME {2,}MCP tools", line) for line in lines), lines
    found = [re.match(r"  (.+?)  +(\S.*)$", line) for line in lines]
    assert all(found) and len({m.start(2) for m in found if m}) == 1  # one column for all
    assert re.search(r"/budget \[continue\] {2,}spending", chat.err.getvalue())


# -- 8. README: the MCP example in a fresh HOME ------------------------------------------


def test_readme_mcp_example_writes_the_config_in_a_fresh_home(tmp_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme[readme.index("pip install 'chatcli[mcp]' mcp-server-time") :]
    lines = block.splitlines()[1:]
    end = lines.index("TOML")
    script = "\n".join(lines[: end + 1])
    assert "~/.config" not in script
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in clean_env(tmp_path).items() if not k.startswith(("XDG_", "CHATCLI_"))}
    env.update(HOME=str(home), PYTHONPATH=os.pathsep.join(sys.path))
    chatcli = f'chatcli() {{ "{sys.executable}" -m chatcli "$@"; }}\n'
    ran = subprocess.run(
        ["bash", "-euc", chatcli + script], env=env, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    where = subprocess.run(
        [sys.executable, "-m", "chatcli", "config", "path"], env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    config = Path(where.stdout.strip())
    assert config.is_relative_to(home)
    assert tomllib.loads(config.read_text())["mcp"]["servers"]["time"]["command"] == (
        "mcp-server-time"
    )
    assert DEFAULT_API_KEY not in ran.stdout + ran.stderr
