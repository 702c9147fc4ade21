"""Conversations as users expect them: every ask recorded, ``-c`` continuing the last exchange,
sessions keeping their profile and model, ``-x``, ``--no-log`` and ``sessions search``."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatcli.store import Store
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply


@pytest.fixture
def relay() -> Iterator[FakeOpenAI]:
    """A second endpoint, for the ``relay`` profile."""
    with FakeOpenAI() as server:
        yield server


def _with_relay(tmp_path: Path, fake: FakeOpenAI, relay: FakeOpenAI) -> dict[str, str]:
    """The implicit ``openai`` profile on ``fake`` and a ``relay`` profile on ``relay``."""
    config = tmp_path / "config.toml"
    config.write_text(
        'default_profile = "openai"\n\n'
        f'[profiles.openai]\ntype = "openai"\nbase_url = "{fake.base_url}"\n\n'
        f'[profiles.relay]\ntype = "relay"\nbase_url = "{relay.base_url}"\nmodel = "gpt-4o"\n'
        'api_key_env = "OPENAI_API_KEY"\n'
    )
    return fake_env(tmp_path, fake)


def test_ask_then_continue_carries_the_first_exchange(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    first = run_cli("ask", "what is 2+2", env=env)
    assert first.returncode == 0 and first.stdout == "echo(1): what is 2+2\n"
    second = run_cli("ask", "-c", "and times 3?", env=env)
    assert second.returncode == 0, second.stderr
    assert second.stderr == ""  # recent and same profile: nothing to say
    sent = fake.chat_requests()[1].json["messages"]
    assert sent == [
        {"role": "user", "content": "what is 2+2"},
        {"role": "assistant", "content": "echo(1): what is 2+2"},
        {"role": "user", "content": "and times 3?"},
    ]
    listed = json.loads(run_cli("sessions", "list", "--json", env=env).stdout)
    # continued, it is no longer a one-shot conversation (audit 8, sessions #11)
    assert [(s["messages"], s["one_shot"]) for s in listed] == [(4, False)]


def test_an_ask_whose_schema_answer_needed_its_retry_stays_one_shot(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """The retry is a second turn of the same command: still an ``ask`` (note 9); a later
    ``ask -c`` makes it a conversation that went on."""
    env = fake_env(tmp_path, fake)
    fake.script(Reply("not json"), Reply('{"name": "x"}'))
    r = run_cli("ask", "--schema", "name", "who", env=env)
    assert r.returncode == 0 and "asking once more" in r.stderr, r.stderr
    listed = json.loads(run_cli("sessions", "list", "--json", env=env).stdout)
    assert [(s["messages"], s["one_shot"]) for s in listed] == [(4, True)]
    assert run_cli("ask", "-c", "and?", env=env).returncode == 0
    listed = json.loads(run_cli("sessions", "list", "--json", env=env).stdout)
    assert [(s["messages"], s["one_shot"]) for s in listed] == [(6, False)]


def test_continue_names_an_old_conversation(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    assert run_cli("ask", "--session", "old", "hello", env=env).returncode == 0
    with sqlite3.connect(tmp_path / "data" / "chatcli.db") as db:  # two hours ago
        db.execute("UPDATE sessions SET updated_at = '2000-01-01T00:00:00.000000+00:00'")
    result = run_cli("ask", "-c", "still there?", env=env)
    assert result.returncode == 0
    assert "chatcli: continuing old (hello), last used 2000-01-01" in result.stderr


def test_a_session_goes_back_to_its_own_profile(
    fake: FakeOpenAI, relay: FakeOpenAI, tmp_path: Path
) -> None:
    env = _with_relay(tmp_path, fake, relay)
    made = run_cli("ask", "--session", "proj", "-p", "relay", "first", env=env)
    assert made.returncode == 0, made.stderr
    follow = run_cli("ask", "-c", "second", env=env)
    assert follow.returncode == 0 and follow.stdout == "echo(2): second\n"
    assert "continuing proj (first)" in follow.stderr and "profile relay" in follow.stderr
    again = run_cli("ask", "--session", "proj", "third", env=env)
    assert again.returncode == 0
    assert fake.chat_requests() == []  # the default profile was never asked
    assert [r.json["model"] for r in relay.chat_requests()] == ["gpt-4o"] * 3
    assert [len(r.json["messages"]) for r in relay.chat_requests()] == [1, 3, 5]


def test_p_and_m_override_a_session_for_the_rest_of_it_and_say_so(
    fake: FakeOpenAI, relay: FakeOpenAI, tmp_path: Path
) -> None:
    env = _with_relay(tmp_path, fake, relay)
    assert run_cli("ask", "--session", "proj", "-p", "relay", "one", env=env).returncode == 0
    moved = run_cli("ask", "--session", "proj", "-p", "openai", "-m", "gpt-4.1", "two", env=env)
    assert moved.returncode == 0
    assert "proj now uses gpt-4.1 via openai (was gpt-4o via relay" in moved.stderr
    assert run_cli("ask", "--session", "proj", "three", env=env).returncode == 0
    assert [r.json["model"] for r in fake.chat_requests()] == ["gpt-4.1", "gpt-4.1"]
    assert len(relay.chat_requests()) == 1


def test_chat_session_and_resume_take_the_stored_profile(
    fake: FakeOpenAI, relay: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from chatcli.environment import Environment
    from chatcli.repl import prepare
    from chatcli.repl.commands import run_command
    from chatcli.settings.resolve import ChatFlags, Globals, invocation

    env = _with_relay(tmp_path, fake, relay)
    assert run_cli("ask", "--session", "mywork", "-p", "relay", "hi", env=env).returncode == 0
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with create_pipe_input() as inp, Store.open(tmp_path / "data") as store:
        out = DummyOutput()
        environment = Environment(None, io.StringIO(), io.StringIO())
        repl = prepare(
            environment,
            invocation(Globals()),
            ChatFlags(session="mywork"),
            store,
            input=inp,
            output=out,
        )
        assert (repl.session.profile, repl.session.model) == ("relay", "gpt-4o")
        fresh = prepare(
            environment, invocation(Globals()), ChatFlags(), store, input=inp, output=out
        )
        assert fresh.session.profile == "openai"
        run_command(fresh, "/resume mywork")
        assert (fresh.session.profile, fresh.session.model) == ("relay", "gpt-4o")
        assert len(fresh.session.history) == 2


def test_extract_prints_only_the_code_and_stores_the_whole_answer(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    answer = "Use this:\n\n```bash\nfind . -name '*.py' | wc -l\n```\n\nIt counts files.\n"
    fake.script(Reply(text=answer))
    env = fake_env(tmp_path, fake)
    result = run_cli("ask", "-x", "count python files", env=env)
    assert result.returncode == 0
    assert result.stdout == "find . -name '*.py' | wc -l\n"
    shown = run_cli("sessions", "search", "It counts files", "--json", env=env)
    assert [h["role"] for h in json.loads(shown.stdout)] == ["assistant"]


def test_log_false_in_defaults_records_no_conversation(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    (tmp_path / "config.toml").write_text("[defaults]\nlog = false\n")
    assert run_cli("ask", "private", env=env).returncode == 0
    assert json.loads(run_cli("sessions", "list", "--json", env=env).stdout) == []
    with Store.open(tmp_path / "data") as store:
        assert len(store.usage_rows()) == 1


def test_sessions_search_finds_text_in_any_script(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    for prompt in ("the quick brown fox", "今天天气很好", "nothing here"):
        assert run_cli("ask", prompt, env=env).returncode == 0
    found = json.loads(run_cli("sessions", "search", "BROWN", "--json", env=env).stdout)
    assert [(h["role"], h["snippet"]) for h in found] == [
        ("assistant", "echo(1): the quick brown fox"),
        ("user", "the quick brown fox"),
    ]
    short = json.loads(run_cli("sessions", "search", "天气", "--json", env=env).stdout)
    assert {h["snippet"] for h in short} == {"今天天气很好", "echo(1): 今天天气很好"}
    text = run_cli("sessions", "search", "quick", env=env).stdout.splitlines()
    assert len(text) == 2 and text[0].endswith("ai   echo(1): the quick brown fox")
    none = run_cli("sessions", "search", "absent words", env=env)
    assert none.returncode == 0 and none.stdout == "" and "no messages contain" in none.stderr


def test_search_falls_back_to_like_without_fts5(tmp_path: Path) -> None:
    from chatcli.store import NewMessage, search

    with Store.open(tmp_path) as store:
        row = store.create_session("s")
        store.add_messages(row.id, NewMessage("user", "a needle in a haystack", 5))
        conn = sqlite3.connect(tmp_path / "chatcli.db")
        hits = search.query(conn, "needle", 10, fts=False)
        assert [h[4] for h in hits] == ["a needle in a haystack"]
        assert [h.snippet for h in store.search_messages("needle")] == ["a needle in a haystack"]
        conn.close()
