"""How fast Ctrl-C stops a multi-input ``summarize`` while every request waits on the server.

    python bench/bench_interrupt.py [--runs 5] [--inputs 4]

Each run starts ``chatcli summarize`` on ``--inputs`` small files against the local fake
server, which holds every request for 120 s; once all requests are in flight it sends SIGINT
and measures the time until the process has exited. Target: under 1 s (the requests in flight
are cut, not waited for). Medians and the worst run are reported.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes import DEFAULT_API_KEY, Delay, FakeOpenAI, Reply  # noqa: E402


def one_run(fake: FakeOpenAI, tmp: Path, inputs: int) -> float:
    fake.reset()
    fake.script(*[Delay(120, Reply("late")) for _ in range(inputs)])
    files = []
    for i in range(inputs):
        path = tmp / f"in{i}.txt"
        path.write_text(f"input number {i}\n")
        files.append(str(path))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATCLI_"))}
    env.update(
        OPENAI_API_KEY=DEFAULT_API_KEY, OPENAI_BASE_URL=fake.base_url,
        CHATCLI_HOME=str(tmp / "data"), CHATCLI_CONFIG=str(tmp / "none.toml"),
        NO_PROXY="127.0.0.1",
    )  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatcli", "summarize", *files, "--yes"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=env, cwd=ROOT,
    )  # fmt: skip
    while len(fake.chat_requests()) < inputs:
        if proc.poll() is not None:
            raise SystemExit("summarize ended before its requests were in flight")
        time.sleep(0.01)
    time.sleep(0.2)  # the requests are waiting on the server now
    start = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=180)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--inputs", type=int, default=4)
    args = parser.parse_args()
    times = []
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as fake:
        for _ in range(args.runs):
            times.append(one_run(fake, Path(tmp), args.inputs))
    print(f"summarize of {args.inputs} inputs, SIGINT -> exit, {args.runs} runs")
    print(f"median {statistics.median(times):.3f} s   worst {max(times):.3f} s   target < 1 s")


if __name__ == "__main__":
    main()
