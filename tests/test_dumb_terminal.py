"""``TERM=dumb`` or unset (Emacs shell buffers, CI logs that keep every byte): the answer is
written once, with no cursor movement at all. The real CLI runs on a pseudo-terminal whose
every output byte is recorded."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import fake_env
from tests.fakes import FakeOpenAI, Reply
from tests.render_helpers import tall_answer

ANY_ESCAPE = re.compile(rb"\x1b")
NOT_COLOUR = re.compile(rb"\x1b(?!\[[0-9;:]*m)")  # anything but a colour (SGR) sequence


def on_pty(argv: list[str], env: dict[str, str]) -> bytes:
    """Run ``argv`` with a 80x24 pty as stdin, stdout and stderr; every byte it wrote."""
    master, slave = pty.openpty()
    import fcntl
    import struct
    import termios

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = bytearray()
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child side is closed
            break
        if not data:
            break
        out += data
    os.close(master)
    assert proc.wait(timeout=60) == 0, out.decode("utf-8", "replace")[-2000:]
    return bytes(out)


@pytest.mark.parametrize("term", ["dumb", None])
def test_ask_writes_the_answer_once_without_cursor_movement(
    fake: FakeOpenAI, tmp_path: Path, term: str | None
) -> None:
    text = tall_answer(800, seed=4)
    fake.script(Reply(text=text, words_per_second=3000))
    env = fake_env(tmp_path, fake, LANG="C.UTF-8")
    env.pop("TERM", None)
    if term is not None:
        env["TERM"] = term
    out = on_pty([sys.executable, "-m", "chatcli", "ask", "hi"], env)
    assert not ANY_ESCAPE.search(out)
    assert out.decode("utf-8") == text.replace("\n", "\r\n")


def test_markdown_always_on_a_dumb_terminal_renders_each_block_once(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    text = tall_answer(800, seed=6)
    fake.script(Reply(text=text, words_per_second=3000))
    env = fake_env(tmp_path, fake, LANG="C.UTF-8", TERM="dumb")
    out = on_pty([sys.executable, "-m", "chatcli", "ask", "--markdown", "always", "hi"], env)
    assert not NOT_COLOUR.search(out)
    plain = re.sub(rb"\x1b\[[0-9;:]*m", b"", out).decode("utf-8")
    code = re.findall(r"block\d_value_\d+ ", plain)
    assert len(code) == 120 and len(set(code)) == 120
