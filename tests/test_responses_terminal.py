"""The Responses API where a real terminal is involved: the REPL in tmux, two turns over
Responses, the footer with cached tokens, Ctrl-C mid-reply keeping the partial reply, the chat
going on. (Ctrl-C closing the stream of ``ask`` is ``tests/test_ask.py``'s, over both APIs.)"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeControl, Reply
from tests.tmux_helpers import Tmux, at_prompt, chat_tmux, wait_until

CHAT = [sys.executable, "-m", "chatcli", "chat"]


@pytest.fixture
def term(server: str, tmp_path: Path) -> Iterator[Tmux]:
    with chat_tmux(server, tmp_path) as tmux:
        yield tmux


def responses_requests(control: FakeControl) -> list[dict[str, object]]:
    return [r["json"] for r in control.requests() if r["path"] == "/v1/responses"]


@pytest.mark.terminal
def test_the_repl_over_responses(term: Tmux, control: FakeControl) -> None:
    control.configure(responses=True)
    control.script(
        Reply(text="first answer", cached_tokens=3), Reply(words=3000, words_per_second=60)
    )
    term.start(CHAT)
    term.wait_for(at_prompt)
    term.type("hello there")
    term.keys("Enter")
    term.wait_for(re.compile(r"\d+ in \(3 cached\) · \d+ out").search)  # type: ignore[arg-type]
    term.wait_for(at_prompt)
    term.type("tell me a long story")
    term.keys("Enter")
    wait_until(lambda: len(responses_requests(control)) == 2)
    before = term.screen()
    term.wait_for(lambda s: len(s.split()) > len(before.split()) + 20)  # words are arriving
    term.keys("C-c")
    term.wait_for("interrupted: the partial reply is kept")
    wait_until(lambda: control.state()["disconnects"] >= 1)
    term.wait_for(at_prompt)
    term.type("still there?")
    term.keys("Enter")
    term.wait_for("echo(3): still there?")
    bodies = responses_requests(control)
    assert len(bodies) == 3 and not any(r["path"].endswith("/chat/completions")
                                        for r in control.requests())  # fmt: skip
    sent = bodies[2]["input"]
    assert isinstance(sent, list)
    assert [item["role"] for item in sent] == ["user", "assistant", "user", "assistant", "user"]
    assert sent[1]["content"] == "first answer"
    assert 20 < len(str(sent[3]["content"]).split()) < 3000  # the partial reply, resent
    term.wait_for(at_prompt)
    term.keys("C-d")
    assert term.wait_exit() == 0
