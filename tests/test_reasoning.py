"""Reasoning summaries (``ReasoningDelta``): shown while the model thinks, kept, never resent.

The display is checked the way a person sees it (a real pseudo-terminal replayed into pyte)
and off a terminal byte for byte; the session and store with a scripted ``Chat``.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from chatcli.events import Finish, Notice, ReasoningDelta, StreamEvent, TextDelta, Usage
from chatcli.output import Notifier, stream_to
from chatcli.render import MarkdownStream, RawWriter
from chatcli.store import Store
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply
from tests.render_helpers import one_shot, plain_lines
from tests.test_render import _Pty, _replay
from tests.test_session import Script, ScriptedProvider, reply, session

SUMMARY = (
    "**Weighing the question**\n\nThe user asks for a sum; I add the numbers and check "
    "the carry twice before answering.\n\n**Checking**\n\nTwo plus two is four."
)
ANSWER = "The answer is **4**.\n\nThat is all.\n"


@pytest.fixture(autouse=True)
def _colour_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLORTERM", "truecolor")


def thinking(summary: str = SUMMARY, answer: str = ANSWER) -> list[StreamEvent]:
    pieces: list[StreamEvent] = [
        ReasoningDelta(summary[i : i + 7]) for i in range(0, len(summary), 7)
    ]
    pieces += [TextDelta(answer[i : i + 5]) for i in range(0, len(answer), 5)]
    return [*pieces, Usage(20, 30, reasoning_tokens=12), Finish("stop")]


@pytest.fixture
def tty() -> Iterator[_Pty]:
    term = _Pty(100, 30)
    yield term
    if not term.slave.closed:
        term.close()


def _wait_for(tty: _Pty, marker: bytes) -> None:
    deadline = time.monotonic() + 10
    while marker not in tty.received:
        assert time.monotonic() < deadline, f"{marker!r} never reached the terminal"
        time.sleep(0.01)


# --- on a terminal ----------------------------------------------------------------------------


def test_summary_is_dim_above_the_answer_while_it_thinks(tty: _Pty) -> None:
    """The summary is drawn (dim) before any answer text exists, then the answer follows below
    a blank line: every line once, in order, nothing lost."""

    def events() -> Iterator[StreamEvent]:
        for event in thinking():
            if isinstance(event, TextDelta) and event.text == ANSWER[:5]:
                _wait_for(tty, b"\x1b[1;2m")  # the dim bold heading is on screen already
            yield event

    finish = stream_to(events(), MarkdownStream(tty.slave), Notifier(tty.slave))
    assert finish == Finish("stop")
    output = tty.close()
    assert output.index("\x1b[1;2mWeighing") < output.index("answer is")
    term = _replay(output, 100, 30)
    assert term.transcript() == [
        *plain_lines(one_shot(SUMMARY, 100), 100),
        "",
        *plain_lines(one_shot(ANSWER, 100), 100),
    ]


def test_a_long_summary_stays_within_half_the_pane_and_is_printed_once(tty: _Pty) -> None:
    """A summary far taller than the terminal scrolls into history block by block; the live
    part never takes more than half the pane (SPEC §5)."""
    tty.resize(60, 12)
    steps = [f"Step {n}: weighing option {n} against the others." for n in range(40)]
    summary = "\n\n".join(steps[:20]) + "\n\n" + " ".join(steps[20:])  # a last, long paragraph

    def events() -> Iterator[StreamEvent]:
        for n in range(0, len(summary), 9):
            yield ReasoningDelta(summary[n : n + 9])
            if n % 270 == 0:
                time.sleep(0.05)  # frames get drawn meanwhile
        yield TextDelta("Done.\n")
        yield Finish("stop")

    stream_to(events(), MarkdownStream(tty.slave), Notifier(tty.slave))
    output = tty.close()
    assert output.count("\x1b[?2026h") > 3
    live = [f.split("\x1b[?7l")[1].split("\x1b[?7h")[0] for f in output.split("\x1b[?2026h")
            if "\x1b[?7l" in f]  # fmt: skip
    assert live and max(rows.count("\n") for rows in live) == 5  # live_room(12): half the pane
    term = _replay(output, 60, 12)
    assert term.transcript() == [*plain_lines(one_shot(summary, 60), 60), "", "Done."]


def test_notice_while_thinking_goes_above_the_summary(tty: _Pty) -> None:
    def events() -> Iterator[StreamEvent]:
        yield ReasoningDelta("**Planning**\n\nfirst thoughts, ")
        _wait_for(tty, b"\x1b[?7l")  # the summary's live frame is drawn
        yield Notice("retrying in 2 s", key="retry")
        yield ReasoningDelta("more thoughts.")
        yield TextDelta("Answer.\n")
        yield Finish("stop")

    stream_to(events(), MarkdownStream(tty.slave), Notifier(tty.slave))
    shown = _replay(tty.close(), 100, 30).transcript()
    assert shown == [
        "chatcli: retrying in 2 s",
        *plain_lines(one_shot("**Planning**\n\nfirst thoughts, more thoughts.", 100), 100),
        "",
        "Answer.",
    ]


def test_summary_after_the_answer_began_is_printed_in_paragraphs_above_it(tty: _Pty) -> None:
    """A later round (tool calls) thinks again after text was shown: its summary cannot have a
    live region below the answer's, so it comes in whole dim paragraphs, each once."""
    events: list[StreamEvent] = [
        ReasoningDelta("first round"),
        TextDelta("Let me look that up.\n\n"),
        ReasoningDelta("The tool said 4.\n\nSo I "),
        ReasoningDelta("answer 4."),
        TextDelta("It is 4.\n"),
        Finish("stop"),
    ]
    stream_to(iter(events), MarkdownStream(tty.slave), Notifier(tty.slave))
    output = tty.close()
    assert "\x1b[2mThe tool said 4.\x1b[0m" in output
    shown = [line for line in _replay(output, 100, 30).transcript() if line]
    assert sorted(shown) == sorted(
        ["first round", "Let me look that up.", "The tool said 4.", "So I answer 4.", "It is 4."]
    )
    assert shown.index("first round") < shown.index("Let me look that up.")
    assert shown.index("The tool said 4.") < shown.index("So I answer 4.")
    assert shown.index("So I answer 4.") < shown.index("It is 4.")


def test_ctrl_c_while_it_thinks_leaves_the_terminal_whole(tty: _Pty) -> None:
    """Interrupted mid-summary: what arrived stays on screen once, the cursor is shown and
    auto-wrap is back on."""
    from chatcli.errors import Interrupted

    def events() -> Iterator[StreamEvent]:
        yield ReasoningDelta("**Planning**\n\nfirst thoughts and then ")
        _wait_for(tty, b"\x1b[?7l")  # the summary's live frame is drawn
        yield ReasoningDelta("more")
        raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        stream_to(events(), MarkdownStream(tty.slave), Notifier(tty.slave))
    output = tty.close()
    assert output.rindex("\x1b[?25h") > output.rindex("\x1b[?25l")  # cursor shown again
    assert output.rindex("\x1b[?7h") > output.rindex("\x1b[?7l")  # auto-wrap back on
    shown = [line for line in _replay(output, 100, 30).transcript() if line]
    assert shown == ["Planning", "first thoughts and then more"]


def test_escape_sequences_in_a_summary_never_reach_the_terminal(tty: _Pty) -> None:
    events: list[StreamEvent] = [
        ReasoningDelta("think \x1b]0;pwned\x07hard \x1b[2J"),
        TextDelta("ok"),
        Finish("stop"),
    ]
    stream_to(iter(events), MarkdownStream(tty.slave), Notifier(tty.slave))
    output = tty.close()
    assert "pwned" not in output and "\x1b[2J" not in output
    assert "think hard" in _replay(output, 100, 30).transcript()[0]


# --- off a terminal -------------------------------------------------------------------------


class _Pipe(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushed: list[str] = []

    def flush(self) -> None:
        self.flushed.append(self.getvalue())


def test_off_a_terminal_the_summary_is_plain_text_on_stderr_and_stdout_is_the_answer() -> None:
    stdout, stderr = _Pipe(), _Pipe()
    stream_to(iter(thinking()), RawWriter(stdout), Notifier(stderr))
    assert stdout.getvalue() == ANSWER  # byte for byte: nothing else on stdout
    assert stderr.getvalue() == SUMMARY + "\n\n"
    assert stderr.flushed[0] == SUMMARY[:7]  # flushed as it arrives, not at the end
    assert "\x1b" not in stderr.getvalue()


def test_off_a_terminal_the_summary_is_made_safe() -> None:
    stderr = _Pipe()
    events: list[StreamEvent] = [
        ReasoningDelta("a\x1b[31mred\x1b"),
        ReasoningDelta("[0m b\x07\n"),
        Finish("stop"),
    ]
    stream_to(iter(events), RawWriter(_Pipe()), Notifier(stderr))
    assert stderr.getvalue() == "ared b\n\n"


def test_a_summary_that_ends_the_reply_is_closed_and_the_finish_kept() -> None:
    """Cut at the token limit while thinking: the summary is ended, the finish returned for
    the length notice."""
    stderr = _Pipe()
    events: list[StreamEvent] = [ReasoningDelta("still thinking"), Finish("length")]
    assert stream_to(iter(events), None, Notifier(stderr)) == Finish("length")
    assert stderr.getvalue() == "still thinking\n\n"


def test_a_notifier_told_not_to_show_reasoning_prints_none() -> None:
    stderr = _Pipe()
    notifier = Notifier(stderr)
    notifier.show_reasoning = False  # ask --json: the summary is in the object instead
    stream_to(iter(thinking()), None, notifier)
    assert stderr.getvalue() == ""


# --- kept in the session, never resent --------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path)
    yield s
    s.close()


def test_the_summary_is_stored_with_the_answer_and_never_sent_back(store: Store) -> None:
    provider = ScriptedProvider([*thinking()], reply("Sure."))
    chat = session(provider, store, persist=True)
    events = list(chat.send("what is 2+2?"))
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == SUMMARY
    turn = chat.last_turn
    assert turn is not None and turn.reasoning == SUMMARY and turn.text == ANSWER
    assert turn.reasoning_tokens == 12
    list(chat.send("and 3+3?"))
    sent = repr(provider.requests[1].messages)
    assert "Weighing" not in sent and "carry twice" not in sent
    assert provider.requests[1].messages[-2] == {"role": "assistant", "content": ANSWER}
    assert chat.row is not None
    stored = store.all_messages(chat.row.id)
    assert [m.reasoning for m in stored] == [None, SUMMARY, None, None]


def test_a_continued_session_loads_the_summary_but_does_not_send_it(store: Store) -> None:
    first = session(ScriptedProvider([*thinking()]), store, persist=True)
    list(first.send("what is 2+2?"))
    assert first.row is not None
    row = store.get_session(first.row.name)
    provider = ScriptedProvider(reply("Six."))
    from chatcli.session import ChatSession
    from tests.test_session import settings

    again = ChatSession.open(provider, settings(), store=store, row=row)
    assert again.history[-1].reasoning == SUMMARY
    list(again.send("and 3+3?"))
    assert "Weighing" not in repr(provider.requests[0].messages)


def test_show_reasoning_false_hides_the_events_but_keeps_the_summary(store: Store) -> None:
    from chatcli.session import ChatSession
    from chatcli.settings.loading import Profile
    from tests.test_session import settings

    hidden = replace(settings(), profile=Profile("openai", "openai", show_reasoning=False))
    chat = ChatSession.open(ScriptedProvider([*thinking()]), hidden, store=store, persist=True)
    events = list(chat.send("what is 2+2?"))
    assert not any(isinstance(e, ReasoningDelta) for e in events)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == ANSWER
    assert chat.last_turn is not None and chat.last_turn.reasoning == SUMMARY


def test_an_interrupted_turn_keeps_what_it_thought(store: Store) -> None:
    script: Script = [ReasoningDelta("hmm, "), TextDelta("The ans"), KeyboardInterrupt()]
    chat = session(ScriptedProvider(script), store, persist=True)
    with pytest.raises(KeyboardInterrupt):
        list(chat.send("what is 2+2?"))
    assert chat.row is not None
    stored = store.all_messages(chat.row.id)
    assert stored[-1].interrupted and stored[-1].reasoning == "hmm, "


# --- shown by sessions show / export ----------------------------------------------------------


def test_sessions_show_marks_the_summary_and_export_carries_it(tmp_path: Path) -> None:
    from chatcli.store import NewMessage
    from tests.cli_helpers import clean_env

    with Store.open(tmp_path / "data") as store:
        row = store.create_session("work", profile="openai", model="o4")
        store.add_messages(
            row.id,
            NewMessage("user", "what is 2+2?", 5),
            NewMessage(
                "assistant", "4", 2, model="o4", reasoning="**Adding**\n\nTwo and two.\x1b[2J"
            ),
        )
    env = clean_env(tmp_path)
    shown = run_cli("sessions", "show", "work", env=env, tty=True)
    assert shown.returncode == 0, shown.stderr
    assert (
        "## Assistant (o4)\n\n> _Reasoning (summary):_\n>\n> **Adding**\n>\n> Two and two.\n\n4\n"
        in (shown.stdout)
    )
    assert "\x1b[2J" not in shown.stdout  # stored text is made safe on a terminal
    exported = run_cli("sessions", "export", "work", "--format", "json", env=env)
    messages = json.loads(exported.stdout)["messages"]
    assert "reasoning" not in messages[0]
    assert messages[1]["reasoning"].startswith("**Adding**\n\nTwo and two.")


# --- through the real CLI and the REPL, over the fake's Responses API --------------------------


@pytest.fixture
def rfake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        server.responses = True
        yield server


def test_ask_prints_the_summary_on_stderr_and_only_the_answer_on_stdout(
    rfake: FakeOpenAI, tmp_path: Path
) -> None:
    rfake.script(Reply(text="Paris.", reasoning="**Recalling**\n\nFrance's capital."))
    result = run_cli("ask", "--reasoning", "low", "capital?", env=fake_env(tmp_path, rfake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Paris.\n"
    assert result.stderr == "**Recalling**\n\nFrance's capital.\n\n"


def test_ask_json_has_the_summary_in_the_object_not_on_stderr(
    rfake: FakeOpenAI, tmp_path: Path
) -> None:
    rfake.script(Reply(text="Paris.", reasoning="France's capital."))
    result = run_cli(
        "ask", "--reasoning", "low", "--json", "capital?", env=fake_env(tmp_path, rfake)
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["reasoning"] == "France's capital."
    assert "France" not in result.stderr
    rfake.script(Reply(text="Rome."))  # no summary: no field
    plain = run_cli("ask", "--reasoning", "low", "--json", "Italy?", env=fake_env(tmp_path, rfake))
    assert "reasoning" not in json.loads(plain.stdout)


def test_show_reasoning_false_hides_it_everywhere_but_keeps_it(
    rfake: FakeOpenAI, tmp_path: Path
) -> None:
    (tmp_path / "config.toml").write_text(
        f'[defaults]\nshow_reasoning = false\n[profiles.openai]\ntype = "openai"\n'
        f'base_url = "{rfake.base_url}"\n'
    )
    env = fake_env(tmp_path, rfake)
    rfake.script(Reply(text="Paris.", reasoning="France's capital."))
    shown = run_cli("ask", "--reasoning", "low", "--session", "geo", "capital?", env=env)
    assert shown.returncode == 0, shown.stderr
    assert (shown.stdout, shown.stderr) == ("Paris.\n", "")
    rfake.script(Reply(text="Rome.", reasoning="Italy's capital."))
    as_json = run_cli("ask", "--reasoning", "low", "--json", "-c", "Italy?", env=env)
    assert "reasoning" not in json.loads(as_json.stdout) and as_json.stderr == ""
    exported = run_cli("sessions", "export", "geo", "--format", "json", env=env)
    kept = [m.get("reasoning") for m in json.loads(exported.stdout)["messages"]]
    assert kept == [None, "France's capital.", None, "Italy's capital."]


def test_the_next_request_carries_no_trace_of_it_on_chat_either(
    rfake: FakeOpenAI, tmp_path: Path
) -> None:
    """A summary kept from a Responses turn is not sent when the conversation goes on over
    Chat Completions (the profile switched to api = "chat")."""
    config = tmp_path / "config.toml"
    profile = f'[profiles.openai]\ntype = "openai"\nbase_url = "{rfake.base_url}"\n'
    config.write_text(profile + 'api = "responses"\n')
    env = fake_env(tmp_path, rfake)
    rfake.script(Reply(text="Paris.", reasoning="secret chain of thought"))
    assert (
        run_cli("ask", "--reasoning", "low", "--session", "geo", "capital?", env=env).returncode
        == 0
    )
    config.write_text(profile + 'api = "chat"\n')
    again = run_cli("ask", "-c", "and Italy?", env=env)
    assert again.returncode == 0, again.stderr
    (request,) = rfake.chat_requests()
    assert request.json["messages"] == [
        {"role": "user", "content": "capital?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "and Italy?"},
    ]
    assert "secret chain" not in json.dumps(request.json)


def test_the_repl_shows_the_summary_on_stderr_before_the_answer(
    rfake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_repl import Chat

    rfake.script(Reply(text="Paris.", reasoning="France's capital."))
    chat = Chat(tmp_path, rfake, monkeypatch)
    chat.run("capital?\r", model="o3")
    assert "France's capital.\n\n" in chat.err.getvalue()
    assert "Paris." in chat.out.getvalue() and "France" not in chat.out.getvalue()
    with chat.store() as store:
        (row,) = store.list_sessions(None, 5)
        assert store.all_messages(row.id)[-1].reasoning == "France's capital."


def test_extract_prints_only_the_code_with_the_summary_on_stderr(
    rfake: FakeOpenAI, tmp_path: Path
) -> None:
    rfake.script(Reply(text="Here:\n\n```sh\nls -1 | wc -l\n```\n", reasoning="Count lines."))
    result = run_cli("ask", "-x", "--reasoning", "low", "count", env=fake_env(tmp_path, rfake))
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("ls -1 | wc -l\n", "Count lines.\n\n")


def test_a_fork_keeps_the_summary(store: Store) -> None:
    chat = session(ScriptedProvider([*thinking()]), store, persist=True)
    list(chat.send("what is 2+2?"))
    assert chat.row is not None
    copy = store.fork_session(chat.row, None, "copy")
    assert [m.reasoning for m in store.all_messages(copy.id)] == [None, SUMMARY]
