"""``POST /audio/speech`` for the fake server: JSON in, audio bytes out.

The body is a short real WAV for ``wav`` and, for the compressed formats, bytes that start with
that format's magic number followed by the input text, so tests can check what was sent by
what came back without decoding audio.
"""

from __future__ import annotations

import io
import wave
from typing import Any

VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer")
MAGIC = {
    "mp3": (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
    "opus": (b"OggS\x00\x02", "audio/ogg"),
    "aac": (b"\xff\xf1\x50\x80", "audio/aac"),
    "flac": (b"fLaC\x00\x00\x00\x22", "audio/flac"),
}


def render(req: Any) -> tuple[int, bytes, str]:
    """(status, body, content type) for one speech request."""
    if not isinstance(req, dict):
        return 400, b'{"error": {"message": "Expected a JSON body."}}', "application/json"
    text, voice = req.get("input"), req.get("voice")
    fmt = req.get("response_format") or "mp3"
    if not isinstance(text, str) or not text or len(text) > 4096:
        return _error("'input' must be a string of 1 to 4096 characters")
    if voice not in VOICES:
        return _error(f"Invalid voice: {voice!r}")
    if fmt == "wav":
        return 200, _wav(text), "audio/wav"
    if fmt not in MAGIC:
        return _error(f"Invalid response_format: {fmt!r}")
    magic, mime = MAGIC[fmt]
    return 200, magic + text.encode("utf-8"), mime


def _error(message: str) -> tuple[int, bytes, str]:
    import json

    body = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    return 400, json.dumps(body).encode(), "application/json"


def _wav(text: str) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 80 * len(text))  # 10 ms of silence per character
    return out.getvalue()
