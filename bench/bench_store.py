"""Store benchmarks: a turn's writes must not slow down as history grows, and resuming a long
session must read only the recent messages that fit the context window.

Run: ``python bench/bench_store.py``. Prints figures and ratios measured in the same run; it
asserts nothing (timings depend on the machine).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from chatcli.store import NewMessage, Store, UsageRecord

TEXT = "A fairly ordinary chat message about code and its tests, 你好世界, repeated. " * 4
TOKENS = 90
APPENDS = 300
BUDGET = 128_000 - 4096  # a 128k model's window, less the reply reserve


def _turn(i: int) -> tuple[NewMessage, NewMessage]:
    return (
        NewMessage("user", f"{i} {TEXT}", TOKENS),
        NewMessage("assistant", f"{i} {TEXT}", TOKENS, model="gpt-4o", cost_usd=0.0001),
    )


def _fill(store: Store, session_id: int, messages: int) -> None:
    batch = [m for i in range(500) for m in _turn(i)]
    for _ in range(messages // len(batch)):
        store.add_messages(session_id, *batch)
    for i in range(messages % len(batch) // 2):
        store.add_messages(session_id, *_turn(i))


def _timed(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def append_cost(root: Path, stored: int) -> tuple[float, float]:
    """Median and 95th percentile ms of one turn's writes (2 messages + a usage row)."""
    with Store.open(root / f"append-{stored}") as store:
        row = store.create_session("bench")
        _fill(store, row.id, stored)

        def append() -> None:
            store.add_messages(row.id, *_turn(0))
            store.log_usage(
                UsageRecord("gpt-4o", "openai", "chat", "ok", 100, 50, session_id=row.id)
            )

        times = sorted(_timed(append, APPENDS))
    return statistics.median(times), times[int(len(times) * 0.95)]


def resume_cost(root: Path, stored: int) -> None:
    with Store.open(root / "resume") as store:
        row = store.create_session("long")
        _fill(store, row.id, stored)
        loaded, left_out = store.recent_messages(row.id, BUDGET)
        recent = statistics.median(_timed(lambda: store.recent_messages(row.id, BUDGET), 7))
        everything = statistics.median(_timed(lambda: store.all_messages(row.id), 7))
    print(
        f"resume a {stored:,}-message session: {recent:.1f} ms for the {len(loaded):,} recent"
        f" messages that fit {BUDGET:,} tokens ({left_out:,} earlier turns left out);"
        f" reading all {stored:,} takes {everything:.1f} ms ({everything / recent:.1f}x)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="chatcli-bench-") as tmp:
        root = Path(tmp)
        medians = {}
        for stored in (10, 100_000):
            median, p95 = append_cost(root, stored)
            medians[stored] = median
            print(f"append a turn, {stored:>7,} stored: median {median:.3f} ms, p95 {p95:.3f} ms")
        print(f"append ratio 100,000 / 10 (median): {medians[100_000] / medians[10]:.2f}")
        resume_cost(root, 10_000)


if __name__ == "__main__":
    main()
