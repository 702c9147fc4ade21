"""The audio formats ``speak --format`` offers, declared once (the CLI's Choice parameter,
completion and the output file's name read them)."""

from __future__ import annotations

from enum import StrEnum


class AudioFormat(StrEnum):
    MP3 = "mp3"
    OPUS = "opus"
    AAC = "aac"
    FLAC = "flac"
    WAV = "wav"
