"""`chatcli ask hi` at two revisions, side by side: did a change make `ask` slower?

    python bench/bench_ask_ab.py BEFORE AFTER [--runs 15]

Each revision's ``chatcli/`` is taken with ``git archive`` into a temporary directory and run
as ``python -m chatcli ask hi`` (compiled once first) against the same local fake server, the
two interleaved so both see the same machine load; medians are reported, twice: with the
fake's Responses API off (the implicit ``openai`` profile then learns once that the URL has
none and uses chat completions) and on (an ``openai`` profile then goes over Responses, where
a revision has it). The ratio after/before is the figure: 1.00 is "not slower".
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes import DEFAULT_API_KEY, FakeOpenAI  # noqa: E402


def extract(revision: str, into: Path) -> Path:
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "chatcli"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def wall(source: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "chatcli", "ask", "hi"],
        env={**env, "PYTHONPATH": str(source)},
        capture_output=True,
        cwd=source,
    )
    if proc.returncode != 0:
        raise SystemExit(f"ask failed at {source}: {proc.stderr.decode()[-500:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as fake:
        sources = {
            "before": extract(args.before, Path(tmp) / "before"),
            "after": extract(args.after, Path(tmp) / "after"),
        }
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATCLI_"))}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(OPENAI_API_KEY=DEFAULT_API_KEY, OPENAI_BASE_URL=fake.base_url,
                   NO_PROXY="127.0.0.1", CHATCLI_CONFIG=f"{tmp}/none.toml")  # fmt: skip
        for responses in (False, True):
            fake.responses = responses
            homes = {k: {**env, "CHATCLI_HOME": f"{tmp}/{k}-{responses}"} for k in sources}
            for k, source in sources.items():  # compile, build the price cache, learn routes
                wall(source, homes[k])
                wall(source, homes[k])
            times: dict[str, list[float]] = {k: [] for k in sources}
            for _ in range(args.runs):
                for k, source in sources.items():
                    times[k].append(wall(source, homes[k]))
            before, after = (statistics.median(times[k]) for k in ("before", "after"))
            state = "on " if responses else "off"
            print(f"fake's Responses API {state}: before {before * 1000:7.1f} ms, "
                  f"after {after * 1000:7.1f} ms, after/before {after / before:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
