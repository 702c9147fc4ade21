"""Second config audit: every config message names file:line:column and the full dotted key
path; tool names in the config that name no MCP server are configuration errors; ``-T none``
clears what came before it; ``-V`` without ``--template`` and an empty ``--service-tier`` are
usage errors; an endpoint refusing ``reasoning_effort`` gets a hint naming ``--reasoning``."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from chatcli.settings import loading
from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, Error, FakeOpenAI
from tests.tools_helpers import own_server

MCP = own_server("t")


def _relay(fake: FakeOpenAI, extra: str = "", name: str = "p") -> str:
    return (
        f'default_profile = "{name}"\n\n[profiles.{name}]\ntype = "relay"\n'
        f'base_url = "{fake.base_url}"\napi_key = "{DEFAULT_API_KEY}"\n{extra}'
    )


def _home(tmp_path: Path, text: str) -> dict[str, str]:
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    (tmp_path / "config.toml").chmod(0o600)
    return clean_env(tmp_path)


def _messages(tmp_path: Path, text: str) -> list[str]:
    """Every problem ``config validate`` would report for ``text``."""
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    cfg, problems = loading.analyse(path, tomllib.loads(text), text)
    problems.extend(cfg.incomplete.values())
    unknown = loading.unknown_default(cfg)
    return [p.message for p in [*problems, *([unknown] if unknown else [])]]


# --- bug 1: file, line, column and the full dotted path in every message -----------------------

_OPENAI = '[profiles.bad]\ntype = "openai"\n'
_RELAY = '[profiles.bad]\ntype = "relay"\nbase_url = "http://127.0.0.1:9/v1"\n'


@pytest.mark.parametrize(
    ("text", "path", "problem"),
    [
        (_OPENAI + 'api = "grpc"\n', "profiles.bad.api", "must be one of auto, chat, responses"),
        (_OPENAI + 'headers = { "X-A" = 5 }\n', "profiles.bad.headers.X-A", "must be a string"),
        (_OPENAI + '[profiles.bad.headers]\n"X-A" = 5\n', "profiles.bad.headers.X-A", "must be"),
        (_OPENAI + 'headers = { "X A" = "v" }\n', "profiles.bad.headers.X A", "not a valid"),
        (
            _OPENAI + "tool_output_limit = 50\n",
            "profiles.bad.tool_output_limit",
            "must be between 100 and 10,000,000, not 50",
        ),
        (_OPENAI + "tools = [1]\n", "profiles.bad.tools", "must be an array of strings"),
        (_OPENAI + 'markdown = "sometimes"\n', "profiles.bad.markdown", "must be one of auto"),
        (_OPENAI + "colour = 1\n", "profiles.bad.colour", "unknown key"),
        (_OPENAI + "deployments = { m = 1 }\n", "profiles.bad.deployments.m", "must be a string"),
        (_OPENAI + "store = 'yes'\n", "profiles.bad.store", "must be true or false"),
        ('[profiles.bad]\ntype = "bedrock"\n', "profiles.bad.type", "unknown profile type"),
        (
            _RELAY.replace("http://127.0.0.1:9/v1", "relay.example.com"),
            "profiles.bad.base_url",
            "is not a URL",
        ),
        (_RELAY + 'proxy = "ftp://x"\n', "profiles.bad.proxy", "is not http"),
        ('[profiles]\nbad = { type = "openai", api = "grpc" }\n', "profiles.bad.api", "must be"),
        ('[profiles]\nbad = "x"\n', "profiles.bad", "must be a table"),
        ("[defaults]\ntimeout = 0\n", "defaults.timeout", "must be between 0.1 and 86,400"),
        ("[defaults]\nmodle = 'x'\n", "defaults.modle", "unknown key"),
        ('[models."gpt-x"]\ncontext_window = "big"\n', "models.gpt-x.context_window", "must be"),
        ('[models.""]\ncontext_window = 1\n', 'models.""', "needs a model name"),
        ('[aliases]\nfast = ""\n', "aliases.fast", "needs a model name"),
        ("[aliases]\nfast = 1\n", "aliases.fast", "must be a model name string"),
        ("[roles.r]\ntools = []\n", "roles.r.system", "is missing"),
        ("[roles.r]\nsystem = 1\n", "roles.r.system", "must be a string"),
        ("[schemas]\ns = 1\n", "schemas.s", "must be a table"),
        ("[schemas.s]\nfile = 1\n", "schemas.s.file", "must be a string"),
        ("[templates.t]\nprompt = 1\n", "templates.t.prompt", "must be a string"),
    ],
)
def test_every_message_names_file_line_column_and_dotted_path(
    tmp_path: Path, text: str, path: str, problem: str
) -> None:
    (message,) = _messages(tmp_path, text)
    form = re.escape(str(tmp_path / "config.toml")) + r":\d+:\d+: " + re.escape(path) + r"[ :]"
    assert re.match(form, message), message
    assert problem in message


def test_inline_header_problem_points_at_its_line_and_column(tmp_path: Path) -> None:
    env = _home(tmp_path, _OPENAI + 'headers = { "X-A" = 5 }\n')
    r = run_cli("config", "validate", env=env)
    assert r.returncode == 3
    said = f"{tmp_path / 'config.toml'}:3:13: profiles.bad.headers.X-A must be a string"
    assert said in r.stderr, r.stderr


def test_validate_reports_only_the_real_problem_of_the_default_profile(tmp_path: Path) -> None:
    env = _home(tmp_path, 'default_profile = "p"\n[profiles.p]\ntype = "openai"\ncolour = 1\n')
    r = run_cli("config", "validate", env=env)
    assert r.returncode == 3
    assert "profiles.p.colour: unknown key" in r.stderr
    assert "is not a profile" not in r.stderr
    assert "1 problem" in r.stderr


def test_numbers_in_range_messages_are_written_as_people_write_them(tmp_path: Path) -> None:
    (big,) = _messages(tmp_path, "[models.m]\ninput_price = -1.5\n")
    assert "between 0 and 1,000,000, not -1.5" in big
    (small,) = _messages(tmp_path, _RELAY.replace("bad", "r") + "requests_per_minute = 0\n")
    assert "between 0.001 and 1,000,000, not 0" in small
    assert "e+" not in big + small


# --- bug 2: unknown tool names in the config -----------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "key", "name"),
    [
        ('tools = ["nosuch"]\n', "tools", "nosuch"),
        ('tools = ["t.echo", "nosuch.x"]\n', "tools", "nosuch"),
        ('auto_approve = ["alsonot.x"]\n', "auto_approve", "alsonot"),
    ],
)
def test_unknown_server_in_profile_tools_is_a_config_error(
    tmp_path: Path, fake: FakeOpenAI, extra: str, key: str, name: str
) -> None:
    env = _home(tmp_path, _relay(fake, extra) + MCP)
    where = f"{tmp_path / 'config.toml'}:7:1: profiles.p.{key}"
    asked = run_cli("ask", "hi", env=env)
    assert asked.returncode == 3, asked.stderr
    assert where in asked.stderr and repr(name) in asked.stderr
    checked = run_cli("config", "validate", env=env)
    assert checked.returncode == 3 and where in checked.stderr
    assert fake.requests == []


def test_unknown_server_in_defaults_and_roles_names_their_keys(tmp_path: Path) -> None:
    text = '[defaults]\ntools = ["nosuch"]\n[roles.r]\nsystem = "s"\n'
    text += '[roles.q]\nsystem = "s"\ntools = ["gone.x"]\n'
    messages = _messages(tmp_path, text)
    config = str(tmp_path / "config.toml")
    assert any(m.startswith(f"{config}:2:1: defaults.tools") for m in messages), messages
    assert any(m.startswith(f"{config}:7:1: roles.q.tools") for m in messages), messages


def test_unknown_server_given_on_the_command_line_stays_a_usage_error(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    env = _home(tmp_path, _relay(fake) + MCP)
    assert run_cli("ask", "-T", "nosuch", "hi", env=env).returncode == 2
    assert run_cli("ask", "-T", "t", "--approve", "nosuch.x", "hi", env=env).returncode == 2


def test_unknown_tool_of_a_configured_server_fails_at_run_time_as_config(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    env = _home(tmp_path, _relay(fake, 'tools = ["t.nope"]\n') + MCP)
    assert run_cli("config", "validate", env=env).returncode == 0  # only a start can tell
    r = run_cli("ask", "hi", env=env)
    assert r.returncode == 3, r.stderr
    assert f"{tmp_path / 'config.toml'}:7:1: profiles.p.tools" in r.stderr
    assert "nope" in r.stderr
    approve = _home(tmp_path, _relay(fake, 'tools = ["t"]\nauto_approve = ["t.nope"]\n') + MCP)
    r = run_cli("ask", "hi", env=approve)
    assert r.returncode == 3, r.stderr
    assert "profiles.p.auto_approve" in r.stderr
    flag = run_cli("ask", "-T", "t.nope", "hi", env=_home(tmp_path, _relay(fake) + MCP))
    assert flag.returncode == 2, flag.stderr


# --- bug 3: -T none clears what came before it ---------------------------------------------------


def test_tool_none_clears_defaults_and_keeps_tools_named_after_it(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    env = _home(tmp_path, _relay(fake, 'tools = ["t.add"]\n') + MCP)
    r = run_cli("ask", "-T", "t.echo", "-T", "none", "-T", "t.echo", "hi", env=env)
    assert r.returncode == 0, r.stderr
    (request,) = fake.chat_requests()
    assert [t["function"]["name"] for t in request.json["tools"]] == ["t__echo"]
    fake.reset()
    r = run_cli("ask", "-T", "t.echo", "-T", "none", "hi", env=env)
    assert r.returncode == 0, r.stderr
    (request,) = fake.chat_requests()
    assert "tools" not in request.json


# --- bug 4: flags quietly ignored or sent unchecked ----------------------------------------------


@pytest.mark.parametrize("command", ["ask", "chat"])
def test_var_without_template_is_a_usage_error(
    tmp_path: Path, fake: FakeOpenAI, command: str
) -> None:
    r = run_cli(command, "-V", "tone=a", *(["hi"] if command == "ask" else []),
                env=fake_env(tmp_path, fake))  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert "--template" in r.stderr and "hint:" in r.stderr
    assert fake.requests == []


@pytest.mark.parametrize("tier", ["", "  "])
def test_empty_service_tier_is_a_usage_error(tmp_path: Path, fake: FakeOpenAI, tier: str) -> None:
    r = run_cli("ask", "--service-tier", tier, "hi", env=fake_env(tmp_path, fake))
    assert r.returncode == 2, r.stderr
    assert "--service-tier" in r.stderr
    assert fake.requests == []


REFUSED = "Unrecognized request argument supplied: reasoning_effort"


def test_refused_reasoning_effort_gets_a_hint(tmp_path: Path, fake: FakeOpenAI) -> None:
    env = _home(tmp_path, _relay(fake))
    fake.script(Error(400, REFUSED, "invalid_request_error"))
    r = run_cli("ask", "--reasoning", "low", "-m", "old-model", "hi", env=env)
    assert r.returncode == 5, r.stderr
    (hint,) = [ln for ln in r.stderr.splitlines() if ln.startswith("hint:")]
    assert "--reasoning" in hint and "old-model" in hint
    fake.script(Error(400, "something else is wrong", "invalid_request_error"))
    other = run_cli("ask", "--reasoning", "low", "-m", "old-model", "hi", env=env)
    assert other.returncode == 5 and "--reasoning" not in other.stderr


def test_refused_reasoning_on_the_responses_api_gets_the_hint(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    fake.responses = True  # the implicit openai profile speaks the Responses API
    fake.script(
        Error(400, "Unsupported parameter: 'reasoning.effort' is not supported with this model.")
    )
    r = run_cli("ask", "--reasoning", "high", "-m", "gpt-4o", "hi", env=fake_env(tmp_path, fake))
    assert r.returncode == 5, r.stderr
    assert fake.responses_requests()
    assert "hint:" in r.stderr and "--reasoning" in r.stderr.split("hint:")[1]
