"""Audit 10, area media: a paid image, speech or transcript is never lost to a write that fails
(a full disk, a read-only disk, ``/proc``) and never left truncated under its final name, and
the same command again takes it without paying; ``transcribe`` reads videos from their files
(no copy in memory or in ``$TMPDIR``); subtitle times after a split are where each piece
really starts; a read-only ``-o`` is named as such; ``image --edit`` checks its mask and the
gpt-image input limit before sending. Real processes, real mounts (``tests.mounts``), the fake
server."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from chatcli.store import Store
from tests.cli_helpers import fake_env, run_cli, run_process
from tests.fakes import FakeOpenAI, make_png, make_wav
from tests.mounts import fill, read_only, tmpfs

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="needs ffmpeg")


def _rows(tmp_path: Path, command: str) -> list[str]:
    with Store.open(tmp_path / "data") as store:
        return [r.status for r in store.usage_rows() if r.command == command]


def _error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("chatcli: error:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr, stderr
    return lines[0]


def _leftovers(folder: Path) -> list[str]:
    """Files in ``folder`` other than the filler: a truncated output or a temporary file."""
    return sorted(p.name for p in folder.iterdir() if p.name != "filler")


def _ffmpeg(*args: str) -> None:
    assert FFMPEG is not None
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], check=True, timeout=120)


# --- 1: paid output kept when the write fails ------------------------------------------------


def test_image_on_a_full_disk_leaves_no_truncated_png_and_a_rerun_pays_nothing(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    with tmpfs(tmp_path / "small", size="256k") as small:
        filler = fill(small, leave=12 * 1024)  # room for one 1024x1024 image (8 KiB), not two
        args = ("image", "a red fox", "-n", "2", "--size", "1024x1024", "-o", str(small))
        first = run_cli(*args, env=env)
        assert first.returncode == 1, first.stderr
        message = _error(first.stderr)
        assert "No space left on device" in message
        assert "the image not saved is kept: the same command again saves it" in message
        assert str(tmp_path / "data" / "chatcli.db") in message
        (saved,) = [Path(line) for line in first.stdout.splitlines()]
        assert saved.read_bytes() == make_png(1024, 1024)  # the one that fitted, whole
        assert _leftovers(small) == [saved.name]  # no truncated second PNG, no temporary file
        assert len(fake.requests) == 1 and _rows(tmp_path, "image") == ["ok"]

        filler.unlink()
        again = run_cli(*args, env=env)
        assert again.returncode == 0, again.stderr
        assert "1 image an earlier run paid for but could not save" in again.stderr
        (rest,) = [Path(line) for line in again.stdout.splitlines()]
        assert rest.read_bytes() == make_png(1024, 1024) and rest != saved
        assert len(fake.requests) == 1 and _rows(tmp_path, "image") == ["ok"]  # nothing paid

        third = run_cli(*args, env=env)  # the kept one was used up: a new request
        assert third.returncode == 0, third.stderr
        assert len(fake.requests) == 2 and len(third.stdout.splitlines()) == 2


def test_speak_on_a_full_disk_keeps_the_audio_for_the_same_command(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    text = "word " * 200
    with tmpfs(tmp_path / "small", size="256k") as small:
        filler = fill(small)
        out = small / "s.wav"
        first = run_cli("speak", text, "--format", "wav", "-o", str(out), env=env)
        assert first.returncode == 1, first.stderr
        message = _error(first.stderr)
        assert f"cannot write {out}: No space left on device" in message
        assert "the audio is kept: the same command again writes it without sending" in message
        assert _leftovers(small) == []
        assert len(fake.requests) == 1 and _rows(tmp_path, "speak") == ["ok"]

        filler.unlink()
        elsewhere = tmp_path / "elsewhere.wav"  # another -o takes it too
        again = run_cli("speak", text, "--format", "wav", "-o", str(elsewhere), env=env)
        assert again.returncode == 0, again.stderr
        assert "nothing sent" in again.stderr
        assert len(fake.requests) == 1 and _rows(tmp_path, "speak") == ["ok"]
        assert elsewhere.read_bytes()[:4] == b"RIFF" and len(elsewhere.read_bytes()) > 60_000


def test_transcribe_on_a_full_disk_keeps_the_transcript_for_the_same_command(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    talk = tmp_path / "talk.wav"
    talk.write_bytes(make_wav(1.0))
    with tmpfs(tmp_path / "small", size="64k") as small:
        filler = fill(small)
        out = small / "t.srt"
        args = ("transcribe", str(talk), "--format", "srt", "-o", str(out))
        first = run_cli(*args, env=env)
        assert first.returncode == 1, first.stderr
        message = _error(first.stderr)
        assert f"cannot write {out}: No space left on device" in message
        assert "the transcript is kept: the same command again writes it" in message
        assert _leftovers(small) == []
        assert len(fake.uploads) == 1

        filler.unlink()
        again = run_cli(*args, env=env)
        assert again.returncode == 0, again.stderr
        assert "nothing uploaded" in again.stderr
        assert len(fake.uploads) == 1 and _rows(tmp_path, "transcribe") == ["ok"]
        assert "transcript of talk.wav" in out.read_text()
        third = run_cli(*args, env=env)  # delivered: nothing kept any more
        assert third.returncode == 0 and len(fake.uploads) == 2, third.stderr


def test_transcribe_several_into_a_full_folder_keeps_each_for_the_rerun(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    names = []
    for i, seconds in enumerate((0.5, 0.7)):
        path = tmp_path / f"in{i}.wav"
        path.write_bytes(make_wav(seconds))
        names.append(str(path))
    with tmpfs(tmp_path / "small", size="64k") as small:
        filler = fill(small)
        first = run_cli("transcribe", *names, "-o", str(small), env=env)
        assert first.returncode == 1, first.stderr
        assert first.stderr.count("the transcript is kept") == 2, first.stderr
        assert _leftovers(small) == [] and len(fake.uploads) == 2
        filler.unlink()
        again = run_cli("transcribe", *names, "-o", str(small), env=env)
        assert again.returncode == 0, again.stderr
        assert len(fake.uploads) == 2
        assert sorted(p.name for p in small.iterdir()) == ["in0.txt", "in1.txt"]


@pytest.mark.skipif(not Path("/proc/sys").is_dir(), reason="no /proc here")
@pytest.mark.parametrize(
    "args",
    [
        ("transcribe", "TALK", "-o", "/proc/chatcli-x.txt"),
        ("speak", "hello", "-o", "/proc/chatcli-x.mp3"),
        ("image", "a cat", "-o", "/proc"),
    ],
)
def test_a_target_os_access_calls_writable_but_is_not_is_refused_before_paying(
    fake: FakeOpenAI, tmp_path: Path, args: tuple[str, ...]
) -> None:
    """Root passes ``os.access`` on ``/proc`` (and on an NFS share that maps root to
    nobody): a file is made there first, so the refusal comes before the request."""
    talk = tmp_path / "talk.wav"
    talk.write_bytes(make_wav(0.5))
    argv = [str(talk) if a == "TALK" else a for a in args]
    result = run_cli(*argv, env=fake_env(tmp_path, fake))
    assert result.returncode == 2, result.stderr
    assert _error(result.stderr).startswith(f"chatcli: error: -o {argv[-1]}: ")
    assert fake.requests == []


def test_when_even_the_database_is_full_the_audio_is_saved_in_the_current_folder(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    with tmpfs(tmp_path / "mnt", size="2m") as mnt:
        env = fake_env(tmp_path, fake, CHATCLI_HOME=str(mnt / "data"))
        assert run_cli("usage", env=env).returncode == 0  # the database made
        filler = fill(mnt, leave=300 * 1024)  # the usage row fits; the kept audio does not
        try:
            out = mnt / "s.wav"
            text = "word " * 800
            proc = subprocess.run(
                [sys.executable, "-m", "chatcli", "speak", text, "--format", "wav",
                 "-o", str(out)],
                cwd=work, env=env, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
        finally:
            filler.unlink()
    assert proc.returncode == 1, proc.stderr
    message = _error(proc.stderr)
    match = re.search(r"it was saved to (chatcli-speech-\S+\.wav)", message)
    assert match, message
    kept = work / match.group(1)
    assert kept.read_bytes()[:4] == b"RIFF" and len(kept.read_bytes()) > 600_000


# --- 8: transcribe reads a video from its file -----------------------------------------------

_PEAK = (
    "import atexit, re, runpy, sys\n"
    "def peak():\n"
    "    status = open('/proc/self/status').read()\n"
    "    sys.stderr.write('PEAK %s\\n' % re.search(r'VmHWM:\\s*(\\d+)', status).group(1))\n"
    "atexit.register(peak)\n"
    "sys.argv = ['chatcli', *sys.argv[1:]]\n"
    "runpy.run_module('chatcli', run_name='__main__', alter_sys=True)\n"
)
"""``chatcli ARGS`` reporting its peak resident memory (kB) on stderr: ``VmHWM``, this
program's own (``ru_maxrss`` keeps the forking test process's across exec)."""


@needs_ffmpeg
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_a_big_video_is_neither_held_in_memory_nor_copied_to_tmpdir(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    video = tmp_path / "meeting.mkv"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=s=320x240:r=25:d=100", "-f", "lavfi",
            "-i", "sine=f=300:d=100", "-c:v", "rawvideo", "-pix_fmt", "yuv420p",
            "-c:a", "pcm_s16le", str(video))  # fmt: skip
    size = video.stat().st_size
    assert size > 280_000_000
    with tmpfs(tmp_path / "tmp", size="16m") as small_tmp:  # far less than the video
        env = fake_env(tmp_path, fake, TMPDIR=str(small_tmp))
        proc = subprocess.run(
            [sys.executable, "-c", _PEAK, "transcribe", str(video)],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "meeting.mkv: extracted the audio track" in proc.stderr
    (upload,) = fake.uploads
    assert upload.filename == "meeting.mp3" and upload.size < 1_000_000
    found = re.search(r"PEAK (\d+)", proc.stderr)
    assert found, proc.stderr
    assert int(found.group(1)) * 1024 < size / 2, (found.group(1), size)


def test_a_wav_over_the_limit_is_split_from_its_file_not_a_copy_in_tmpdir(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    """WAV pieces are read from the file and given their own header: nothing in $TMPDIR (a
    copy of a 2 GB recording used to be written there, and held in memory)."""
    talk = tmp_path / "talk.wav"
    talk.write_bytes(make_wav(300.0, rate=8000, level=300))  # 4.8 MB
    limit = talk.stat().st_size // 3
    with tmpfs(tmp_path / "tmp", size="1m") as small_tmp:
        env = fake_env(tmp_path, fake, CHATCLI_UPLOAD_LIMIT=str(limit), TMPDIR=str(small_tmp))
        # a process of its own: TMPDIR is read once per process
        result = run_process("transcribe", str(talk), "--format", "srt", "-m", "whisper-1",
                             env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    frames = 0
    for upload in fake.uploads:
        assert upload.size <= limit
        with wave.open(io.BytesIO(upload.data)) as piece:
            assert piece.getframerate() == 8000 and piece.getnchannels() == 1
            frames += piece.getnframes()
            assert len(upload.data) == 44 + piece.getnframes() * 2
    assert len(fake.uploads) >= 3 and frames >= 300 * 8000
    assert result.stdout.startswith("1\n00:00:00,000 --> ")


# --- 9: times after a split are where each piece really starts -------------------------------


def _silences(path: Path) -> list[float]:
    assert FFMPEG is not None
    proc = subprocess.run(
        [FFMPEG, "-hide_banner", "-i", str(path), "-af",
         "asetpts=N/SR/TB,silencedetect=n=-35dB:d=0.3", "-f", "null", "-"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return [float(x) for x in re.findall(r"silence_start: (-?[\d.]+)", proc.stderr)]


@needs_ffmpeg
@pytest.mark.parametrize("ext", ["ogg", "mp3", "opus"])
def test_each_piece_is_shifted_by_where_it_really_starts(
    fake: FakeOpenAI, tmp_path: Path, ext: str
) -> None:
    """Each piece is decoded from its first sample, as a transcription service does: a
    silence found at s in piece i must be at start_i + s in the original."""
    wav = tmp_path / "tone.wav"
    _ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=60", "-af",
            "volume=enable='between(mod(t,10),8,10)':volume=0", "-ar", "16000", "-ac", "1",
            str(wav))  # fmt: skip
    talk = tmp_path / f"tone.{ext}"
    codec = ["-c:a", "libopus"] if ext == "opus" else []
    _ffmpeg("-i", str(wav), *codec, str(talk))
    truth = _silences(talk)
    assert len(truth) == 6
    env = fake_env(tmp_path, fake, CHATCLI_UPLOAD_LIMIT=str(talk.stat().st_size // 3))
    result = run_cli("transcribe", str(talk), "--format", "verbose_json", "-m", "whisper-1",
                     env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    starts = [s["start"] for s in json.loads(result.stdout)["segments"]]
    assert len(starts) == len(fake.uploads) >= 3
    for i, (start, upload) in enumerate(zip(starts, fake.uploads, strict=True)):
        piece = tmp_path / f"piece{i}.{ext}"
        piece.write_bytes(upload.data)
        for found in _silences(piece):
            if found < 0.05:
                continue  # a piece cut inside a silence starts with its end
            nearest = min(truth, key=lambda t: abs(t - (start + found)))
            assert abs(start + found - nearest) < 0.05, (i, start, found, truth)


# --- 10: the smaller ones ---------------------------------------------------------------------


def test_a_read_only_file_system_is_named_not_called_permission_denied(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    with tmpfs(tmp_path / "rofs", size="1m") as rofs:
        read_only(rofs)
        for args in (("image", "x", "-o", str(rofs)), ("speak", "hi", "-o", str(rofs / "a.mp3"))):
            result = run_cli(*args, env=env)
            assert result.returncode == 2, result.stderr
            assert _error(result.stderr).endswith(": Read-only file system"), result.stderr
    assert fake.requests == []


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        (make_png(16, 16, (0, 0, 0, 0)), "the mask .* is 16x16 and the image .* is 32x32"),
        (make_png(32, 32, (0, 0, 0)), "has no transparency"),
    ],
    ids=["another-size", "no-alpha"],
)
def test_a_mask_the_endpoint_refuses_is_refused_before_sending(
    fake: FakeOpenAI, tmp_path: Path, mask: bytes, message: str
) -> None:
    image, mask_path = tmp_path / "a.png", tmp_path / "m.png"
    image.write_bytes(make_png(32, 32))
    mask_path.write_bytes(mask)
    result = run_cli("image", "add a hat", "--edit", str(image), "--mask", str(mask_path),
                     "-o", str(tmp_path), env=fake_env(tmp_path, fake))  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert re.search(message, _error(result.stderr)), result.stderr
    assert fake.requests == []


def test_an_image_over_the_gpt_image_limit_is_refused_before_uploading(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    big = tmp_path / "big.png"
    with big.open("wb") as fh:
        fh.write(make_png(32, 32))
        fh.truncate(51 * 1024 * 1024)
    result = run_cli("image", "add a hat", "--edit", str(big), "-o", str(tmp_path),
                     env=fake_env(tmp_path, fake))  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "takes images of at most 50 MB" in _error(result.stderr)
    assert fake.requests == []
