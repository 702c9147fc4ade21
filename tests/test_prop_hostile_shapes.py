"""Property over every command that talks to a server: with hypothesis-generated, spec-shaped
bodies on every route it uses (``tests.fakes.shapes``), no command ends in ``unexpected ...``
(exit 1, a bug). A clean error of any other kind, or success, is fine.

The real CLI in process against the fake, whose routes answer with ``Raw`` replies.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Raw
from tests.fakes import shapes as sh

EXAMPLES = int(os.environ.get("CHATCLI_FUZZ_EXAMPLES", "0")) or 25
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def check(result: subprocess.CompletedProcess[str]) -> None:
    assert "unexpected" not in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr


def _wav(tmp: Path) -> Path:
    from tests.fakes import make_wav

    path = tmp / "a.wav"
    if not path.exists():
        path.write_bytes(make_wav(0.5))
    return path


def _text(tmp: Path) -> Path:
    path = tmp / "notes.txt"
    path.write_text("Some notes to summarise.\n")
    return path


def _jsonl(tmp: Path) -> Path:
    path = tmp / "in.jsonl"
    path.write_text('{"id": "a", "prompt": "x"}\n{"id": "b", "prompt": "y"}\n')
    return path


# command -> (route, strategy of replies, arguments)
Case = tuple[str, st.SearchStrategy[Any], Callable[[Path], list[str]]]
stream = sh.sse_lines().map(lambda lines: Raw(lines=lines, content_type="text/event-stream"))
whole = sh.completion.map(lambda body: Raw(body=sh.dumps(body)))
either = st.one_of(stream, whole)
CASES: dict[str, Case] = {
    "ask": ("chat", either, lambda t: ["ask", "hi"]),
    "ask --no-stream": ("chat", either, lambda t: ["ask", "--no-stream", "hi"]),
    "ask --json -x": ("chat", either, lambda t: ["ask", "--json", "-x", "hi"]),
    "summarize": ("chat", either, lambda t: ["summarize", str(_text(t)), "--yes"]),
    "cmd": ("chat", either, lambda t: ["cmd", "list", "files"]),
    "verify": ("chat", either, lambda t: ["verify"]),
    "doctor": ("models", sh.model_list.map(lambda b: Raw(body=sh.dumps(b))), lambda t: ["doctor"]),
    "models": ("models", sh.model_list.map(lambda b: Raw(body=sh.dumps(b))), lambda t: ["models"]),
    "transcribe": (
        "audio",
        st.one_of(
            sh.transcript.map(lambda b: Raw(body=sh.dumps(b))),
            sh.text.map(lambda b: Raw(body=b, content_type="text/plain")),
        ),
        lambda t: ["transcribe", str(_wav(t)), "--format", "verbose_json"],
    ),
    "transcribe srt": (
        "audio",
        sh.text.map(lambda b: Raw(body=b, content_type="text/plain")),
        lambda t: ["transcribe", str(_wav(t)), "--format", "srt"],
    ),
    "image": (
        "images",
        sh.images.map(lambda b: Raw(body=sh.dumps(b))),
        lambda t: ["image", "a fox", "-o", str(t / "img")],
    ),
    "speak": (
        "speech",
        st.binary(max_size=64).map(lambda b: Raw(body_hex=b.hex(), content_type="audio/mpeg")),
        lambda t: ["speak", "hello", "-o", str(t / "out.mp3")],
    ),
    "batch submit --local": (
        "chat",
        either,
        lambda t: ["batch", "submit", str(_jsonl(t)), "--local", "--yes", "--new"],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_command_ends_in_unexpected(fake: FakeOpenAI, tmp_path: Path, name: str) -> None:
    route, replies, argv = CASES[name]

    @SETTINGS
    @given(reply=replies)
    def run(reply: Raw) -> None:
        fake.reset()
        fake.script(*[reply] * 12, route=route)
        env = fake_env(tmp_path, fake)
        check(run_cli(*argv(tmp_path), env=env))
        if name == "ask":  # what the store now holds is read back safely too
            for args in (["sessions", "list"], ["usage", "--by", "model"], ["batch", "list"]):
                check(run_cli(*args, env=env))

    run()


@SETTINGS
@given(billing=sh.billing)
def test_balance_never_ends_in_unexpected(
    fake: FakeOpenAI, tmp_path: Path, billing: dict[str, Any]
) -> None:
    fake.billing = billing
    check(run_cli("balance", env=fake_env(tmp_path, fake)))
