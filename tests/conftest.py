"""Shared pytest fixtures. Keep generic; feature-specific fixtures go beside their tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeOpenAI


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
    monkeypatch.setenv("CHATCLI_CONFIG", str(tmp_path / "chatcli-config.toml"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
