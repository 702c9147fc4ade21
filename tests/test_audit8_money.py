"""Audit 8 (acting), the money around tools and ``--schema``: findings 2, 3, 7, 10, 12 and the
schema items of 13.

- An endpoint that reports no usage: the estimate counts the tool definitions sent, the tool
  calls generated and the streamed reasoning, by one rule in ``ask`` (chat completions and the
  Responses API), the REPL and the local batch runner.
- Budgets are one layer, the Gate in front of the provider: a ``--schema`` / ``/schema`` retry
  is refused once the first reply spent the budget; the 80 % notice is said once.
- ``ask --json`` on a failed tool turn still has ``tool_calls`` and ``requests``.
- The REPL footer of a ``/schema`` turn that took a retry counts both requests.
- ``[schemas.NAME]`` with two sources, or none, is a config problem (exit 3 at file:line:col).
- The ``--schema`` wording: a field given twice, ``@`` alone, ``@NAME extra``.

The real CLI (in process) against the fake server; tool turns use our own MCP server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatcli.store import Store, UsageRow
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import Error, FakeOpenAI, Raw, Reply
from tests.test_repl import Chat
from tests.tools_helpers import own_server

MODEL = "gpt-4o-mini"  # $0.15 / 1M in, $0.60 / 1M out: 1000 in + 300 out = $0.00033
ARGUMENT = " ".join(["word"] * 3000)  # a tool call's argument of some 3,000 tokens
THINKING = " ".join(["thinking"] * 2000)  # 2,000 tokens of streamed reasoning


def _config(home: Path, text: str) -> None:
    (home / "config.toml").write_text(text, encoding="utf-8")


def _rows(home: Path) -> list[UsageRow]:
    with Store.open(home / "data") as store:
        return list(store.usage_rows())


def call(tool: str, **arguments: Any) -> dict[str, Any]:
    return {"name": tool, "arguments": arguments}


def asks_add(n: int) -> Raw:
    """A streamed reply calling ``own.add`` whatever ``tool_choice`` said (no usage)."""
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": MODEL}
    function = {"name": "own__add", "arguments": '{"a": 1, "b": 2}'}
    piece = {"index": 0, "id": f"call_{n}", "type": "function", "function": function}
    delta = {"role": "assistant", "tool_calls": [piece]}
    return Raw(content_type="text/event-stream", chunks=[
        {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ])  # fmt: skip


@pytest.fixture
def chat(tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chat]:
    yield Chat(tmp_path, fake, monkeypatch)


# -- (2) the estimate counts everything sent and generated ------------------------------------


@pytest.mark.external  # our MCP server, a process of its own
@pytest.mark.parametrize("responses", [False, True], ids=["chat", "responses"])
def test_unreported_usage_counts_tool_definitions_and_call_arguments(
    fake: FakeOpenAI, tmp_path: Path, responses: bool
) -> None:
    fake.responses = responses
    _config(tmp_path, own_server("own"))
    env = fake_env(tmp_path, fake)
    fake.script(Reply(text="ok", usage=False))
    plain = run_cli("ask", "-m", MODEL, "--json", "go", env=env)
    assert plain.returncode == 0, plain.stderr
    fake.script(
        Reply(tool_calls=[call("own__echo", text=ARGUMENT)], usage=False),
        Reply(text="ok", usage=False),
    )
    r = run_cli("ask", "-m", MODEL, "-T", "own", "--approve", "own", "--json", "go", env=env)
    assert r.returncode == 0, r.stderr
    sent = (fake.responses_requests() if responses else fake.chat_requests())[1].json
    tools_json = len(json.dumps(sent["tools"]))
    alone, first, second = _rows(tmp_path)
    assert alone.estimated and first.estimated and second.estimated
    # the call's arguments are output the model generated: ~3,000 tokens, not 0
    assert first.completion_tokens >= 3000
    # the tool definitions go with every request: the prompt grows by about their size
    assert first.prompt_tokens - alone.prompt_tokens >= tools_json // 6
    assert second.prompt_tokens >= first.prompt_tokens + 3000  # the call and its result
    usage = json.loads(r.stdout)["usage"]
    assert usage["completion_tokens"] == first.completion_tokens + second.completion_tokens
    assert usage["estimated"] is True


@pytest.mark.parametrize("stream", [True, False])
def test_unreported_usage_counts_streamed_reasoning_as_output(
    fake: FakeOpenAI, tmp_path: Path, stream: bool
) -> None:
    """DeepSeek-style ``reasoning_content`` (never shown): counted as output and as
    reasoning tokens, priced, and so judged by the budgets."""
    env = fake_env(tmp_path, fake)
    fake.script(Reply(text="ok", reasoning=THINKING, usage=False))
    r = run_cli("ask", "-m", MODEL, "--json", *([] if stream else ["--no-stream"]), "q", env=env)
    assert r.returncode == 0, r.stderr
    usage = json.loads(r.stdout)["usage"]
    assert usage["estimated"] is True
    assert usage["reasoning_tokens"] >= 2000
    assert usage["completion_tokens"] >= usage["reasoning_tokens"] + 1
    (row,) = _rows(tmp_path)
    assert row.reasoning_tokens == usage["reasoning_tokens"]
    assert row.completion_tokens == usage["completion_tokens"]
    assert row.cost_usd is not None and row.cost_usd > 0.0012  # 2,000 tokens at $0.60 / 1M
    assert "thinking thinking" not in r.stdout + r.stderr  # counted, never shown


def test_the_repl_counts_unreported_reasoning_in_its_footer(chat: Chat) -> None:
    chat.fake.script(Reply(text="ok", reasoning=THINKING, usage=False))
    chat.run("q\r", model=MODEL)
    err = chat.err.getvalue()
    assert " reasoning) · " in err
    (row,) = _rows(chat.home)
    assert row.command == "chat" and row.reasoning_tokens >= 2000
    assert f"~{row.completion_tokens} out ({row.reasoning_tokens} reasoning)" in err


def test_the_local_batch_runner_counts_unreported_reasoning(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.batch_api.enabled = False
    fake.default_reply = Reply("ok", reasoning=THINKING, usage=False)
    env = fake_env(tmp_path, fake)
    (tmp_path / "one.txt").write_text("a question")
    r = run_cli("batch", "submit", "-m", MODEL, str(tmp_path / "one.txt"), env=env)
    assert r.returncode == 0, r.stderr
    (row,) = [row for row in _rows(tmp_path) if row.command == "batch"]
    assert row.estimated and row.reasoning_tokens >= 2000
    assert row.completion_tokens >= row.reasoning_tokens + 1


# -- (3) budgets: one Gate in front of the provider, every retry included ----------------------


def test_a_schema_retry_is_refused_once_the_first_reply_spent_the_budget(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    _config(tmp_path, "[defaults]\ndaily_budget_usd = 0.0003\n")
    env = fake_env(tmp_path, fake)
    fake.script(
        Reply(structured="invalid", prompt_tokens=1000, completion_tokens=300),
        Reply(prompt_tokens=1000, completion_tokens=100),
    )
    r = run_cli("ask", "-m", MODEL, "--schema", "name, age int", "--json", "who", env=env)
    assert r.returncode == 1, r.stderr
    assert "asking once more" in r.stderr
    assert "chatcli: error: $0.00033 of your daily budget $0.0003 is spent" in r.stderr
    assert "hint: pass --over-budget to go on" in r.stderr
    assert len(fake.chat_requests()) == 1  # the retry was not sent
    out = json.loads(r.stdout)
    assert out["data"] is None and out["cost_usd"] == 0.00033 and "is spent" in out["error"]
    assert [row.cost_usd for row in _rows(tmp_path)] == [pytest.approx(0.00033)]
    fake.script(Reply(structured="invalid"), Reply())  # after the valid one still queued
    forced = run_cli("ask", "-m", MODEL, "--schema", "name, age int", "--over-budget", "who",
                     env=env)  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert "of your daily budget $0.0003 is spent (" in forced.stderr  # warned, not refused
    assert len(fake.chat_requests()) == 2


def test_a_command_sees_what_it_spent_at_once_whatever_the_gates_cache(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """``verify``'s Gate reads the usage log at most once a second, but what its own first
    probe cost is added as it is logged: the second probe, right after, is refused."""
    _config(tmp_path, "[defaults]\ndaily_budget_usd = 0.0000001\n")
    env = fake_env(tmp_path, fake)
    r = run_cli("verify", "-m", MODEL, env=env)
    assert r.returncode == 1, r.stderr
    assert "of your daily budget $0.0000001 is spent" in r.stderr
    assert len(fake.chat_requests()) == 1  # the first probe only
    assert len(_rows(tmp_path)) == 1


def test_a_schema_retry_past_80_percent_warns_once_and_goes_on(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    _config(tmp_path, "[defaults]\ndaily_budget_usd = 0.0004\n")
    env = fake_env(tmp_path, fake)
    fake.script(
        Reply(structured="invalid", prompt_tokens=1000, completion_tokens=350),  # $0.00036
        Reply(prompt_tokens=10, completion_tokens=10),
    )
    r = run_cli("ask", "-m", MODEL, "--schema", "name, age int", "who", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("of your daily budget") == 1
    assert "$0.00036 of your daily budget $0.0004 is spent (90%)" in r.stderr
    assert len(fake.chat_requests()) == 2


def test_the_repl_refuses_a_schema_retry_past_the_budget(chat: Chat) -> None:
    _config(chat.home, "[defaults]\ndaily_budget_usd = 0.0003\n")
    chat.fake.script(
        Reply(structured="invalid", prompt_tokens=1000, completion_tokens=300),
        Reply(prompt_tokens=1000, completion_tokens=100),
    )
    chat.run("/schema a int\r", "two\r", model=MODEL)
    err = chat.err.getvalue()
    assert "asking once more" in err
    assert "chatcli: error: $0.00033 of your daily budget $0.0003 is spent" in err
    assert "/budget continue to go on in this session" in err
    assert len(chat.fake.chat_requests()) == 1


def test_the_repl_says_the_80_percent_notice_once_and_budget_continue_lifts_a_refusal(
    chat: Chat,
) -> None:
    """The session's requests pass one Gate: its 80 % notice is said once (not before every
    turn), the refusal names ``/budget continue``, and that lifts it for ``/retry``."""
    _config(chat.home, "[defaults]\ndaily_budget_usd = 0.0004\n")
    chat.fake.script(
        Reply(text="one", prompt_tokens=1000, completion_tokens=350),  # $0.00036: 90 %
        Reply(text="two", prompt_tokens=0, completion_tokens=100),  # $0.00042 in all
        Reply(text="three"),
    )
    chat.run("first\r", "second\r", "third\r", "/budget continue\r", "/retry\r", model=MODEL)
    err = chat.err.getvalue()
    assert err.count("of your daily budget $0.0004 is spent (") == 1
    assert "$0.00036 of your daily budget $0.0004 is spent (90%)" in err
    assert err.count("chatcli: error: $0.00042 of your daily budget $0.0004 is spent") == 1
    assert "/budget continue to go on in this session" in err
    assert chat.sent() == ["first", "second", "third"]


# -- (7) ask --json of a failed tool turn ----------------------------------------------------------


@pytest.mark.external  # our MCP server
def test_json_of_a_tool_turn_stopped_by_the_round_limit_has_its_calls(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    _config(tmp_path, own_server("own"))
    env = fake_env(tmp_path, fake)
    fake.script(*[asks_add(n) for n in range(3)])  # tool_choice "none" ignored too
    r = run_cli("ask", "-T", "own", "--approve", "own", "--max-tool-rounds", "1", "--json",
                "loop", env=env)  # fmt: skip
    assert r.returncode == 5, r.stderr
    out = json.loads(r.stdout)
    assert out["incomplete"] is True and "still asked for tools" in out["error"]
    assert [(c["name"], c["arguments"], c["result"]) for c in out["tool_calls"]] == [
        ("own.add", {"a": 1, "b": 2}, "3")
    ]
    assert out["requests"] == 3 == len(fake.chat_requests())


@pytest.mark.external  # our MCP server
def test_json_of_a_tool_turn_refused_by_the_budget_between_rounds_has_its_calls(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    _config(tmp_path, "[defaults]\ndaily_budget_usd = 0.0002\n" + own_server("own"))
    env = fake_env(tmp_path, fake)
    fake.script(
        Reply(tool_calls=[call("own__add", a=1, b=2)], prompt_tokens=1000, completion_tokens=100),
        Reply(text="never sent"),
    )
    r = run_cli("ask", "-m", MODEL, "-T", "own", "--approve", "own", "--json", "go", env=env)
    assert r.returncode == 1, r.stderr
    assert "hint: pass --over-budget to go on" in r.stderr
    out = json.loads(r.stdout)
    assert out["error"] == "$0.00021 of your daily budget $0.0002 is spent"
    assert [c["name"] for c in out["tool_calls"]] == ["own.add"]
    assert out["requests"] == 1 == len(fake.chat_requests())
    assert out["cost_usd"] == 0.00021


@pytest.mark.external  # our MCP server
def test_json_of_a_tool_turn_whose_next_round_fails_has_its_calls(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """The round after the calls fails (a 400): the calls ran and may have had effects, so
    the object is printed with them, not left out because the last request got nothing."""
    _config(tmp_path, own_server("own"))
    env = fake_env(tmp_path, fake)
    fake.script(
        Reply(tool_calls=[call("own__add", a=2, b=2)], prompt_tokens=100, completion_tokens=10),
        Error(400, "the upstream refused the request", type="invalid_request_error"),
    )
    r = run_cli("ask", "-m", MODEL, "-T", "own", "--approve", "own", "--json", "go", env=env)
    assert r.returncode == 5, r.stderr
    out = json.loads(r.stdout)
    assert out["incomplete"] is True and "refused the request" in out["error"]
    assert [(c["name"], c["result"]) for c in out["tool_calls"]] == [("own.add", "4")]
    assert out["requests"] == 1
    assert out["usage"]["prompt_tokens"] == 100


# -- (10) the REPL footer of a /schema turn with a retry -----------------------------------------


def test_the_footer_of_a_retried_schema_turn_counts_both_requests(chat: Chat) -> None:
    chat.fake.script(
        Reply(structured="invalid", prompt_tokens=1000, completion_tokens=100),
        Reply(prompt_tokens=1000, completion_tokens=100),
    )
    chat.run("/schema a int\r", "two\r", model=MODEL)
    err = chat.err.getvalue()
    assert "asking once more" in err
    assert "2000 in · 200 out · $0.00042 · " in err
    assert "2 requests" in err


# -- (12) [schemas.NAME] with two sources, or none ------------------------------------------------

SCHEMAS = """\
[schemas.both]
fields = "a"
json = '{"type": "object", "properties": {"z": {"type": "integer"}}, "required": ["z"]}'

[schemas.empty]

[schemas.mixed]
file = "s.json"
type = "object"

[schemas.good]
fields = "a"
"""


def test_a_named_schema_with_two_sources_or_none_is_a_config_error(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    _config(tmp_path, SCHEMAS)
    env = fake_env(tmp_path, fake)
    path = tmp_path / "config.toml"
    both = run_cli("ask", "--schema", "@both", "q", env=env)
    assert both.returncode == 3, both.stderr
    assert f"{path}:3:1: schemas.both: fields and json each give a schema; give one of fields," \
        in both.stderr  # fmt: skip
    empty = run_cli("ask", "--schema", "@empty", "q", env=env)
    assert empty.returncode == 3, empty.stderr
    assert f"{path}:5:1: schemas.empty: is empty; give one of fields, file, json" in empty.stderr
    mixed = run_cli("ask", "--schema", "@mixed", "q", env=env)
    assert mixed.returncode == 3, mixed.stderr
    assert f"{path}:9:1: schemas.mixed: file and the TOML keys type each give a schema" \
        in mixed.stderr  # fmt: skip
    assert fake.chat_requests() == []
    good = run_cli("ask", "--schema", "@good", "q", env=env)
    assert good.returncode == 0, good.stderr
    validate = run_cli("config", "validate", env=env)
    assert validate.returncode == 3
    for place in (":3:1: schemas.both:", ":5:1: schemas.empty:", ":9:1: schemas.mixed:"):
        assert place in validate.stderr
    assert "schemas.good" not in validate.stderr


# -- (13) the --schema wording -------------------------------------------------------------------


def test_schema_wording_for_a_repeated_field_and_odd_names(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    _config(tmp_path, '[schemas.review]\nfields = "score int"\n')
    env = fake_env(tmp_path, fake)
    twice = run_cli("ask", "--schema", "name, name int", "q", env=env)
    assert twice.returncode == 2
    assert "--schema: field 'name' is given twice (again at column 7)" in twice.stderr
    assert "at the end" not in twice.stderr
    bare = run_cli("ask", "--schema", "@", "q", env=env)
    assert bare.returncode == 2, bare.stderr
    assert "--schema: '@' names no schema (known: @review)" in bare.stderr
    assert "[schemas.]" not in bare.stderr
    extra = run_cli("ask", "--schema", "@review extra", "q", env=env)
    assert extra.returncode == 3, extra.stderr
    assert "unknown schema @review extra (known: @review)" in extra.stderr
    assert 'hint: did you mean @review? (or add [schemas."review extra"] with fields' \
        in extra.stderr  # fmt: skip
    assert fake.chat_requests() == []
