"""How long a recording is, as ffmpeg reports it: shared by transcribe (where to cut) and the
usage log (audio is priced per minute), so neither reaches into the other."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def ffmpeg_duration(ffmpeg: str, path: Path) -> float | None:
    """The ``Duration:`` ffmpeg reports for ``path`` (it prints it for ``-i`` alone)."""
    proc = subprocess.run(
        [ffmpeg, "-hide_banner", "-i", str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        stdin=subprocess.DEVNULL,
    )
    match = re.search(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)", proc.stderr)
    if match is None:
        return None
    h, m, s = match.groups()
    return int(h) * 3600 + int(m) * 60 + float(s)
