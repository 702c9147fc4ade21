"""The REPL's resume preview and /history note a turn's images as `sessions show` does."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatcli.settings.resolve import ChatFlags
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, make_png
from tests.test_repl import Chat


def test_resume_preview_and_history_note_images(
    tmp_path: Path, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = fake_env(tmp_path, fake)
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(make_png())
    run_cli("ask", "--session", "pics", "-f", str(tmp_path / "a.png"),
            "-f", str(tmp_path / "b.png"), "what are these", env=env)  # fmt: skip
    run_cli("ask", "--session", "pics", "plain words", env=env)
    chat = Chat(tmp_path, fake, monkeypatch)
    chat.run("/history\r", opts=ChatFlags(session="pics"))
    lines = chat.err.getvalue().splitlines()
    assert "  you › what are these [2 images attached]" in lines, lines
    assert "  you › plain words" in lines
    assert "    1 you › what are these [2 images attached]" in lines
    assert "    2 you › plain words" in lines
