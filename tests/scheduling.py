"""How pytest-xdist hands the tests to its workers: one at a time, to whichever is free.

Why: the suite mixes tests of a few milliseconds with tests of several seconds that mostly
wait (tmux, screen, ffmpeg, shells, MCP servers). xdist's default ``load`` hands out chunks of
consecutive tests, so one worker can be left with a run of long ones at the end while the
others idle. Here each test is its own unit, handed to the first free worker, the long tiers
and the property tests first (``order``): the short in-process tests fill the gaps and the
end. The files in ``SHARED`` are the exception: their tests share one expensive module fixture
(the LiteLLM proxy takes 10 s and a lot of CPU to start) and go to one worker together. (xdist's own
``--dist loadgroup`` does not work with pytest 9: it renames a node attribute pytest no longer
reads.)
"""

from __future__ import annotations

from typing import Any

import pytest

TIERS = ("terminal", "external", "process")
SHARED = ("tests/test_litellm.py",)


def order(items: list[pytest.Item]) -> None:
    """The tests that drive real programs first, then the property tests (hypothesis: the
    longest in-process ones, up to 10 s of CPU for one), then the rest (stable: files keep
    their order), so no long test starts last while the other workers idle."""

    def rank(item: pytest.Item) -> int:
        if any(item.get_closest_marker(tier) for tier in TIERS):
            return 0
        return 1 if getattr(getattr(item, "obj", None), "is_hypothesis_test", False) else 2

    items.sort(key=rank)


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """One test a unit (a ``SHARED`` file: one unit), for the default ``--dist load``; an
    explicit other ``--dist`` is left to xdist."""
    if config.getoption("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling  # untyped

    class OneAtATime(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return path if path in SHARED else nodeid

    return OneAtATime(config, log)


def workers(config: pytest.Config) -> int:
    """How many xdist workers ``-n auto`` starts: the tiers that drive real programs spend most
    of their time waiting on them (tmux, shells, servers), so a run with them keeps more
    workers than cores busy (at least 4, twice the cores); a run without them (``-m "not
    terminal and not external and not process"``) is CPU-bound, and a worker per core plus one
    (which fills the gaps of the few tests that wait on a fake server) is fastest: more only
    add collection and contention (on 2 cores, 4 workers took 65 s where 3 took 58)."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    marks = config.getoption("markexpr") or ""
    without_tiers = all(f"not {tier}" in marks for tier in TIERS)
    return cores + 1 if without_tiers else max(4, 2 * cores)
