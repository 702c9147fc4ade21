"""Wall time of the test suite, as the README runs it, with and without the tiers that drive
real programs (targets on a 2-core machine: all tiers <= 90 s, without them <= 30 s).

    python bench/bench_tests.py [--workers 4] [--hog] [--runs 1]

``--hog`` runs ``python3 -c "while 1: pass"`` beside the suite, as the issue's check asks.
The load average before each run is printed: on a shared machine the figures mean little
unless it is near 0. Each run must also pass: a red run is reported as such.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAST = "not terminal and not external and not process"


def _run(args: list[str]) -> tuple[float, int, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-200:]
    return time.perf_counter() - started, proc.returncode, tail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", default="4")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--hog", action="store_true")
    opts = parser.parse_args()
    hog = subprocess.Popen([sys.executable, "-c", "while 1: pass"]) if opts.hog else None
    try:
        for run in range(opts.runs):
            for label, extra in (("all tiers", []), ("without the tiers", ["-m", FAST])):
                load = os.getloadavg()[0]
                wall, code, tail = _run(["-n", opts.workers, *extra])
                status = "green" if code == 0 else f"RED (exit {code})"
                print(f"run {run + 1} {label:<18} {wall:6.1f} s  {status}  load {load:.1f}  "
                      f"| {tail}", flush=True)  # fmt: skip
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()


if __name__ == "__main__":
    main()
