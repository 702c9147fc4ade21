"""Streaming Markdown: the block-stable view vs raw text vs a whole-buffer re-render.

    python bench/bench_render.py [--via-cli] [--baseline-max-words 20000]
                                 [--shapes-words 10000] [--only-shapes]

Every writer writes to the slave side of a 120x40 pseudo-terminal whose master side is drained
by `cat` in another process, so the terminal's work is not counted. The answers are the fake
server's Markdown (headings, prose with Chinese and emoji, lists, code, tables), in one-word
chunks as the fake streams them.

In-process (default): chunks come from a generator, either as fast as possible or paced at
1,000 words a second; CPU is this process's (the render thread included), wall is from the first
chunk to ``finish()`` returning. Writers:

- block-stable: ``chatcli.render.MarkdownStream``
- raw: ``chatcli.render.RawWriter``
- whole-buffer (baseline): ``rich.live.Live`` (defaults: 4 refreshes a second, ellipsis
  overflow, full render on stop) updated with ``Markdown(whole_text)`` on every chunk, which is
  what chat CLIs built on rich commonly do.

--via-cli: ``chatcli ask --markdown always|never`` against the fake server (in this process)
with its stdout on the pty; CPU is the child's (from wait4), wall is the child's whole life and
"answer" wall runs from the first byte on the terminal to the exit. The whole-buffer baseline
has no CLI mode, so it is in-process only.

Targets (see the render issue): CPU(20,000)/CPU(5,000) <= 4.5 on a fast stream; paced at 1,000
words/s, the wall time of a 5,000-word answer <= 1.1x raw; unthrottled 20,000 words, the
rendered/raw wall ratio reported next to the time rich takes to render the answer once.

Per 10,000 words (``--shapes-words``, default 10,000; 0 skips it): the CPU a stream at 100 words
a second costs the renderer, for three shapes of answer: the fake server's answer (headings,
prose, lists, code, tables: many small blocks), "steps" (one numbered list whose items hold
prose, a code block and a sub-list: one block until the end) and "open code" (one code block
that is still open). ``chatcli.render._Frames`` draws the frames on the pty with the stream's
own pacing (at most every 1/30 s and at least 4x the last live render's cost) on a virtual
clock, so the figure is what the stream costs without waiting for it; "growth" is the mean
frame cost over the last quarter of the answer divided by that over its first quarter (about
1 when a frame's cost does not grow with the answer).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatcli.render import _COST_FACTOR, _MIN_INTERVAL, MarkdownStream, RawWriter, _Frames  # noqa: E402
from tests.fakes.server import FakeOpenAI, Reply, generate_words, split_chunks  # noqa: E402

COLUMNS, LINES = 120, 40
PACE = 1000.0  # words per second for the paced runs
SHAPES_PACE = 100.0  # words per second for the per-10,000-words figures: a fast model


class Writer(Protocol):
    def feed(self, text: str) -> None: ...
    def finish(self) -> None: ...


class WholeBuffer:
    """The baseline: re-parse and re-render the whole answer with rich.live.Live."""

    def __init__(self, file: TextIO) -> None:
        from rich.console import Console
        from rich.live import Live
        from rich.markdown import Markdown

        self._markdown = Markdown
        self._text = ""
        self._live = Live(console=Console(file=file, force_terminal=True))
        self._live.start()

    def feed(self, text: str) -> None:
        self._text += text
        self._live.update(self._markdown(self._text))

    def finish(self) -> None:
        self._live.stop()


WRITERS: dict[str, Callable[[TextIO], Writer]] = {
    "block-stable": MarkdownStream,
    "raw": RawWriter,
    "whole-buffer": WholeBuffer,
}


def _size(fd: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))


class Terminal:
    """A sized pty drained by `cat` in its own process."""

    def __enter__(self) -> TextIO:
        self._master, slave = pty.openpty()
        _size(self._master)
        self._cat = subprocess.Popen(
            ["cat"], stdin=self._master, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._file = open(slave, "w", encoding="utf-8")
        return self._file

    def __exit__(self, *exc: object) -> None:
        self._file.close()
        self._cat.wait()
        os.close(self._master)


def paced(chunks: list[str], words_per_second: float | None) -> Iterator[str]:
    """The chunks, each one word, at the given rate (or as fast as they are taken)."""
    start = time.perf_counter()
    for i, chunk in enumerate(chunks):
        if words_per_second:
            wait = start + i / words_per_second - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        yield chunk


def in_process(writer: str, words: int, words_per_second: float | None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of streaming one answer through one writer."""
    chunks = split_chunks(generate_words(words))
    with Terminal() as file:
        out = WRITERS[writer](file)
        cpu, wall = time.process_time(), time.perf_counter()
        for chunk in paced(chunks, words_per_second):
            out.feed(chunk)
        out.finish()
        return time.process_time() - cpu, time.perf_counter() - wall


def one_shot(words: int) -> tuple[float, float]:
    """Rich rendering the whole answer once, for scale."""
    from rich.console import Console
    from rich.markdown import Markdown

    text = generate_words(words)
    with Terminal() as file:
        cpu, wall = time.process_time(), time.perf_counter()
        Console(file=file, force_terminal=True).print(Markdown(text))
        file.flush()
        return time.process_time() - cpu, time.perf_counter() - wall


def steps_answer(words: int, seed: int = 0) -> str:
    """One numbered list of about ``words`` words: each step has prose, an indented code
    block and a sub-list (how models often answer "how do I ..."), then a closing line."""
    import random

    rng = random.Random(seed)
    vocab = ("the", "model", "streams", "tokens", "while", "terminal", "keeps", "up", "block")
    parts = ["Here is how:\n\n"]
    count, step = 2, 0
    while count < words:
        step += 1
        indent = " " * (len(str(step)) + 2)
        prose = " ".join(rng.choice(vocab) for _ in range(30))
        code = "".join(f"{indent}run --option {i} --flag value{i}\n" for i in range(5))
        notes = "".join(
            f"{indent}- note: {' '.join(rng.choice(vocab) for _ in range(8))}\n" for _ in range(2)
        )
        parts.append(f"{step}. **Step {step}**: {prose}\n\n{indent}```bash\n{code}{indent}```\n")
        parts.append(f"\n{notes}\n")
        count += 3 + 30 + 2 + 5 * 5 + 2 * 10
    return "".join(parts) + "That is all.\n"


def open_code(words: int) -> str:
    """An introduction, then one code block of about ``words`` words that is never closed."""
    lines = "".join(f"value_{i} = compute({i}, 'x')  # line {i}\n" for i in range(words // 7))
    return "Here is the file:\n\n```python\n" + lines


SHAPES: dict[str, Callable[[int], str]] = {
    "answer": generate_words,
    "steps": steps_answer,
    "open code": open_code,
}


def simulated(shape: str, words: int, rate: float) -> tuple[float, int, float]:
    """(CPU seconds, frames, growth) of streaming one answer of ``shape`` at ``rate`` words a
    second through ``_Frames`` onto the pty, paced as ``MarkdownStream`` paces its frames but
    on a virtual clock (see the module docstring)."""
    chunks = split_chunks(SHAPES[shape](words))
    costs: list[tuple[int, float]] = []  # (chunk index, CPU seconds) of each frame
    with Terminal() as file:
        frames = _Frames(code_theme="monokai", live=True)
        next_frame = 0.0
        cpu = time.process_time()
        for i, chunk in enumerate(chunks):
            frames.add(chunk)
            now = i / rate
            if now >= next_frame:
                started = time.process_time()
                file.write(frames.frame(COLUMNS, LINES))
                file.flush()
                costs.append((i, time.process_time() - started))
                next_frame = now + max(_MIN_INTERVAL, _COST_FACTOR * frames.live_cost)
        file.write(frames.frame(COLUMNS, LINES, final=True))
        file.flush()
        total = time.process_time() - cpu
    quarter = len(chunks) // 4
    first = [cost for i, cost in costs if i < quarter]
    last = [cost for i, cost in costs if i >= len(chunks) - quarter]
    growth = statistics.mean(last) / statistics.mean(first) if first and last else 0.0
    return total, len(costs), growth


def via_cli(mode: str, words: int, words_per_second: float | None) -> tuple[float, float, float]:
    """(child CPU, child wall, answer wall) of `chatcli ask --markdown MODE` on the pty."""
    fake = FakeOpenAI(None)
    fake.default_reply = Reply(words=words, words_per_second=words_per_second)
    fake.start()
    try:
        with tempfile.TemporaryDirectory() as home:
            env = {
                **os.environ,
                "OPENAI_API_KEY": "sk-bench",
                "OPENAI_BASE_URL": fake.base_url,
                "CHATCLI_HOME": home,
                "CHATCLI_CONFIG": os.path.join(home, "absent.toml"),
                "COLUMNS": str(COLUMNS),
                "LINES": str(LINES),
            }
            master, slave = pty.openpty()
            _size(master)
            command = [sys.executable, "-m", "chatcli", "ask", "--markdown", mode, "hello"]
            started = time.perf_counter()
            child = subprocess.Popen(
                command, stdout=slave, stderr=subprocess.DEVNULL, env=env, cwd=home
            )
            os.close(slave)
            first = None
            while True:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                if first is None:
                    first = time.perf_counter()
            _, status, usage = os.wait4(child.pid, 0)
            ended = time.perf_counter()
            child.returncode = os.waitstatus_to_exitcode(status)
            os.close(master)
            if child.returncode != 0:
                raise SystemExit(f"chatcli ask exited with {child.returncode}")
            cpu = usage.ru_utime + usage.ru_stime
            return cpu, ended - started, ended - (first or started)
    finally:
        fake.stop()


def _row(*cells: object) -> None:
    print("  ".join(f"{cell:>14}" if i else f"{cell:<24}" for i, cell in enumerate(cells)))


def _median(runs: list[tuple[float, ...]]) -> tuple[float, ...]:
    return tuple(statistics.median(column) for column in zip(*runs, strict=True))


def run_in_process(baseline_max_words: int, repeat: int) -> None:
    print(f"in-process, {COLUMNS}x{LINES} pty; medians of {repeat} (baseline: 1 run)\n")
    _row("run", "writer", "words", "CPU s", "wall s")
    for writer in WRITERS:  # imports and caches (rich, pygments lexers) out of the way
        in_process(writer, 200, None)
    got: dict[tuple[str, str, int], tuple[float, ...]] = {}
    for label, rate, words in [("fast", None, 5000), ("fast", None, 20000), ("paced", PACE, 5000)]:
        for writer in WRITERS:
            if writer == "whole-buffer" and words > baseline_max_words:
                continue
            times = 1 if writer == "whole-buffer" else repeat
            got[label, writer, words] = _median(
                [in_process(writer, words, rate) for _ in range(times)]
            )
            cpu, wall = got[label, writer, words]
            _row(label, writer, words, f"{cpu:.3f}", f"{wall:.3f}")
    once = _median([one_shot(20000) for _ in range(repeat)])
    _row("rich renders once", "Markdown", 20000, f"{once[0]:.3f}", f"{once[1]:.3f}")

    def ratio(a: tuple[str, str, int], b: tuple[str, str, int], index: int) -> str:
        return f"{got[a][index] / got[b][index]:.2f}" if a in got and b in got else "-"

    print()
    _row("ratio", "block-stable", "whole-buffer", "target")
    _row(
        "CPU 20,000 / 5,000 fast",
        *(
            ratio(("fast", w, 20000), ("fast", w, 5000), 0)
            for w in ("block-stable", "whole-buffer")
        ),
        "<= 4.5",
    )
    _row(
        "wall / raw, 5,000 paced",
        *(
            ratio(("paced", w, 5000), ("paced", "raw", 5000), 1)
            for w in ("block-stable", "whole-buffer")
        ),
        "<= 1.1",
    )
    _row(
        "wall / raw, 20,000 fast",
        *(
            ratio(("fast", w, 20000), ("fast", "raw", 20000), 1)
            for w in ("block-stable", "whole-buffer")
        ),
        "report",
    )
    stable = got["fast", "block-stable", 20000]
    _row("wall / rich once, 20,000", f"{stable[1] / once[1]:.2f}", "-", "report")


def run_shapes(words: int, repeat: int) -> None:
    print(
        f"\nper 10,000 words, streamed at {SHAPES_PACE:.0f} words/s (virtual clock) onto a"
        f" {COLUMNS}x{LINES} pty; medians of {repeat}\n"
    )
    _row("shape", "words", "frames", "CPU s", "CPU s/10k w", "growth")
    for shape in SHAPES:
        simulated(shape, 300, SHAPES_PACE)  # lexers and caches out of the way
        cpu, frames, growth = _median([simulated(shape, words, SHAPES_PACE) for _ in range(repeat)])
        count = len(SHAPES[shape](words).split())
        per = cpu * 10000 / count
        _row(shape, count, f"{frames:.0f}", f"{cpu:.3f}", f"{per:.3f}", f"{growth:.2f}")


def run_via_cli(repeat: int) -> None:
    print(f"\nvia the CLI: chatcli ask on a {COLUMNS}x{LINES} pty; medians of {repeat}\n")
    _row("run", "--markdown", "words", "CPU s", "wall s", "answer wall s")
    got: dict[tuple[str, str, int], tuple[float, ...]] = {}
    runs = [
        ("start-up", None, 1),
        ("fast", None, 5000),
        ("fast", None, 20000),
        ("paced", PACE, 5000),
    ]
    for label, rate, words in runs:
        for mode in ("always", "never"):
            got[label, mode, words] = _median([via_cli(mode, words, rate) for _ in range(repeat)])
            cpu, wall, answer = got[label, mode, words]
            _row(label, mode, words, f"{cpu:.3f}", f"{wall:.3f}", f"{answer:.3f}")
    print()
    _row("ratio", "always", "never", "target")
    cells = []
    for mode in ("always", "never"):
        base, small, big = (
            got[k, mode, n][0] for k, n in [("start-up", 1), ("fast", 5000), ("fast", 20000)]
        )
        cells.append(f"{big / small:.2f} ({(big - base) / (small - base):.2f})")
    _row("CPU 20,000 / 5,000 fast", *cells, "<= 4.5")
    print(" " * 26 + "(in brackets: net of the start-up run's CPU)")
    for label, words, target in [("paced", 5000, "<= 1.1"), ("fast", 20000, "report")]:
        always, never = got[label, "always", words], got[label, "never", words]
        _row(
            f"always/never {label} {words}",
            f"wall {always[1] / never[1]:.2f}",
            f"answer {always[2] / never[2]:.2f}",
            target,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--via-cli", action="store_true", help="also measure through chatcli ask")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument(
        "--baseline-max-words",
        type=int,
        default=20000,
        help="skip the whole-buffer baseline above this size (it is quadratic: minutes at 20,000)",
    )
    parser.add_argument(
        "--shapes-words",
        type=int,
        default=10000,
        help="words of each shape for the per-10,000-words figures (0 skips them)",
    )
    parser.add_argument(
        "--only-shapes", action="store_true", help="only the per-10,000-words figures"
    )
    args = parser.parse_args()
    # Colours as in a modern terminal emulator, whatever this shell has: rendering cost depends
    # on them. The CLI child inherits the same.
    os.environ.update(TERM="xterm-256color", COLORTERM="truecolor")
    os.environ.pop("NO_COLOR", None)
    if not args.only_shapes:
        run_in_process(args.baseline_max_words, args.repeat)
    if args.shapes_words:
        run_shapes(args.shapes_words, args.repeat)
    if args.via_cli and not args.only_shapes:
        run_via_cli(args.repeat)


if __name__ == "__main__":
    main()
