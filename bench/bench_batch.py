"""``chatcli batch`` at scale, through the real CLI against the local fake server.

    python bench/bench_batch.py [--prompts 10000] [--local-requests 1000] [--latency 0.2]
                                [--concurrency 16] [--runs 1]

1. submit: ``chatcli batch submit`` of N prompts (a JSONL file of ~60-word prompts): reading,
   building the provider JSONL, counting tokens, storing the job, writing and uploading the
   file and creating the batch. Wall time and the child's peak RSS (``wait4``).
   Targets: <= 5 s and <= 200 MB for 10,000 prompts.
2. local runner: ``chatcli batch submit --local --concurrency C`` of M prompts against the fake
   answering every request after ``--latency`` s, no rpm limit. Ideal = M / C x latency.
   Target: wall <= 1.3 x ideal + 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes import DEFAULT_API_KEY, FakeOpenAI, Reply  # noqa: E402

SENTENCE = (
    "summarise the quarterly report for the board and list the three most important risks "
    "with their owners deadlines and the budget impact in one short paragraph each"
)
WORDS = SENTENCE.split(" ")


def prompts(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            text = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(60))
            f.write(json.dumps({"id": f"doc-{i}", "prompt": f"{i}: {text}"}) + "\n")
    return path


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB, and stdout of one CLI run."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatcli", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"chatcli {' '.join(args)} failed:\n{err}")
    return wall, usage.ru_maxrss / 1024, out.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=10_000)
    parser.add_argument("--local-requests", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as fake:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATCLI_"))}
        base.update(OPENAI_API_KEY=DEFAULT_API_KEY, OPENAI_BASE_URL=fake.base_url)
        base.update(CHATCLI_CONFIG=f"{tmp}/none.toml", NO_PROXY="127.0.0.1")
        big = prompts(Path(tmp) / "big.jsonl", args.prompts)
        size = big.stat().st_size / 1e6
        walls, rss = [], []
        for n in range(args.runs):
            env = dict(base, CHATCLI_HOME=f"{tmp}/submit{n}")
            wall, peak, _job = run(["batch", "submit", str(big), "--yes"], env)
            walls.append(wall)
            rss.append(peak)
        uploaded = max(len(f.data) for f in fake.batch_api.files.values()) / 1e6
        print(f"submit: {args.prompts} prompts ({size:.1f} MB input, {uploaded:.1f} MB uploaded)")
        print(f"  wall s   median {statistics.median(walls):.2f}  (runs: "
              f"{', '.join(f'{w:.2f}' for w in walls)})   target <= 5")  # fmt: skip
        print(f"  peak MB  max {max(rss):.0f}   target <= 200")

        fake.default_reply = Reply(delay=args.latency)
        small = prompts(Path(tmp) / "small.jsonl", args.local_requests)
        ideal = args.local_requests / args.concurrency * args.latency
        target = 1.3 * ideal + 1
        walls = []
        for n in range(args.runs):
            env = dict(base, CHATCLI_HOME=f"{tmp}/local{n}")
            cmd = ["batch", "submit", str(small), "--local", "--yes"]
            wall, _peak, _job = run([*cmd, "--concurrency", str(args.concurrency)], env)
            walls.append(wall)
        wall = statistics.median(walls)
        print(
            f"local runner: {args.local_requests} requests, {args.latency:g} s latency, "
            f"--concurrency {args.concurrency}, no rpm limit"
        )
        print(f"  wall s   median {wall:.2f}   ideal {ideal:.2f}   ratio {wall / ideal:.2f}")
        verdict = "ok" if wall <= target else "MISSED"
        print(f"  target   <= 1.3 x ideal + 1 s = {target:.2f} s   {verdict}")


if __name__ == "__main__":
    main()
