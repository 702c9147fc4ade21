"""Recognise audio input and cut files over the upload limit into pieces that fit.

The transcription endpoints refuse uploads over 25 MiB. With ``ffmpeg`` installed, cuts go into
silences near the limit (``silence``); WAV pieces are then cut natively with the stdlib ``wave``
module on frame boundaries, each a valid WAV with its own header, and every other format by
ffmpeg (stream copy, no re-encoding). Without ffmpeg, WAV is cut into equal runs of frames. Each
piece carries its start time in the original, so transcripts can be joined with their
timestamps shifted to where the piece began, and the time before which its transcript repeats
the previous piece's (``keep_from``).

A WAV's frames are the bytes present (``usage.media.wav_audio``), not the count its header
gives: one written to a pipe says 0 or 0xFFFFFFFF bytes, one cut short says more than there
is. Each piece gets a header of its own, written for the frames it holds.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
import wave
from dataclasses import dataclass
from pathlib import Path

from chatcli.errors import UsageError
from chatcli.features.durations import ffmpeg_duration
from chatcli.features.transcribe import work
from chatcli.features.usage.media import WavAudio, wav_audio

MiB = 1024 * 1024
UPLOAD_LIMIT = 25 * MiB
"""The largest file the transcription endpoints accept."""

WAV_HEADER = 44
"""Bytes of the header ``wave`` writes for PCM: RIFF (12) + fmt chunk (24) + data header (8)."""

FFMPEG_FILL = 0.9
"""Aim pieces at this share of the limit: compressed audio has a variable bitrate."""


@dataclass(frozen=True)
class AudioKind:
    """A container the endpoints accept: file extension (for the upload name) and MIME type."""

    ext: str
    mime: str


@dataclass(frozen=True)
class Piece:
    """A part of the input, uploadable on its own, starting ``start`` seconds into it."""

    data: bytes
    start: float
    keep_from: float = 0.0


def sniff(data: bytes) -> AudioKind | None:
    """The audio container of ``data`` from its magic bytes, or None when it is not audio."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return AudioKind("wav", "audio/wav")
    if data.startswith(b"ID3") or _mpeg_frame(data):
        return AudioKind("mp3", "audio/mpeg")
    if data.startswith(b"OggS"):
        return AudioKind("ogg", "audio/ogg")
    if data.startswith(b"fLaC"):
        return AudioKind("flac", "audio/flac")
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand.startswith((b"M4A", b"M4B")):
            return AudioKind("m4a", "audio/mp4")
        return AudioKind("mp4", "video/mp4")
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return AudioKind("webm", "video/webm")
    return None


def _mpeg_frame(data: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a real version and layer (not ADTS AAC).
    UTF-16LE text starts with ``FF FE``, which reads as an MPEG-1 Layer I header: text is
    told apart by decoding what follows."""
    if len(data) < 4 or data[0] != 0xFF or data[1] & 0xE0 != 0xE0:
        return False
    if data[1] == 0xFE and _utf16_text(data[2:4098]):
        return False
    version, layer = (data[1] >> 3) & 3, (data[1] >> 1) & 3
    bitrate, rate = data[2] >> 4, (data[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate not in (0, 15) and rate != 3


def _utf16_text(sample: bytes) -> bool:
    """Whether ``sample`` decodes as UTF-16LE into printable text."""
    try:
        text = sample[: len(sample) & ~1].decode("utf-16-le")
    except UnicodeDecodeError:
        return False
    return bool(text) and sum(ch.isprintable() or ch in "\n\r\t" for ch in text) > 0.95 * len(text)


def size_text(n: int) -> str:
    """``25 MiB`` for whole mebibytes, else the byte count (test limits are small)."""
    return f"{n // MiB} MiB" if n % MiB == 0 else f"{n} bytes"


def split(data: bytes, kind: AudioKind, limit: int, source: str) -> list[Piece]:
    """``data`` as one piece if it fits, else as pieces of at most ``limit`` bytes each."""
    if len(data) <= limit:
        return [Piece(data, 0.0)]
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is not None:
        pieces = split_at_silences(ffmpeg, data, kind, limit)
        if pieces is not None:
            return pieces
    if kind.ext == "wav":
        pieces = split_wav(data, limit)
        if pieces is not None:
            return pieces
    if ffmpeg is None:
        what = "is not WAV" if kind.ext != "wav" else "is a WAV that Python cannot read"
        raise UsageError(
            f"{source} is over {size_text(limit)} and {what}; install ffmpeg to split it",
            hint="or convert it to a smaller file first, e.g. ffmpeg -i IN -b:a 64k out.mp3",
        )
    return split_ffmpeg(ffmpeg, data, kind, limit, source)


def split_wav(data: bytes, limit: int) -> list[Piece] | None:
    """PCM WAV cut into equal runs of whole frames; None when it is not integer PCM (float or
    compressed WAV), so ffmpeg can try."""
    wav = _pcm(data, limit)
    if wav is None:
        return None
    most = (limit - WAV_HEADER) // wav.align
    total = len(wav.frames) // wav.align
    count = max(1, math.ceil(total / most))
    per_piece = math.ceil(total / count) or 1
    return [
        Piece(_wav_piece(wav, a, min(a + per_piece, total)), a / wav.rate)
        for a in range(0, total, per_piece)
    ]


def _pcm(data: bytes, limit: int) -> WavAudio | None:
    """``data`` as integer PCM WAV, or None; the limit must hold a header and a frame."""
    wav = wav_audio(data)
    if wav is None or not wav.pcm:
        return None
    if (limit - WAV_HEADER) // wav.align < 1:
        raise UsageError(f"the upload limit of {size_text(limit)} is too small")
    return wav


def _wav_piece(wav: WavAudio, a: int, b: int) -> bytes:
    """Frames ``a`` to ``b`` of ``wav`` as a WAV file with its own header."""
    out = io.BytesIO()
    with wave.open(out, "wb") as dst:
        dst.setnchannels(wav.channels)
        dst.setsampwidth(wav.bits // 8)
        dst.setframerate(wav.rate)
        dst.writeframes(wav.frames[a * wav.align : b * wav.align])
    return out.getvalue()


def split_at_silences(ffmpeg: str, data: bytes, kind: AudioKind, limit: int) -> list[Piece] | None:
    """Pieces cut in silences (see ``silence``); None when this way does not work out (no
    duration, unreadable WAV, or a compressed piece over the limit), so the others can try."""
    from chatcli.features.transcribe import silence

    with work.folder() as tmp:
        original = Path(tmp) / f"input.{kind.ext}"
        original.write_bytes(data)
        duration = ffmpeg_duration(ffmpeg, original)
        if not duration:
            return None
        quiet = silence.detect(ffmpeg, original)
        if kind.ext == "wav":
            return _wav_spans(data, limit, quiet)
        max_len = duration * limit * FFMPEG_FILL / len(data)
        pieces: list[Piece] = []
        for i, span in enumerate(silence.plan(duration, max_len, quiet)):
            piece = Path(tmp) / f"piece{i:04d}.{kind.ext}"
            cmd = [
                ffmpeg, "-hide_banner", "-v", "error", "-nostdin", "-ss", f"{span.start:.3f}",
                "-t", f"{span.end - span.start:.3f}", "-i", str(original), "-map", "0:a:0",
                "-c", "copy", str(piece),
            ]  # fmt: skip
            proc = work.run(cmd, capture_output=True)
            if proc.returncode != 0 or not piece.exists() or piece.stat().st_size > limit:
                return None
            pieces.append(Piece(piece.read_bytes(), span.start, span.keep_from))
        return pieces


def _wav_spans(data: bytes, limit: int, quiet: list[tuple[float, float]]) -> list[Piece] | None:
    """PCM WAV cut on frame boundaries at the planned spans; None when it is not integer PCM."""
    from chatcli.features.transcribe import silence

    wav = _pcm(data, limit)
    if wav is None:
        return None
    most = (limit - WAV_HEADER) // wav.align
    total = len(wav.frames) // wav.align
    pieces: list[Piece] = []
    for span in silence.plan(total / wav.rate, most / wav.rate, quiet):
        a, b = round(span.start * wav.rate), min(round(span.end * wav.rate), total)
        b = min(b, a + most)
        pieces.append(Piece(_wav_piece(wav, a, b), a / wav.rate, span.keep_from))
    return pieces


def split_ffmpeg(ffmpeg: str, data: bytes, kind: AudioKind, limit: int, source: str) -> list[Piece]:
    """Cut with ffmpeg's segment muxer (stream copy); more pieces if one came out too big."""
    with work.folder() as tmp:
        folder = Path(tmp)
        original = folder / f"input.{kind.ext}"
        original.write_bytes(data)
        duration = ffmpeg_duration(ffmpeg, original)
        if not duration:
            raise UsageError(f"ffmpeg cannot tell how long {source} is, so it cannot be split")
        count = math.ceil(len(data) / (limit * FFMPEG_FILL))
        for _attempt in range(4):
            pieces = _segment(ffmpeg, original, kind, duration / count, source)
            # a container's last packet can end a hair past the duration: an empty last piece
            pieces = [p for i, p in enumerate(pieces) if i == 0 or p.start < duration - 0.001]
            if all(len(p.data) <= limit for p in pieces):
                return pieces
            count = math.ceil(count * 1.5)
    raise UsageError(f"cannot cut {source} into pieces under {size_text(limit)}")


def _segment(
    ffmpeg: str, original: Path, kind: AudioKind, seconds: float, source: str
) -> list[Piece]:
    folder = original.parent / f"pieces-{seconds:.3f}"
    folder.mkdir()
    listing = folder / "list.csv"
    cmd = [
        ffmpeg, "-hide_banner", "-v", "error", "-nostdin", "-i", str(original),
        "-map", "0:a:0", "-c", "copy", "-f", "segment", "-segment_time", f"{seconds:.3f}",
        "-reset_timestamps", "1", "-segment_list", str(listing), "-segment_list_type", "csv",
        str(folder / f"piece%04d.{kind.ext}"),
    ]  # fmt: skip
    proc = work.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode != 0 or not listing.exists():
        reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise UsageError(f"ffmpeg could not split {source}: {reason}")
    with listing.open(newline="") as fh:
        rows = [row for row in csv.reader(fh) if row]
    return [Piece((folder / name).read_bytes(), float(start)) for name, start, *_ in rows]
