"""How fast Ctrl-C stops a command whose requests all wait on the server in worker threads.

    python bench/bench_interrupt.py [--runs 5] [--inputs 4]
        [--command summarize|parts|transcribe|batch]

Each run starts the command against the local fake server, which holds every request for
120 s; once ``--inputs`` requests are in flight it sends SIGINT and measures the time until the
process has exited. ``summarize``: that many small files; ``parts``: that many files of many
parts each (parts start while others are cut: the race that once left one waiting);
``transcribe``: that many WAV files; ``batch``: a local batch of that many requests. Target:
under 1 s (the requests in flight are cut, not waited for). Medians and the worst run are
reported.
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

from tests.fakes import DEFAULT_API_KEY, Delay, FakeOpenAI, Reply, make_wav  # noqa: E402


def _inputs(command: str, tmp: Path, inputs: int) -> tuple[list[str], list[str]]:
    """The files for one run, and the command's arguments."""
    files = []
    for i in range(inputs):
        if command == "transcribe":
            path = tmp / f"talk{i}.wav"
            path.write_bytes(make_wav(1.0))
        else:
            path = tmp / f"in{i}.txt"
            words = " ".join(f"word{j}" for j in range(400))
            path.write_text("\n\n".join([words] * 6) if command == "parts" else f"input {i}\n")
        files.append(str(path))
    if command == "transcribe":
        return files, ["transcribe", *files]
    if command == "batch":
        lines = tmp / "in.jsonl"
        lines.write_text("".join(f'{{"prompt": "question {i}"}}\n' for i in range(inputs)))
        return [str(lines)], ["batch", "submit", str(lines), "--local", "--yes"]
    extra = ["--chunk-tokens", "600"] if command == "parts" else []
    return files, ["summarize", *files, "--yes", *extra]


def one_run(fake: FakeOpenAI, tmp: Path, inputs: int, command: str) -> float:
    fake.reset()
    if command == "transcribe":
        fake.script(*[Delay(120) for _ in range(inputs * 2)], route="audio")
    else:
        fake.script(*[Delay(120, Reply("late")) for _ in range(inputs * 12)])
    _, argv = _inputs(command, tmp, inputs)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATCLI_"))}
    env.update(
        OPENAI_API_KEY=DEFAULT_API_KEY, OPENAI_BASE_URL=fake.base_url,
        CHATCLI_HOME=str(tmp / "data"), CHATCLI_CONFIG=str(tmp / "none.toml"),
        NO_PROXY="127.0.0.1",
    )  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatcli", *argv],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=env, cwd=ROOT,
    )  # fmt: skip
    while len(fake.requests) < inputs:
        if proc.poll() is not None:
            raise SystemExit(f"{command} ended before its requests were in flight")
        time.sleep(0.01)
    if command != "parts":
        time.sleep(0.2)  # the requests are waiting on the server now
    start = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=180)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--inputs", type=int, default=4)
    parser.add_argument("--command", choices=["summarize", "parts", "transcribe", "batch"],
                        default="summarize")  # fmt: skip
    args = parser.parse_args()
    times = []
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as fake:
        for _ in range(args.runs):
            times.append(one_run(fake, Path(tmp), args.inputs, args.command))
    print(f"{args.command} of {args.inputs} inputs, SIGINT -> exit, {args.runs} runs")
    print("runs: " + " ".join(f"{t:.3f}" for t in times))
    print(f"median {statistics.median(times):.3f} s   worst {max(times):.3f} s   target < 1 s")


if __name__ == "__main__":
    main()
