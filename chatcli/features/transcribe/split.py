"""Recognise audio input and cut files over the upload limit into pieces that fit.

The transcription endpoints refuse uploads over 25 MiB. With ``ffmpeg`` installed, cuts go into
silences near the limit (``silence``); WAV pieces are then cut natively with the stdlib ``wave``
module on frame boundaries, each a valid WAV with its own header, and every other format by
ffmpeg (stream copy, no re-encoding). Without ffmpeg, WAV is cut into equal runs of frames. Each
piece carries its start time in the original, so transcripts can be joined with their
timestamps shifted to where the piece began, and the time before which its transcript repeats
the previous piece's (``keep_from``).

The input stays in its file: a WAV piece is read from it (and given its header) when it is
uploaded, an ffmpeg piece is a file in the input's working folder, so one piece at a time is
in memory, never the recording.

A stream copy cannot start between packets (an MP3 frame, an Ogg page's packets), so an ffmpeg
piece's start is where its first packet really is (``_cut``: the cut seeks on the output side,
which keeps packets from the requested time on, and ffmpeg reports the first one's time), not
the time asked for; an MP3 piece gets no Xing/LAME header, whose encoder delay (taken from the
stream's last packet) made players skip a quarter second of its start; its length, for the
price, is then what ffmpeg reports of the cut, not a guess from its first frame's bitrate.

A WAV's frames are the bytes present, not the count its header gives: one written to a pipe
says 0 or 0xFFFFFFFF bytes, one cut short says more than there is. Each piece gets a header of
its own, written for the frames it holds.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import shutil
import struct
import wave
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from chatcli.errors import UsageError
from chatcli.features.durations import ffmpeg_duration
from chatcli.features.transcribe import work
from chatcli.features.usage.media import WavAudio, wav_format

MiB = 1024 * 1024
UPLOAD_LIMIT = 25 * MiB
"""The largest file the transcription endpoints accept."""

WAV_HEADER = 44
"""Bytes of the header ``wave`` writes for PCM: RIFF (12) + fmt chunk (24) + data header (8)."""

FFMPEG_FILL = 0.9
"""Aim pieces at this share of the limit: compressed audio has a variable bitrate."""

SEEK_MARGIN = 30.0
"""Seconds before a cut that ffmpeg seeks to in the input (fast, but not exact), before it
reads on to the cut packet by packet. MP3 is read from its start instead: its timestamps after
a seek are estimates."""


@dataclass(frozen=True)
class AudioKind:
    """A container the endpoints accept: file extension (for the upload name) and MIME type."""

    ext: str
    mime: str


@dataclass(frozen=True)
class Piece:
    """A part of the input, uploadable on its own, starting ``start`` seconds into it; its
    bytes are read (or, for WAV, made) only when needed: ``load``."""

    load: Callable[[], bytes]
    start: float
    keep_from: float = 0.0
    seconds: float | None = None  # its length, where the cut tells it (priced by it)


@dataclass(frozen=True)
class WavLayout:
    """Where a WAV file's frames are: its format (``fmt.frames`` is empty: they stay in the
    file), the offset of its first frame and the bytes of whole frames present."""

    fmt: WavAudio
    offset: int
    length: int


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
        if _still_image(data):  # HEIC, AVIF: ISO media files too, but pictures
            return None
        return AudioKind("mp4", "video/mp4")
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return AudioKind("webm", "video/webm")
    return None


def _still_image(data: bytes) -> bool:
    """Whether an ISO media file (``ftyp``) is a still image, as ``inputs.kind_of`` tells."""
    from chatcli.inputs import kind_of

    return (kind_of(data[:16]) or "").endswith("image")


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


def wav_layout(path: Path) -> WavLayout | None:
    """``path`` read as a RIFF WAV without reading its frames (``media.wav_format``): its
    ``fmt`` chunk and where the frames of its ``data`` chunk are; None when it is no WAV, or
    one without a usable format."""
    with path.open("rb") as fh:

        def read(at: int, count: int) -> bytes:
            fh.seek(at)
            return fh.read(count)

        found = wav_format(read, os.fstat(fh.fileno()).st_size)
    return None if found is None else WavLayout(*found)


def split(
    path: Path, size: int, kind: AudioKind, limit: int, source: str, folder: Path
) -> list[Piece]:
    """The audio in ``path`` (``size`` bytes) as one piece if it fits, else as pieces of at
    most ``limit`` bytes each; ffmpeg's pieces are made in ``folder``."""
    if size <= limit:
        return [Piece(path.read_bytes, 0.0)]
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is not None:
        pieces = split_at_silences(ffmpeg, path, size, kind, limit, folder)
        if pieces is not None:
            return pieces
    if kind.ext == "wav":
        pieces = split_wav(path, limit)
        if pieces is not None:
            return pieces
    if ffmpeg is None:
        what = "is not WAV" if kind.ext != "wav" else "is a WAV that Python cannot read"
        raise UsageError(
            f"{source} is over {size_text(limit)} and {what}; install ffmpeg to split it",
            hint="or convert it to a smaller file first, e.g. ffmpeg -i IN -b:a 64k out.mp3",
        )
    return split_ffmpeg(ffmpeg, path, size, kind, limit, source, folder)


def split_wav(path: Path, limit: int) -> list[Piece] | None:
    """PCM WAV cut into equal runs of whole frames; None when it is not integer PCM (float or
    compressed WAV), so ffmpeg can try."""
    wav = _pcm(path, limit)
    if wav is None:
        return None
    align = wav.fmt.align
    most = (limit - WAV_HEADER) // align
    total = wav.length // align
    count = max(1, math.ceil(total / most))
    per_piece = math.ceil(total / count) or 1
    return [
        Piece(
            _wav_piece(path, wav, a, min(a + per_piece, total)),
            a / wav.fmt.rate,
            seconds=(min(a + per_piece, total) - a) / wav.fmt.rate,
        )
        for a in range(0, total, per_piece)
    ]


def _pcm(path: Path, limit: int) -> WavLayout | None:
    """``path`` as integer PCM WAV, or None; the limit must hold a header and a frame."""
    wav = wav_layout(path)
    if wav is None or not wav.fmt.pcm:
        return None
    if (limit - WAV_HEADER) // wav.fmt.align < 1:
        raise UsageError(f"the upload limit of {size_text(limit)} is too small")
    return wav


def _wav_piece(path: Path, wav: WavLayout, a: int, b: int) -> Callable[[], bytes]:
    """What makes frames ``a`` to ``b`` of ``wav`` into a WAV file with its own header."""

    def load() -> bytes:
        with path.open("rb") as fh:
            fh.seek(wav.offset + a * wav.fmt.align)
            frames = fh.read((b - a) * wav.fmt.align)
        return wav_header(wav.fmt, len(frames)) + frames

    return load


def wav_header(fmt: WavAudio, size: int) -> bytes:
    """The 44-byte header the stdlib ``wave`` module writes for ``size`` bytes of PCM."""
    out = io.BytesIO()
    with wave.open(out, "wb") as dst:
        dst.setnchannels(fmt.channels)
        dst.setsampwidth(fmt.bits // 8)
        dst.setframerate(fmt.rate)
        dst.setnframes(size // fmt.align)
    header = bytearray(out.getvalue())
    struct.pack_into("<I", header, 4, 36 + size)
    struct.pack_into("<I", header, 40, size)
    return bytes(header)


def split_at_silences(
    ffmpeg: str, path: Path, size: int, kind: AudioKind, limit: int, folder: Path
) -> list[Piece] | None:
    """Pieces cut in silences (see ``silence``); None when this way does not work out (no
    duration, unreadable WAV, or a compressed piece over the limit), so the others can try."""
    from chatcli.features.transcribe import silence

    duration = ffmpeg_duration(ffmpeg, path)
    if not duration:
        return None
    quiet = silence.detect(ffmpeg, path)
    if kind.ext == "wav":
        return _wav_spans(path, limit, quiet)
    max_len = duration * limit * FFMPEG_FILL / size
    pieces: list[Piece] = []
    for i, span in enumerate(silence.plan(duration, max_len, quiet)):
        piece = folder / f"piece{i:04d}.{kind.ext}"
        cut = _cut(ffmpeg, path, kind, span.start, span.end - span.start, piece)
        if cut is None or piece.stat().st_size > limit:
            return None
        start, seconds = cut
        pieces.append(Piece(piece.read_bytes, start, max(span.keep_from, start), seconds))
    return pieces


def _cut(
    ffmpeg: str, path: Path, kind: AudioKind, start: float, length: float, piece: Path
) -> tuple[float, float | None] | None:
    """Copy ``length`` seconds of ``path`` from ``start`` into ``piece``; where the piece
    really starts (its first packet's time) and how long it is (None: its file tells), or
    None when ffmpeg could not cut it. The seek is
    on the output side, which keeps the packets from ``start`` on (an input-side seek with
    stream copy starts at the packet or Ogg page before, up to half a second early), after an
    input-side seek to ``SEEK_MARGIN`` before it; ffmpeg's ``framecrc`` of the same cut gives
    the first packet's time."""
    begin = ["-hide_banner", "-v", "error", "-nostdin"]
    if start <= 0:  # the file's own start, as a player decodes it (an MP3's encoder delay too)
        cut = ["-t", f"{length:.6f}", "-map", "0:a:0", "-c", "copy", str(piece)]
        proc = work.run([ffmpeg, *begin, "-i", work.arg(path), *cut], capture_output=True)
        return (0.0, None) if proc.returncode == 0 and piece.exists() else None
    before = 0.0 if kind.ext == "mp3" else max(0.0, start - SEEK_MARGIN)
    cut = ["-ss", f"{start - before:.6f}", "-t", f"{length:.6f}", "-map", "0:a:0", "-c", "copy"]
    seek = ["-ss", f"{before:.6f}"] if before > 0 else []
    xing = ["-write_xing", "0"] if kind.ext == "mp3" else []
    cmd = [ffmpeg, *begin, *seek, "-i", work.arg(path), *cut, *xing, str(piece),
           *cut, "-f", "framecrc", "-"]  # fmt: skip
    proc = work.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode != 0 or not piece.exists():
        return None
    first, seconds = _times(proc.stdout)
    return start + max(0.0, first or 0.0), seconds


def _times(framecrc: str) -> tuple[float | None, float | None]:
    """The time of the first packet ffmpeg's ``framecrc`` output lists, and from it to the
    end of the last, in seconds (a piece without a Xing header has no exact length of its
    own: a VBR MP3's would be guessed from its first frame's bitrate)."""
    base: Fraction | None = None
    first: int | None = None
    end = 0
    for line in framecrc.splitlines():
        match = re.match(r"#tb 0: (\d+)/(\d+)", line)
        if match:
            base = Fraction(int(match.group(1)), int(match.group(2)) or 1)
        elif base is not None and line.strip() and not line.startswith("#"):
            try:
                pts, duration = (int(f) for f in line.split(",")[2:4])
            except ValueError:
                return None, None
            first = pts if first is None else first
            end = max(end, pts + duration)
    if base is None or first is None:
        return None, None
    return float(first * base), float((end - first) * base)


def _wav_spans(path: Path, limit: int, quiet: list[tuple[float, float]]) -> list[Piece] | None:
    """PCM WAV cut on frame boundaries at the planned spans; None when it is not integer PCM."""
    from chatcli.features.transcribe import silence

    wav = _pcm(path, limit)
    if wav is None:
        return None
    rate = wav.fmt.rate
    most = (limit - WAV_HEADER) // wav.fmt.align
    total = wav.length // wav.fmt.align
    pieces: list[Piece] = []
    for span in silence.plan(total / rate, most / rate, quiet):
        a, b = round(span.start * rate), min(round(span.end * rate), total)
        b = min(b, a + most)
        pieces.append(Piece(_wav_piece(path, wav, a, b), a / rate, span.keep_from, (b - a) / rate))
    return pieces


def split_ffmpeg(
    ffmpeg: str, path: Path, size: int, kind: AudioKind, limit: int, source: str, folder: Path
) -> list[Piece]:
    """Cut with ffmpeg's segment muxer (stream copy); more pieces if one came out too big.
    Each segment's start is its first packet's, as the muxer lists it."""
    duration = ffmpeg_duration(ffmpeg, path)
    if not duration:
        raise UsageError(f"ffmpeg cannot tell how long {source} is, so it cannot be split")
    count = math.ceil(size / (limit * FFMPEG_FILL))
    for _attempt in range(4):
        pieces = _segment(ffmpeg, path, folder, kind, duration / count, source)
        # a container's last packet can end a hair past the duration: an empty last piece
        pieces = [p for i, p in enumerate(pieces) if i == 0 or p[1].start < duration - 0.001]
        if all(size <= limit for size, _ in pieces):
            return [piece for _, piece in pieces]
        count = math.ceil(count * 1.5)
    raise UsageError(f"cannot cut {source} into pieces under {size_text(limit)}")


def _segment(
    ffmpeg: str, path: Path, work_folder: Path, kind: AudioKind, seconds: float, source: str
) -> list[tuple[int, Piece]]:
    folder = work_folder / f"pieces-{seconds:.3f}"
    folder.mkdir()
    listing = folder / "list.csv"
    xing = ["-segment_format_options", "write_xing=0"] if kind.ext == "mp3" else []
    cmd = [
        ffmpeg, "-hide_banner", "-v", "error", "-nostdin", "-i", work.arg(path),
        "-map", "0:a:0", "-c", "copy", "-f", "segment", "-segment_time", f"{seconds:.3f}",
        "-reset_timestamps", "1", "-segment_list", str(listing), "-segment_list_type", "csv",
        *xing, str(folder / f"piece%04d.{kind.ext}"),
    ]  # fmt: skip
    proc = work.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode != 0 or not listing.exists():
        reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise UsageError(f"ffmpeg could not split {source}: {reason}")
    with listing.open(newline="") as fh:
        rows = [row for row in csv.reader(fh) if row]
    return [
        (
            (folder / name).stat().st_size,
            Piece((folder / name).read_bytes, float(start), seconds=float(end) - float(start)),
        )
        for name, start, end, *_ in rows
    ]
