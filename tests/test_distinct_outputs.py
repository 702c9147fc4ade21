"""Two inputs that would write the same output file get distinct files: never one paid result
overwriting another (``transcribe a/talk.wav b/talk.wav -o DIR``, ``talk.mp3`` and
``talk.wav``, ``summarize`` likewise), and a re-run finds each input's file again."""

from __future__ import annotations

import json
from pathlib import Path

from chatcli.features.outputs import unique_stems
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI, Reply, make_wav


def test_unique_stems_in_input_order() -> None:
    assert unique_stems(["talk", "talk", "Talk", "talk-2", "x"], taken={"combined"}) == [
        "talk", "talk-2", "Talk-3", "talk-2-2", "x",
    ]  # fmt: skip
    assert unique_stems(["combined"], taken={"combined"}) == ["combined-2"]


def test_transcribe_same_names_in_two_folders_and_two_formats(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    inputs = [tmp_path / "a" / "talk.wav", tmp_path / "b" / "talk.wav", tmp_path / "talk.mp3"]
    for i, path in enumerate(inputs):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(make_wav(1.0 + i))  # different lengths: different transcripts
    inputs[2].write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 400)
    out = tmp_path / "out"
    env = fake_env(tmp_path, fake)
    args = ["transcribe", *map(str, inputs), "-o", str(out), "--format", "json",
            "--concurrency", "1"]  # fmt: skip
    result = run_cli(*args, env=env)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["talk-2.json", "talk-3.json", "talk.json"]
    texts = {p.name: json.loads(p.read_text())["text"] for p in out.iterdir()}
    assert len(set(texts.values())) == 3  # three paid results, three files
    sizes = [u.size for u in fake.uploads]
    assert texts["talk.json"] == f"transcript of talk.wav ({sizes[0]} bytes)"
    assert texts["talk-2.json"] == f"transcript of talk.wav ({sizes[1]} bytes)"
    assert texts["talk-3.json"].startswith("transcript of talk.mp3")
    uploads = len(fake.uploads)
    again = run_cli(*args, env=env)  # a re-run finds each file and pays for nothing
    assert again.returncode == 0, again.stderr
    assert len(fake.uploads) == uploads
    assert again.stderr.count("skipped") == 3


def test_transcribe_the_same_file_twice_is_sent_once(fake: FakeOpenAI, tmp_path: Path) -> None:
    talk = tmp_path / "talk.wav"
    talk.write_bytes(make_wav(1.0))
    out = tmp_path / "out"
    result = run_cli(
        "transcribe", str(talk), str(talk), "-o", str(out), env=fake_env(tmp_path, fake)
    )
    assert result.returncode == 0, result.stderr
    assert [p.name for p in out.iterdir()] == ["talk.txt"]
    assert len(fake.uploads) == 1


def test_summarize_same_names_get_distinct_files(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.default_reply = Reply(text=None)  # echo: each summary names its input
    inputs = [tmp_path / "a" / "talk.txt", tmp_path / "b" / "talk.txt", tmp_path / "talk.md"]
    for i, path in enumerate(inputs):
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"text number {i}\n")
    out = tmp_path / "out"
    args = ["summarize", *map(str, inputs), "-o", str(out), "--concurrency", "1"]
    result = run_cli(*args, env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["talk-2.md", "talk-3.md", "talk.md"]
    assert "text number 0" in (out / "talk.md").read_text()
    assert "text number 1" in (out / "talk-2.md").read_text()
    assert "text number 2" in (out / "talk-3.md").read_text()
