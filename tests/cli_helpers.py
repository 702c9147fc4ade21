"""Run the real ``chatcli`` in a subprocess with an isolated environment."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.fakes import DEFAULT_API_KEY, FakeOpenAI

_STRIP = ("OPENAI_", "AZURE_OPENAI_", "CHATCLI_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


TODAY = "2026-12-05"
"""The day retirement notices count from in tests (``CHATCLI_TODAY``), so a test's stderr does
not change as OpenAI's shutdown dates come closer."""


@functools.cache
def _prices_file() -> Path:
    from chatcli import price_catalog

    path = Path(tempfile.mkdtemp(prefix="chatcli-prices-")) / "prices.json"
    price_catalog.write_cache(path)
    return path


def seed_prices(data_dir: Path) -> None:
    """Put the price cache into ``data_dir``, as a first run leaves it, so each chatcli the
    tests start does not rebuild it from the package (~0.5 s)."""
    if not (data_dir / "prices.json").exists():
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copyfile(_prices_file(), data_dir / "prices.json")


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


def run_cli(
    *args: str,
    env: dict[str, str],
    input: bytes | str | None = None,
    timeout: float = 30,
) -> subprocess.CompletedProcess[str]:
    """``python -m chatcli ARGS`` with stdin from ``input`` (empty, not a TTY, when None)."""
    data = input.encode() if isinstance(input, str) else input
    proc = subprocess.run(
        [sys.executable, "-m", "chatcli", *args],
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
