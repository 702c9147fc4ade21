"""``TERM=dumb`` or unset (Emacs shell buffers, CI logs that keep every byte): the answer is
written once, with no cursor movement at all. The real CLI runs on a pseudo-terminal whose
every output byte is recorded."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
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


CURSOR_MOVEMENT = re.compile(rb"\x1b\[[0-9;]*[ABCDEFGHJKSTfsu]|\x1b[78DEM]|\x08")


def test_chat_on_a_dumb_terminal_moves_no_cursor(fake: FakeOpenAI, tmp_path: Path) -> None:
    """prompt_toolkit's plain line editor reads the message; the reply and footer are plain."""
    fake.script(Reply(text="**bold** answer\n\n- item\n"))
    env = fake_env(tmp_path, fake, LANG="C.UTF-8", TERM="dumb")
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatcli", "chat"], stdin=slave, stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    out = bytearray()

    def read_until(marker: bytes, count: int = 1, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while out.count(marker) < count:
            assert time.monotonic() < deadline, out.decode("utf-8", "replace")
            if select.select([master], [], [], 0.1)[0]:
                out.extend(os.read(master, 65536))

    def type_at_prompt(keys: bytes) -> None:
        """Type once the prompt reads keys: before, the tty would take Enter for Ctrl-J and
        Ctrl-D for end of file."""
        deadline = time.monotonic() + 30
        while termios.tcgetattr(master)[3] & termios.ICANON:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.write(master, keys)

    read_until("› ".encode())
    type_at_prompt(b"hello there\r")
    read_until(b"tok/s")
    read_until("› ".encode(), count=2)  # the next prompt
    type_at_prompt(b"\x04")
    assert proc.wait(timeout=30) == 0
    try:
        while data := os.read(master, 65536):
            out.extend(data)
    except OSError:
        pass
    os.close(master)
    assert not CURSOR_MOVEMENT.search(bytes(out))
    assert bytes(out).count(b"**bold** answer\r\n\r\n- item\r\n") == 1
