"""The streaming view in real terminals: what tmux and GNU screen keep in their scrollback.

An emulator library (tests/test_render.py) checks the protocol; these run the real ``chatcli``
against the fake server (its own process) in tmux and in GNU screen, whose quirks no emulator
reproduces (both save the whole screen into the history on an erase-below from the top-left
corner). The whole history is read back and every line of the answer must be there exactly
once, in order, equal to a one-shot rendering of the same Markdown at the same width.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from tests.cli_helpers import clean_env
from tests.fakes import DEFAULT_API_KEY, Delay, FakeControl, Reply
from tests.render_helpers import one_shot, plain_lines, tall_answer
from tests.screen_helpers import Screen
from tests.tmux_helpers import Tmux, wait_until

ROOT = Path(__file__).resolve().parent.parent
CHATCLI = [sys.executable, "-m", "chatcli"]
WIDTH = 100
PACE = 1500.0  # words a second: fast, yet slow enough for dozens of live frames
FOOTER = re.compile(r" in . .* out . ")  # "·" is one byte in screen's hardcopy too

pytestmark = [
    pytest.mark.terminal,
    pytest.mark.skipif(
        shutil.which("tmux") is None or shutil.which("screen") is None,
        reason="needs tmux and GNU screen",
    ),
]


class Term(Protocol):
    """What a test needs of a real terminal: run a shell line, type, read the history."""

    outer: Tmux

    def start_line(self, line: str, *, width: int, height: int) -> None: ...
    def history(self) -> str: ...
    def as_hardcopy(self, line: str) -> str: ...
    def wait_exit(self, timeout: float = ...) -> int: ...
    def kill(self) -> None: ...


class _TmuxTerm:
    """tmux as a ``Term``: its own pane is the terminal."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.outer = Tmux(env, workdir)

    def start_line(self, line: str, *, width: int, height: int) -> None:
        self.outer.start_line(line, width=width, height=height)

    def history(self) -> str:
        return self.outer.history()

    def as_hardcopy(self, line: str) -> str:
        return line

    def wait_exit(self, timeout: float = 60) -> int:
        return self.outer.wait_exit(timeout)

    def kill(self) -> None:
        self.outer.kill()


@pytest.fixture(params=["tmux", "screen"])
def term(request: pytest.FixtureRequest, server: str, tmp_path: Path) -> Iterator[Term]:
    env = clean_env(
        tmp_path,
        OPENAI_API_KEY=DEFAULT_API_KEY,
        OPENAI_BASE_URL=server,
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        PYTHONPATH=str(ROOT),
        TERM="xterm-256color",
    )
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES"):
        env.pop(name, None)
    made: Term = _TmuxTerm(env, tmp_path) if request.param == "tmux" else Screen(env, tmp_path)
    try:
        yield made
    finally:
        made.kill()


def expected_lines(text: str, term: Term) -> list[str]:
    """The non-empty lines of a one-shot rendering at the pane's width, as ``term`` reports
    text."""
    rendered = plain_lines(one_shot(text, WIDTH), WIDTH)
    return [term.as_hardcopy(line) for line in rendered if line.strip()]


def non_empty(lines: list[str]) -> list[str]:
    return [line.rstrip() for line in lines if line.strip()]


def until_exit(lines: list[str]) -> list[str]:
    """The lines before the shell's ``[exit N]`` line."""
    ends = [i for i, line in enumerate(lines) if line.startswith("[exit ")]
    assert ends, "the program did not end"
    return lines[: ends[-1]]


def ask_line(*args: str) -> str:
    return shlex.join([*CHATCLI, "ask", *args])


@pytest.mark.parametrize("start", ["top", "bottom"])
@pytest.mark.parametrize("height", [12, 40])
@pytest.mark.parametrize("words", [600, 3000])
def test_answer_lines_once_in_history(
    term: Term, control: FakeControl, words: int, height: int, start: str
) -> None:
    text = tall_answer(words, seed=words + height)
    control.script(Reply(text=text, words_per_second=PACE))
    if start == "top":  # the answer's first line is the pane's top row
        line = f"clear; {ask_line('hi')}"
    else:  # the pane is full: the answer starts on its bottom row and scrolls from there
        line = f"seq -f 'pad %g' 1 {height}; {ask_line('hi')}"
    term.start_line(line, width=WIDTH, height=height)
    assert term.wait_exit(timeout=90) == 0
    lines = until_exit(term.history().split("\n"))
    if start == "bottom":
        pads = [i for i, line in enumerate(lines) if re.fullmatch(r"pad \d+\s*", line)]
        assert len(pads) == height
        lines = lines[pads[-1] + 1 :]
    assert non_empty(lines) == expected_lines(text, term)


def test_chat_two_turns_once_in_history(term: Term, control: FakeControl) -> None:
    first, second = tall_answer(600, seed=1), tall_answer(600, seed=2)
    control.script(
        Reply(text=first, words_per_second=PACE), Reply(text=second, words_per_second=PACE)
    )
    term.start_line(shlex.join([*CHATCLI, "chat"]), width=WIDTH, height=12)
    keys = term.outer
    keys.wait_for("›")
    for number, message in enumerate(["first question", "second question"], start=1):
        keys.type(message)
        keys.keys("Enter")
        wait_until(lambda n=number: len(FOOTER.findall(term.history())) >= n, timeout=60)  # type: ignore[misc]
    keys.wait_for(lambda s: s.rstrip().endswith("›"))
    keys.keys("C-d")
    assert term.wait_exit(timeout=30) == 0
    lines = until_exit(term.history().split("\n"))
    prompt = term.as_hardcopy("› ")
    asked = [i for i, line in enumerate(lines) if line.startswith(prompt + "first question")]
    assert len(asked) == 1
    shown = [
        line
        for line in non_empty(lines[asked[0] + 1 :])
        if not FOOTER.search(line) and not line.startswith(prompt.rstrip())
    ]
    assert shown == expected_lines(first, term) + expected_lines(second, term)


def test_ctrl_c_mid_answer_leaves_the_answer_area_clean(term: Term, control: FakeControl) -> None:
    text = tall_answer(3000, seed=5)
    control.script(Reply(text=text, words_per_second=200))
    term.start_line(f"clear; {ask_line('hi')}", width=WIDTH, height=12)
    # Any line from the sixth on: a line is on screen for a few tenths of a second only.
    term.outer.wait_for(
        lambda s: re.search(r"block0_value_([5-9]|\d\d) ", s) is not None, timeout=30
    )
    term.outer.keys("C-c")
    assert term.wait_exit(timeout=30) == 130
    lines = [line.rstrip() for line in until_exit(term.history().split("\n"))]
    assert not any("^C" in line for line in lines)
    assert lines.count("chatcli: interrupted") == 1
    shown = non_empty(lines[: lines.index("chatcli: interrupted")])
    expected = expected_lines(text, term)
    # All that arrived is shown once, in order: the answer's beginning, but for its last
    # (unfinished) block, which is rendered as the text that had arrived.
    assert len(shown) > 10
    assert shown[:-3] == expected[: len(shown) - 3]
    code = [line for line in shown if "_value_" in line]
    assert len(code) == len(set(code))


def test_ctrl_c_before_the_answer_leaves_no_caret(term: Term, control: FakeControl) -> None:
    control.script(Delay(30, Reply(text="never shown")))
    term.start_line(f"clear; {ask_line('hi')}", width=WIDTH, height=12)
    wait_until(lambda: control.state()["requests"] >= 1, timeout=30)
    term.outer.keys("C-c")
    assert term.wait_exit(timeout=30) == 130
    lines = [line.rstrip() for line in until_exit(term.history().split("\n"))]
    assert non_empty(lines) == ["chatcli: interrupted"]
