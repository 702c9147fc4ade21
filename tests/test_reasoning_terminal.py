"""A reasoning summary in a real terminal: the REPL in tmux, over the fake's Responses API.

The summary streams dim while the model thinks, the answer follows below it, every line once;
the renderer's row-by-row rules are checked in a pseudo-terminal in tests/test_reasoning.py.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeControl, Reply
from tests.tmux_helpers import Tmux, at_prompt, chat_tmux

CHAT = [sys.executable, "-m", "chatcli", "chat", "--reasoning", "low"]


@pytest.fixture
def term(server: str, tmp_path: Path) -> Iterator[Tmux]:
    with chat_tmux(server, tmp_path) as tmux:
        yield tmux


@pytest.mark.terminal
def test_the_repl_shows_the_summary_dim_above_the_answer(term: Tmux, control: FakeControl) -> None:
    control.configure(responses=True)
    summary = "**Weighing it**\n\nThe capital of France is Paris, I am quite sure of it."
    control.script(Reply(text="Paris is the capital.", reasoning=summary))
    term.start(CHAT)
    term.wait_for(at_prompt)
    term.type("capital of France?")
    term.keys("Enter")
    term.wait_for("Paris is the capital.")
    term.wait_for(at_prompt)
    lines = [line.rstrip() for line in term.history().splitlines() if line.strip()]
    heading = lines.index("Weighing it")
    body = lines.index("The capital of France is Paris, I am quite sure of it.")
    answer = lines.index("Paris is the capital.")
    assert heading < body < answer  # the summary above the answer
    for line in ("Weighing it", "Paris is the capital."):
        assert lines.count(line) == 1  # nothing printed twice
    coloured = term.tmux("capture-pane", "-p", "-e", "-J", "-S", "-", "-t", term.target)
    assert _dim_at(coloured, coloured.index("quite sure"))  # the summary is dim
    assert not _dim_at(coloured, coloured.index("Paris is the capital."))  # the answer is not


def _dim_at(text: str, index: int) -> bool:
    """Whether the SGR attributes in force at ``index`` of a ``capture-pane -e`` text include
    dim (tmux writes an attribute only where it changes, so it carries across lines)."""
    state: set[str] = set()
    for match in re.finditer(r"\x1b\[([0-9;]*)m", text[:index]):
        for param in match.group(1).split(";"):
            if param in ("", "0"):
                state.clear()
            elif param == "22":
                state -= {"1", "2"}
            else:
                state.add(param)
    return "2" in state
