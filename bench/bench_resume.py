"""Resuming a long session through the real CLI, side by side with a new session.

    python bench/bench_resume.py [--runs 10] [--messages 10000]

`chatcli ask -c hi` on a stored session of 10,000 messages vs `chatcli ask hi` (a new, unsaved
session), both against the same local fake server; runs interleaved, medians reported.
Target: ratio <= 1.2. The resumed request carries the recent history that fits the model's
context window, read from the store with an indexed newest-first query.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_startup import wall  # noqa: E402
from chatcli.store import NewMessage, Store  # noqa: E402
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI  # noqa: E402

TEXT = "A fairly ordinary chat message about code and its tests, 你好世界. " * 3


def fill(data_dir: Path, messages: int) -> None:
    with Store.open(data_dir) as store:
        row = store.create_session("long", profile="openai", model="gpt-4o-mini")
        batch = []
        for i in range(messages // 2):
            batch.append(NewMessage("user", f"{i} {TEXT}", 60))
            batch.append(NewMessage("assistant", f"{i} {TEXT}", 60, model="gpt-4o-mini"))
            if len(batch) >= 1000:
                store.add_messages(row.id, *batch)
                batch = []
        if batch:
            store.add_messages(row.id, *batch)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    chatcli = str(Path(sys.executable).with_name("chatcli"))
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as fake:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATCLI_"))}
        base.update(OPENAI_API_KEY=DEFAULT_API_KEY, OPENAI_BASE_URL=fake.base_url)
        long_env = dict(base, CHATCLI_HOME=f"{tmp}/long", CHATCLI_CONFIG=f"{tmp}/none.toml")
        new_env = dict(base, CHATCLI_HOME=f"{tmp}/new", CHATCLI_CONFIG=f"{tmp}/none.toml")
        fill(Path(long_env["CHATCLI_HOME"]), args.messages)
        wall([chatcli, "ask", "hi"], new_env)
        resumed, fresh = [], []
        for _ in range(args.runs):
            resumed.append(wall([chatcli, "ask", "-c", "hi"], long_env))
            fresh.append(wall([chatcli, "ask", "hi"], new_env))
        sent = len(fake.chat_requests()[-2].json["messages"])
    r, f = statistics.median(resumed), statistics.median(fresh)
    label = f"chatcli ask -c hi ({args.messages:,} stored)"
    print(f"{label}  {r * 1000:7.1f} ms  ({sent:,} messages sent)")
    print(f"chatcli ask hi (new session)        {f * 1000:7.1f} ms")
    print(f"ratio                               {r / f:7.2f}   (target <= 1.2)")


if __name__ == "__main__":
    main()
