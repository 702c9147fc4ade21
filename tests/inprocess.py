"""The ``cli`` fixture: ``tests.cli_helpers.run_cli`` for tests that take it as a fixture.

``run_cli`` runs the real entry point (``chatcli.__main__.run``) in this process with an
injected ``Environment``; tests that need a real process use ``run_process``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from tests.cli_helpers import run_cli

Run = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def cli() -> Run:
    """``cli(*args, env=..., input=..., clock=...)``: see ``run_cli``."""
    return run_cli
