"""Audit 9, area ``state``: findings 1, 2, 4 and the estimated rows of ``usage`` (5).

- (1) A session whose profile is gone from the config (removed or renamed) is refused (exit 3)
  instead of being sent, with its history, to the default profile; ``-p`` moves it, and says
  so; the refusal leaves the session as it was.
- (2) ``speak``, ``transcribe`` and ``image`` say the retirement line ``ask`` says, except on an
  Azure profile (its own schedule).
- (4) A ``[models."gpt-4o"]`` price reaches the dated snapshots priced as ``gpt-4o``: the cost
  of ``ask``, ``usage`` and the budgets.
- (5) The ``usage`` table marks the rows with estimated tokens and says how many were.

The real CLI (in process) against the fake server.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI, Reply


@pytest.fixture
def local() -> Iterator[FakeOpenAI]:
    """A second endpoint, for the ``local`` relay profile."""
    with FakeOpenAI() as server:
        yield server


def _two_profiles(home: Path, fake: FakeOpenAI, local: FakeOpenAI, name: str = "local") -> str:
    return (
        'default_profile = "work"\n'
        f'[profiles.work]\ntype = "openai"\nbase_url = "{fake.base_url}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\nmodel = "gpt-4o"\n'
        f'[profiles.{name}]\ntype = "relay"\nbase_url = "{local.base_url}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\nmodel = "llama3.1:8b"\n'
    )


def _write(home: Path, text: str) -> None:
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


def _sessions(env: dict[str, str]) -> list[dict[str, object]]:
    listed = run_cli("sessions", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows: list[dict[str, object]] = json.loads(listed.stdout)
    return rows


# -- (1) a session whose profile is gone ------------------------------------------------------


@pytest.mark.parametrize("gone", ["removed", "renamed"])
def test_a_session_whose_profile_is_gone_is_refused_not_sent_elsewhere(
    fake: FakeOpenAI, local: FakeOpenAI, tmp_path: Path, gone: str
) -> None:
    _write(tmp_path, _two_profiles(tmp_path, fake, local))
    env = clean_env(tmp_path)
    made = run_cli("ask", "--session", "private", "-p", "local", "my private notes", env=env)
    assert made.returncode == 0, made.stderr
    text = _two_profiles(tmp_path, fake, local)
    if gone == "removed":
        text = text[: text.index("[profiles.local]")]
    else:
        text = text.replace("[profiles.local]", "[profiles.local2]")
    _write(tmp_path, text)
    before = _sessions(env)
    for args in (("--session", "private"), ("-c",), ("--session", "private", "-m", "gpt-4.1")):
        refused = run_cli("ask", *args, "and more", env=env)
        assert refused.returncode == 3, refused.stderr
        assert "profile local of session 'private' no longer exists" in refused.stderr
        assert "-p NAME" in refused.stderr
        assert "Traceback" not in refused.stderr and refused.stdout == ""
    assert fake.chat_requests() == []  # the history went nowhere else
    assert len(local.chat_requests()) == 1
    assert _sessions(env) == before  # the session still names its own profile
    # -p moves it, explicitly, and says where from
    moved = run_cli("ask", "--session", "private", "-p", "work", "and more", env=env)
    assert moved.returncode == 0, moved.stderr
    assert "private now uses gpt-4o via work (was llama3.1:8b via local" in moved.stderr
    assert [len(r.json["messages"]) for r in fake.chat_requests()] == [3]


def test_chat_session_on_a_gone_profile_is_refused_too(
    fake: FakeOpenAI, local: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``chat --session`` and ``/resume`` open the conversation as ``ask`` does (the REPL as
    ``tests/test_conversations.py`` runs it)."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from chatcli.environment import Environment
    from chatcli.errors import ConfigError
    from chatcli.repl import prepare
    from chatcli.settings.resolve import ChatFlags, Globals, invocation
    from chatcli.store import Store

    _write(tmp_path, _two_profiles(tmp_path, fake, local))
    env = clean_env(tmp_path)
    assert run_cli("ask", "--session", "s", "-p", "local", "hi", env=env).returncode == 0
    text = _two_profiles(tmp_path, fake, local)
    _write(tmp_path, text[: text.index("[profiles.local]")])
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with create_pipe_input() as inp, Store.open(tmp_path / "data") as store:
        environment = Environment(None, io.StringIO(), io.StringIO())
        with pytest.raises(ConfigError, match="profile local of session 's' no longer exists"):
            prepare(environment, invocation(Globals()), ChatFlags(session="s"), store,
                    input=inp, output=DummyOutput())  # fmt: skip
        fresh = prepare(environment, invocation(Globals()), ChatFlags(), store,
                        input=inp, output=DummyOutput())  # fmt: skip
        with pytest.raises(ConfigError, match="no longer exists"):
            from chatcli.repl.commands import run_command

            run_command(fresh, "/resume s")
        assert fresh.session.profile == "work"
    assert fake.chat_requests() == []


# -- (2) media commands say the retirement line ------------------------------------------------


def test_speak_says_its_model_retires_as_ask_does(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake, CHATCLI_TODAY="2026-12-08")
    soon = run_cli("speak", "hi", "-o", str(tmp_path / "a.mp3"), env=env)
    assert soon.returncode == 0, soon.stderr
    assert "gpt-4o-mini-tts retires 2027-01-06 (29 days)" in soon.stderr
    env = fake_env(tmp_path, fake, CHATCLI_TODAY="2027-01-10")
    gone = run_cli("speak", "-m", "tts-1", "hi", "-o", str(tmp_path / "b.mp3"), env=env)
    assert gone.returncode == 0, gone.stderr
    assert "tts-1 retired 2027-01-06 (OpenAI's deprecations page)" in gone.stderr
    early = run_cli("speak", "hi", "-o", str(tmp_path / "c.mp3"),
                    env=fake_env(tmp_path, fake, CHATCLI_TODAY="2026-11-01"))  # fmt: skip
    assert early.returncode == 0 and "retire" not in early.stderr


def test_transcribe_and_image_say_their_model_retires(fake: FakeOpenAI, tmp_path: Path) -> None:
    from tests.test_transcribe import wav_file

    env = fake_env(tmp_path, fake, CHATCLI_TODAY="2027-03-01")
    heard = run_cli("transcribe", "-m", "whisper-1", str(wav_file(tmp_path)), env=env)
    assert heard.returncode == 0, heard.stderr
    assert "whisper-1 retired 2027-02-26; use gpt-transcribe" in heard.stderr
    drawn = run_cli("image", "a fox", "-m", "dall-e-3", "-o", str(tmp_path), env=env)
    assert drawn.returncode == 0, drawn.stderr
    assert "dall-e-3 retired 2026-05-12; use gpt-image-2.5-sunburst" in drawn.stderr


def test_speak_on_azure_says_nothing_of_openais_dates(fake: FakeOpenAI, tmp_path: Path) -> None:
    _write(
        tmp_path,
        f'default_profile = "az"\n[profiles.az]\ntype = "azure"\nendpoint = "{fake.root}"\n'
        f'api_version = "2024-10-21"\napi_key = "{DEFAULT_API_KEY}"\n',
    )
    env = clean_env(tmp_path, CHATCLI_TODAY="2027-01-10")
    result = run_cli("speak", "-m", "tts-1", "hi", "-o", str(tmp_path / "a.mp3"), env=env)
    assert result.returncode == 0, result.stderr
    assert "retire" not in result.stderr and "deprecations" not in result.stderr


# -- (4) a family's price override reaches its snapshots ---------------------------------------


def _priced(fake: FakeOpenAI, home: Path, extra: str = "") -> dict[str, str]:
    _write(
        home,
        f'{extra}[profiles.openai]\ntype = "openai"\nbase_url = "{fake.base_url}"\n'
        f'api_key = "{DEFAULT_API_KEY}"\n'
        '[models."gpt-4o"]\ninput_price = 1000.0\noutput_price = 1000.0\n',
    )
    return clean_env(home)


def test_a_family_price_override_prices_its_dated_snapshot(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = _priced(fake, tmp_path)
    fake.default_reply = Reply(text="ok", prompt_tokens=5, completion_tokens=2)
    costs = {}
    for model in ("gpt-4o", "gpt-4o-2024-08-06"):
        result = run_cli("ask", "--json", "-m", model, "hi", env=env)
        assert result.returncode == 0, result.stderr
        costs[model] = json.loads(result.stdout)["cost_usd"]
    assert costs == {"gpt-4o": pytest.approx(0.007), "gpt-4o-2024-08-06": pytest.approx(0.007)}
    usage = json.loads(run_cli("usage", "--json", "--by", "model", env=env).stdout)
    assert {r["key"]: r["cost_usd"] for r in usage["rows"]} == costs
    shown = run_cli("models", "--json", "-m", "gpt-4o-2024-08-06", env=env)
    assert shown.returncode == 0, shown.stderr


def test_the_budget_counts_a_snapshot_at_its_familys_override(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = _priced(fake, tmp_path, "[defaults]\ndaily_budget_usd = 0.01\n")
    fake.default_reply = Reply(text="ok", prompt_tokens=5, completion_tokens=5)
    first = run_cli("ask", "-m", "gpt-4o-2024-08-06", "hi", env=env)  # $0.01 at the override
    assert first.returncode == 0, first.stderr
    second = run_cli("ask", "-m", "gpt-4o-2024-08-06", "hi", env=env)
    assert second.returncode == 1, second.stderr
    assert "daily budget" in second.stderr
    assert len(fake.chat_requests()) == 1


# -- (5) estimated rows in the usage table -----------------------------------------------------


def test_the_usage_table_marks_estimated_tokens(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    fake.script(Reply(text="reported", prompt_tokens=5, completion_tokens=2))
    assert run_cli("ask", "-m", "gpt-4o", "hi", env=env).returncode == 0
    fake.script(Reply(text="no usage here", usage=False))
    assert run_cli("ask", "-m", "gpt-4o-mini", "hi", env=env).returncode == 0
    table = run_cli("usage", "--by", "model", env=env)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    exact = next(line for line in lines if line.startswith("gpt-4o "))
    guessed = next(line for line in lines if line.startswith("gpt-4o-mini "))
    total = next(line for line in lines if line.startswith("total "))
    assert "~" not in exact
    assert guessed.count("~") == 2 and total.count("~") == 2
    assert "(~ 1 request(s) estimated: the endpoint reported no usage" in table.stdout
    plain = run_cli("usage", env=env)
    assert "(~ 1 request(s) estimated" in plain.stdout


# -- 3: a price set after the fact counts the requests logged before it ------------------------


def test_a_price_set_later_counts_the_requests_logged_without_one(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """The "cannot count" notice asks for a price; once it is set, the requests logged
    without one are counted at it by the budget and by ``usage``, not left out for ever."""
    config = tmp_path / "config.toml"
    config.write_text("[defaults]\ndaily_budget_usd = 0.05\n")
    env = fake_env(tmp_path, fake)
    for i in range(3):
        fake.script(Reply(prompt_tokens=10, completion_tokens=5))
        r = run_cli("ask", "-m", "qwen-max", f"hi {i}", env=env)
        assert r.returncode == 0, r.stderr
        assert "cannot count qwen-max" in r.stderr
    config.write_text(
        '[defaults]\ndaily_budget_usd = 0.05\n[models."qwen-max"]\n'
        "input_price = 1000.0\noutput_price = 1000.0\n"
    )  # $0.015 a request at that price: $0.045 of $0.05 spent by the three
    listed = json.loads(run_cli("usage", "--json", env=env).stdout)
    assert listed["total"]["cost_usd"] == pytest.approx(0.045)
    assert listed["total"]["requests_with_unknown_cost"] == 0
    fake.script(Reply(prompt_tokens=10, completion_tokens=5))
    fourth = run_cli("ask", "-m", "qwen-max", "one more", env=env)
    assert fourth.returncode == 0, fourth.stderr
    assert "$0.045 of your daily budget $0.05 is spent (90%)" in fourth.stderr
    refused = run_cli("ask", "-m", "qwen-max", "and another", env=env)
    assert refused.returncode == 1, refused.stderr
    assert "$0.06 of your daily budget $0.05 is spent" in refused.stderr
