"""Audit 8, area files (media and inputs): ``-o DIR`` settled before paying, WAV/MP3 lengths from
the bytes present, the same file spelt twice transcribed once, UTF-8 cut mid-character, and
the smaller things (damaged ZIP documents named, audio/video containers and huge images given
the right hint, blank PDFs, silent audio, speak's file extension, image input limits, video
without ffmpeg)."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
import wave
from pathlib import Path

import pytest

from chatcli.store import Store
from tests.cli_helpers import fake_env, run_cli
from tests.docs_helpers import make_docx, make_epub, make_odt, make_pdf
from tests.fakes import Error, FakeOpenAI, Raw, Recorded, Reply, make_png, make_wav

ZH = "今天天气很好，我们去公园散步。明天可能会下雨，记得带伞。"


def _rows(tmp_path: Path, command: str) -> list[tuple[str, float | None]]:
    with Store.open(tmp_path / "data") as store:
        return [(r.status, r.cost_usd) for r in store.usage_rows() if r.command == command]


def _piped_wav(seconds: float, size_field: int, rate: int = 8000) -> bytes:
    """A WAV as a program writing to a pipe leaves it: RIFF and data sizes ``size_field``."""
    data = bytearray(make_wav(seconds, rate=rate, level=300))
    assert data[36:40] == b"data"
    data[4:8] = struct.pack("<I", size_field)
    data[40:44] = struct.pack("<I", size_field)
    return bytes(data)


def _no_ffmpeg(tmp_path: Path) -> str:
    empty = tmp_path / "no-ffmpeg-bin"
    empty.mkdir(exist_ok=True)
    return str(empty)


def _one_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("chatcli: error:")]
    assert len(lines) == 1, stderr
    assert "unexpected" not in stderr and "Traceback" not in stderr, stderr
    return lines[0]


# --- 1: an -o DIR that cannot be made is refused before anything is paid for -----------------


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_transcribe_several_into_a_folder_that_cannot_be_made_pays_nothing(
    fake: FakeOpenAI, tmp_path: Path, where: str
) -> None:
    (tmp_path / "b.txt").write_text("a file\n")
    folder = tmp_path / "b.txt" / "sub" if where == "under-a-file" else Path("/proc/sys/nope")
    if where == "proc" and not Path("/proc/sys").is_dir():
        pytest.skip("no /proc here")
    for name in ("one.wav", "two.wav"):
        (tmp_path / name).write_bytes(make_wav(0.5))
    env = fake_env(tmp_path, fake)
    args = ("transcribe", str(tmp_path / "one.wav"), str(tmp_path / "two.wav"), "-o", str(folder))
    for _run in range(2):
        result = run_cli(*args, env=env)
        assert result.returncode == 2, result.stderr
        assert f"-o {folder}: cannot make" in _one_error(result.stderr)
    assert fake.uploads == [] and _rows(tmp_path, "transcribe") == []


def test_summarize_and_image_into_a_folder_that_cannot_be_made_send_nothing(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("Alpha report: sales up.\n")
    (tmp_path / "b.txt").write_text("a file\n")
    bad = tmp_path / "b.txt" / "sub"
    env = fake_env(tmp_path, fake)
    summary = run_cli("summarize", str(tmp_path / "a.txt"), "-o", str(bad), env=env)
    image = run_cli("image", "a red fox", "-o", str(bad), env=env)
    for result in (summary, image):
        assert result.returncode == 2, result.stderr
        assert f"{tmp_path / 'b.txt'} is a file" in _one_error(result.stderr)
    assert fake.requests == [] and _rows(tmp_path, "summarize") + _rows(tmp_path, "image") == []


def test_the_folder_of_several_transcripts_is_made_0700_before_the_uploads(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    for name in ("one.wav", "two.wav"):
        (tmp_path / name).write_bytes(make_wav(0.5))
    folder = tmp_path / "new" / "deeper"
    fake.script(Error(400, "refused"), Error(400, "refused"), route="audio")
    result = run_cli(
        "transcribe", str(tmp_path / "one.wav"), str(tmp_path / "two.wav"), "-o", str(folder),
        env=fake_env(tmp_path, fake),
    )  # fmt: skip
    assert result.returncode == 5, result.stderr
    assert folder.is_dir() and (folder.stat().st_mode & 0o777) == 0o700
    assert (folder.parent.stat().st_mode & 0o777) == 0o700 and list(folder.iterdir()) == []


# --- 2: WAV and MP3 lengths from the bytes present ----------------------------------------------


@pytest.mark.parametrize("size_field", [0xFFFFFFFF, 0])
def test_a_wav_written_to_a_pipe_is_priced_by_its_length(
    fake: FakeOpenAI, tmp_path: Path, size_field: int
) -> None:
    env = fake_env(tmp_path, fake, PATH=_no_ffmpeg(tmp_path))  # read by chatcli alone
    plain = run_cli("transcribe", "-", "-m", "gpt-4o-transcribe", env=env, input=make_wav(10))
    piped = run_cli(
        "transcribe", "-", "-m", "gpt-4o-transcribe", env=env, input=_piped_wav(10, size_field)
    )
    assert plain.returncode == 0 and piped.returncode == 0, plain.stderr + piped.stderr
    (first, second) = _rows(tmp_path, "transcribe")
    assert first[0] == second[0] == "ok"
    assert first[1] == pytest.approx(0.006 * 10 / 60) and second[1] == first[1]


def test_a_wav_cut_short_is_priced_by_what_is_there(fake: FakeOpenAI, tmp_path: Path) -> None:
    cut = make_wav(60)[: 44 + 8000 * 2 * 3]  # a header saying 60 s, 3 s of frames
    result = run_cli(
        "transcribe", "-", "-m", "gpt-4o-transcribe", env=fake_env(tmp_path, fake), input=cut
    )
    assert result.returncode == 0, result.stderr
    ((status, cost),) = _rows(tmp_path, "transcribe")
    assert status == "ok" and cost == pytest.approx(0.006 * 3 / 60)


@pytest.mark.parametrize("ffmpeg", [True, False])
def test_a_piped_wav_over_the_limit_is_split_into_valid_pieces(
    fake: FakeOpenAI, tmp_path: Path, ffmpeg: bool
) -> None:
    if ffmpeg and shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    audio = _piped_wav(6, 0xFFFFFFFF)
    extra = {} if ffmpeg else {"PATH": _no_ffmpeg(tmp_path)}
    env = fake_env(tmp_path, fake, CHATCLI_UPLOAD_LIMIT="40000", **extra)
    result = run_cli("transcribe", "-", env=env, input=audio)
    assert result.returncode == 0, result.stderr
    assert len(fake.uploads) >= 3 and all(u.size <= 40000 for u in fake.uploads)
    frames = 0
    for upload in fake.uploads:
        with wave.open(io.BytesIO(upload.data)) as piece:
            assert piece.getnframes() * 2 == len(upload.data) - 44  # its own, true header
            frames += piece.getnframes()
    assert frames >= 6 * 8000  # the whole audio (pieces may overlap by a little)


@pytest.mark.parametrize("what", ["header only", "piped header only", "cut before its data"])
def test_a_wav_with_no_frames_is_refused_like_an_empty_file(
    fake: FakeOpenAI, tmp_path: Path, what: str
) -> None:
    data = {
        "header only": make_wav(0),
        "piped header only": _piped_wav(0, 0xFFFFFFFF),
        "cut before its data": make_wav(1)[:36],  # RIFF and fmt chunks, no data chunk
    }[what]
    (tmp_path / "hdr.wav").write_bytes(data)
    result = run_cli("transcribe", str(tmp_path / "hdr.wav"), env=fake_env(tmp_path, fake))
    assert result.returncode == 2
    assert "hdr.wav is empty: a WAV header with no audio" in _one_error(result.stderr)
    assert fake.uploads == [] and _rows(tmp_path, "transcribe") == []


@pytest.mark.external
def test_an_mp3_cut_short_is_priced_by_the_bytes_present(fake: FakeOpenAI, tmp_path: Path) -> None:
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg is not None, "ffmpeg is needed for this test: apt-get install ffmpeg"
    whole = tmp_path / "tone.mp3"
    subprocess.run(
        [ffmpeg, "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "sine=f=440:d=8",
         "-c:a", "libmp3lame", "-b:a", "64k", str(whole)],
        check=True,
    )  # fmt: skip
    data = whole.read_bytes()
    assert b"Info" in data[:400] or b"Xing" in data[:400]  # LAME's header says the length
    (tmp_path / "cut.mp3").write_bytes(data[: len(data) // 4])
    env = fake_env(tmp_path, fake)
    for name in ("tone.mp3", "cut.mp3"):
        result = run_cli("transcribe", str(tmp_path / name), "-m", "gpt-4o-transcribe", env=env)
        assert result.returncode == 0, result.stderr
    (_, full), (_, cut) = _rows(tmp_path, "transcribe")
    assert full is not None and cut is not None
    assert full == pytest.approx(0.006 * 8 / 60, rel=0.05)
    assert cut == pytest.approx(full / 4, rel=0.15)


# --- 4: the same file, however spelt, is transcribed once -------------------------------------


def test_the_same_file_spelt_four_ways_is_uploaded_once(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tone.wav").write_bytes(make_wav(0.5))
    (tmp_path / "link.wav").symlink_to("tone.wav")
    (tmp_path / "other.wav").write_bytes(make_wav(0.7))
    monkeypatch.chdir(tmp_path)
    env = fake_env(tmp_path, fake)
    result = run_cli(
        "transcribe", "tone.wav", "./tone.wav", str(tmp_path / "tone.wav"), "link.wav",
        "other.wav", "-o", "out", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(u.filename for u in fake.uploads) == ["other.wav", "tone.wav"]
    assert sorted(os.listdir(tmp_path / "out")) == ["other.txt", "tone.txt"]
    assert len(_rows(tmp_path, "transcribe")) == 2


# --- 6: UTF-8 cut in the middle of a character --------------------------------------------------


def _sent(request: Recorded) -> str:
    text: str = request.json["messages"][-1]["content"]
    return text


@pytest.mark.parametrize("length", [20, 5000])
def test_utf8_cut_mid_character_is_read_as_utf8(
    fake: FakeOpenAI, tmp_path: Path, length: int
) -> None:
    whole = (ZH * (length // len(ZH.encode()) + 1)).encode()
    cut = whole[:length]
    kept = cut.decode("utf-8", "ignore")
    assert len(kept.encode()) < length  # the cut falls inside a character
    env = fake_env(tmp_path, fake)
    result = run_cli("ask", "-m", "gpt-4o-mini", "translate:", env=env, input=cut)
    assert result.returncode == 0, result.stderr
    assert _sent(fake.requests[-1]) == f"translate:\n\n{kept}"
    assert "piped input ends in the middle of a UTF-8 character" in result.stderr
    (tmp_path / "zh.txt").write_bytes(cut)
    attached = run_cli("ask", "-m", "gpt-4o-mini", "x", "-f", str(tmp_path / "zh.txt"), env=env)
    assert attached.returncode == 0, attached.stderr
    assert kept in _sent(fake.requests[-1])


def test_speak_reads_cut_utf8_and_latin1_is_still_refused(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake)
    cut = ZH.encode()[:20]
    result = run_cli("speak", "-o", str(tmp_path / "zh.mp3"), env=env, input=cut)
    assert result.returncode == 0, result.stderr
    assert fake.requests[-1].json["input"] == cut.decode("utf-8", "ignore")
    # ASCII ending in one Latin-1 letter is no cut UTF-8: refused with the iconv hint as before
    latin = run_cli("ask", "x", env=env, input="menu: café".encode("latin-1"))
    assert latin.returncode == 2
    assert "hint: convert it first, e.g. iconv -f latin1" in latin.stderr


# --- 10: the smaller things ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "name", "kind"),
    [(make_epub, "book.epub", "EPUB"), (make_odt, "memo.odt", "OpenDocument file"),
     (make_docx, "memo.docx", "Word document")],
)  # fmt: skip
def test_a_cut_zip_document_is_named_damaged(
    fake: FakeOpenAI, tmp_path: Path, make: object, name: str, kind: str
) -> None:
    assert callable(make)
    data: bytes = make()
    (tmp_path / name).write_bytes(data[:300])
    env = fake_env(tmp_path, fake)
    for args in (("ask", "x", "-f", str(tmp_path / name)), ("summarize", str(tmp_path / name))):
        result = run_cli(*args, env=env)
        assert result.returncode == 2
        error = _one_error(result.stderr)
        assert f"{name} is a damaged {kind}: the end of the file is missing" in error
    assert fake.requests == []


def test_a_huge_image_gets_an_image_hint(fake: FakeOpenAI, tmp_path: Path) -> None:
    big = tmp_path / "huge.png"
    big.write_bytes(make_png() + b"\0" * (21 * 1024 * 1024))
    result = run_cli("ask", "what is it?", "-f", str(big), env=fake_env(tmp_path, fake))
    assert result.returncode == 2
    assert "is larger than 20 MiB" in _one_error(result.stderr)
    assert "hint: shrink it first" in result.stderr and "summarize" not in result.stderr


@pytest.mark.parametrize(
    "head",
    [b"\0\0\0\x20ftypM4A \0\0\0\0", b"\0\0\0\x20ftypisom\0\0\x02\0",
     b"\x1a\x45\xdf\xa3\x9f\x42\x86", b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9"],
    ids=["m4a", "mp4", "mkv", "wma"],
)  # fmt: skip
def test_audio_and_video_containers_given_to_ask_point_to_transcribe(
    fake: FakeOpenAI, tmp_path: Path, head: bytes
) -> None:
    (tmp_path / "media").write_bytes(head + bytes(range(256)) * 40)
    result = run_cli("ask", "x", "-f", str(tmp_path / "media"), env=fake_env(tmp_path, fake))
    assert result.returncode == 2
    assert " is audio" in _one_error(result.stderr)
    assert "hint: to transcribe audio, use `chatcli transcribe`" in result.stderr
    assert fake.requests == []


def _pdf_with_an_image() -> bytes:
    """One page that draws a 1x1 grey image and holds no text: a scan."""
    image = b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray "
    image += b"/BitsPerComponent 8 /Length 1 >>\nstream\n\x80\nendstream"
    draw = b"q 100 0 0 100 0 0 cm /Im1 Do Q"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(draw) + draw + b"\nendstream",
        image,
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (6, xref))
    return out.getvalue()


def test_a_blank_pdf_is_a_pdf_with_no_text_and_a_scan_is_still_a_scan(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    pytest.importorskip("pypdf")
    (tmp_path / "blank.pdf").write_bytes(make_pdf(["", ""]))
    (tmp_path / "scan.pdf").write_bytes(_pdf_with_an_image())
    env = fake_env(tmp_path, fake)
    blank = run_cli("summarize", str(tmp_path / "blank.pdf"), env=env)
    scan = run_cli("summarize", str(tmp_path / "scan.pdf"), env=env)
    assert blank.returncode == 2 and scan.returncode == 2
    assert "blank.pdf is a PDF with no text" in _one_error(blank.stderr)
    assert "a scan" not in blank.stderr and "OCR" not in blank.stderr
    assert "scan.pdf is a PDF of images only (a scan?)" in _one_error(scan.stderr)
    # beside a prompt, a blank PDF is a notice, like an empty Word file
    fake.default_reply = Reply(text="ok")
    asked = run_cli("ask", "hello", "-f", str(tmp_path / "blank.pdf"), env=env)
    assert asked.returncode == 0, asked.stderr
    assert "blank.pdf is a PDF with no text" in asked.stderr
    assert _sent(fake.requests[-1]) == "hello\n\nFile blank.pdf: (no text)"


@pytest.mark.parametrize(
    ("fmt", "raw"),
    [("text", Raw(body="\n", content_type="text/plain")), ("json", Raw(body='{"text": ""}')),
     ("srt", Raw(body="", content_type="text/plain"))],
)  # fmt: skip
def test_silent_audio_says_no_speech_was_found(
    fake: FakeOpenAI, tmp_path: Path, fmt: str, raw: Raw
) -> None:
    (tmp_path / "silent.wav").write_bytes(make_wav(1, level=0))
    fake.script(raw, route="audio")
    out = tmp_path / f"s.{fmt}"
    result = run_cli(
        "transcribe", str(tmp_path / "silent.wav"), "--format", fmt, "-o", str(out),
        env=fake_env(tmp_path, fake),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"chatcli: no speech found in {tmp_path / 'silent.wav'}" in result.stderr
    assert out.exists()


def test_a_transcript_with_words_says_nothing_of_speech(fake: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "talk.wav").write_bytes(make_wav(1))
    result = run_cli("transcribe", str(tmp_path / "talk.wav"), env=fake_env(tmp_path, fake))
    assert result.returncode == 0 and "no speech" not in result.stderr


def test_speak_says_when_the_file_name_names_another_format(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    env = fake_env(tmp_path, fake)
    wrong = run_cli("speak", "hello", "--format", "wav", "-o", str(tmp_path / "out.mp3"), env=env)
    assert wrong.returncode == 0, wrong.stderr
    assert f"{tmp_path / 'out.mp3'} will hold wav audio" in wrong.stderr
    assert (tmp_path / "out.mp3").read_bytes()[:4] == b"RIFF"  # still written
    for name, fmt in (("fine.wav", "wav"), ("fine.ogg", "opus"), ("speech", "mp3")):
        right = run_cli("speak", "hi", "--format", fmt, "-o", str(tmp_path / name), env=env)
        assert right.returncode == 0 and "will hold" not in right.stderr, right.stderr


def test_image_variations_over_dall_e_2s_limit_are_refused_before_sending(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(make_png() + b"\0" * (5 * 1024 * 1024))
    env = fake_env(tmp_path, fake)
    result = run_cli("image", "--variations", str(big), "-m", "dall-e-2", env=env)
    assert result.returncode == 2
    assert "dall-e-2 takes images of at most 4 MB" in _one_error(result.stderr)
    assert fake.requests == [] and _rows(tmp_path, "image") == []


def _mkv(track_type: int) -> bytes:
    """A Matroska file whose one track is of ``track_type`` (1 video, 2 audio)."""
    ebml = b"\x1a\x45\xdf\xa3\x84\x42\x82\x81\x6d"  # EBML header: DocType "m" (enough here)
    entry = b"\xd7\x81\x01" + b"\x83\x81" + bytes([track_type])  # TrackNumber 1, TrackType
    tracks = b"\x16\x54\xae\x6b" + bytes([0x80 | (len(entry) + 2)]) + b"\xae"
    tracks += bytes([0x80 | len(entry)]) + entry
    segment = b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff" + tracks
    return ebml + segment + b"\x1f\x43\xb6\x75" + bytes(range(256)) * 20


def _mp4_with_video() -> bytes:
    def box(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", 8 + len(body)) + kind + body

    moov = box(b"moov", box(b"trak", box(b"mdia", box(b"minf", box(b"vmhd", b"\0" * 12)))))
    return box(b"ftyp", b"isom\0\0\x02\0isom") + box(b"mdat", bytes(range(256)) * 20) + moov


def test_a_video_without_ffmpeg_is_refused_not_uploaded(fake: FakeOpenAI, tmp_path: Path) -> None:
    env = fake_env(tmp_path, fake, PATH=_no_ffmpeg(tmp_path))
    for name, data in (("film.mkv", _mkv(1)), ("clip.mp4", _mp4_with_video())):
        (tmp_path / name).write_bytes(data)
        result = run_cli("transcribe", str(tmp_path / name), env=env)
        assert result.returncode == 2
        assert f"{name} is a video" in _one_error(result.stderr)
        assert "hint: install ffmpeg, or extract the audio" in result.stderr
    assert fake.uploads == []
    # an audio-only Matroska file is uploaded as before
    (tmp_path / "voice.mka").write_bytes(_mkv(2))
    audio = run_cli("transcribe", str(tmp_path / "voice.mka"), env=env)
    assert audio.returncode == 0, audio.stderr
    assert [u.filename for u in fake.uploads] == ["voice.webm"]
