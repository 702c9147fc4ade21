"""Editing the conversation in ``chatcli chat`` loses nothing (audit 7, area "shape"): a failed
``/edit`` leaves the conversation as it was and an earlier version of a turn can be picked again;
``/fork`` takes the message awaiting an answer and the title along; ``/undo`` and ``/edit`` give
back images and the words typed under ``--template``; a session deleted by another process
while the REPL has it open is saved again.

The REPL runs in-process as in ``tests/test_repl.py`` (keys typed into a pipe, the fake server).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

from chatcli.features.templates.apply import apply
from chatcli.output import log_to
from chatcli.repl import prepare
from chatcli.repl.drafts import unwrap
from chatcli.repl.loop import Repl
from chatcli.settings.loading import load
from chatcli.settings.resolve import ChatFlags, Globals, Invocation, invocation
from chatcli.store import Store
from tests.fakes import Error, FakeOpenAI, Reply
from tests.test_repl import CTRL_C, CTRL_D, Chat, wait_until
from tests.test_session import ScriptedProvider, drain, reply, session

UNAUTHORIZED = Error(401, "bad key", "invalid_request_error", "invalid_api_key")
TRANSLATE = (
    "[templates.translate]\n"
    'system = "You translate into {{lang|English}}."\n'
    'prompt = "Translate, keeping the tone {{tone}}:\\n{{input}}"\n'
)


@pytest.fixture
def chat(tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Chat:
    (tmp_path / "config.toml").write_text("[defaults]\nmax_retries = 0\n", encoding="utf-8")
    return Chat(tmp_path, fake, monkeypatch)


def branch(chat: Chat, name: str | None = None) -> list[Any]:
    """The contents of a session's current branch (the latest session by default)."""
    with chat.store() as store:
        row = store.latest_session() if name is None else store.get_session(name)
        assert row is not None
        return [m.content for m in store.all_messages(row.id)]


def requests(chat: Chat) -> list[list[Any]]:
    """The message contents of every chat request the fake received."""
    return [[m["content"] for m in r.json["messages"]] for r in chat.fake.chat_requests()]


def red_png(path: Path) -> Path:
    """An 8x8 red PNG: an image ``/file`` attaches as an image part."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 8 for _ in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))  # fmt: skip
    return path


def has_image(content: Any) -> bool:
    return isinstance(content, list) and any(p.get("type") == "image_url" for p in content)


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(p["text"] for p in content if p.get("type") == "text")


# 1. a failed /edit, and the earlier versions of a turn


def test_a_failed_edit_leaves_the_conversation_and_retry_sends_the_edit(chat: Chat) -> None:
    chat.fake.script(Reply(), Reply(), Reply(), UNAUTHORIZED)
    chat.run("t1\r", "t2\r", "t3\r", "/edit 2\r", " changed\r", "/history\r", "/retry\r")
    err = chat.err.getvalue()
    assert "turn 2 is as it was; your edit is kept: /retry sends it again" in err
    assert "2 you › t2 [2 versions]" in err  # /history after the failure: turn 2 as it was
    assert requests(chat)[-1] == ["t1", "echo(1): t1", "t2 changed"]
    assert branch(chat) == ["t1", "echo(1): t1", "t2 changed", "echo(2): t2 changed"]
    with chat.store() as store:
        row = store.latest_session()
        assert row is not None
        edits = [m for m in store.every_message(row.id) if m.content == "t2 changed"]
    assert len(edits) == 1  # answered where it was kept, not stored twice


def test_a_failed_edit_then_chat_c_continues_the_turns_it_would_have_replaced(chat: Chat) -> None:
    chat.fake.script(Reply(), Reply(), UNAUTHORIZED)
    chat.run("t1\r", "t2\r", "/edit 1\r", " changed\r")
    chat.run("t3\r", opts=ChatFlags(cont=True))
    assert requests(chat)[-1] == ["t1", "echo(1): t1", "t2", "echo(2): t2", "t3"]


def test_undo_after_a_failed_edit_brings_the_edit_back_as_an_edit(chat: Chat) -> None:
    chat.fake.script(Reply(), Reply(), Reply(), UNAUTHORIZED)
    chat.run("t1\r", "t2\r", "t3\r", "/edit 2\r", " changed\r", "/undo\r", f"{CTRL_C}t4\r")
    assert "your edit of turn 2 is back in the prompt" in chat.err.getvalue()
    assert requests(chat)[-1][-2:] == ["echo(3): t3", "t4"]  # Ctrl-C dropped the edit only
    chat.fake.script(UNAUTHORIZED)
    chat.run("/edit 2\r", " changed\r", "/undo\r", " again\r", opts=ChatFlags(cont=True))
    assert requests(chat)[-1] == ["t1", "echo(1): t1", "t2 changed again"]
    assert branch(chat) == ["t1", "echo(1): t1", "t2 changed again", "echo(2): t2 changed again"]


def test_picking_the_answer_the_conversation_is_on_stays_there(chat: Chat) -> None:
    chat.fake.script(Reply(), Reply(), UNAUTHORIZED)
    chat.run("t1\r", "t2\r", "/edit 2\r", " changed\r", "/pick 1 1\r", "t3\r")
    assert requests(chat)[-1] == ["t1", "echo(1): t1", "t2", "echo(2): t2", "t3"]


def test_an_earlier_version_of_an_edited_turn_can_be_picked_again(chat: Chat) -> None:
    chat.run("t1\r", "t2\r", "t3\r", "/edit 2\r", " new\r", "/answers 2\r", "/pick 2 v1\r",
             "t4\r")  # fmt: skip
    err = chat.err.getvalue()
    assert "turn 2's message has 2 versions:" in err
    assert "v1" in err and "* v2" in err and "/pick 2 vK goes on from version K" in err
    assert "going on from version 1 of turn 2" in err
    assert requests(chat)[-1] == [
        "t1", "echo(1): t1", "t2", "echo(2): t2", "t3", "echo(3): t3", "t4",
    ]  # fmt: skip


def test_a_failed_edit_can_be_picked_after_leaving(chat: Chat) -> None:
    chat.fake.script(Reply(), Reply(), UNAUTHORIZED)
    chat.run("t1\r", "t2\r", "/edit 2\r", " changed\r")
    chat.run("/answers 2\r", "/pick 2 v2\r", "/retry\r", opts=ChatFlags(cont=True))
    err = chat.err.getvalue()
    assert "t2 changed [no answer]" in err
    assert "that message has no answer yet: /retry sends it" in err
    assert branch(chat) == ["t1", "echo(1): t1", "t2 changed", "echo(2): t2 changed"]


def test_an_edit_refused_by_a_spent_budget_leaves_the_conversation(chat: Chat) -> None:
    (chat.home / "config.toml").write_text("[defaults]\ndaily_budget_usd = 0.001\n")
    chat.fake.script(Reply(), Reply(text="pricey", prompt_tokens=0, completion_tokens=2400))
    chat.run("t1\r", "t2\r", "/edit 1\r", " x\r")
    assert "turn 1 is as it was; your edit is kept" in chat.err.getvalue()
    assert branch(chat) == ["t1", "echo(1): t1", "t2", "pricey"]


# 2, 12, 15. /fork


def test_fork_takes_the_message_awaiting_an_answer_and_the_title(chat: Chat) -> None:
    chat.fake.script(Reply(), UNAUTHORIZED)
    chat.run("p1\r", "p2 pending\r", "/fork pf2\r", "/retry\r", opts=ChatFlags(session="pf"))
    assert "the message awaiting an answer came along: /retry sends it" in chat.err.getvalue()
    assert requests(chat)[-1] == ["p1", "echo(1): p1", "p2 pending"]
    assert branch(chat, "pf2") == ["p1", "echo(1): p1", "p2 pending", "echo(2): p2 pending"]
    with chat.store() as store:
        fork = store.get_session("pf2")
        assert fork is not None and fork.title == "p1"


def test_fork_to_a_taken_name_hints_the_repl_way(chat: Chat) -> None:
    with chat.store() as store:
        store.create_session("taken")
    chat.run("hi\r", "/fork taken\r")
    err = chat.err.getvalue()
    assert "a session named 'taken' already exists" in err
    assert "hint: pick another name; /resume NAME goes to that session" in err
    assert "--session" not in err


def test_fork_of_a_conversation_with_no_turns_creates_nothing(chat: Chat) -> None:
    chat.run("t1\r", "/undo\r", f"{CTRL_C}/fork empty\r")
    assert "nothing to fork yet" in chat.err.getvalue()
    with chat.store() as store:
        assert store.get_session("empty") is None


# 3. attachments


def test_undo_of_a_turn_with_an_image_keeps_the_image(chat: Chat, tmp_path: Path) -> None:
    image = red_png(tmp_path / "red.png")
    chat.run(f"/file {image}\r", "what color\r", "/undo\r", "\r")
    assert "1 attached file(s) go with it again" in chat.err.getvalue()
    sent = chat.sent()
    assert has_image(sent[-1]) and text_of(sent[-1]) == "what color"
    chat.run("/undo\r", " now\r", opts=ChatFlags(cont=True))  # from the store this time
    assert has_image(chat.sent()[-1]) and text_of(chat.sent()[-1]) == "what color now"


def test_edit_of_a_turn_with_an_image_keeps_the_image(chat: Chat, tmp_path: Path) -> None:
    image = red_png(tmp_path / "red.png")
    chat.run(f"/file {image}\r", "img turn\r", "/edit 1\r", " edited\r")
    assert "its 1 attached file(s) go with it" in chat.err.getvalue()
    last = chat.sent()[-1]
    assert has_image(last) and text_of(last) == "img turn edited"
    chat.run(f"/file {image}\r", "t2\r", f"/edit 2\r{CTRL_C}", "plain\r", opts=ChatFlags(cont=True))
    assert not has_image(chat.sent()[-1])  # Ctrl-C cancelled the edit and its image


# 4. --template


def run_template(chat: Chat, *keys: str, cont: bool = False) -> Repl:
    """``chat --template translate -V tone=冷淡`` (``-c`` with ``cont``), as ``Chat.run``."""
    with create_pipe_input() as inp, chat.store() as store:
        repl = prepare(chat.environment, invocation(Globals()), ChatFlags(cont=cont), store,
                       template="translate", variables=["tone=冷淡"], input=inp,
                       output=DummyOutput())  # fmt: skip
        inp.send_text("".join(keys) + CTRL_D)
        repl.run()
    return repl


WRAPPED = "Translate, keeping the tone 冷淡:\n"
HOME_BACKSPACE = "\x01\x7f"  # Ctrl-A, Backspace: joins the line to the one above, if any


def test_undo_under_a_template_gives_back_the_words_typed(chat: Chat) -> None:
    (chat.home / "config.toml").write_text(TRANSLATE, encoding="utf-8")
    run_template(chat, "hello 世界\r", "/undo\r", "\r")  # as typed in this REPL
    run_template(chat, "/undo\r", "\r", cont=True)  # from the store
    assert chat.sent() == [WRAPPED + "hello 世界"] * 3


def test_edit_under_a_template_shows_the_words_typed_and_wraps_them_once(chat: Chat) -> None:
    (chat.home / "config.toml").write_text(TRANSLATE, encoding="utf-8")
    run_template(chat, "hello\r", "/edit 1\r", f"{HOME_BACKSPACE}Please: \r")
    assert chat.sent() == [WRAPPED + "hello", WRAPPED + "Please: hello"]


def test_unwrap_takes_off_the_prompt_and_leaves_the_files_after_it(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[templates.brief]\nprompt = "{{input}}\\n(reply briefly)"\n'
        '[templates.before]\nprompt = "Answer in {{lang|French}}."\n',
        encoding="utf-8",
    )
    run = Invocation(load(tmp_path / "config.toml"))
    _, _, brief = apply(run, ChatFlags(), "brief", [])
    files = "File notes.md:\n```\nline one\n\nline two\n```"
    assert unwrap(f"hi\n\nthere\n(reply briefly)\n\n{files}", brief) == ("hi\n\nthere", files)
    assert unwrap("not made by it", brief) == ("not made by it", "")
    _, _, before = apply(run, ChatFlags(), "before", [])
    assert unwrap("Answer in French.\n\nbonjour", before) == ("bonjour", "")


# 5. a session deleted by another process


def test_a_session_deleted_under_the_repl_is_saved_again(chat: Chat) -> None:
    def feed(repl: Repl, inp: PipeInput) -> None:
        try:
            inp.send_text("v1\r")
            wait_until(lambda: "to first token" in chat.err.getvalue())  # the turn is saved
            with Store.open(chat.home / "data") as other:  # another process: sessions rm
                other.delete_session("victim")
            inp.send_text("v2 after rm\r")
            wait_until(lambda: "echo(2): v2 after rm" in chat.out.getvalue())
            inp.send_text("/fork victim3\r")
            wait_until(lambda: "you are in victim3 now" in chat.err.getvalue())
        finally:
            inp.send_text(CTRL_D)

    with log_to(chat.environment):
        chat.run(during=feed, opts=ChatFlags(session="victim"))
    err = chat.err.getvalue()
    assert "FOREIGN KEY" not in err and "error" not in err
    assert "session 'victim' was deleted while this chat had it open; saved it again" in err
    kept = ["v1", "echo(1): v1", "v2 after rm", "echo(2): v2 after rm"]
    assert branch(chat, "victim") == kept
    assert branch(chat, "victim3") == kept


@pytest.mark.parametrize(
    ("line", "said", "name"),
    [
        ("/fork copy", "you are in copy now", "copy"),
        ("/save kept", "session saved as kept", "kept"),
    ],
    ids=["fork", "save"],
)
def test_fork_or_save_right_after_the_delete_keeps_the_turns(
    chat: Chat, line: str, said: str, name: str
) -> None:
    def feed(repl: Repl, inp: PipeInput) -> None:
        try:
            inp.send_text("v1\r")
            wait_until(lambda: "to first token" in chat.err.getvalue())  # the turn is saved
            with Store.open(chat.home / "data") as other:
                other.delete_session("victim")
            inp.send_text(f"{line}\r")
            wait_until(lambda: said in chat.err.getvalue())
        finally:
            inp.send_text(CTRL_D)

    chat.run(during=feed, opts=ChatFlags(session="victim"))
    assert branch(chat, name) == ["v1", "echo(1): v1"]


def test_a_session_deleted_while_a_reply_streams_keeps_the_turn(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        provider = ScriptedProvider(reply("A1"), reply("A2"))
        chat = session(provider, store, persist=True, name="gone")
        drain(chat.send("Q1"))
        store.delete_session("gone")  # as another process would, mid-reply
        drain(chat.send("Q2"))
        row = store.get_session("gone")
        assert row is not None
        assert [m.content for m in store.all_messages(row.id)] == ["Q1", "A1", "Q2", "A2"]
        assert [u.session_id for u in store.usage_rows()][-1] == row.id
