"""Shared pytest fixtures. Keep generic; feature-specific fixtures go beside their tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes import FakeOpenAI


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    """A started fake OpenAI server on 127.0.0.1 (key ``tests.fakes.DEFAULT_API_KEY``)."""
    with FakeOpenAI() as server:
        yield server
