"""``transcribe`` of video and other containers (audio extracted by ffmpeg), several files per
run, long audio cut in silences, and models that only give json/text."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from chatcli.features.transcribe.silence import OVERLAP, plan
from chatcli.features.transcribe.subtitles import join
from tests.cli_helpers import fake_env, run_cli
from tests.fakes import FakeOpenAI

pytestmark = pytest.mark.external  # ffmpeg makes the media

BURST, PERIOD = 5.3, 7.0
"""The generated speech: a tone for 5.3 s, then 1.7 s of silence, over and over."""


def ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    assert path is not None, "ffmpeg is needed for this test: apt-get install ffmpeg"
    return path


def make(path: Path, *args: str) -> Path:
    subprocess.run([ffmpeg(), "-v", "error", "-nostdin", "-y", *args, str(path)], check=True)
    return path


def test_video_has_its_audio_extracted_and_sized_by_the_audio(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    video = make(
        tmp_path / "talk.mkv",
        "-f", "lavfi", "-i", "testsrc=d=3:s=320x240:r=25",
        "-f", "lavfi", "-i", "sine=f=440:d=3",
        "-c:v", "mpeg4", "-q:v", "2", "-c:a", "aac", "-shortest",
    )  # fmt: skip
    # the limit is below the video's size but above its audio's: no split
    limit = video.stat().st_size // 2
    env = fake_env(tmp_path, fake, CHATCLI_UPLOAD_LIMIT=str(limit))
    result = run_cli("transcribe", str(video), env=env)
    assert result.returncode == 0, result.stderr
    (upload,) = fake.uploads
    assert upload.filename == "talk.mp3"
    assert upload.size < 30_000 < limit
    assert upload.data[:3] == b"ID3" or upload.data[0] == 0xFF
    assert result.stdout == f"transcript of talk.mp3 ({upload.size} bytes)\n"
    assert "extracted the audio track" in result.stderr


def test_audio_in_a_container_the_api_refuses_is_converted(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    aac = make(tmp_path / "memo.aac", "-f", "lavfi", "-i", "sine=f=300:d=2", "-c:a", "aac")
    result = run_cli("transcribe", str(aac), env=fake_env(tmp_path, fake))
    assert result.returncode == 0, result.stderr
    assert [u.filename for u in fake.uploads] == ["memo.mp3"]


def test_thirty_minutes_cut_in_silences(fake: FakeOpenAI, tmp_path: Path) -> None:
    talk = make(
        tmp_path / "talk.mp3",
        "-f", "lavfi", "-i", "sine=f=300:r=8000:d=1800",
        "-af", f"volume='if(lt(mod(t,{PERIOD}),{BURST}),1,0)':eval=frame",
        "-ac", "1", "-c:a", "libmp3lame", "-b:a", "8k",
    )  # fmt: skip
    size = talk.stat().st_size
    limit = size // 4
    env = fake_env(tmp_path, fake, CHATCLI_UPLOAD_LIMIT=str(limit))
    result = run_cli("transcribe", str(talk), "--format", "verbose_json", env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(fake.uploads) >= 5
    assert all(u.size <= limit for u in fake.uploads)
    starts = [s["start"] for s in json.loads(result.stdout)["segments"]]
    assert starts[0] == 0 and starts == sorted(starts) and len(starts) == len(fake.uploads)
    for start in starts[1:]:  # every cut lies in a pause, none inside a tone
        assert start % PERIOD > BURST, (start, starts)


def test_plan_overlaps_where_no_silence_is_near_and_join_drops_the_repeat() -> None:
    spans = plan(100.0, 40.0, [(30.0, 31.0)])
    assert spans[0].start == 0.0 and spans[0].end == pytest.approx(30.9)
    assert spans[1].at_silence
    late = plan(100.0, 40.0, [])  # no silence at all: even cuts, each next piece overlapping
    assert [round(s.end, 3) for s in late] == [33.333, 66.667, 100.0]
    assert late[1].start == pytest.approx(late[0].end - OVERLAP)
    assert all(s.end - s.start <= 40.0 for s in late)
    texts = ["we met on monday and agreed", "and agreed to ship in May"]
    assert join("text", texts, [0.0, 33.0], [0.0, 33.5]) == (
        "we met on monday and agreed\nto ship in May\n"
    )
    srt = [
        "1\n00:00:00,000 --> 00:00:33,300\nfirst\n",
        "1\n00:00:00,000 --> 00:00:00,400\nrepeat\n\n2\n00:00:00,400 --> 00:00:05,000\nnext\n",
    ]
    assert join("srt", srt, [0.0, 33.0], [0.0, 33.5]) == (
        "1\n00:00:00,000 --> 00:00:33,300\nfirst\n\n2\n00:00:33,400 --> 00:00:38,000\nnext\n\n"
    )


def test_several_files_one_missing(fake: FakeOpenAI, tmp_path: Path) -> None:
    one = make(tmp_path / "one.flac", "-f", "lavfi", "-i", "sine=d=1", "-c:a", "flac")
    two = make(tmp_path / "two.ogg", "-f", "lavfi", "-i", "sine=d=1", "-c:a", "libopus")
    out = tmp_path / "out"
    args = ["transcribe", str(one), str(tmp_path / "gone.mp3"), str(two), "-o", str(out)]
    result = run_cli(*args, "--format", "json", env=fake_env(tmp_path, fake))
    assert result.returncode == 2
    assert sorted(p.name for p in out.iterdir()) == ["one.json", "two.json"]
    assert json.loads((out / "two.json").read_text())["text"].startswith("transcript of two.ogg")
    assert f"{tmp_path / 'gone.mp3'}: failed: no such file" in result.stderr
    assert "chatcli: error: 1 of 3 inputs failed" in result.stderr


def test_several_files_concurrently_in_order_and_skipped_when_done(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """Inputs go up at the same time; stdout keeps input order; -o DIR skips the transcripts
    that exist (a re-run after a failure redoes only what is missing) unless --force."""
    names = ["a.flac", "b.flac", "c.flac"]
    files = [
        str(make(tmp_path / n, "-f", "lavfi", "-i", f"sine=d={d}", "-c:a", "flac"))
        for n, d in zip(names, (3, 1, 2), strict=True)
    ]
    env = fake_env(tmp_path, fake)
    shown = run_cli("transcribe", *files, "--concurrency", "3", env=env)
    assert shown.returncode == 0, shown.stderr
    headings = [line for line in shown.stdout.splitlines() if line.startswith("# ")]
    assert headings == [f"# {f}" for f in files]
    assert shown.stderr.count(": done (") == 3
    out = tmp_path / "out"
    (out).mkdir()
    (out / "b.txt").write_text("kept\n")
    first = run_cli("transcribe", *files, "-o", str(out), env=env)
    assert first.returncode == 0, first.stderr
    assert f"{files[1]}: skipped" in first.stderr and (out / "b.txt").read_text() == "kept\n"
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt", "c.txt"]
    uploads = len(fake.uploads)
    again = run_cli("transcribe", *files, "-o", str(out), env=env)
    assert again.returncode == 0 and len(fake.uploads) == uploads  # nothing left to do
    forced = run_cli("transcribe", *files, "-o", str(out), "--force", env=env)
    assert forced.returncode == 0 and len(fake.uploads) == uploads + 3
    assert (out / "b.txt").read_text().startswith("transcript of b.flac")


@pytest.mark.parametrize("fmt", ["srt", "vtt", "verbose_json"])
def test_text_only_models_refuse_timed_formats_before_upload(
    fake: FakeOpenAI, tmp_path: Path, fmt: str
) -> None:
    audio = make(tmp_path / "a.flac", "-f", "lavfi", "-i", "sine=d=1", "-c:a", "flac")
    env = fake_env(tmp_path, fake)
    result = run_cli("transcribe", str(audio), "-m", "gpt-4o-mini-transcribe", "--format", fmt,
                     env=env)  # fmt: skip
    assert result.returncode == 2
    assert f"gpt-4o-mini-transcribe gives only json or text transcripts, not {fmt}" in (
        result.stderr
    )
    assert "hint: use -m whisper-1" in result.stderr
    assert fake.requests == []
