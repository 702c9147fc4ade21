"""Run the real CLI entry point (``chatcli.__main__.run``) inside the test process.

A subprocess per case costs Python start-up plus, for commands built on the openai SDK, about a
second of import; parsing, the error funnel and exit codes are the same in-process. Tests that
must see a real process (stdout/stderr file descriptors, environment-driven plugin discovery)
keep ``tests.cli_helpers.run_cli``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

import pytest

from chatcli.__main__ import run

Run = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """``cli(*args, env=...)``: run with exactly ``env`` as the environment; stdout/stderr
    captured, like ``run_cli`` returns them."""

    def invoke(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        for key in list(os.environ):
            monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        code = run(list(args))
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)

    return invoke
