"""``chatcli chat`` end to end in tmux, typed the way a person types, against the fake server.

The fake runs as its own process (``python -m tests.fakes``) and is scripted through its
control API; the REPL runs in a 100x30 tmux pane with an isolated data dir and config.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatcli.store import Store
from tests.fakes import FakeControl, Reply
from tests.tmux_helpers import Tmux, at_prompt, chat_tmux, wait_until

ROOT = Path(__file__).resolve().parent.parent
CHAT = [sys.executable, "-m", "chatcli", "chat"]

pytestmark = pytest.mark.terminal


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def term(server: str, home: Path) -> Iterator[Tmux]:
    with chat_tmux(server, home) as tmux:
        yield tmux


def ask(term: Tmux, text: str, expect: str) -> str:
    """Wait for the prompt, type ``text``, Enter, and wait until ``expect`` shows once more."""
    term.wait_for(at_prompt)
    seen = term.scrollback().count(expect)
    term.type(text)
    term.keys("Enter")
    return term.wait_for(lambda s: s.count(expect) > seen, scrollback=True)


def chat_requests(control: FakeControl) -> list[dict[str, object]]:
    return [r["json"] for r in control.requests() if r["path"].endswith("/chat/completions")]


def contents(request: dict[str, object]) -> list[str]:
    messages = request["messages"]
    assert isinstance(messages, list)
    return [m["content"] for m in messages]


def stored(home: Path) -> list[tuple[str, str, bool]]:
    """(role, content, interrupted) of every message of the latest session."""
    with Store.open(home / "data") as store:
        row = store.latest_session()
        assert row is not None
        return [(m.role, str(m.content), m.interrupted) for m in store.all_messages(row.id)]


def test_two_turns_the_second_reply_knows_the_first(
    term: Tmux, control: FakeControl, home: Path
) -> None:
    term.start(CHAT)
    ask(term, "hello there", "echo(1): hello there")
    ask(term, "and again", "echo(2): and again")
    footer = re.compile(r"\d+ in · \d+ out · \$\d\.\d+ · [\d.]+ s to first token · \d+ tok/s")
    term.wait_for(lambda s: len(footer.findall(s)) == 2)
    term.wait_for(at_prompt)
    term.keys("C-d")
    assert term.wait_exit() == 0
    # SPEC §1: the data dir holds the database and the input history, nothing else
    assert sorted(p.name for p in (home / "data").iterdir()) == ["chatcli.db", "history"]


def test_multi_line_paste_is_one_message(term: Tmux, control: FakeControl) -> None:
    term.start(CHAT)
    term.wait_for(at_prompt)
    term.paste("first line\nsecond line\n\n    indented fourth\n")
    term.wait_for("indented fourth")
    term.keys("Enter")
    term.wait_for("echo(1): first line", scrollback=True)
    (body,) = chat_requests(control)
    assert contents(body) == ["first line\nsecond line\n\n    indented fourth\n"]


def test_ctrl_c_stops_a_long_reply_and_the_chat_goes_on(
    term: Tmux, control: FakeControl, home: Path
) -> None:
    control.script(Reply(words=3000, words_per_second=60))
    term.start(CHAT)
    term.wait_for(at_prompt)
    term.type("tell me a long story")
    term.keys("Enter")
    wait_until(lambda: len(chat_requests(control)) == 1)
    before = term.screen()
    term.wait_for(lambda s: len(s.split()) > len(before.split()) + 20)  # words are arriving
    term.keys("C-c")
    term.wait_for("interrupted: the partial reply is kept")
    wait_until(lambda: control.state()["disconnects"] >= 1)
    ask(term, "are you still there?", "echo(2): are you still there?")

    messages = stored(home)
    assert [(role, interrupted) for role, _, interrupted in messages] == [
        ("user", False), ("assistant", True), ("user", False), ("assistant", False),
    ]  # fmt: skip
    partial = messages[1][1]
    assert 20 < len(partial.split()) < 3000
    shown = " ".join(term.scrollback().split())
    words = [w for w in re.findall(r"[A-Za-z]{5,}", partial)][-5:]
    assert words and all(w in shown for w in words), "the partial reply stays on screen"
    assert contents(chat_requests(control)[1])[1] == partial


def test_keys_typed_during_a_reply_wait_for_the_prompt(term: Tmux, control: FakeControl) -> None:
    control.script(Reply(words=80, words_per_second=80))
    term.start(CHAT)
    term.wait_for(at_prompt)
    term.type("slow one")
    term.keys("Enter")
    wait_until(lambda: len(chat_requests(control)) == 1)
    term.type("typed ahead")
    term.keys("Enter")
    term.wait_for("echo(2): typed ahead", scrollback=True)
    assert [contents(b)[-1] for b in chat_requests(control)] == ["slow one", "typed ahead"]


def test_keys_typed_during_a_slow_command_wait_for_the_prompt(
    term: Tmux, control: FakeControl, home: Path
) -> None:
    """``/file`` on a FIFO waits for its writer: ``/cost`` typed meanwhile is not echoed under
    the command, and its Enter runs it at the next prompt (it became a newline in the draft)."""
    fifo = home / "slow"
    os.mkfifo(fifo)
    term.start(CHAT)
    term.wait_for(at_prompt)
    term.type(f"/file {fifo}")
    term.keys("Enter")
    ends: list[int] = []  # the command has opened it and waits for its text
    wait_until(lambda: _writer(fifo, ends))
    (fd,) = ends
    term.type("/cost")
    term.keys("Enter")
    time.sleep(0.3)  # the keys reach the terminal while the command waits
    assert "/cost" not in term.screen()
    os.write(fd, b"notes\n")
    os.close(fd)
    term.wait_for("session cost: nothing spent yet", scrollback=True)
    term.wait_for(at_prompt)
    assert term.scrollback().count("/cost") == 1  # once, as the prompt's own echo


def _writer(fifo: Path, ends: list[int]) -> bool:
    """Open a write end of ``fifo`` into ``ends`` once a reader has it open (ENXIO before)."""
    try:
        ends.append(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        return False
    return True


def test_undo_retry_and_model(term: Tmux, control: FakeControl, home: Path) -> None:
    term.start(CHAT)
    ask(term, "first", "echo(1): first")
    ask(term, "second", "echo(2): second")
    term.wait_for(at_prompt)
    term.type("/undo")
    term.keys("Enter")
    term.wait_for(lambda s: s.rstrip().endswith("› second"))  # back in the prompt to edit
    term.type(" take two")
    term.keys("Enter")
    term.wait_for("echo(2): second take two")
    ask(term, "/retry", "echo(2): second take two")
    ask(term, "/model gpt-4o", "model gpt-4o · context window 128,000 tokens")
    ask(term, "third", "echo(3): third")

    bodies = chat_requests(control)
    assert [contents(b)[-1] for b in bodies] == [
        "first", "second", "second take two", "second take two", "third",
    ]  # fmt: skip
    assert [b["model"] for b in bodies] == ["gpt-6-luna"] * 4 + ["gpt-4o"]
    assert contents(bodies[-1])[:-1] == [
        "first", "echo(1): first", "second take two", "echo(2): second take two",
    ]  # fmt: skip
    assert len(stored(home)) == 6


def test_chinese_typed_and_answered(term: Tmux, control: FakeControl) -> None:
    term.start(CHAT)
    ask(term, "你好，世界！", "echo(1): 你好，世界！")
    term.wait_for(at_prompt)
    term.type("今天天气怎么样")
    term.keys("BSpace", "BSpace", "BSpace", "Left", "Left")
    term.type("的")
    term.keys("Enter")
    term.wait_for("echo(2): 今天的天气")
    assert contents(chat_requests(control)[-1])[-1] == "今天的天气"


def test_kill_9_mid_reply_then_continue_keeps_completed_turns(
    term: Tmux, control: FakeControl, home: Path
) -> None:
    term.start(CHAT)
    ask(term, "first question", "echo(1): first question")
    ask(term, "second question", "echo(2): second question")
    control.script(Reply(words=3000, words_per_second=60))
    term.wait_for(at_prompt)
    term.type("a long one")
    term.keys("Enter")
    wait_until(lambda: len(chat_requests(control)) == 3)
    os.kill(term.program_pid(), signal.SIGKILL)
    assert term.wait_exit() == 128 + signal.SIGKILL

    term.respawn([*CHAT, "-c"])
    term.wait_for("2 turns loaded")
    screen = term.wait_for(at_prompt)
    assert "you › second question" in screen
    assert "ai  › echo(2): second question" in screen
    ask(term, "where were we?", "echo(3): where were we?")
    assert contents(chat_requests(control)[-1]) == [
        "first question", "echo(1): first question",
        "second question", "echo(2): second question",
        "where were we?",
    ]  # fmt: skip


def test_edit_regenerate_pick_and_fork(term: Tmux, control: FakeControl, home: Path) -> None:
    term.start([*CHAT, "--session", "tree"])
    ask(term, "first", "echo(1): first")
    ask(term, "second", "echo(2): second")
    ask(term, "/history", "2 you › second")
    term.wait_for(at_prompt)
    term.type("/edit 1")
    term.keys("Enter")
    term.wait_for(lambda s: s.rstrip().endswith("› first"))  # the message is in the prompt
    term.keys("End")
    term.type(" (edited)")
    term.keys("Enter")
    term.wait_for("echo(1): first (edited)", scrollback=True)
    assert contents(chat_requests(control)[-1]) == ["first (edited)"]
    ask(term, "/regenerate", "echo(1): first (edited)")  # the fake echoes the same again
    ask(term, "/answers 1", "/pick 1 K goes on from answer K")
    screen = term.scrollback()
    assert "  1  " in screen and "* 2  " in screen
    ask(term, "/pick 1 1", "going on from answer 1 of turn 1")
    ask(term, "third", "echo(2): third")
    assert contents(chat_requests(control)[-1]) == [
        "first (edited)",
        "echo(1): first (edited)",
        "third",
    ]
    ask(term, "/fork copy", "you are in copy now")
    term.keys("C-d")
    assert term.wait_exit() == 0
    with Store.open(home / "data") as store:
        tree, copy = store.get_session("tree"), store.get_session("copy")
        assert tree is not None and copy is not None and copy.forked_from == "tree@2"
        assert [m.content for m in store.all_messages(copy.id)] == [
            m.content for m in store.all_messages(tree.id)
        ]
        assert len(store.every_message(tree.id)) == 9  # the first branch and answer are kept
