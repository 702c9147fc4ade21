"""Resizing the pane while a tall code block is live, in real tmux and GNU screen: one column
narrower and wider, several rows shorter and taller, and both at once. The whole history must
be a one-shot rendering, line by line (see ``tests/resize_helpers.py``; ``bench/bench_resize.py``
runs each scenario many times and counts the clean runs)."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import pytest

from tests.fakes import FakeControl, Reply
from tests.resize_helpers import SCENARIOS, Scenario, run_scenario, terminal_env
from tests.term_helpers import RealTerm

pytestmark = [
    pytest.mark.terminal,
    pytest.mark.skipif(
        shutil.which("tmux") is None or shutil.which("screen") is None,
        reason="needs tmux and GNU screen",
    ),
]


@pytest.mark.parametrize("kind", ["tmux", "screen"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_resize_during_a_tall_live_block_keeps_each_line_once(
    kind: str, scenario: Scenario, control: FakeControl, server: str, tmp_path: Path
) -> None:
    assert run_scenario(kind, scenario, control, server, tmp_path, seed=11) is None


def test_a_narrower_pane_near_the_top_leaves_no_live_row_twice(
    control: FakeControl, server: str, tmp_path: Path
) -> None:
    """A REPL in a cleared pane: the reply's code block is live a few rows below the top when
    the pane gets narrower. tmux rewraps every row and pushes as many rows off the top as
    that adds; with few rows above the live region those were live rows, left in the history
    and printed again when the block finished. Each line must be there once."""
    code = [f"value_{i:02d} = compute_something(alpha={i}, beta='{'x' * (i % 30)}')  # comment {i}"
            for i in range(60)]  # fmt: skip
    text = "Intro paragraph before the code.\n\n```python\n" + "\n".join(code)
    control.script(Reply(text=text + "\n```\n\nAfter the code, a closing paragraph.\n",
                         words_per_second=40))  # fmt: skip
    term = RealTerm("tmux", terminal_env(server, tmp_path), tmp_path)
    try:
        chat = shlex.join([sys.executable, "-m", "chatcli", "chat"])
        term.start_line(f"clear; {chat}", width=100, height=30)
        term.wait_for("›")
        term.type("show me the code")
        term.keys("Enter")
        term.wait_for("value_20 ", timeout=60)  # the block fills the live rows
        term.outer.resize(70, 30)
        term.wait_for("value_26 ", timeout=60)
        term.outer.resize(100, 30)
        term.wait_for("closing paragraph", timeout=60)
        term.keys("C-d")
        assert term.wait_exit(timeout=30) == 0
        history = term.history()
    finally:
        term.kill()
    # the rows printed after the resize are wrapped at the new width: count line starts
    starts = [line.split(" = ")[0].strip() for line in history.split("\n") if " = compute" in line]
    assert starts == [f"value_{i:02d}" for i in range(60)]
