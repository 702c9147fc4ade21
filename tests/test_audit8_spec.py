"""Regression tests of audit 8 (SPEC §1, §2, §3, §7, §8 walk): checks that run before a paid
request instead of when its answer is saved, wrongly typed config values as config errors, paths
made absolute, empty ``--config``, price overrides that stand alone, ``--no-log`` against a
session, unknown tokenizers, and the store's and ``config``'s smaller rough edges."""

from __future__ import annotations

import io
import json
import shlex
import sqlite3
import tomllib
from pathlib import Path

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from chatcli.environment import Environment
from chatcli.errors import UsageError
from chatcli.settings.resolve import ChatFlags, Globals, invocation
from chatcli.store import DB_NAME, Store
from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply
from tests.test_config_cli import _in_terminal

BAD_NAMES = [" padded ", "a\tb", ""]


def _write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def _environment() -> Environment:
    return Environment(None, io.StringIO(), io.StringIO())


# 1. chat --session NAME: the name is checked before the REPL starts, as ask checks it


@pytest.mark.parametrize("name", BAD_NAMES)
def test_chat_refuses_a_bad_session_name_before_anything_is_sent(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    from chatcli.repl import run

    for key, value in fake_env(tmp_path, fake).items():
        monkeypatch.setenv(key, value)
    environment = _environment()
    with create_pipe_input() as keys, pytest.raises(UsageError) as refused:
        keys.send_text("hi there\r\x04")
        run(environment, invocation(Globals()), ChatFlags(session=name), input=keys,
            output=DummyOutput())  # fmt: skip
    assert refused.value.message == f"invalid session name {name!r}"
    assert fake.chat_requests() == []  # nothing paid for, so nothing to lose
    with Store.open(tmp_path / "data") as store:
        assert store.list_sessions() == []


def test_chat_bad_session_name_is_exit_2_with_the_message_of_ask(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    chat = run_cli("chat", "--session", " padded ", env=env)
    ask = run_cli("ask", "--session", " padded ", "hi", env=env)
    assert chat.returncode == ask.returncode == 2
    assert chat.stderr == ask.stderr
    assert "invalid session name ' padded '" in chat.stderr
    assert fake.chat_requests() == []


def test_the_conversation_layer_refuses_the_name_for_every_path(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``prepare`` (the REPL's start, also what /resume goes through) opens the conversation
    through ``features.conversation``: the name is refused there, not when the turn is saved."""
    from chatcli.repl import prepare

    for key, value in fake_env(tmp_path, fake).items():
        monkeypatch.setenv(key, value)
    with (
        create_pipe_input() as keys,
        Store.open(tmp_path / "data") as store,
        pytest.raises(UsageError, match="invalid session name"),
    ):
        prepare(_environment(), invocation(Globals()), ChatFlags(session="a\nb"), store,
                input=keys, output=DummyOutput())  # fmt: skip
    assert fake.chat_requests() == []


# 3. a wrongly typed value in [models."NAME"] (or a profile) is a config problem, exit 3


MODEL_KEYS = [
    ("input_price", '"cheap"'),
    ("output_price", '"x"'),
    ("cached_input_price", '"x"'),
    ("image_price", '"x"'),
    ("minute_price", '"x"'),
    ("context_window", '"5"'),
    ("reasoning", '"yes"'),
    ("tokenizer", "5"),
]


@pytest.mark.parametrize(("key", "value"), MODEL_KEYS)
def test_a_wrongly_typed_model_value_is_exit_3_at_its_place(
    fake: FakeOpenAI, tmp_path: Path, key: str, value: str
) -> None:
    path = _write(tmp_path, f'[models."gpt-4o"]\n{key} = {value}\n', "bad.toml")
    env = fake_env(tmp_path, fake)
    for args in (("ask", "hi"), ("config", "validate"), ("models",)):
        result = run_cli("--config", str(path), *args, env=env)
        assert result.returncode == 3, (args, result.stderr)
        assert f"{path}:2:1: models.gpt-4o.{key} must be" in result.stderr, result.stderr
        assert "unexpected" not in result.stderr
    assert fake.chat_requests() == []


def test_validate_lists_every_wrongly_typed_value(tmp_path: Path) -> None:
    lines = "".join(f"{key} = {value}\n" for key, value in MODEL_KEYS)
    path = _write(
        tmp_path,
        f'[models."gpt-4o"]\n{lines}[profiles.a]\ntype = []\n'
        '[profiles.b]\ntype = "relay"\nbase_url = "http://127.0.0.1:9/v1"\ndeployments = "x"\n',
    )
    result = run_cli("config", "validate", env=clean_env(tmp_path))
    assert result.returncode == 3, result.stderr
    assert f"{path}: {len(MODEL_KEYS) + 2} problems" in result.stderr, result.stderr
    assert "profiles.a.type must be" in result.stderr
    assert "profiles.b.deployments must be" in result.stderr
    assert "unexpected" not in result.stderr


# 4. a relative CHATCLI_HOME (and --config) is made absolute once


def test_a_relative_data_dir_and_config_work_everywhere(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, '[defaults]\nmodel = "gpt-4o"\n', "rel.toml")
    env = fake_env(tmp_path, fake, CHATCLI_HOME="reldata")
    asked = run_cli("--config", "rel.toml", "ask", "hi", env=env)
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout == "echo(1): hi\n"
    assert (tmp_path / "reldata" / DB_NAME).is_file()
    models = run_cli("models", env=env)
    assert models.returncode == 0, models.stderr
    shown = run_cli("--config", "rel.toml", "config", "show", "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["data_dir"] == str(tmp_path / "reldata")
    assert data["config_file"] == str(tmp_path / "rel.toml")
    assert run_cli("sessions", "list", env=env).returncode == 0


def test_relative_xdg_dirs_are_ignored_as_the_xdg_spec_asks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = clean_env(tmp_path, HOME=str(tmp_path / "home"), XDG_DATA_HOME="xdg-data",
                    XDG_CONFIG_HOME="xdg-config")  # fmt: skip
    del env["CHATCLI_HOME"], env["CHATCLI_CONFIG"]
    shown = run_cli("config", "show", "--json", env={**env, "OPENAI_API_KEY": "sk-test-1234"})
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["data_dir"] == str(tmp_path / "home" / ".local" / "share" / "chatcli")
    assert data["config_file"] == str(tmp_path / "home" / ".config" / "chatcli" / "config.toml")


# 5. --config '' is exit 2, like -p ''


@pytest.mark.parametrize("where", ["before", "after"])
def test_an_empty_config_flag_is_a_usage_error(
    fake: FakeOpenAI, tmp_path: Path, where: str
) -> None:
    env = fake_env(tmp_path, fake)
    args = ["--config", "", "ask", "hi"] if where == "before" else ["ask", "hi", "--config", ""]
    result = run_cli(*args, env=env)
    assert result.returncode == 2, result.stderr
    assert "chatcli: error: --config is empty" in result.stderr
    assert fake.chat_requests() == []
    assert run_cli("--config", "", "config", "path", env=env).returncode == 2


# 6. a price override without cached_input_price prices cached input at its input_price


def test_cached_input_costs_the_configured_input_price(fake: FakeOpenAI, tmp_path: Path) -> None:
    path = _write(tmp_path, '[models."gpt-4o"]\ninput_price = 100\noutput_price = 100\n')
    env = fake_env(tmp_path, fake)
    fake.script(Reply(text="ok", prompt_tokens=1000, completion_tokens=0, cached_tokens=1000))
    result = run_cli("--config", str(path), "ask", "-m", "gpt-4o", "--json", "hi", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["cost_usd"] == pytest.approx(0.1)  # 1000 at $100 / 1M
    listed = run_cli("--config", str(path), "models", "--json", env=env)
    (row,) = [m for m in json.loads(listed.stdout) if m["id"] == "gpt-4o"]
    assert row["cached_input_price"] == 100


def test_an_own_cached_price_still_wins(fake: FakeOpenAI, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[models."gpt-4o"]\ninput_price = 100\noutput_price = 100\ncached_input_price = 10\n',
    )
    fake.script(Reply(text="ok", prompt_tokens=1000, completion_tokens=0, cached_tokens=1000))
    result = run_cli("--config", str(path), "ask", "-m", "gpt-4o", "--json", "hi",
                     env=fake_env(tmp_path, fake))  # fmt: skip
    assert json.loads(result.stdout)["cost_usd"] == pytest.approx(0.01)


# 7. --no-log with --session/-c is refused; an explicit session wins over log = false


@pytest.mark.parametrize(("flag", "named"), [(["--session", "x"], "--session"),
                                             (["-c"], "-c/--continue")])  # fmt: skip
def test_no_log_with_a_session_is_exit_2_before_sending(
    fake: FakeOpenAI, tmp_path: Path, flag: list[str], named: str
) -> None:
    env = fake_env(tmp_path, fake)
    result = run_cli("ask", "--no-log", *flag, "hi", env=env)
    assert result.returncode == 2, result.stderr
    assert f"--no-log records nothing; {named} keeps a conversation" in result.stderr
    assert fake.chat_requests() == []


def test_log_false_still_keeps_an_explicit_session(fake: FakeOpenAI, tmp_path: Path) -> None:
    _write(tmp_path, "[defaults]\nlog = false\n")
    env = fake_env(tmp_path, fake)
    first = run_cli("ask", "--session", "named-nolog", "hi", env=env)
    assert first.returncode == 0, first.stderr
    second = run_cli("ask", "--session", "named-nolog", "again", env=env)
    assert second.returncode == 0, second.stderr
    sent = [m["content"] for m in fake.chat_requests()[-1].json["messages"] if m["role"] == "user"]
    assert sent == ["hi", "again"]  # the first turn was kept and sent again
    third = run_cli("ask", "-c", "and more", env=env)
    assert third.returncode == 0, third.stderr
    with Store.open(tmp_path / "data") as store:
        row = store.get_session("named-nolog")
        assert row is not None
        assert len(store.all_messages(row.id)) == 6
    plain = run_cli("ask", "unlogged", env=env)  # without a session, log = false holds
    assert plain.returncode == 0
    with Store.open(tmp_path / "data") as store:
        assert [s.name for s in store.list_sessions()] == ["named-nolog"]


# 8. an unknown tokenizer is a config problem; validate says what it will use


def test_an_unknown_tokenizer_is_exit_3_with_the_nearest_name(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    path = _write(tmp_path, '[models."gpt-4o"]\ntokenizer = "o200k_bse"\n')
    env = fake_env(tmp_path, fake)
    for args in (("config", "validate"), ("ask", "-m", "gpt-4o", "hi")):
        result = run_cli(*args, env=env)
        assert result.returncode == 3, result.stderr
        assert f"{path}:2:1: models.gpt-4o.tokenizer is not a tiktoken encoding" in result.stderr
        assert "did you mean `o200k_base`?" in result.stderr
    assert fake.chat_requests() == []
    _write(tmp_path, '[models."gpt-4o"]\ntokenizer = "nope"\n')
    far = run_cli("config", "validate", env=env)
    assert far.returncode == 3 and "known encodings: cl100k_base" in far.stderr


def test_every_bundled_table_and_tiktoken_name_is_a_known_tokenizer(tmp_path: Path) -> None:
    from chatcli.settings.encodings import TIKTOKEN_NAMES
    from chatcli.tokens import BUNDLED

    assert set(BUNDLED) <= set(TIKTOKEN_NAMES)
    for name in TIKTOKEN_NAMES:
        _write(tmp_path, f'[models."m"]\ntokenizer = "{name}"\n')
        result = run_cli("config", "validate", env=clean_env(tmp_path))
        assert result.returncode == 0, (name, result.stderr)


def test_validate_says_which_profile_commands_will_use(fake: FakeOpenAI, tmp_path: Path) -> None:
    path = _write(tmp_path, '[models."gpt-4o"]\ntokenizer = "o200k_base"\n')
    result = run_cli("config", "validate", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"{path}: OK (no profiles of its own; commands use openai, made from OPENAI_API_KEY)\n"
    )
    alone = run_cli("config", "validate", env=clean_env(tmp_path))
    assert "0 profiles" not in alone.stdout and "export OPENAI_API_KEY" in alone.stdout


# 9. smaller things


def test_a_directory_named_chatcli_db_gets_its_own_message(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    db = Path(env["CHATCLI_HOME"]) / DB_NAME
    db.unlink()
    db.mkdir()
    result = run_cli("ask", "hi", env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        f"chatcli: error: {db} is a directory, not chatcli's database file"
    )
    assert f"mv {shlex.quote(str(db))}" in result.stderr
    assert fake.chat_requests() == []


def test_a_foreign_sqlite_file_is_refused_untouched(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    db = Path(env["CHATCLI_HOME"]) / DB_NAME
    db.unlink()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE sessions (id INTEGER PRIMARY KEY, who TEXT)")
    conn.execute("INSERT INTO sessions (who) VALUES ('another program')")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    for args in (("ask", "hi"), ("sessions", "list")):
        result = run_cli(*args, env=env)
        assert result.returncode == 1, result.stderr
        assert "is damaged or not a chatcli database" in result.stderr, result.stderr
        assert f"mv {shlex.quote(str(db))} {shlex.quote(f'{db}.broken')}" in result.stderr
    assert db.read_bytes() == before
    assert fake.chat_requests() == []


def test_config_set_leaves_a_blank_line_before_the_table_after_a_new_one(
    tmp_path: Path,
) -> None:
    env = clean_env(tmp_path)
    for key, value in (
        ("profiles.r.type", "relay"),
        ("aliases.fast", "gpt-4o-mini"),
        ("profiles.r.base_url", "http://127.0.0.1:9/v1"),
        ("profiles.r.headers.X-A", "hello"),
    ):
        assert run_cli("config", "set", key, value, env=env).returncode == 0
    text = (tmp_path / "config.toml").read_text()
    assert 'X-A = "hello"\n\n[aliases]\n' in text, text
    assert tomllib.loads(text)["profiles"]["r"]["headers"] == {"X-A": "hello"}


def test_config_init_offers_the_default_model_and_refuses_a_url_as_profile_name(
    tmp_path: Path,
) -> None:
    from chatcli.settings.loading import DEFAULT_MODEL

    env = clean_env(tmp_path)
    code, err = _in_terminal(env, "relay\nhttp://127.0.0.1:9/v1\n", "config", "init")
    assert code == 2, err
    assert "profile name 'http://127.0.0.1:9/v1' is not a plain name" in err
    assert not (tmp_path / "config.toml").exists()
    code, err = _in_terminal(env, "relay\nmine\nhttp://127.0.0.1:9/v1\n\n\n\n", "config", "init")
    assert code == 0, err
    assert f"Default model [{DEFAULT_MODEL}]: " in err
    data = tomllib.loads((tmp_path / "config.toml").read_text())
    assert data["defaults"]["model"] == DEFAULT_MODEL


def test_config_show_prints_integers_as_integers(tmp_path: Path) -> None:
    _write(
        tmp_path,
        '[defaults]\ntimeout = 60\n[profiles.r]\ntype = "relay"\n'
        'base_url = "http://127.0.0.1:9/v1"\napi_key_env = "NOPE"\nrequests_per_minute = 200\n',
    )
    env = clean_env(tmp_path)
    text = run_cli("-p", "r", "config", "show", env=env)
    assert text.returncode == 0, text.stderr
    lines = {line.split()[0]: line.split()[1] for line in text.stdout.splitlines()
             if line.startswith("  ")}  # fmt: skip
    assert lines["timeout"] == "60" and lines["requests_per_minute"] == "200"
    data = json.loads(run_cli("-p", "r", "config", "show", "--json", env=env).stdout)
    assert data["settings"]["timeout"]["value"] == 60
    assert isinstance(data["settings"]["timeout"]["value"], int)


def test_sessions_rename_to_the_same_name_changes_nothing(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    assert run_cli("ask", "--session", "proj", "hi", env=env).returncode == 0
    same = run_cli("sessions", "rename", "proj", "proj", env=env)
    assert same.returncode == 0, same.stderr
    assert "session 'proj' is already called that; nothing changed" in same.stderr
    missing = run_cli("sessions", "rename", "nope", "nope", env=env)
    assert missing.returncode == 2 and "no session named 'nope'" in missing.stderr


@pytest.mark.parametrize("group", ["sessions", "config", "batch"])
def test_a_bare_group_with_a_missing_config_is_exit_3(tmp_path: Path, group: str) -> None:
    env = clean_env(tmp_path)
    missing = tmp_path / "missing.toml"
    result = run_cli("--config", str(missing), group, env=env)
    assert result.returncode == 3, result.stderr
    assert f"config file {missing} does not exist" in result.stderr
    assert run_cli(group, env=env).returncode == 0  # without --config: its help, exit 0
