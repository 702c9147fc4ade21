"""``/schema`` in a real terminal (tmux), typed the way a person types: the next reply is
indented JSON, the one after is an ordinary answer again."""

from __future__ import annotations

import pytest

from tests.fakes import FakeControl
from tests.test_repl_tmux import CHAT, ask, chat_requests, home, term  # noqa: F401
from tests.tmux_helpers import Tmux, at_prompt

pytestmark = pytest.mark.terminal


def test_schema_for_the_next_turn_in_tmux(term: Tmux, control: FakeControl) -> None:  # noqa: F811
    term.start(CHAT)
    ask(term, "/schema name, tags list[str]", "the next reply will be JSON valid against")
    screen = ask(term, "who?", '"tags": [')
    assert '  "name": "example",' in screen
    ask(term, "and now", "echo(2): and now")
    requests = chat_requests(control)
    assert ["response_format" in r for r in requests] == [True, False]
    term.wait_for(at_prompt)
    term.keys("C-d")
    assert term.wait_exit() == 0
