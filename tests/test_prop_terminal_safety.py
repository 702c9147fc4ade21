"""Property over every command: a server whose every text field carries terminal escape
sequences and the key (``tests.fakes.poison``) gets none of either onto a terminal, and never
the key onto stdout or stderr.

Each command runs twice against the poisoned fake: in a real process on a pseudo-terminal
(stdout and stderr both a tty: what a person would see, checked for every escape and the key)
and in process with its output captured, not a terminal (the key checked; escapes on stderr
too: the answer's own bytes off a terminal stay as the model sent them, see the README). File
names carry escapes as well.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI
from tests.fakes.poison import SIGNS
from tests.fakes.server import DEFAULT_BILLING

ESC_NAME = "report\x1b]0;PWNED\x07\x1b[2J"


World = tuple[FakeOpenAI, Path, dict[str, str]]


def run_pty(
    args: list[str],
    env: dict[str, str],
    keys: tuple[bytes, ...] = (),
    timeout: float = 60,
    own_tty: bool = False,
) -> tuple[int, bytes]:
    """``chatcli ARGS`` with stdin, stdout and stderr on one pseudo-terminal (120x40); the exit
    code and every byte it wrote. ``keys`` are typed once the program has written something."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "chatcli", *args], stdin=slave, stdout=slave, stderr=slave,
        env={**env, "TERM": "xterm-256color"},
        **({"preexec_fn": _own_terminal} if own_tty else {"start_new_session": True}),
    )  # fmt: skip
    os.close(slave)
    shown = b""
    pending = list(keys)
    next_key = time.monotonic() + 0.3
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                shown += data
            elif proc.poll() is not None:
                break
            if pending and shown and time.monotonic() >= next_key:
                os.write(master, pending[0])
                if len(pending) > 1 or not own_tty:
                    pending.pop(0)  # with own_tty (a menu) the last key repeats until the end
                next_key = time.monotonic() + 0.5
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # still running: the test shows what it printed
            proc.kill()
            code = -9
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, shown


def _own_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty (``/dev/tty`` opens)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def run_pipes(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """``chatcli ARGS`` with stdout and stderr not terminals and an empty stdin: in process
    (``run_cli``), since no real file descriptor is involved; its output as bytes."""
    result = run_cli(*args, env=env)
    return subprocess.CompletedProcess(args, result.returncode, result.stdout.encode(),
                                       result.stderr.encode())  # fmt: skip


def leaks(data: bytes, signs: tuple[str, ...] = SIGNS) -> list[str]:
    text = data.decode("utf-8", "replace")
    found = [repr(s) for s in signs if s in text]
    if "\x9b" in signs and b"\xc2\x9b" in data:
        found.append("C1 CSI")
    return found


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FakeOpenAI, Path, dict[str, str]]]:
    """One poisoned fake and a data dir holding a session, usage and a batch job."""
    from tests.fakes import make_wav

    tmp = tmp_path_factory.mktemp("poison")
    with FakeOpenAI() as fake:
        fake.billing = DEFAULT_BILLING
        env = fake_env(tmp, fake)
        (tmp / "notes.txt").write_text("Meeting notes: ship on Friday.\n")
        (tmp / f"{ESC_NAME}.txt").write_text("Second input, with an odd name.\n")
        (tmp / f"{ESC_NAME}.wav").write_bytes(make_wav(1.0))
        (tmp / "in.jsonl").write_text(json.dumps({"id": "a", "prompt": "hello"}) + "\n")
        fake.poison = True
        seed = run_pipes(["ask", "--session", "s1", "hello there"], env)
        assert seed.returncode == 0, seed.stderr
        batch = run_pipes(["batch", "submit", str(tmp / "in.jsonl"), "--yes"], env)
        assert batch.returncode == 0, batch.stderr
        yield fake, tmp, env


def _job(env: dict[str, str]) -> str:
    listing = run_pipes(["batch", "list"], env).stdout.decode()
    return (
        listing.split()[listing.split().index("NAME") + 5]
        if "NAME" in listing
        else listing.split()[0]
    )


COMMANDS: dict[str, list[str]] = {
    "ask": ["ask", "hi"],
    "ask --no-stream": ["ask", "--no-stream", "hi"],
    "ask -x": ["ask", "-x", "hi"],
    "ask --json": ["ask", "--json", "hi"],
    "ask --debug": ["--debug", "ask", "hi"],
    "summarize one": ["summarize", "{tmp}/notes.txt", "--yes"],
    "summarize many": ["summarize", "{tmp}/notes.txt", "{tmp}/" + ESC_NAME + ".txt", "--yes"],
    "transcribe": ["transcribe", "{tmp}/" + ESC_NAME + ".wav"],
    "transcribe srt": ["transcribe", "{tmp}/" + ESC_NAME + ".wav", "--format", "srt"],
    "transcribe json": ["transcribe", "{tmp}/" + ESC_NAME + ".wav", "--format", "verbose_json"],
    "speak": ["speak", "hello", "-o", "{tmp}/out.mp3"],
    "image": ["image", "a fox", "-o", "{tmp}/images"],
    "models": ["models"],
    "models --json": ["models", "--json"],
    "usage": ["usage"],
    "usage --by model": ["usage", "--by", "model"],
    "balance": ["balance"],
    "verify": ["verify"],
    "doctor": ["doctor"],
    "sessions list": ["sessions", "list"],
    "sessions search": ["sessions", "search", "hello"],
    "sessions show": ["sessions", "show", "s1"],
    "sessions export": ["sessions", "export", "s1"],
    "config show": ["config", "show"],
    "batch list": ["batch", "list"],
    "batch status": ["batch", "status"],
    "batch results": ["batch", "results", "{job}"],
    "batch wait": ["batch", "wait", "{job}"],
    "completion": ["completion", "bash"],
    "cmd": ["cmd", "list", "files"],
    "shell-integration": ["shell-integration", "bash"],
    "templates list": ["templates", "list"],
    "mcp list": ["mcp", "list"],
}
KEYS = {"cmd": (b"q",)}  # the menu on a terminal: abort


def _args(name: str, tmp: Path, env: dict[str, str]) -> list[str]:
    job = _job(env) if "{job}" in " ".join(COMMANDS[name]) else ""
    return [a.replace("{tmp}", str(tmp)).replace("{job}", job) for a in COMMANDS[name]]


def test_every_command_is_covered() -> None:
    from typer.main import get_command

    from chatcli.cli import app

    group = get_command(app)
    names = set(getattr(group, "commands", {}))
    covered = {c[1] if c[0] == "--debug" else c[0] for c in COMMANDS.values()} | {"chat", "config"}
    assert names - covered == set(), "add the new command to COMMANDS"


@pytest.mark.process
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_no_escape_or_key_reaches_the_terminal(world: World, name: str) -> None:
    _, tmp, env = world
    args = _args(name, tmp, env)
    code, shown = run_pty(args, env, KEYS.get(name, ()), own_tty=name in KEYS)
    assert leaks(shown) == [], f"{name} (exit {code}) showed: {shown[-2000:]!r}"
    assert b"unexpected" not in shown and b"Traceback" not in shown, shown[-2000:]
    piped = run_pipes(args, env)
    assert leaks(piped.stderr) == [], piped.stderr[-2000:]
    assert leaks(piped.stdout, (DEFAULT_API_KEY,)) == [], piped.stdout[-2000:]


@pytest.mark.terminal
def test_chat_repl_shows_no_escape_or_key(world: World) -> None:
    """The REPL in real tmux: its resume preview of a poisoned session and a poisoned reply.
    Every byte it writes is logged (``pipe-pane``) and checked, and the pane's title."""
    from tests.tmux_helpers import Tmux, wait_until

    _, tmp, env = world
    root = Path(__file__).resolve().parent.parent
    term = Tmux({**env, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONPATH": str(root)}, tmp)
    log = tmp / "pane.log"
    try:
        term.start_line(f"read _; {sys.executable} -m chatcli chat --session s1")
        term.tmux("pipe-pane", "-o", "-t", term.target, f"cat >> {log}")
        term.keys("Enter")
        term.wait_for(lambda s: s.rstrip().endswith("›"))
        term.type("hi there")
        term.keys("Enter")
        term.wait_for("echo(2)")
        term.wait_for(lambda s: s.rstrip().endswith("›"))
        term.keys("C-d")
        assert term.wait_exit() == 0
        wait_until(lambda: log.exists() and b"exit" in log.read_bytes())
        assert "PWNED" not in term.pane("#{pane_title}")
        assert leaks(log.read_bytes()) == [], log.read_bytes()[-2000:]
        assert DEFAULT_API_KEY not in term.history()
    finally:
        term.kill()
