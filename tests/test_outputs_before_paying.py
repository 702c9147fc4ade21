"""Where a paid result goes is settled before it is paid for: ``speak -o`` and a single-input
``transcribe -o`` make the missing folders of FILE first (as ``image -o`` and ``transcribe -o
DIR`` do), refuse a directory before any request, and ``speak`` on a terminal refuses at once
when nothing can play the audio."""

from __future__ import annotations

from pathlib import Path

from chatcli.store import Store
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, make_wav


def _paid(tmp_path: Path) -> int:
    with Store.open(tmp_path / "data") as store:
        return len(store.usage_rows())


def test_speak_makes_the_missing_folders_of_its_file(fake: FakeOpenAI, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "hello.mp3"
    result = run_cli("speak", "hello", "-o", str(target), env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert target.stat().st_size > 0 and f"wrote {target}" in result.stderr


def test_speak_to_a_directory_is_refused_before_the_request(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    result = run_cli("speak", "hello", "-o", str(tmp_path), env=fake_env(tmp_path, fake))
    assert result.returncode == 2
    assert result.stderr.startswith(f"chatcli: error: -o {tmp_path} is a directory")
    assert fake.requests == [] and _paid(tmp_path) == 0


def test_speak_on_a_terminal_without_a_player_is_refused_before_the_request(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake, PATH=str(tmp_path / "empty-path"))
    result = run_cli("speak", "hello", env=env, tty=True)
    assert result.returncode == 2
    assert "no audio player found" in result.stderr
    assert fake.requests == [] and _paid(tmp_path) == 0


def test_transcribe_makes_the_missing_folders_and_refuses_a_directory(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    audio = tmp_path / "tone.wav"
    audio.write_bytes(make_wav(0.5))
    refused = run_cli("transcribe", str(audio), "-o", str(tmp_path), env=env)
    assert refused.returncode == 2 and "is a directory" in refused.stderr
    assert fake.uploads == [] and _paid(tmp_path) == 0
    target = tmp_path / "new" / "dir" / "tone.txt"
    result = run_cli("transcribe", str(audio), "-o", str(target), env=env)
    assert result.returncode == 0, result.stderr
    assert target.read_text() != "" and len(fake.uploads) == 1
