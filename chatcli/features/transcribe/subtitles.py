"""Joining the transcripts of a split file's pieces into one, in the format asked for.

Plain text: one piece per line; ``json``: texts joined with a space; ``srt`` and ``vtt``: cues
shifted by the piece's start time (srt cues renumbered); ``verbose_json``: segments and words
shifted, renumbered and concatenated, durations summed. A piece that starts with an overlap
(cut outside any silence) loses the cues that lie in the overlap, and in text the words that
repeat the end of the piece before. A new subtitle format is one ``join_*`` function here and
its name in ``join``.

Pieces are joined after every one of them was paid for, so a piece whose segments or cues carry
times that are not numbers loses only those (``report`` is told how many), never the whole.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from chatcli.errors import APIError

_STAMP = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{3})")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")


Report = Callable[[str], None]


def join(
    fmt: str,
    texts: list[str],
    starts: list[float],
    keeps: list[float] | None = None,
    report: Report | None = None,
) -> str:
    """One transcript in format ``fmt`` from the pieces' transcripts, start times and the
    times from which each piece's transcript is new (after an overlap); what cannot be placed
    in time is left out and described to ``report``."""
    if len(texts) == 1:
        return texts[0] if texts[0].endswith("\n") else texts[0] + "\n"
    keeps = keeps or starts
    if fmt == "json":
        plain = [str(_json(t).get("text", "")).strip() for t in texts]
        joined = " ".join(dedupe(plain, starts, keeps))
        return json.dumps({"text": joined}, ensure_ascii=False) + "\n"
    if fmt == "verbose_json":
        joined_obj = join_verbose([_json(t) for t in texts], starts, keeps, report)
        return json.dumps(joined_obj, ensure_ascii=False) + "\n"
    if fmt == "srt":
        return join_srt(texts, starts, keeps, report)
    if fmt == "vtt":
        return join_vtt(texts, starts, keeps, report)
    return "".join(t.strip() + "\n" for t in dedupe(texts, starts, keeps) if t.strip())


OVERLAP_WORDS = 40
"""Most words an overlap of half a second or so can repeat (with room to spare)."""


def dedupe(texts: list[str], starts: list[float], keeps: list[float]) -> list[str]:
    """Texts with the words a piece repeats from the end of the one before (after an overlap)
    removed: the longest run of at least two words that ends one and starts the next."""
    out = [texts[0]]
    for text, start, keep in zip(texts[1:], starts[1:], keeps[1:], strict=True):
        if keep <= start:
            out.append(text)
            continue
        prev = [_word(w) for w in out[-1].split()[-OVERLAP_WORDS:]]
        words = text.split()
        head = [_word(w) for w in words[:OVERLAP_WORDS]]
        drop = next(
            (k for k in range(min(len(prev), len(head)), 1, -1) if prev[-k:] == head[:k]), 0
        )
        out.append(" ".join(words[drop:]))
    return out


def _word(word: str) -> str:
    return re.sub(r"\W+", "", word).lower()


def _overlapped(line: str, start: float, keep: float) -> bool:
    """True for a cue (its timing line, piece-relative) that ends before ``keep``: the piece
    before already transcribed it."""
    if keep <= start:
        return False
    stamps = _STAMP.findall(line)
    if len(stamps) < 2:
        return False
    h, m, s, ms = stamps[1]
    end = int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000
    return start + end <= keep + 0.05


def _json(text: str) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        raise APIError(
            f"malformed transcription: {text[:120]!r}",
            hint="the endpoint is not answering like an OpenAI-compatible API",
        )
    return obj


def _timestamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def shift_timing(line: str, offset: float, sep: str) -> str:
    """A cue timing line (``a --> b [settings]``) with both times moved by ``offset`` s."""

    def moved(m: re.Match[str]) -> str:
        h, mi, s, ms = m.groups()
        seconds = int(h or 0) * 3600 + int(mi) * 60 + int(s) + int(ms) / 1000
        return _timestamp(seconds + offset, sep)

    return _STAMP.sub(moved, line)


def _blocks(text: str) -> list[str]:
    return [b for b in _BLANK_LINE.split(text.replace("\r\n", "\n").strip()) if b.strip()]


def _untimed(report: Report | None, piece: int, count: int, what: str) -> None:
    if count and report is not None:
        plural = "s" if count != 1 else ""
        report(f"piece {piece}: {count} {what}{plural} without usable times left out")


def _timed(line: str) -> bool:
    """A cue timing line with two times chatcli can read (and so shift)."""
    return len(_STAMP.findall(line)) >= 2


def join_srt(
    texts: list[str],
    starts: list[float],
    keeps: list[float] | None = None,
    report: Report | None = None,
) -> str:
    """SRT cues of every piece, times shifted, numbered 1..n."""
    cues: list[str] = []
    for piece, (text, start, keep) in enumerate(
        zip(texts, starts, keeps or starts, strict=True), 1
    ):
        untimed = 0
        for block in _blocks(text):
            lines = block.split("\n")
            at = next((i for i, line in enumerate(lines) if "-->" in line), None)
            if at is None or not _timed(lines[at]):
                untimed += 1
                continue
            if _overlapped(lines[at], start, keep):
                continue
            body = [shift_timing(lines[at], start, ","), *lines[at + 1 :]]
            cues.append(f"{len(cues) + 1}\n" + "\n".join(body) + "\n\n")
        _untimed(report, piece, untimed, "cue")
    return "".join(cues)


def join_vtt(
    texts: list[str],
    starts: list[float],
    keeps: list[float] | None = None,
    report: Report | None = None,
) -> str:
    """One WEBVTT header, then every piece's cues and notes with their times shifted."""
    out = ["WEBVTT\n\n"]
    for piece, (text, start, keep) in enumerate(
        zip(texts, starts, keeps or starts, strict=True), 1
    ):
        untimed = 0
        for block in _blocks(text):
            timing = next((line for line in block.split("\n") if "-->" in line), "")
            if block.startswith("WEBVTT"):
                continue
            if timing and not _timed(timing):
                untimed += 1
                continue
            if _overlapped(timing, start, keep):
                continue
            lines = [
                shift_timing(line, start, ".") if "-->" in line else line
                for line in block.split("\n")
            ]
            out.append("\n".join(lines) + "\n\n")
        _untimed(report, piece, untimed, "cue")
    return "".join(out)


def _seconds(value: object) -> float | None:
    """A JSON time in seconds, or None for anything else (text, null, NaN, a list...)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _readable_times(item: object) -> bool:
    """A segment or word whose ``start`` and ``end`` are numbers where it has them."""
    if not isinstance(item, dict):
        return False
    return all(_seconds(item[k]) is not None for k in ("start", "end") if k in item)


def _items(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    return value if isinstance(value, list) else []


def join_verbose(
    objs: list[dict[str, Any]],
    starts: list[float],
    keeps: list[float] | None = None,
    report: Report | None = None,
) -> dict[str, Any]:
    """verbose_json of the whole: segments and words shifted and renumbered, durations summed."""
    result = dict(objs[0])
    segments: list[dict[str, Any]] = []
    words: list[dict[str, Any]] = []
    for piece, (obj, start, keep) in enumerate(zip(objs, starts, keeps or starts, strict=True), 1):
        for key, kept in (("segments", segments), ("words", words)):
            untimed = 0
            for item in _items(obj, key):
                if not _readable_times(item):
                    untimed += 1
                    continue
                extra = {"id": len(kept)} if key == "segments" else {}
                moved = _shifted(item, start, **extra)
                end = moved.get("end", moved.get("start", 0.0))
                if keep <= start or float(end) > keep + 0.05:
                    kept.append(moved)
            _untimed(report, piece, untimed, key[:-1])
    plain = [str(o.get("text", "")).strip() for o in objs]
    result["text"] = " ".join(dedupe(plain, starts, keeps or starts))
    # pieces may overlap: the whole lasts until the end of the last one
    last = _seconds(objs[-1].get("duration"))
    if last is None:
        ends = [float(x["end"]) for x in segments + words if "end" in x]
        last = max(ends, default=starts[-1]) - starts[-1]
    result["duration"] = round(starts[-1] + max(last, 0.0), 3)
    if "segments" in result or segments:
        result["segments"] = segments
    if "words" in result or words:
        result["words"] = words
    return result


def _shifted(item: Any, offset: float, **extra: Any) -> dict[str, Any]:
    out = dict(item) if isinstance(item, dict) else {}
    for key in ("start", "end"):
        if isinstance(out.get(key), int | float):
            out[key] = round(out[key] + offset, 3)
    out.update(extra)
    return out
