"""Audio the endpoints accept, from any container ffmpeg reads (aac, opus, wma, mov, mkv, ...).

Audio the endpoints take as it is (mp3, wav, flac, ogg, m4a, and mp4/webm without a picture) is
sent unchanged. A video, or audio in a container the endpoints refuse, goes through ffmpeg
first: its first audio track becomes mono 16 kHz MP3 at 48 kb/s (what the speech models hear
anyway), so a 40 MB video with a few minutes of talk uploads a few hundred KB, and splitting
is decided from that size, not the file's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from chatcli.errors import UsageError
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
        if kind is not None:
            return data, kind, False
        raise not_audio
    if not_audio.message.split(" is ", 1)[-1].startswith("text"):
        raise not_audio
    with tempfile.TemporaryDirectory(prefix="chatcli-") as tmp:
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
        proc = subprocess.run(
            [ffmpeg, "-hide_banner", "-v", "error", "-nostdin", "-i", str(original),
             "-map", "0:a:0", "-vn", "-ac", "1", "-ar", "16000", "-c:a", "libmp3lame",
             "-b:a", "48k", str(out)],
            capture_output=True, text=True, errors="replace",
        )  # fmt: skip
        if proc.returncode != 0 or not out.exists():
            reason = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise UsageError(f"ffmpeg could not extract the audio of {source}: {reason}")
        return out.read_bytes(), MP3, True


def _streams(ffmpeg: str, path: Path) -> set[str]:
    """The kinds of stream (``Audio``, ``Video``) ffmpeg sees in ``path``; cover art is not
    a video."""
    proc = subprocess.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True, text=True, errors="replace",
    )  # fmt: skip
    kinds = set()
    for line in proc.stderr.splitlines():
        match = re.search(r"Stream #\S+.*?: (Audio|Video): (.*)", line)
        if match and not (match.group(1) == "Video" and "attached pic" in match.group(2)):
            kinds.add(match.group(1))
    return kinds
