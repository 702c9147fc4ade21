"""Wall and CPU time of the test suite, as the README runs it, with and without the tiers that
drive real programs (targets on a 2-core machine: all tiers <= 90 s, without them <= 30 s).

    python bench/bench_suite.py [--workers auto] [--runs 1] [--hog] [--fast-only]

Each run prints its wall seconds, the CPU seconds of pytest and every process it waited for
(its workers, the chatcli processes they started, ffmpeg, shells...; not what a tmux or screen
server ran on the tests' behalf, which lives outside the process tree), the busy CPU seconds
of the whole machine (which do count those, and the hog), whether it was green,
and the load average of the minute before it: on a shared machine a figure means little
unless that is near 0. ``--hog`` runs ``python3 -c "while 1: pass"`` beside the suite, as the
issue's check asks. A red run is reported as such (and the script exits 1).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAST = "not terminal and not external and not process"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _machine() -> float:
    """Busy CPU seconds of the whole machine so far (all cores, from /proc/stat): unlike
    ``_cpu`` it counts what tmux and screen ran for the tests, and anything else running."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def run_suite(workers: str, extra: list[str]) -> tuple[float, float, float, int, str]:
    """(wall s, CPU s, machine CPU s, exit code, pytest's last line, and the failed tests'
    lines) of one ``pytest -q -n WORKERS`` run."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cpu, machine, started = _cpu(), _machine(), time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", workers, *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    out = proc.stdout.strip()
    lines = out.splitlines()
    failed = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    tail = "\n    ".join([lines[-1], *failed]) if out else proc.stderr[-200:]
    return wall, _cpu() - cpu, _machine() - machine, proc.returncode, tail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", default="auto")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--hog", action="store_true")
    parser.add_argument("--fast-only", action="store_true", help="only the run without the tiers")
    opts = parser.parse_args()
    plans = [("without the tiers", ["-m", FAST])]
    if not opts.fast_only:
        plans.insert(0, ("all tiers", []))
    hog = subprocess.Popen([sys.executable, "-c", "while 1: pass"]) if opts.hog else None
    red = False
    try:
        for run in range(opts.runs):
            for label, extra in plans:
                load = os.getloadavg()[0]
                wall, cpu, machine, code, tail = run_suite(opts.workers, extra)
                red = red or code != 0
                status = "green" if code == 0 else f"RED (exit {code})"
                beside = "  + hog" if hog else ""
                print(f"run {run + 1} {label:<18} wall {wall:6.1f} s  CPU {cpu:6.1f} s  "
                      f"machine {machine:6.1f} s  {status}  "
                      f"load {load:.1f}{beside}  | {tail}", flush=True)  # fmt: skip
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    return 1 if red else 0


if __name__ == "__main__":
    sys.exit(main())
