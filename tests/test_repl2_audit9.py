"""Audit 9, area repl2: long sessions in ``chatcli chat`` (reused ids, odd paths, pending
attachments, tool turns in /history)."""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.input import PipeInput

from chatcli.repl.loop import Repl
from chatcli.settings.resolve import ChatFlags
from tests.cli_helpers import clean_env, fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, Error, FakeControl, FakeOpenAI, Reply
from tests.term_helpers import PS1, RealTerm
from tests.test_repl import CTRL_C, CTRL_D, Chat, wait_until
from tests.tmux_helpers import at_prompt
from tests.tools_helpers import own_server

LONG = "/tmp/" + "0" * 300
ROOT = Path(__file__).resolve().parent.parent
CHAT = [sys.executable, "-m", "chatcli", "chat"]
STARTS = 90.0


@pytest.fixture
def chat(tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chat]:
    yield Chat(tmp_path, fake, monkeypatch)


def test_a_deleted_session_whose_id_was_reused_is_saved_again_not_grafted(
    chat: Chat, tmp_path: Path, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    env = fake_env(tmp_path, fake)
    assert run_cli("ask", "--session", "m", "first", env=env).returncode == 0

    def feed(repl: Repl, inp: PipeInput) -> None:
        try:
            inp.send_text("x turn\r")
            wait_until(lambda: len(fake.chat_requests()) == 2)
            wait_until(lambda: repl.session.row is not None and repl.session.row.head_id == 4)
            # another chatcli deletes m, then makes a new m: SQLite reuses ids 1 and 3-4
            assert run_cli("sessions", "rm", "m", env=env).returncode == 0
            assert run_cli("ask", "--session", "m", "y one", env=env).returncode == 0
            assert run_cli("ask", "--session", "m", "y two", env=env).returncode == 0
            inp.send_text("x again\r")
            wait_until(lambda: len(fake.chat_requests()) == 5)
        finally:
            inp.send_text(CTRL_D)

    chat.run(during=feed, opts=ChatFlags(session="m"))
    with chat.store() as store:
        y = store.get_session("m")
        assert y is not None
        y_texts = [m.content for m in store.all_messages(y.id)]
        others = [s for s in store.list_sessions() if s.name != "m"]
        assert len(others) == 1
        x_texts = [m.content for m in store.all_messages(others[0].id)]
    assert "x again" not in y_texts
    assert y_texts == ["y one", "echo(1): y one", "y two", "echo(2): y two"]
    assert x_texts == ["first", "echo(1): first", "x turn", "echo(2): x turn", "x again",
                       "echo(3): x again"]  # fmt: skip
    said = caplog.text + chat.err.getvalue()
    assert "'m' was deleted while this chat had it open; saved it again as" in said
    assert "changed by another chatcli" not in said


@pytest.mark.parametrize("line", ["/file ~nosuchuser/notes.txt", f"/file {LONG}",
                                  "/schema ~nosuchuser/s.json"])  # fmt: skip
def test_an_odd_path_in_a_command_is_one_error_and_the_repl_goes_on(chat: Chat, line: str) -> None:
    chat.run(f"{line}\r", "hello\r")
    err = chat.err.getvalue()
    assert "unexpected" not in err
    assert err.count("chatcli: error:") == 1
    assert chat.sent() == ["hello"]


def test_odd_paths_in_flags_and_environment_are_clear_errors(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    env = fake_env(tmp_path, fake)
    cases = [
        (["ask", "--schema", "~nosuchuser/s.json", "hi"], {}, 2),
        (["--config", "~nosuchuser/x.toml", "ask", "hi"], {}, 3),
        (["--config", LONG, "ask", "hi"], {}, 3),
        (["ask", "hi"], {"CHATCLI_CONFIG": "~nosuchuser/x.toml"}, 3),
        (["sessions", "list"], {"CHATCLI_HOME": "~nosuchuser/d"}, 3),
        (["sessions", "list"], {"CHATCLI_HOME": LONG}, 1),
    ]
    for args, extra, code in cases:
        result = run_cli(*args, env={**env, **extra})
        assert "unexpected" not in result.stderr, args
        assert result.stderr.startswith("chatcli: error:"), (args, result.stderr)
        assert result.returncode == code, (args, result.stderr)
    assert not os.path.exists(Path.cwd() / "~nosuchuser")


# on a real terminal, with an MCP server on (its client's threads were the ones to take Ctrl-Z)

QUESTION = "run it? [y]es, [N]o, [a]lways this tool:"


@pytest.fixture
def term(server: str, tmp_path: Path) -> Iterator[RealTerm]:
    (tmp_path / "config.toml").write_text(own_server("t"), encoding="utf-8")
    env = clean_env(tmp_path, OPENAI_API_KEY=DEFAULT_API_KEY, OPENAI_BASE_URL=server,
                    LANG="C.UTF-8", LC_ALL="C.UTF-8", PYTHONPATH=str(ROOT),
                    TERM="xterm-256color")  # fmt: skip
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TMUX", "STY"):
        env.pop(name, None)
    made = RealTerm("tmux", env, tmp_path)
    try:
        yield made
    finally:
        made.kill()


def _sent(control: FakeControl) -> list[Any]:
    return [r["json"]["messages"][-1]["content"] for r in control.requests()
            if r["path"].endswith("/chat/completions")]  # fmt: skip


def _add_call(**extra: Any) -> Reply:
    return Reply(tool_calls=[{"name": "t__add", "arguments": {"a": 2, "b": 3}}], **extra)


def _question(term: RealTerm, control: FakeControl, text: str) -> None:
    term.wait_for(at_prompt, timeout=STARTS)
    term.type(text)
    term.keys("Enter")
    term.wait_for(lambda s: s.rstrip().endswith(QUESTION), timeout=STARTS)


@pytest.mark.terminal
def test_ctrl_z_at_the_question_then_fg_asks_again_with_one_key(
    term: RealTerm, control: FakeControl
) -> None:
    control.script(_add_call(), Reply(text="five"), Reply(text="unused"))
    term.shell(width=100, height=30)
    term.run([*CHAT, "-T", "t"])
    _question(term, control, "add please")
    term.keys("C-z")
    term.wait_for("Stopped")
    term.wait_for(lambda s: s.rstrip().endswith(PS1.rstrip()))
    assert term.outer.pane("#{cursor_flag}") == "1"
    term.fg()
    term.wait_for(lambda s: s.rstrip().endswith(QUESTION))  # shown again after fg
    term.keys("y")  # one key, as before the stop: no Enter needed
    term.wait_for("five")
    term.wait_for(at_prompt)
    term.type("/tokens")
    term.keys("Enter")
    term.wait_for("tokens", timeout=10)
    term.keys("C-d")
    assert term.wait_exit() == 0
    assert _sent(control)[0] == "add please" and len(_sent(control)) == 2


@pytest.mark.terminal
def test_ctrl_z_while_a_reply_streams_with_tools_on_restores_the_terminal(
    term: RealTerm, control: FakeControl
) -> None:
    control.script(Reply(words=200, words_per_second=40))
    term.shell(width=100, height=30)
    term.run([*CHAT, "-T", "t"])
    term.wait_for(at_prompt, timeout=STARTS)
    term.type("stream")
    term.keys("Enter")
    wait_until(lambda: len(_sent(control)) == 1, timeout=STARTS)
    time.sleep(1.0)
    term.keys("C-z")
    term.wait_for("Stopped")
    term.wait_for(lambda s: s.rstrip().endswith(PS1.rstrip()))
    assert term.outer.pane("#{cursor_flag}") == "1"  # the cursor shows at the shell's prompt
    term.fg()
    control.hurry(1500.0)
    term.wait_for(at_prompt, timeout=60)
    term.keys("C-d")
    assert term.wait_exit() == 0


@pytest.mark.terminal
def test_an_answer_typed_as_a_word_sends_nothing_more(term: RealTerm, control: FakeControl) -> None:
    control.script(_add_call(reasoning="I should call add."), Reply(text="five it is"),
                   Reply(text="MODEL GOT IT"))  # fmt: skip
    term.start_line(shlex.join([*CHAT, "-T", "t"]), width=100, height=30)
    _question(term, control, "add three")
    screen = term.wait_for(QUESTION)
    assert "thinking…⚙" not in screen and "thinking…" not in screen, screen
    term.type("yes")
    term.keys("Enter")
    term.wait_for("five it is")
    term.wait_for(at_prompt)
    time.sleep(1.0)
    assert _sent(control)[-1] != "es"
    assert len(_sent(control)) == 2
    term.keys("C-d")
    assert term.wait_exit() == 0


def test_ctrl_c_at_the_prompt_drops_attachments_undo_brought_back(
    chat: Chat, tmp_path: Path, fake: FakeOpenAI
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("SECRET-NOTES\n", encoding="utf-8")
    fake.script(Error(400, "bad request", "invalid_request_error"))
    chat.run(f"/file {notes}\r", "please read these notes\r", "/undo\r", CTRL_C,
             "what is 2+2?\r")  # fmt: skip
    assert chat.sent()[-1] == "what is 2+2?"
    assert "1 attached file(s) dropped" in chat.err.getvalue()


# -- 8: /history and /answers of a turn that called tools ---------------------------------------


@pytest.mark.external  # a real MCP server
def test_history_and_answers_show_a_tool_turns_answer(
    tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tool turn's first reply only calls the tool: /history shows the turn's answer (its
    last reply with words), /answers what each answer did (the tools it called)."""
    from tests.test_repl_audit import run_repl

    (tmp_path / "config.toml").write_text(
        own_server("t") + '\n[defaults]\nauto_approve = ["t"]\n', encoding="utf-8"
    )
    fake.script(
        Reply(tool_calls=[{"name": "t__echo", "arguments": {"text": "x"}}]),
        Reply(text="the echo said x"),
    )
    chat = Chat(tmp_path, fake, monkeypatch)
    run_repl(chat, "go\r", "/history\r", "/answers 1\r", flags=ChatFlags(tools=("t",)))
    err = chat.err.getvalue()
    assert "ai  › the echo said x" in err, err
    assert "› calls t__echo" in err or "› calls t.echo" in err, err
