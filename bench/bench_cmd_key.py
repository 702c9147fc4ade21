"""From the shell-integration key press to the command line being replaced, in real bash in tmux.

    python bench/bench_cmd_key.py [--runs 15] [--shell bash|zsh|fish]

A local fake server answers at once, so what is measured is the key binding, the process start
and the request (target: median <= 0.4 s). The line is typed, the clock started, Alt+E sent,
and the pane's output (``tmux pipe-pane`` into a file, read every millisecond: polling starts
no process that would compete for the CPU) watched until the shell writes the command's end
(zsh redraws only what changed); the screen is then checked to hold it on the prompt line.
For scale, the same run times `chatcli cmd` alone as a subprocess, `chatcli ask` (the
baseline: one request, no shell) and `python -c pass` (the interpreter's start), wall and CPU
(CPU does not grow with the machine's load; wall does).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes import DEFAULT_API_KEY, FakeOpenAI, Reply  # noqa: E402
from tests.tmux_helpers import Tmux  # noqa: E402

COMMAND = "find . -type f -size +1G -mtime -7"


def _rc(shell: str, home: Path) -> list[str]:
    if shell == "bash":
        rc = home / "bashrc"
        rc.write_text("PS1='READY> '\neval \"$(chatcli shell-integration bash)\"\n")
        return ["bash", "--noprofile", "--rcfile", str(rc), "-i"]
    if shell == "zsh":
        (home / ".zshrc").write_text("PS1='READY> '\neval \"$(chatcli shell-integration zsh)\"\n")
        return ["env", f"ZDOTDIR={home}", "zsh", "-i"]
    config = home / "config" / "fish"
    config.mkdir(parents=True)
    (config / "config.fish").write_text(
        "set -g fish_greeting ''\nfunction fish_prompt; echo -n 'READY> '; end\n"
        "chatcli shell-integration fish | source\n"
    )
    return ["fish", "-i"]


def _last_prompt(screen: str) -> str:
    lines = [ln.rstrip() for ln in screen.splitlines() if ln.startswith("READY>")]
    return lines[-1] if lines else ""


def _seen(log: Path, offset: int, want: bytes, timeout: float = 30.0) -> float:
    """Poll the pane's output log (no process started per poll) until ``want`` is written
    after ``offset``; the time it was seen."""
    deadline = time.monotonic() + timeout
    with log.open("rb") as fh:
        data = b""
        while True:
            fh.seek(offset + len(data))
            data += fh.read()
            if want in data:
                return time.perf_counter()
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out; the pane wrote: {data[-500:]!r}")
            time.sleep(0.001)


def _wait(term: Tmux, want: str, timeout: float = 30.0) -> float:
    deadline = time.monotonic() + timeout
    while True:
        if _last_prompt(term.screen()) == want:
            return time.perf_counter()
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out; the screen:\n{term.screen()}")
        time.sleep(0.005)


def _wall(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--shell", choices=("bash", "zsh", "fish"), default="bash")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as fake:
        home = Path(tmp)
        bindir = home / "bin"
        bindir.mkdir()
        script = bindir / "chatcli"  # what pip writes for a console script
        script.write_text(
            f"#!{sys.executable}\nimport sys\nfrom chatcli.__main__ import main\nsys.exit(main())\n"
        )
        script.chmod(0o755)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATCLI_"))}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # users run from compiled bytecode
        env.update(
            OPENAI_API_KEY=DEFAULT_API_KEY, OPENAI_BASE_URL=fake.base_url,
            CHATCLI_HOME=str(home / "data"), CHATCLI_CONFIG=str(home / "c.toml"),
            NO_PROXY="127.0.0.1", PYTHONPATH=str(ROOT), HOME=str(home),
            XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "share"),
            PATH=f"{bindir}:{env.get('PATH', '/usr/bin:/bin')}", LANG="C.UTF-8",
        )  # fmt: skip
        term = Tmux(env, home)
        key_times: list[float] = []
        try:
            term.start(_rc(args.shell, home))
            _wait(term, "READY>")
            log = home / "pane.log"
            log.touch()
            term.tmux("pipe-pane", "-o", "-t", term.target, f"cat >> {log}")
            for i in range(args.runs + 1):
                fake.script(Reply(text=COMMAND))
                term.type(f"find big files {i}")
                _wait(term, f"READY> find big files {i}")
                offset = log.stat().st_size
                start = time.perf_counter()
                term.keys("M-e")
                end = _seen(log, offset, COMMAND[-12:].encode())  # zle redraws only a diff
                _wait(term, f"READY> {COMMAND}")  # and it is the line's text
                if i:  # the first run warms the page cache and the bytecode
                    key_times.append(end - start)
                term.keys("C-u")
                _wait(term, "READY>")
        finally:
            term.kill()
        alone: list[tuple[float, float]] = []
        interpreter: list[tuple[float, float]] = []
        ask: list[tuple[float, float]] = []
        for _ in range(args.runs):
            fake.script(Reply(text=COMMAND), Reply(text=COMMAND))
            alone.append(_wall([str(script), "cmd", "--shell", args.shell, "find big files"], env))
            ask.append(_wall([str(script), "ask", "find big files"], env))
            interpreter.append(_wall([sys.executable, "-c", "pass"], env))
    key = statistics.median(key_times)
    cmd, cmd_cpu = (statistics.median(x) for x in zip(*alone, strict=True))
    bare, bare_cpu = (statistics.median(x) for x in zip(*interpreter, strict=True))
    asked, ask_cpu = (statistics.median(x) for x in zip(*ask, strict=True))
    print(f"{args.shell}: Alt+E to line replaced, {args.runs} runs against a local fake")
    low, high = min(key_times) * 1000, max(key_times) * 1000
    print(
        f"key press -> line replaced   median {key * 1000:6.0f} ms   "
        f"min {low:4.0f}   max {high:4.0f}   (target <= 400)"
    )
    for label, wall, cpu in (
        ("chatcli cmd as a subprocess", cmd, cmd_cpu),
        ("chatcli ask (baseline)", asked, ask_cpu),
        ("python -c pass", bare, bare_cpu),
    ):
        print(f"{label:<28} median {wall * 1000:6.0f} ms   CPU {cpu * 1000:4.0f} ms")
    print(f"load average                 {os.getloadavg()[0]:6.1f} on {os.cpu_count()} cores")
    print(f"ratio key / chatcli cmd alone       {key / cmd:6.2f}")
    print(f"ratio cmd / ask, CPU                {cmd_cpu / ask_cpu:6.2f}")


if __name__ == "__main__":
    main()
