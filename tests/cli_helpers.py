"""Run the real ``chatcli`` with an isolated environment: in process (``run_cli``, the default:
the real entry point with injected streams and a clock that never waits) or in a subprocess
(``run_process``: for what needs a real process — exit codes of the console script, broken
pipes, signals, a stdin that is a real file descriptor, which modules a start-up loads)."""

from __future__ import annotations

import atexit
import functools
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from chatcli.environment import Clock, Environment, ManualClock
from tests.fakes import DEFAULT_API_KEY, FakeOpenAI

_STRIP = ("OPENAI_", "AZURE_OPENAI_", "CHATCLI_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


TODAY = "2026-12-05"
"""The day retirement notices count from in tests (``CHATCLI_TODAY``), so a test's stderr does
not change as OpenAI's shutdown dates come closer."""


@functools.cache
def _seed_database() -> Path:
    """One database per test process holding the price cache, built once and removed when
    the process ends."""
    from chatcli import price_catalog
    from chatcli.store import DB_NAME, caches

    folder = Path(tempfile.mkdtemp(prefix="chatcli-prices-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    key = json.dumps(price_catalog.package_key())
    text = price_catalog.to_text(price_catalog.build())
    caches.write(folder, price_catalog.CACHE_NAME, key, text)
    return folder / DB_NAME


def seed_prices(data_dir: Path) -> None:
    """Put a database holding the price cache into ``data_dir``, as a first run leaves it, so
    each chatcli the tests start does not rebuild the cache from the package (~0.5 s)."""
    from chatcli.store import DB_NAME

    target = data_dir / DB_NAME
    if target.exists():
        return
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(_seed_database(), target)
    target.chmod(0o600)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The parent environment minus anything that could leak a real key, config or proxy."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_STRIP)}
    env["CHATCLI_HOME"] = str(home / "data")
    seed_prices(home / "data")
    env["CHATCLI_TODAY"] = TODAY
    env["CHATCLI_CONFIG"] = str(home / "config.toml")
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def fake_env(home: Path, fake: FakeOpenAI, **extra: str) -> dict[str, str]:
    """Zero-config environment pointing the implicit ``openai`` profile at ``fake``."""
    settings = {"OPENAI_API_KEY": DEFAULT_API_KEY, "OPENAI_BASE_URL": fake.base_url, **extra}
    return clean_env(home, **settings)


class _Stream(io.TextIOWrapper):
    """A captured standard stream: UTF-8 text over bytes (``.buffer`` takes raw bytes)."""

    def __init__(self, data: bytes = b"") -> None:
        super().__init__(io.BytesIO(data), encoding="utf-8", errors="surrogateescape",
                         write_through=True)  # fmt: skip

    def text(self) -> str:
        self.flush()
        raw = self.buffer
        assert isinstance(raw, io.BytesIO)
        return raw.getvalue().decode("utf-8", "replace")


def run_cli(
    *args: str,
    env: dict[str, str],
    input: bytes | str | None = None,
    timeout: float = 30,
    clock: Clock | None = None,
    tty: bool = False,
    stderr_tty: bool | None = None,
) -> subprocess.CompletedProcess[str]:
    """``chatcli ARGS`` in this process: exactly ``env`` as the environment variables, stdin
    from ``input`` (empty, not a terminal, when None), stdout/stderr captured, and ``clock``
    (a ``ManualClock`` by default: retries and polling do not wait). ``tty``: the environment
    says stdout and stderr are terminals (what the output layer sanitises for); ``stderr_tty``
    sets stderr's apart (``chatcli ... | cat`` in a terminal). ``timeout`` is kept for the
    signature ``run_process`` shares; nothing here can hang on a terminal."""
    from chatcli.__main__ import run

    del timeout
    data = input.encode() if isinstance(input, str) else (input or b"")
    stdin, stdout, stderr = _Stream(data), _Stream(), _Stream()
    err_tty = tty if stderr_tty is None else stderr_tty
    environment = Environment(stdin, stdout, stderr, stdout_isatty=tty, stderr_isatty=err_tty,
                              clock=clock or ManualClock())  # fmt: skip
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        code: int = run(list(args), environment)
    except SystemExit as exc:  # nothing in chatcli should exit the interpreter; report it
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(list(args), code, stdout.text(), stderr.text())


def run_process(
    *args: str,
    env: dict[str, str],
    input: bytes | str | None = None,
    timeout: float = 30,
) -> subprocess.CompletedProcess[str]:
    """``python -m chatcli ARGS`` in a subprocess with stdin from ``input`` (empty, not a TTY,
    when None)."""
    data = input.encode() if isinstance(input, str) else input
    proc = subprocess.run(
        chatcli_argv(*args),
        input=data if data is not None else b"",
        capture_output=True,
        env=env,
        timeout=timeout,
    )
    return subprocess.CompletedProcess(
        proc.args,
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


_RESET = (signal.SIGINT, signal.SIGHUP)
_SIGNALS_DEFAULT = (
    "import os, signal, sys\n"
    f"for s in {[int(s) for s in _RESET]}: signal.signal(s, signal.SIG_DFL)\n"
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


def chatcli_argv(*args: str) -> list[str]:
    """The command line of a real ``chatcli`` process that honours Ctrl-C."""
    return python_argv("-m", "chatcli", *args)


def python_argv(*args: str) -> list[str]:
    """``python ARGS`` such that the program gets Ctrl-C (SIGINT) as a KeyboardInterrupt and
    a hangup as chatcli handles it.

    A process started in the background by a non-interactive shell (``pytest ... &`` in a
    script, some CI runners) inherits SIGINT *ignored* (``nohup``: SIGHUP too), and Python then
    installs no KeyboardInterrupt handler: a test's SIGINT is silently lost (the cause of the
    Ctrl-C test's rare failures). Then the program is started through a tiny launcher that
    resets those signals to their defaults before it execs Python."""
    if any(signal.getsignal(s) is signal.SIG_IGN for s in _RESET):
        return [sys.executable, "-S", "-c", _SIGNALS_DEFAULT, *args]
    return [sys.executable, *args]


def json_documents(text: str) -> list[Any]:
    """The JSON values printed one after another in ``text`` (a REPL's or a command's
    output of several structured answers)."""
    found, at, decoder = [], 0, json.JSONDecoder()
    while text[at:].strip():
        at += len(text[at:]) - len(text[at:].lstrip())
        value, at = decoder.raw_decode(text, at)
        found.append(value)
    return found
