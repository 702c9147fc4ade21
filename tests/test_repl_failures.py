"""Nothing typed into ``chatcli chat`` is lost to a failure: a message that got no answer stays
for ``/retry`` (and ``/undo``), in this REPL and after ``chat -c``; a failed ``/retry`` of an
answered turn leaves the conversation as it was; a bad ``$EDITOR`` says so and keeps the text.

In-process tests drive the REPL as ``tests/test_repl.py`` does (keys typed into a pipe); the
tmux tests type into a real terminal against a fake server that goes down and comes back.
"""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prompt_toolkit.input import PipeInput

from chatcli.repl.loop import Repl
from chatcli.settings.resolve import ChatFlags
from chatcli.store import Store
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import CutStream, Delay, Error, FakeControl, FakeOpenAI, Reply
from tests.test_recovery_journal import holding
from tests.test_repl import CTRL_C, CTRL_D, Chat, wait_until
from tests.tmux_helpers import Tmux, at_prompt, chat_tmux
from tests.tmux_helpers import wait_until as wait_in_tmux

ROOT = Path(__file__).resolve().parent.parent
CHAT = [sys.executable, "-m", "chatcli", "chat"]
KEPT = "your message is kept: /retry sends it again, /undo puts it back in the prompt to edit"
UNAUTHORIZED = Error(401, "bad key", "invalid_request_error", "invalid_api_key")


@pytest.fixture
def chat(tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Chat:
    (tmp_path / "config.toml").write_text("[defaults]\nmax_retries = 0\n", encoding="utf-8")
    return Chat(tmp_path, fake, monkeypatch)


def branch(chat: Chat) -> list[tuple[str, str]]:
    """(role, content) of the latest session's current branch."""
    with chat.store() as store:
        row = store.latest_session()
        assert row is not None
        return [(m.role, str(m.content)) for m in store.all_messages(row.id)]


def user_rows(chat: Chat, text: str) -> int:
    """How many stored user messages (every branch) read ``text``."""
    with chat.store() as store:
        row = store.latest_session()
        assert row is not None
        return sum(m.role == "user" and m.content == text for m in store.every_message(row.id))


def history(chat: Chat) -> list[str]:
    """The contents of the last chat request's messages."""
    return [m["content"] for m in chat.fake.chat_requests()[-1].json["messages"]]


# a message that got no answer


@pytest.mark.parametrize(
    "failure",
    [
        UNAUTHORIZED,
        Error(500),
        Error.rate_limit(600),  # longer than max_retry_wait: given up at once
        Error(404, "no such model", "invalid_request_error", "model_not_found"),
    ],
    ids=["401", "500", "429-long-retry-after", "404"],
)
def test_a_failed_message_is_kept_and_retry_sends_it_once(chat: Chat, failure: Error) -> None:
    chat.fake.script(Reply(), failure)
    chat.run("first\r", "a long message\r", "/retry\r")
    err = chat.err.getvalue()
    assert "chatcli: error: " in err and KEPT in err
    assert chat.sent() == ["first", "a long message", "a long message"]
    assert branch(chat) == [
        ("user", "first"), ("assistant", "echo(1): first"),
        ("user", "a long message"), ("assistant", "echo(2): a long message"),
    ]  # fmt: skip
    assert user_rows(chat, "a long message") == 1  # answered where it was kept


def test_server_down_then_back_retry_sends_the_message(chat: Chat) -> None:
    def feed(repl: Repl, inp: PipeInput) -> None:
        try:
            port = int(chat.fake.root.rsplit(":", 1)[1])
            chat.fake.stop()
            inp.send_text("sent while the server is down\r")
            wait_until(lambda: KEPT in chat.err.getvalue())
            chat.fake.port = port
            chat.fake.start()
            inp.send_text("/retry\r")
            wait_until(lambda: "echo(1): sent while" in chat.out.getvalue())
        finally:
            inp.send_text(CTRL_D)

    chat.run(during=feed)
    assert "chatcli: error: cannot connect to" in chat.err.getvalue()
    assert branch(chat) == [
        ("user", "sent while the server is down"),
        ("assistant", "echo(1): sent while the server is down"),
    ]


def test_chat_c_after_a_failed_message_retry_sends_that_message(chat: Chat) -> None:
    chat.fake.script(Reply(), UNAUTHORIZED)
    chat.run("first\r", "the one that failed\r")  # then Ctrl-D: the REPL is left
    assert branch(chat)[-1] == ("user", "the one that failed")  # kept, with no answer
    chat.err = io.StringIO()
    chat.run("/history\r", "/retry\r", opts=ChatFlags(cont=True))
    err = chat.err.getvalue()
    assert "1 turn loaded" in err
    assert "2 you › the one that failed [no answer]" in err  # /history
    assert "you › the one that failed [no answer]" in err
    assert "your last message got no answer: /retry sends it again" in err
    assert history(chat) == ["first", "echo(1): first", "the one that failed"]
    assert branch(chat)[2:] == [
        ("user", "the one that failed"), ("assistant", "echo(2): the one that failed"),
    ]  # fmt: skip
    assert user_rows(chat, "the one that failed") == 1


def test_a_new_message_after_a_kept_one_leaves_it_aside(chat: Chat) -> None:
    chat.fake.script(UNAUTHORIZED)
    chat.run("failed\r")
    chat.run("something else\r", opts=ChatFlags(cont=True))
    assert history(chat) == ["something else"]  # the unanswered one is not sent as history
    assert branch(chat) == [("user", "something else"), ("assistant", "echo(1): something else")]
    assert user_rows(chat, "failed") == 1  # still in the store, on its own branch
    chat.run("/retry\r", opts=ChatFlags(cont=True))  # /retry: the answered turn again
    assert history(chat) == ["something else"]


def test_ask_c_after_a_kept_message_asks_only_its_own_question(chat: Chat) -> None:
    chat.fake.script(UNAUTHORIZED)
    chat.run("failed\r")
    done = run_cli("ask", "-c", "a question", env=fake_env(chat.home, chat.fake))
    assert done.returncode == 0, done.stderr
    assert history(chat) == ["a question"]
    assert branch(chat) == [("user", "a question"), ("assistant", "echo(1): a question")]


def test_undo_after_a_failure_puts_the_message_back_as_typed(chat: Chat, tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("line one\n", encoding="utf-8")
    attached = "summarise\n\nFile notes.md:\n```\nline one\n```"
    chat.fake.script(Reply(), UNAUTHORIZED)
    chat.run("first\r", f"/file {notes}\r", "summarise\r", "/undo\r", " now\r")
    assert "your message is back in the prompt (it had no answer)" in chat.err.getvalue()
    assert chat.sent() == ["first", attached, "summarise now\n\nFile notes.md:\n```\nline one\n```"]
    assert history(chat)[:2] == ["first", "echo(1): first"]  # the turn before it stayed
    assert [role for role, _ in branch(chat)] == ["user", "assistant"] * 2


def test_a_spent_budget_keeps_the_message_for_retry(chat: Chat) -> None:
    (chat.home / "config.toml").write_text("[defaults]\ndaily_budget_usd = 0.001\n")
    chat.fake.script(Reply(text="pricey", prompt_tokens=0, completion_tokens=2400))
    chat.run("first\r", "second\r", "/budget continue\r", "/retry\r")
    assert KEPT in chat.err.getvalue()
    assert chat.sent() == ["first", "second"]
    assert history(chat) == ["first", "pricey", "second"]


def test_a_cut_stream_keeps_the_partial_reply_and_retry_asks_again(chat: Chat) -> None:
    chat.fake.script(CutStream("half of the"))
    chat.run("question\r", "/retry\r")
    err = chat.err.getvalue()
    assert "the partial reply is kept, marked interrupted; /retry asks again" in err
    assert KEPT not in err
    assert chat.sent() == ["question", "question"]
    with chat.store() as store:
        row = store.latest_session()
        assert row is not None
        answers = [(m.content, m.interrupted) for m in store.every_message(row.id)[1:]]
    assert answers == [("half of the", True), ("echo(1): question", False)]


# /retry of an answered turn that fails


def test_a_failed_retry_leaves_the_turn_and_the_next_message_follows_it(chat: Chat) -> None:
    chat.fake.script(Reply(), Reply(), UNAUTHORIZED)
    chat.run("one\r", "two\r", "/retry\r", "three\r")
    assert "turn 2 keeps the answer it had; /retry asks again" in chat.err.getvalue()
    assert history(chat) == ["one", "echo(1): one", "two", "echo(2): two", "three"]
    assert branch(chat) == [
        ("user", "one"), ("assistant", "echo(1): one"), ("user", "two"),
        ("assistant", "echo(2): two"), ("user", "three"), ("assistant", "echo(3): three"),
    ]  # fmt: skip


def test_a_failed_retry_then_chat_c_retry_asks_the_same_turn(chat: Chat) -> None:
    chat.run("one\r", "two\r")
    chat.fake.script(UNAUTHORIZED)
    chat.run("/retry\r", opts=ChatFlags(cont=True))
    assert branch(chat)[-1] == ("assistant", "echo(2): two")
    chat.err = io.StringIO()
    chat.run("/retry\r", opts=ChatFlags(cont=True))
    assert "2 turns loaded" in chat.err.getvalue()
    assert history(chat) == ["one", "echo(1): one", "two"]


def test_a_failed_regenerate_of_an_earlier_turn_keeps_the_turns_after_it(chat: Chat) -> None:
    chat.fake.script(Reply(), Reply(), UNAUTHORIZED, UNAUTHORIZED)
    chat.run("one\r", "two\r", "/regenerate 1\r", "three\r", "/regenerate 1\r", "/retry\r")
    requests = [[m["content"] for m in r.json["messages"]] for r in chat.fake.chat_requests()]
    assert requests[2:] == [
        ["one"],  # /regenerate 1, which failed: the conversation stays as it was
        ["one", "echo(1): one", "two", "echo(2): two", "three"],
        ["one"],  # /regenerate 1 failed again
        ["one"],  # /retry: turn 1 again, not the last turn
    ]
    assert branch(chat) == [("user", "one"), ("assistant", "echo(1): one")]


# the database busy when a turn is saved


def test_a_turn_journaled_while_the_database_is_busy_keeps_its_place(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATCLI_STORE_WAIT", "0.2")
    journal = chat.home / "data" / "recovery.jsonl"
    chat.run("one\r")

    def feed(repl: Repl, inp: PipeInput) -> None:
        try:
            with holding(chat.home / "data" / "chatcli.db"):
                inp.send_text("two\r")
                wait_until(journal.exists)
            inp.send_text("three\r")
            wait_until(lambda: "echo(3): three" in chat.out.getvalue())
        finally:
            inp.send_text(CTRL_D)

    chat.run(during=feed, opts=ChatFlags(cont=True))
    with Store.open(chat.home / "data", replay=False) as store:  # nothing left to replay
        row = store.latest_session()
        assert row is not None
        stored = [str(m.content) for m in store.all_messages(row.id)]
    assert stored == ["one", "echo(1): one", "two", "echo(2): two", "three", "echo(3): three"]
    assert not journal.exists()


# Ctrl+X Ctrl+E with an editor that cannot do the job


@pytest.mark.parametrize(
    ("editor", "said"),
    [
        (
            "nonexistent-editor --wait",
            "the editor $EDITOR (nonexistent-editor --wait) was not found",
        ),
        ("EXIT3", "exited with status 3"),
        ("'unclosed", "$EDITOR ('unclosed) cannot be read as a command"),
    ],
    ids=["not-found", "exits-3", "unparsable"],
)
def test_a_bad_editor_says_why_and_keeps_the_text(
    chat: Chat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, editor: str, said: str
) -> None:
    if editor == "EXIT3":  # writes the file, then fails: what it wrote is not taken
        script = tmp_path / "fails.sh"
        script.write_text('#!/bin/sh\necho "changed" > "$1"\nexit 3\n', encoding="utf-8")
        script.chmod(0o755)
        editor = str(script)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", editor)

    def feed(repl: Repl, inp: PipeInput) -> None:
        try:
            inp.send_text("my typed draft\x18\x05")  # Ctrl+X Ctrl+E
            wait_until(lambda: said in chat.err.getvalue())
            assert repl.prompt.default_buffer.text == "my typed draft"
            inp.send_text("\r")
            wait_until(lambda: "echo(1)" in chat.out.getvalue())
        finally:
            inp.send_text("\r" + CTRL_C + CTRL_D)  # whatever the screen waits for, leave

    chat.run(during=feed)
    lines = [line for line in chat.err.getvalue().splitlines() if said in line]
    assert len(lines) == 1 and lines[0].endswith("; the text in the prompt is unchanged")
    assert lines[0].startswith("chatcli: ")
    assert chat.sent() == ["my typed draft"]


# in a real terminal


class Restartable:
    """The fake server as its own process on a fixed port, stopped and started again."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes", "--port", str(self.port)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == self.url

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def chat_requests(self) -> list[list[str]]:
        return [
            [m["content"] for m in r["json"]["messages"]]
            for r in FakeControl(self.url).requests()
            if r["path"].endswith("/chat/completions")
        ]


@pytest.fixture
def restartable() -> Iterator[Restartable]:
    server = Restartable()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def ask(term: Tmux, text: str, expect: str) -> None:
    term.wait_for(at_prompt)
    seen = term.scrollback().count(expect)
    term.type(text)
    term.keys("Enter")
    term.wait_for(lambda s: s.count(expect) > seen, scrollback=True)


@pytest.mark.terminal
def test_tmux_server_down_the_message_is_kept_and_resent(
    restartable: Restartable, tmp_path: Path
) -> None:
    (tmp_path / "config.toml").write_text("[defaults]\nmax_retries = 0\n", encoding="utf-8")
    long = "a long message I would hate to type again, with details, " * 2 + "the end"
    with chat_tmux(restartable.url, tmp_path) as term:
        term.start(CHAT)
        ask(term, "first", "echo(1): first")
        restartable.stop()
        ask(term, long, KEPT)  # typed while the server is down: the error, then it is kept
        assert "chatcli: error: cannot connect to" in term.scrollback()
        restartable.start()
        ask(term, "/retry", "echo(2): a long message")  # the server is back: sent as typed
        assert restartable.chat_requests()[-1] == ["first", "echo(1): first", long]

        restartable.stop()  # down again; this time the REPL is left and continued
        ask(term, "the third one", KEPT)
        term.wait_for(at_prompt)
        term.keys("C-d")
        assert term.wait_exit() == 0
        restartable.start()
        term.respawn([*CHAT, "-c"])
        term.wait_for("you › the third one [no answer]")
        ask(term, "/retry", "echo(3): the third one")
        assert restartable.chat_requests()[-1][-1] == "the third one"

    with Store.open(tmp_path / "data") as store:
        row = store.latest_session()
        assert row is not None
        users = [m.content for m in store.every_message(row.id) if m.role == "user"]
        assert users == ["first", long, "the third one"]  # each stored once
        assert [m.role for m in store.all_messages(row.id)] == ["user", "assistant"] * 3


@pytest.mark.terminal
def test_tmux_ctrl_c_before_the_reply_then_chat_c_retry_sends_it(
    server: str, control: FakeControl, tmp_path: Path
) -> None:
    with chat_tmux(server, tmp_path) as term:
        term.start(CHAT)
        ask(term, "first", "echo(1): first")
        control.script(Delay(30))
        term.type("slow to answer")
        term.keys("Enter")
        wait_in_tmux(lambda: len(control.requests()) == 2)
        term.keys("C-c")
        term.wait_for("interrupted before the reply began; /retry sends it again")
        term.wait_for(at_prompt)
        term.keys("C-d")
        assert term.wait_exit() == 0
        term.respawn([*CHAT, "-c"])
        term.wait_for("you › slow to answer [no answer]")
        ask(term, "/retry", "echo(2): slow to answer")
    last = control.requests()[-1]["json"]["messages"]
    assert [m["content"] for m in last] == ["first", "echo(1): first", "slow to answer"]
