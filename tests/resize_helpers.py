"""Resizing a real terminal while a tall live block streams, and checking what it kept.

Shared by ``tests/test_resize_terminals.py`` (each scenario once, in tmux and in GNU screen)
and ``bench/bench_resize.py`` (each scenario many times, clean runs counted). A run is clean
when the whole history, line by line, is a one-shot rendering of the answer: the blocks
printed before the resize at the old width, the rest at the new one (``expected_histories``
tries each split point, so it does not matter exactly when the terminal took the resize; a
line shown twice or lost matches none).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.cli_helpers import clean_env
from tests.fakes import DEFAULT_API_KEY, FakeControl, Reply
from tests.render_helpers import one_shot, plain_lines, tall_answer
from tests.term_helpers import RealTerm

ROOT = Path(__file__).resolve().parent.parent
PACE = 150.0  # words a second: the first 60-line code block is live for about three seconds
HURRY = 1500.0  # words a second once that block is out (fast, yet dozens of live frames)


@dataclass(frozen=True)
class Scenario:
    """A pane of ``start`` (columns, rows) resized to ``end`` while block 0 is live."""

    name: str
    start: tuple[int, int]
    end: tuple[int, int]


SCENARIOS = [
    Scenario("narrower by 1 column", (100, 20), (99, 20)),
    Scenario("wider by 1 column", (99, 20), (100, 20)),
    Scenario("shorter by 6 rows", (100, 20), (100, 14)),
    Scenario("taller by 6 rows", (100, 14), (100, 20)),
    Scenario("narrower by 20 and shorter by 5", (100, 24), (80, 19)),
]


def terminal_env(server: str, home: Path) -> dict[str, str]:
    env = clean_env(
        home,
        OPENAI_API_KEY=DEFAULT_API_KEY,
        OPENAI_BASE_URL=server,
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        PYTHONPATH=str(ROOT),
        TERM="xterm-256color",
    )
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TMUX", "STY"):
        env.pop(name, None)
    return env


def run_scenario(
    kind: str, scenario: Scenario, control: FakeControl, server: str, home: Path, seed: int
) -> str | None:
    """Run ``chatcli ask`` in ``kind`` (tmux or screen) through ``scenario``; None when the
    history is clean, else what is wrong with it."""
    text = tall_answer(1200, seed=seed)
    control.script(Reply(text=text, words_per_second=PACE))
    term = RealTerm(kind, terminal_env(server, home), home)
    try:
        width, height = scenario.start
        ask = shlex.join([sys.executable, "-m", "chatcli", "ask", "hi"])
        term.start_line(f"clear; {ask}", width=width, height=height)
        # The block has filled the pane: its live rows are as many as they can be.
        term.wait_for(f"block0_value_{height + 5} ", timeout=60)
        term.outer.resize(*scenario.end)
        # Block 0 is out: the rest need not crawl (still paced, so still live frames).
        term.wait_for("block0_value_59 ", timeout=60)
        control.hurry(HURRY)
        if term.wait_exit(timeout=120) != 0:
            return "chatcli failed"
        lines = term.history().split("\n")
    finally:
        term.kill()
    ends = [i for i, line in enumerate(lines) if line.startswith("[exit ")]
    shown = [line.rstrip() for line in lines[: ends[-1]] if line.strip()]
    for expected in expected_histories(text, scenario, term):
        if shown == expected:
            return None
    counts: dict[str, int] = {}
    for line in shown:
        counts[line] = counts.get(line, 0) + 1
    twice = [line for line, n in counts.items() if n > 1 and "_value_" in line]
    return f"{len(shown)} lines; code lines shown more than once: {len(twice)}"


def expected_histories(text: str, scenario: Scenario, term: RealTerm) -> Iterator[list[str]]:
    """What a clean history can be: blocks[:k] at the old width, the rest at the new one,
    as ``term`` reports it. k = 2 (block 0 live at the resize) comes first."""
    blocks = text.rstrip("\n").split("\n\n")
    old, new = scenario.start[0], scenario.end[0]
    splits = [2, *range(len(blocks) + 1)] if old != new else [0]
    for k in splits:
        before = [term.as_hardcopy(line) for line in _rows("\n\n".join(blocks[:k]), old)]
        after = [term.as_hardcopy(line) for line in _rows("\n\n".join(blocks[k:]), new)]
        if term.kind == "screen" and new < old:
            # screen rewraps the old rows cell by cell (a wide character's two cells can part;
            # in hardcopy form a cell is a character); tmux's history joins them back.
            before = [line[i : i + new] for line in before for i in range(0, len(line), new)]
        lines = [line.rstrip() for line in before + after]
        yield [line for line in lines if line.strip()]


def _rows(text: str, width: int) -> list[str]:
    return plain_lines(one_shot(text + "\n", width), width) if text.strip() else []
