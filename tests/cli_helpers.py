"""Run the real ``chatcli`` in a subprocess with an isolated environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes import DEFAULT_API_KEY, FakeOpenAI

_STRIP = ("OPENAI_", "AZURE_OPENAI_", "CHATCLI_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The parent environment minus anything that could leak a real key, config or proxy."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_STRIP)}
    env["CHATCLI_HOME"] = str(home / "data")
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
