"""What tools cost: MCP server start-up, and chatcli's own overhead per tool round.

    python bench/bench_tools.py [--rounds 20] [--repeat 5]

Start-up: ``Hub.start`` (spawn, handshake, list tools) of the reference ``mcp-server-time`` and
of our own ``tests/fakes/mcp_tools.py``, the first start in the process (the SDK's import
included) reported apart from the later ones.

Per round, in process against the local fake server and our own server over stdio (already
up): one turn of ``--rounds`` rounds, each asking for one call of a tool that does nothing
(``own.echo``), against the same number of plain requests with no tools (the model's time).
The difference per round is what a round adds besides the model: approval, the MCP call's
round trip, cutting, storing the call and its result, and the larger request. Target: <= 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatcli.environment import SystemClock  # noqa: E402
from chatcli.features.tools.mcp import Hub  # noqa: E402
from chatcli.features.tools.toolbox import open_toolbox  # noqa: E402
from chatcli.features.tools.use import send  # noqa: E402
from chatcli.pricing import lookup  # noqa: E402
from chatcli.providers import connect  # noqa: E402
from chatcli.session import ChatSession  # noqa: E402
from chatcli.settings.loading import Profile  # noqa: E402
from chatcli.settings.mcp import McpServer  # noqa: E402
from chatcli.settings.resolve import ChatSettings  # noqa: E402
from chatcli.store import Store  # noqa: E402
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI, Reply  # noqa: E402

OWN = McpServer("own", command=sys.executable, args=("-m", "tests.fakes.mcp_tools"), cwd=str(ROOT))
TIME = McpServer("time", command=str(Path(sys.executable).with_name("mcp-server-time")))


def startup(server: McpServer, repeat: int) -> tuple[float, list[float]]:
    """Seconds of the first start in this process, and of each later one."""
    times = []
    for _ in range(repeat + 1):
        hub = Hub()
        started = time.perf_counter()
        hub.start(server)
        times.append(time.perf_counter() - started)
        hub.close()
    return times[0], times[1:]


def drain(events: Iterable[object]) -> None:
    for _ in events:
        pass


def rounds_overhead(fake: FakeOpenAI, data: Path, rounds: int) -> tuple[float, float]:
    """(seconds of one turn of ``rounds`` tool rounds, seconds of as many plain requests)."""
    profile = Profile(name="fake", type="relay", base_url=fake.base_url, api_key=DEFAULT_API_KEY)
    settings = ChatSettings(profile=profile, model="gpt-4o-mini", model_info=lookup)
    box = open_toolbox({"own": OWN}, ["own.echo"], approve=["own"], max_rounds=rounds + 1)
    with Store.open(data) as store:
        provider = connect(profile, lookup, clock=SystemClock())
        session = ChatSession.open(provider, settings, store=store, persist=True)
        drain(session.send("warm up"))  # connection and tokenizer
        drain(send(session, "warm up", box))
        call = {"name": "own__echo", "arguments": {"text": "x"}}
        fake.script(*[Reply(tool_calls=[call]) for _ in range(rounds)])
        started = time.perf_counter()
        drain(send(session, "go", box))
        with_tools = time.perf_counter() - started
        plain = ChatSession.open(provider, settings, store=store, persist=True)
        started = time.perf_counter()
        drain(plain.send("go"))
        for _ in range(rounds):
            drain(plain.send("again"))
        without = time.perf_counter() - started
        provider.close()
    box.close()
    return with_tools, without


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("MCP server start-up (spawn, handshake, list tools)")
    print(f"{'server':<10} {'first s':>10} {'median s':>10} {'min s':>10}")
    for server in (TIME, OWN):
        first, later = startup(server, args.repeat)
        print(
            f"{server.name:<10} {first:>10.3f} {statistics.median(later):>10.3f} "
            f"{min(later):>10.3f}"
        )
    overheads = []
    with FakeOpenAI() as fake, tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            with_tools, without = rounds_overhead(fake, Path(tmp) / f"d{i}", args.rounds)
            overheads.append((with_tools - without) / args.rounds)
    per_round = statistics.median(overheads)
    print(f"\nper tool round, {args.rounds} rounds, medians of {args.repeat}")
    print(f"{'overhead per round ms':<28} {per_round * 1000:>8.1f}   target <= 50")
    print(f"{'min, max ms':<28} {min(overheads) * 1000:>8.1f} {max(overheads) * 1000:>8.1f}")


if __name__ == "__main__":
    main()
