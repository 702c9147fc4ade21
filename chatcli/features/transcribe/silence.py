"""Where to cut long audio: in silences near the size limit, so no word is cut in half.

``ffmpeg``'s ``silencedetect`` filter lists the quiet stretches once for the whole file; each
cut is then placed inside the silence nearest to an even share of the remaining audio, within a
window before it (a piece may not exceed what fits the upload limit). Where no silence is near,
the cut falls at the even share and the next piece starts ``OVERLAP`` seconds earlier; the part
of its transcript that lies in that overlap is dropped when joining (``keep_from``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from chatcli.features.transcribe import work

NOISE_DB = -35
"""Quieter than this counts as silence (speech sits around -20 dB and above)."""
MIN_SILENCE = 0.3
"""Shortest pause, in seconds, that counts: the gap between sentences, not between syllables."""
WINDOW = 0.25
"""A cut may move this share of a piece's length earlier to reach a silence."""
OVERLAP = 0.5
"""Seconds repeated at the start of a piece that was cut outside any silence."""


@dataclass(frozen=True)
class Span:
    """A piece of the timeline: [start, end) in seconds; its transcript counts from keep_from."""

    start: float
    end: float
    keep_from: float

    @property
    def at_silence(self) -> bool:
        return self.start == self.keep_from


def detect(ffmpeg: str, path: Path) -> list[tuple[float, float]]:
    """(start, end) of every silence ffmpeg finds in ``path``."""
    proc = work.run(
        [ffmpeg, "-hide_banner", "-nostdin", "-i", str(path), "-map", "0:a:0",
         "-af", f"silencedetect=noise={NOISE_DB}dB:d={MIN_SILENCE}", "-f", "null", "-"],
        capture_output=True, text=True, errors="replace",
    )  # fmt: skip
    out: list[tuple[float, float]] = []
    start: float | None = None
    for match in re.finditer(r"silence_(start|end): (-?[\d.]+)", proc.stderr):
        value = max(float(match.group(2)), 0.0)
        if match.group(1) == "start":
            start = value
        elif start is not None:
            out.append((start, value))
            start = None
    if start is not None:
        out.append((start, math.inf))
    return out


def plan(duration: float, max_len: float, silences: list[tuple[float, float]]) -> list[Span]:
    """Spans covering [0, duration), each at most ``max_len`` seconds long."""
    spans: list[Span] = []
    start = keep = 0.0
    while duration - start > max_len:
        remaining = duration - keep
        share = remaining / math.ceil(remaining / max_len)
        target = keep + share
        hi = min(target + 0.1 * share, start + max_len)
        cut = _in_silence(silences, target, target - WINDOW * share, hi)
        if cut is not None:
            spans.append(Span(start, cut, keep))
            start = keep = cut
            continue
        cut = min(target, start + max_len)
        spans.append(Span(start, cut, keep))
        start, keep = max(cut - OVERLAP, start + max_len / 2), cut
    spans.append(Span(start, duration, keep))
    return spans


def _in_silence(
    silences: list[tuple[float, float]], target: float, lo: float, hi: float
) -> float | None:
    """The point inside a silence within [lo, hi] nearest ``target``, away from its edges."""
    best: float | None = None
    for s, e in silences:
        pad = min(0.1, (e - s) / 4)
        a, b = max(s + pad, lo), min(e - pad, hi)
        if a > b:
            continue
        point = min(max(target, a), b)
        if best is None or abs(point - target) < abs(best - target):
            best = point
    return best
