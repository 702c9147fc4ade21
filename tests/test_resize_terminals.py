"""Resizing the pane while a tall code block is live, in real tmux and GNU screen: one column
narrower and wider, several rows shorter and taller, and both at once. The whole history must
be a one-shot rendering, line by line (see ``tests/resize_helpers.py``; ``bench/bench_resize.py``
runs each scenario many times and counts the clean runs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.fakes import FakeControl
from tests.resize_helpers import SCENARIOS, Scenario, run_scenario

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
