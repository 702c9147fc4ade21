"""Start-up and `ask` latency, measured side by side against baselines in the same run.

    python bench/bench_startup.py [--runs 10]

1. `chatcli --help` vs a minimal Typer app with ten commands printing its own --help
   (target: ratio <= 1.25).
2. `chatcli ask hi` off a TTY vs the bare openai SDK one-liner, both against the same local fake
   server (target: ratio <= 0.5): first with the fake's Responses API off (the implicit openai
   profile then learns once that the URL has none and uses chat completions), then on (as the
   official API: ``ask`` goes over Responses).
Runs are interleaved so both sides see the same machine load; medians are reported.
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

TYPER_APP = (
    """
import typer
app = typer.Typer()
"""
    + "".join(
        f'''
@app.command()
def cmd{i}(name: str = typer.Argument("x"), count: int = typer.Option(1, "--count")) -> None:
    """Command number {i}."""
    print(name * count)
'''
        for i in range(10)
    )
    + """
app()
"""
)

SDK_ONE_LINER = (
    "import openai; print(openai.OpenAI(base_url={url!r}, api_key={key!r}).chat.completions"
    ".create(model='gpt-4o-mini', messages=[{{'role':'user','content':'hi'}}])"
    ".choices[0].message.content)"
)


def wall(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed: {proc.stderr.decode()[-500:]}")
    return elapsed


def side_by_side(a: list[str], b: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    wall(a, env), wall(b, env)  # warm the page cache
    ta, tb = [], []
    for _ in range(runs):
        ta.append(wall(a, env))
        tb.append(wall(b, env))
    return statistics.median(ta), statistics.median(tb)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    chatcli = str(Path(sys.executable).with_name("chatcli"))
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "tenapp.py"
        app.write_text(TYPER_APP)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATCLI_"))}
        # Users run from compiled bytecode: a PYTHONDONTWRITEBYTECODE shell would time the
        # compiler (about 60 ms of chatcli source) instead of chatcli.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(CHATCLI_HOME=str(Path(tmp) / "home"), CHATCLI_CONFIG=str(Path(tmp) / "c.toml"))
        ours, base = side_by_side(
            [chatcli, "--help"], [sys.executable, str(app), "--help"], env, runs
        )
        print(f"chatcli --help          {ours * 1000:7.1f} ms")
        print(f"typer 10-command --help {base * 1000:7.1f} ms")
        print(f"ratio                   {ours / base:7.2f}   (target <= 1.25)")
        with FakeOpenAI() as fake:
            env.update(OPENAI_API_KEY=DEFAULT_API_KEY, OPENAI_BASE_URL=fake.base_url)
            sdk = SDK_ONE_LINER.format(url=fake.base_url, key=DEFAULT_API_KEY)
            ours, base = side_by_side(
                [chatcli, "ask", "hi"], [sys.executable, "-c", sdk], env, runs
            )
            fake.responses = True  # the official API's protocol for an openai profile
            over, base2 = side_by_side(
                [chatcli, "ask", "hi"], [sys.executable, "-c", sdk], env, runs
            )
        print(f"chatcli ask hi          {ours * 1000:7.1f} ms")
        print(f"openai SDK one-liner    {base * 1000:7.1f} ms")
        print(f"ratio                   {ours / base:7.2f}   (target <= 0.5)")
        print(f"ask hi, Responses API   {over * 1000:7.1f} ms")
        print(f"openai SDK one-liner    {base2 * 1000:7.1f} ms")
        print(f"ratio                   {over / base2:7.2f}   (target <= 0.5)")


if __name__ == "__main__":
    main()
