"""Shared pytest fixtures. Keep generic; feature-specific fixtures go beside their tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import scheduling
from tests.bytecode import keep_bytecode
from tests.cli_helpers import TODAY, seed_prices
from tests.fakes import FakeControl, FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent

keep_bytecode()  # before the test modules are imported (see tests/bytecode.py)

# hypothesis's plugin is loaded from here, not from its entry point (turned off in pyproject):
# pytest rewrites the asserts of every module of a plugin's package, and only modules imported
# after ``keep_bytecode`` can keep the rewritten code; otherwise each test process rewrites
# sixty hypothesis modules again (half a second) when PYTHONDONTWRITEBYTECODE is set.
pytest_plugins = ["_hypothesis_pytestplugin"]


_MEMORY = Path("/dev/shm")
_ROOM = 2 << 30  # free bytes it must have: some tests write files of tens of megabytes
_IN_MEMORY = pytest.StashKey[Path]()
_GREEN = pytest.StashKey[bool]()


@pytest.hookimpl(tryfirst=True)  # before the tmp_path plugin reads the option
def pytest_configure(config: pytest.Config) -> None:
    _hypothesis_profile()
    _files_in_memory(config)


def _hypothesis_profile() -> None:
    """Property tests are judged on what they find, never on how fast an example ran: a loaded
    machine (or four xdist workers on two cores) must not fail them on hypothesis's deadline.
    Examples per property: hypothesis's default 100, or CHATCLI_FUZZ_EXAMPLES for more."""
    from hypothesis import settings

    examples = int(os.environ.get("CHATCLI_FUZZ_EXAMPLES") or 100)
    settings.register_profile("chatcli", deadline=None, max_examples=examples)
    settings.load_profile("chatcli")


def _files_in_memory(config: pytest.Config) -> None:
    """Test files in memory when the machine has a tmpfs: each test writes a data dir, a
    database and logs, and on a virtual disk creating and removing them costs more CPU than
    many tests themselves. ``tmp_path`` lives there and so does every other temporary file
    (``TMPDIR``, inherited by the xdist workers and the programs tests start). Removed at the
    end of a green run; kept (and named) otherwise. ``--basetemp`` still chooses."""
    if config.option.basetemp is not None or hasattr(config, "workerinput"):
        return
    if not (_MEMORY.is_dir() and os.access(_MEMORY, os.W_OK | os.X_OK)):
        return
    room = os.statvfs(_MEMORY)
    if room.f_bavail * room.f_frsize < _ROOM:  # a container's 64 MB /dev/shm: stay on disk
        return
    folder = Path(tempfile.mkdtemp(prefix="chatcli-tests-", dir=_MEMORY))
    (folder / "tmp").mkdir()
    os.environ["TMPDIR"] = tempfile.tempdir = str(folder / "tmp")
    config.option.basetemp = str(folder / "pytest")
    config.stash[_IN_MEMORY] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_IN_MEMORY, None)
    if folder is None:
        return
    if config.stash.get(_GREEN, False):
        shutil.rmtree(folder, ignore_errors=True)
    elif folder.exists():
        sys.stderr.write(f"test files kept in {folder}\n")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_GREEN] = exitstatus == 0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tiers first (see tests/scheduling.py)."""
    scheduling.order(items)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: as many workers as the tiers chosen keep busy (see tests/scheduling.py)."""
    return scheduling.workers(config)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """One test at a time to whichever xdist worker is free (see tests/scheduling.py)."""
    return scheduling.make_scheduler(config, log)


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """A started fake OpenAI server on 127.0.0.1 (key ``tests.fakes.DEFAULT_API_KEY``)."""
    with FakeOpenAI() as server:
        yield server


_ISOLATE = ("OPENAI_", "AZURE_", "CHATCLI_")
_PROXY_AND_COLOUR = (
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "NO_COLOR", "FORCE_COLOR",
    "CLICOLOR", "CLICOLOR_FORCE", "COLUMNS", "LINES", "VISUAL", "EDITOR",
)  # fmt: skip


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's keys, profile, proxy or colour settings: every variable
    chatcli reads is cleared, and config and data point into the test's temporary directory."""
    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith(_ISOLATE) or upper in _PROXY_AND_COLOUR:
            monkeypatch.delenv(name)
    monkeypatch.setenv("CHATCLI_HOME", str(tmp_path / "chatcli-data"))
    seed_prices(tmp_path / "chatcli-data")
    monkeypatch.setenv("CHATCLI_TODAY", TODAY)
    monkeypatch.setenv("CHATCLI_CONFIG", str(tmp_path / "chatcli-config.toml"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="session")
def fake_process() -> Iterator[str]:
    """The fake server in its own process, one per test process (for programs run in tmux or
    screen, which cannot share this process); yields its base URL. Tests take ``server``."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def server(fake_process: str) -> str:
    """The base URL of the out-of-process fake, reset for this test (nothing queued, nothing
    recorded, no ``hurry``)."""
    FakeControl(fake_process).reset()
    return fake_process


@pytest.fixture
def control(server: str) -> FakeControl:
    """The out-of-process fake, reset for this test, driven over HTTP."""
    return FakeControl(server)
