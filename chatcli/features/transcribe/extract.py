"""Audio the endpoints accept, from any container ffmpeg reads (aac, opus, wma, mov, mkv, ...).

Audio the endpoints take as it is (mp3, wav, flac, ogg, m4a, and mp4/webm without a picture) is
sent unchanged. A video, or audio in a container the endpoints refuse, goes through ffmpeg
first: its first audio track becomes mono 16 kHz MP3 at 48 kb/s (what the speech models hear
anyway), so a 40 MB video with a few minutes of talk uploads a few hundred KB, and splitting
is decided from that size, not the file's. ffmpeg reads the file where it is: a 2 GB video is
neither held in memory nor copied. Without ffmpeg, an mp4 or Matroska/WebM file with
a video track (seen in its MP4 ``moov`` box or Matroska ``Tracks`` element) is refused with a
hint: uploading the whole video, picture and all, is not what the endpoints take.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from chatcli.errors import UsageError
from chatcli.features.transcribe import work
from chatcli.features.transcribe.split import AudioKind, sniff

if TYPE_CHECKING:
    from chatcli.features.transcribe.source import Input

MP3 = AudioKind("mp3", "audio/mpeg")
_MAYBE_VIDEO = ("mp4", "webm")


def prepare(inp: Input, folder: Path, not_audio: UsageError) -> tuple[Path, int, AudioKind, bool]:
    """(the file holding the audio to send, its size, its kind, whether it was extracted) for
    ``inp``; ``not_audio`` is raised when neither the endpoints nor ffmpeg can use it. ffmpeg
    reads the input from its own file and writes the extracted track into ``folder``."""
    kind = sniff(inp.head)
    if kind is not None and kind.ext not in _MAYBE_VIDEO:
        return inp.path, inp.size, kind, False
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        if kind is not None and has_video(inp.path):
            raise UsageError(
                f"{inp.source} is a video: its audio track must be extracted first, and that "
                "needs ffmpeg, which is not installed",
                hint="install ffmpeg, or extract the audio elsewhere "
                "(ffmpeg -i FILE -vn -ac 1 -b:a 48k talk.mp3) and give that file",
            )
        if kind is not None:
            return inp.path, inp.size, kind, False
        raise not_audio
    if not_audio.message.split(" is ", 1)[-1].startswith("text"):
        raise not_audio
    streams = _streams(ffmpeg, inp.path)
    if kind is not None and "Video" not in streams:
        return inp.path, inp.size, kind, False
    if "Audio" not in streams and (kind is None or "Video" not in streams):
        raise not_audio  # ffmpeg reads images too: a picture is not a video here
    if "Audio" not in streams:
        raise UsageError(f"{inp.source} has no audio track to transcribe")
    out = folder / "audio.mp3"
    proc = work.run(
        [ffmpeg, "-hide_banner", "-v", "error", "-nostdin", "-i", work.arg(inp.path),
         "-map", "0:a:0", "-vn", "-ac", "1", "-ar", "16000", "-c:a", "libmp3lame",
         "-b:a", "48k", str(out)],
        capture_output=True, text=True, errors="replace",
    )  # fmt: skip
    if proc.returncode != 0 or not out.exists():
        reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise UsageError(f"ffmpeg could not extract the audio of {inp.source}: {reason}")
    return out, out.stat().st_size, MP3, True


def has_video(path: Path) -> bool:
    """Whether an MP4 or Matroska/WebM file declares a video track (read without ffmpeg, and
    without reading more of the file than its ``moov`` box or first megabytes)."""
    with path.open("rb") as fh:
        head = fh.read(12)
        if head[4:8] == b"ftyp":
            box = _mp4_box(fh, b"moov")
            return box is not None and _holds(fh, *box, b"vmhd")  # a video track's header
        if head.startswith(b"\x1a\x45\xdf\xa3"):
            fh.seek(0)
            data = fh.read(4 * 1024 * 1024 + 256 * 1024)
            at = data.find(b"\x16\x54\xae\x6b", 0, 4 * 1024 * 1024)  # the Tracks element
            if at < 0:
                return False
            tracks = data[at + 4 : at + 4 + 256 * 1024]
            return b"\x83\x81\x01" in tracks  # TrackType (0x83), one byte long, 1: video
    return False


def _mp4_box(fh: BinaryIO, name: bytes) -> tuple[int, int] | None:
    """(offset, size) of the body of the top-level MP4 box ``name``, or None."""
    end = os.fstat(fh.fileno()).st_size
    pos = 0
    while pos + 8 <= end:
        fh.seek(pos)
        header = fh.read(16)
        size, kind = int.from_bytes(header[0:4], "big"), header[4:8]
        head = 8
        if size == 1 and len(header) >= 16:
            size, head = int.from_bytes(header[8:16], "big"), 16
        elif size == 0:
            size = end - pos
        if size < head:
            return None
        if kind == name:
            return pos + head, min(size, end - pos) - head
        pos += size
    return None


def _holds(fh: BinaryIO, offset: int, size: int, needle: bytes) -> bool:
    """Whether ``size`` bytes at ``offset`` hold ``needle``, read a megabyte at a time."""
    fh.seek(offset)
    tail = b""
    while size > 0:
        chunk = fh.read(min(size, 1024 * 1024))
        if not chunk:
            return False
        if needle in tail + chunk:
            return True
        tail, size = chunk[-len(needle) :], size - len(chunk)
    return False


def _streams(ffmpeg: str, path: Path) -> set[str]:
    """The kinds of stream (``Audio``, ``Video``) ffmpeg sees in ``path``; cover art is not
    a video."""
    proc = work.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-i", work.arg(path)],
        capture_output=True, text=True, errors="replace",
    )  # fmt: skip
    kinds = set()
    for line in proc.stderr.splitlines():
        match = re.search(r"Stream #\S+.*?: (Audio|Video): (.*)", line)
        if match and not (match.group(1) == "Video" and "attached pic" in match.group(2)):
            kinds.add(match.group(1))
    return kinds
