"""The transcript formats ``transcribe --format`` offers and the file extension of each,
declared once (the CLI's Choice parameter, completion and the output files read them)."""

from __future__ import annotations

from enum import StrEnum


class TranscriptFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    SRT = "srt"
    VTT = "vtt"
    VERBOSE_JSON = "verbose_json"


EXTENSIONS: dict[str, str] = {
    TranscriptFormat.TEXT: "txt",
    TranscriptFormat.JSON: "json",
    TranscriptFormat.SRT: "srt",
    TranscriptFormat.VTT: "vtt",
    TranscriptFormat.VERBOSE_JSON: "json",
}
