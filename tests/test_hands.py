"""The REPL and the live view under a person's hands, in real tmux and GNU screen: Ctrl-R then
Enter, Ctrl-Z at the prompt and during a reply then ``fg``, a paste taller than the pane,
``/copy`` into the multiplexer's paste buffer, and the footer and banner at 40 columns."""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import clean_env
from tests.fakes import DEFAULT_API_KEY, FakeControl, Reply
from tests.render_helpers import one_shot, plain_lines, tall_answer
from tests.term_helpers import PS1, RealTerm
from tests.tmux_helpers import at_prompt, wait_until

ROOT = Path(__file__).resolve().parent.parent
PYTHON = [sys.executable, "-m", "chatcli"]
CHAT = [*PYTHON, "chat"]
WIDTH = 100
HURRY = 1500.0  # words a second once the stopped block is out (see FakeOpenAI.hurry)

pytestmark = [
    pytest.mark.terminal,
    pytest.mark.skipif(
        shutil.which("tmux") is None or shutil.which("screen") is None,
        reason="needs tmux and GNU screen",
    ),
]


@pytest.fixture(params=["tmux", "screen"])
def term(request: pytest.FixtureRequest, server: str, tmp_path: Path) -> Iterator[RealTerm]:
    env = clean_env(
        tmp_path,
        OPENAI_API_KEY=DEFAULT_API_KEY,
        OPENAI_BASE_URL=server,
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
        PYTHONPATH=str(ROOT),
        TERM="xterm-256color",
    )
    for name in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TMUX", "STY"):
        env.pop(name, None)
    made = RealTerm(request.param, env, tmp_path)
    try:
        yield made
    finally:
        made.kill()


def sent(control: FakeControl) -> list[str]:
    """The last user message of every chat request, in order."""
    out = []
    for record in control.requests():
        if record["path"].endswith("/chat/completions"):
            out.append(record["json"]["messages"][-1]["content"])
    return out


def ask(term: RealTerm, control: FakeControl, text: str) -> None:
    term.wait_for(at_prompt)
    before = len(sent(control))
    term.type(text)
    term.keys("Enter")
    wait_until(lambda: len(sent(control)) > before)
    term.wait_for(at_prompt)


def test_ctrl_r_then_enter_accepts_the_match(term: RealTerm, control: FakeControl) -> None:
    term.start_line(f"clear; {' '.join(CHAT)}", width=100, height=20)
    ask(term, control, "first message alpha")
    ask(term, control, "second message beta")
    term.keys("C-r")
    term.type("alph")
    term.wait_for("first message alpha")
    term.keys("Enter")  # accepts the match into the line; nothing is sent
    term.wait_for(lambda s: s.rstrip().endswith("› first message alpha"))
    assert len(sent(control)) == 2
    term.keys("Enter")  # a second Enter sends it
    wait_until(lambda: len(sent(control)) == 3)
    assert sent(control) == ["first message alpha", "second message beta", "first message alpha"]


def test_ctrl_z_at_the_prompt_suspends_and_fg_resumes(term: RealTerm, control: FakeControl) -> None:
    term.shell(width=100, height=20)
    term.run(CHAT)
    term.wait_for(at_prompt)
    term.type("hello")
    term.keys("C-z")
    term.wait_for("Stopped")
    term.fg()
    term.wait_for(lambda s: s.rstrip().endswith("› hello"))
    term.keys("Enter")
    wait_until(lambda: len(sent(control)) == 1)
    term.wait_for(at_prompt)
    term.keys("C-d")
    assert term.wait_exit() == 0
    assert sent(control) == ["hello"]


FACT = r"(~?\d+ in|~?\d+ out|\$\d+\.\d+|cost unknown|[\d.]+ s to first token|\d+ tok/s)"
BANNER_FACT = r"(chatcli chat|\S+ via \S+|/help for commands|Ctrl-D to leave)"


def test_footer_and_banner_fit_40_columns(term: RealTerm, control: FakeControl) -> None:
    term.start_line(f"clear; {' '.join(CHAT)}", width=40, height=20)
    ask(term, control, "hi")
    term.keys("C-d")
    assert term.wait_exit() == 0
    rows = [term.as_hardcopy(r).rstrip() for r in term.rows()]
    sep = re.escape(term.as_hardcopy(" · "))
    banner = re.compile(rf"{BANNER_FACT}({sep}{BANNER_FACT})*")
    footer = re.compile(rf"{FACT}({sep}{FACT})*")
    start = next(i for i, r in enumerate(rows) if r.startswith("chatcli chat"))
    ask_row = next(i for i, r in enumerate(rows) if r.startswith(term.as_hardcopy("› hi")))
    banner_rows = rows[start:ask_row]
    assert banner_rows and all(banner.fullmatch(r) for r in banner_rows), banner_rows
    assert "".join(banner_rows).count("Ctrl-D to leave") == 1
    answer = next(i for i, r in enumerate(rows) if r.startswith("echo(1): hi"))
    end = next(i for i, r in enumerate(rows) if i > answer and r.startswith(term.as_hardcopy("›")))
    footer_rows = [r for r in rows[answer + 1 : end] if r]
    assert len(footer_rows) >= 2, footer_rows  # it did need wrapping at 40 columns
    assert all(footer.fullmatch(r) for r in footer_rows), footer_rows
    assert re.search(r"tok/s", footer_rows[-1])


def test_ctrl_z_during_a_reply_restores_the_terminal_and_fg_goes_on(
    term: RealTerm, control: FakeControl
) -> None:
    text = tall_answer(1500, seed=3)
    control.script(Reply(text=text, words_per_second=150))
    argv = [*PYTHON, "ask", "hi"]
    term.shell(width=WIDTH, height=14)
    term.run(argv)
    term.wait_for("block0_value_", timeout=60)  # mid-reply, in the first code block
    term.keys("C-z")
    term.wait_for("Stopped")
    term.wait_for(lambda s: s.rstrip().endswith(PS1.rstrip()))
    assert term.outer.pane("#{cursor_flag}") == "1"  # the cursor shows at the shell's prompt
    term.fg()
    term.wait_for("block0_value_59 ", timeout=60)  # the stopped block is out: no need to crawl
    control.hurry(HURRY)
    assert term.wait_exit(timeout=90) == 0
    lines = [line.rstrip() for line in term.history().split("\n")]
    command = term.as_hardcopy(shlex.join(argv))
    typed = [i for i, line in enumerate(lines) if line == PS1 + command]
    end = next(i for i, line in enumerate(lines) if line.startswith("[exit "))
    shell = re.compile(r"\[1\]\+ +Stopped|\$ fg; echo")
    shown = [
        line
        for line in lines[typed[-1] + 1 : end]
        if line.strip() and line != command and not shell.match(line)
    ]
    expected = plain_lines(one_shot(text, WIDTH), WIDTH)
    assert shown == [term.as_hardcopy(line) for line in expected if line.strip()]


def test_a_paste_taller_than_the_pane_shows_once(term: RealTerm, control: FakeControl) -> None:
    control.script(Reply(text="got it"))
    pasted = [f"pasted line {i:03}" for i in range(1, 201)]
    term.start_line(f"clear; {shlex.join(CHAT)}", width=80, height=24)
    term.wait_for(at_prompt)
    term.outer.paste("\n".join(pasted))
    term.wait_for("pasted line 200")
    term.keys("Enter")
    term.wait_for("got it")
    term.wait_for(at_prompt)
    term.keys("C-d")
    assert term.wait_exit() == 0
    assert sent(control) == ["\n".join(pasted)]
    lines = [line.rstrip() for line in term.history().split("\n")]
    shown = [line for line in lines if "pasted line" in line]
    prompt = term.as_hardcopy("› ")
    assert shown[0] == prompt + pasted[0]
    assert [line.removeprefix(prompt).lstrip(". ") for line in shown] == pasted


def test_copy_lands_in_the_multiplexers_paste_buffer(
    term: RealTerm, control: FakeControl, tmp_path: Path
) -> None:
    """In tmux: tmux's buffer. In screen (run outside tmux, as far as chatcli can tell): screen's
    paste buffer, and the OSC 52 wrapped in screen's passthrough reaches the terminal around
    screen (a tmux that takes OSC 52 into its own buffer), long enough to need several pieces."""
    reply = "copy me: " + "héllo 表 " * 200
    control.script(Reply(text=reply))
    argv = CHAT if term.kind == "tmux" else ["env", "-u", "TMUX", *CHAT]
    term.start_line(f"clear; {shlex.join(argv)}", width=100, height=20)
    term.outer.tmux("set", "-g", "set-clipboard", "on")
    ask(term, control, "hi")
    term.type("/copy")
    term.keys("Enter")
    said = term.wait_for("copied")
    buffer = "tmux's paste buffer" if term.kind == "tmux" else "screen's paste buffer (C-a ])"
    assert f"copied {len(reply)} characters to {buffer}" in said.replace("\n", "")
    term.wait_for(at_prompt)
    if term.screen is not None:
        saved = tmp_path / "screen-buffer"
        term.screen.screen_cmd("writebuf", "-e", "utf8", str(saved))
        wait_until(lambda: saved.exists() and saved.read_text("utf-8") == reply)
    wait_until(lambda: term.outer.tmux("show-buffer") == reply)
    term.keys("C-d")
    assert term.wait_exit() == 0


def test_ctrl_z_during_a_chat_reply_then_fg_the_chat_goes_on(
    term: RealTerm, control: FakeControl
) -> None:
    text = tall_answer(1200, seed=8)
    control.script(Reply(text=text, words_per_second=150), Reply(text="second answer"))
    term.shell(width=WIDTH, height=16)
    term.run(CHAT)
    term.wait_for(at_prompt)
    term.type("tell me")
    term.keys("Enter")
    term.wait_for("block0_value_", timeout=60)
    term.keys("C-z")
    term.wait_for("Stopped")
    term.wait_for(lambda s: s.rstrip().endswith(PS1.rstrip()))
    assert term.outer.pane("#{cursor_flag}") == "1"
    term.fg()
    term.wait_for("block0_value_59 ", timeout=60)  # the stopped block is out: no need to crawl
    control.hurry(HURRY)
    term.wait_for(lambda s: "tok/s" in s and at_prompt(s), timeout=90)
    ask(term, control, "and then?")
    term.wait_for("second answer")
    term.keys("C-d")
    assert term.wait_exit() == 0
    assert sent(control) == ["tell me", "and then?"]
    history = term.history()
    for block in range(2):
        found = re.findall(rf"block{block}_value_(\d+) ", history)
        assert [int(i) for i in found] == list(range(60))


def test_a_pasted_line_taller_than_the_pane_shows_once(
    term: RealTerm, control: FakeControl
) -> None:
    control.script(Reply(text="got it"))
    pasted = "".join(f"<{i:04}>" for i in range(500))  # one line of 3,000 columns
    term.start_line(f"clear; {shlex.join(CHAT)}", width=80, height=24)
    term.wait_for(at_prompt)
    term.outer.paste(pasted)
    term.wait_for("<0499>")
    term.keys("Enter")
    term.wait_for("got it")
    term.wait_for(at_prompt)
    term.keys("C-d")
    assert term.wait_exit() == 0
    assert sent(control) == [pasted]
    joined = "".join(line.rstrip() for line in term.history().split("\n"))
    assert joined.count(pasted) == 1
    assert joined.count("<0000>") == 1 and joined.count("<0499>") == 1
