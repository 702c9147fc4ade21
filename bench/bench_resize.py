"""Resizing the terminal while a tall live block streams: clean runs out of runs.

    python bench/bench_resize.py [--runs 10] [--jobs 2] [--only tmux|screen]

Each scenario of ``tests/resize_helpers.py`` (one column narrower and wider, six rows shorter
and taller, 20 columns narrower and 5 rows shorter at once) is run ``--runs`` times in tmux and
in GNU screen: the real ``chatcli ask`` against the fake server (its own process per job),
the pane resized while the first 60-line code block is live. A run is clean when the whole
history is a one-shot rendering of the answer, line by line (old width before the resize, new
width after). Prints, per terminal and scenario, the clean runs out of the runs, and for each
unclean run what was wrong.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes import FakeControl  # noqa: E402
from tests.resize_helpers import SCENARIOS, Scenario, run_scenario  # noqa: E402


def _worker(jobs: list[tuple[str, Scenario, int]]) -> list[tuple[str, str, str | None]]:
    """Run ``jobs`` one after another against a fake server of their own."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    server = proc.stdout.readline().strip()
    control = FakeControl(server)
    out = []
    try:
        for kind, scenario, seed in jobs:
            control.reset()
            with tempfile.TemporaryDirectory(prefix="chatcli-resize-") as home:
                try:
                    problem = run_scenario(kind, scenario, control, server, Path(home), seed)
                except AssertionError as exc:  # a wait timed out
                    problem = f"timed out: {str(exc).splitlines()[0][:80]}"
            out.append((kind, scenario.name, problem))
            print(f"  {kind:6} {scenario.name:34} {'clean' if problem is None else problem}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", choices=["tmux", "screen"])
    args = parser.parse_args()
    kinds = [args.only] if args.only else ["tmux", "screen"]
    work = [
        (kind, scenario, 100 + run)
        for run in range(args.runs)
        for kind in kinds
        for scenario in SCENARIOS
    ]
    shares = [work[i :: args.jobs] for i in range(args.jobs)]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = [r for share in pool.map(_worker, shares) for r in share]
    print(f"\nclean runs out of runs ({args.runs} per scenario and terminal)\n")
    print(f"{'terminal':10}{'scenario':36}{'clean':>8}")
    for kind in kinds:
        for scenario in SCENARIOS:
            mine = [p for k, name, p in results if k == kind and name == scenario.name]
            clean = sum(p is None for p in mine)
            print(f"{kind:10}{scenario.name:36}{clean:>4}/{len(mine)}")


if __name__ == "__main__":
    main()
