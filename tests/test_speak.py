"""``chatcli speak``: text to speech through /audio/speech, to a file or a pipe."""

from __future__ import annotations

import io
import subprocess
import wave
from pathlib import Path

import pytest

from tests.cli_helpers import chatcli_argv, fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply
from tests.fakes.speech import MAGIC


def test_text_to_file_with_voice_format_and_model(fake: FakeOpenAI, tmp_path: Path) -> None:
    out = tmp_path / "hi.opus"
    args = ["speak", "Hello", "there", "--voice", "nova", "--format", "opus", "-o", str(out)]
    result = run_cli(*args, "-m", "tts-1-hd", env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == MAGIC["opus"][0] + b"Hello there"
    (request,) = fake.requests
    assert request.path == "/v1/audio/speech"
    assert request.json == {
        "model": "tts-1-hd",
        "input": "Hello there",
        "voice": "nova",
        "response_format": "opus",
    }
    assert f"wrote {out}" in result.stderr
    from chatcli.store import Store

    with Store.open(tmp_path / "data") as store:
        (row,) = store.usage_rows()
    assert row.cost_usd == pytest.approx(len("Hello there") * 30 / 1e6)  # tts-1-hd: $30 per 1M


def test_ask_piped_into_speak_writes_audio_to_the_pipe(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.default_reply = Reply(text="The answer is 42.")
    env = fake_env(tmp_path, fake)
    answer = run_cli("ask", "question", env=env)
    assert answer.returncode == 0, answer.stderr
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "chatcli", "speak", "--format", "wav"],
        input=answer.stdout.encode(), capture_output=True, env=env, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with wave.open(io.BytesIO(proc.stdout)) as w:
        assert w.getnframes() == 80 * len("The answer is 42.")
    assert fake.requests[-1].json["input"] == "The answer is 42."
    assert fake.requests[-1].json["model"] == "gpt-4o-mini-tts"
    from chatcli.store import Store

    with Store.open(tmp_path / "data") as store:
        row = store.usage_rows()[-1]
    seconds = 80 * len("The answer is 42.") / 8_000  # the fake's WAV: 10 ms a character
    assert row.command == "speak"
    assert row.cost_usd == pytest.approx(seconds / 60 * 0.015)


def test_empty_or_too_long_text_refused(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    empty = run_cli("speak", "-", env=env, input="  \n")
    long = run_cli("speak", env=env, input="word " * 1000)
    bad = run_cli("speak", "hi", "--format", "ogg", env=env)
    assert empty.returncode == long.returncode == bad.returncode == 2
    assert "nothing to say: the text is empty" in empty.stderr
    assert "/audio/speech takes at most 4096" in long.stderr
    assert "'ogg' is not one of 'mp3', 'opus', 'aac', 'flac', 'wav'" in bad.stderr
    assert fake.requests == []


def test_speak_reads_a_pipe_bounded_and_says_what_it_reads(
    tmp_path: Path, fake: FakeOpenAI
) -> None:
    """``speak < /dev/zero`` must stop reading at its bound, not fill the memory."""
    env = fake_env(tmp_path, fake)
    with open("/dev/zero", "rb") as zero:
        endless = subprocess.run(chatcli_argv("speak", "-o", str(tmp_path / "x.mp3")),
                                 stdin=zero, capture_output=True, env=env, timeout=60)  # fmt: skip
    assert endless.returncode == 2
    assert b"piped input is larger than 1 MiB" in endless.stderr
    binary = run_cli("speak", "-o", str(tmp_path / "y.mp3"), env=env, input=b"\x00\x01\x02" * 50)
    assert binary.returncode == 2 and "hint: chatcli speak reads text" in binary.stderr
    empty_voice = run_cli("speak", "hi", "--voice", " ", "-o", str(tmp_path / "z.mp3"), env=env)
    assert empty_voice.returncode == 2 and "--voice is empty" in empty_voice.stderr
    assert fake.requests == []
