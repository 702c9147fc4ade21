"""Audio the endpoints accept, from any container ffmpeg reads (aac, opus, wma, mov, mkv, ...).

Audio the endpoints take as it is (mp3, wav, flac, ogg, m4a, and mp4/webm without a picture) is
sent unchanged. A video, or audio in a container the endpoints refuse, goes through ffmpeg
first: its first audio track becomes mono 16 kHz MP3 at 48 kb/s (what the speech models hear
anyway), so a 40 MB video with a few minutes of talk uploads a few hundred KB, and splitting
is decided from that size, not the file's. Without ffmpeg, an mp4 or Matroska/WebM file with
a video track (seen in its MP4 ``moov`` box or Matroska ``Tracks`` element) is refused with a
hint: uploading the whole video, picture and all, is not what the endpoints take.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from chatcli.errors import UsageError
from chatcli.features.transcribe import work
from chatcli.features.transcribe.split import AudioKind, sniff

MP3 = AudioKind("mp3", "audio/mpeg")
_MAYBE_VIDEO = ("mp4", "webm")


def prepare(data: bytes, source: str, not_audio: UsageError) -> tuple[bytes, AudioKind, bool]:
    """(audio bytes, their kind, whether they were extracted) for ``data``; ``not_audio`` is
    raised when neither the endpoints nor ffmpeg can use it."""
    kind = sniff(data)
    if kind is not None and kind.ext not in _MAYBE_VIDEO:
        return data, kind, False
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        if kind is not None and has_video(data):
            raise UsageError(
                f"{source} is a video: its audio track must be extracted first, and that "
                "needs ffmpeg, which is not installed",
                hint="install ffmpeg, or extract the audio elsewhere "
                "(ffmpeg -i FILE -vn -ac 1 -b:a 48k talk.mp3) and give that file",
            )
        if kind is not None:
            return data, kind, False
        raise not_audio
    if not_audio.message.split(" is ", 1)[-1].startswith("text"):
        raise not_audio
    with work.folder() as tmp:
        original = Path(tmp) / "input"
        original.write_bytes(data)
        streams = _streams(ffmpeg, original)
        if kind is not None and "Video" not in streams:
            return data, kind, False
        if "Audio" not in streams and (kind is None or "Video" not in streams):
            raise not_audio  # ffmpeg reads images too: a picture is not a video here
        if "Audio" not in streams:
            raise UsageError(f"{source} has no audio track to transcribe")
        out = Path(tmp) / "audio.mp3"
        proc = work.run(
            [ffmpeg, "-hide_banner", "-v", "error", "-nostdin", "-i", str(original),
             "-map", "0:a:0", "-vn", "-ac", "1", "-ar", "16000", "-c:a", "libmp3lame",
             "-b:a", "48k", str(out)],
            capture_output=True, text=True, errors="replace",
        )  # fmt: skip
        if proc.returncode != 0 or not out.exists():
            reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise UsageError(f"ffmpeg could not extract the audio of {source}: {reason}")
        return out.read_bytes(), MP3, True


def has_video(data: bytes) -> bool:
    """Whether an MP4 or Matroska/WebM file declares a video track (read without ffmpeg)."""
    if data[4:8] == b"ftyp":
        moov = _mp4_box(data, b"moov")
        return moov is not None and b"vmhd" in moov  # a video track's media header
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        at = data.find(b"\x16\x54\xae\x6b", 0, 4 * 1024 * 1024)  # the Tracks element
        if at < 0:
            return False
        tracks = data[at + 4 : at + 4 + 256 * 1024]
        return b"\x83\x81\x01" in tracks  # TrackType (0x83), one byte long, 1: video
    return False


def _mp4_box(data: bytes, name: bytes) -> bytes | None:
    """The body of the top-level MP4 box ``name``, or None."""
    pos = 0
    while pos + 8 <= len(data):
        size, kind = int.from_bytes(data[pos : pos + 4], "big"), data[pos + 4 : pos + 8]
        head = 8
        if size == 1 and pos + 16 <= len(data):
            size, head = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
        elif size == 0:
            size = len(data) - pos
        if size < head:
            return None
        if kind == name:
            return data[pos + head : pos + size]
        pos += size
    return None


def _streams(ffmpeg: str, path: Path) -> set[str]:
    """The kinds of stream (``Audio``, ``Video``) ffmpeg sees in ``path``; cover art is not
    a video."""
    proc = work.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True, text=True, errors="replace",
    )  # fmt: skip
    kinds = set()
    for line in proc.stderr.splitlines():
        match = re.search(r"Stream #\S+.*?: (Audio|Video): (.*)", line)
        if match and not (match.group(1) == "Video" and "attached pic" in match.group(2)):
            kinds.add(match.group(1))
    return kinds
