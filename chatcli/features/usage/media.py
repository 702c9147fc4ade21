"""Prices of image and audio requests for the usage log, so budgets and ``usage`` cover them.

Images are priced per image from the model's table (``pricing.image_cost``); audio per minute
of the uploaded audio, whose length is read from the file: the WAV header, or ffmpeg's report
for other containers. A length that cannot be found leaves the cost unknown (None), never 0.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import wave
from pathlib import Path

from chatcli.pricing import ModelInfo, audio_cost, image_cost
from chatcli.store import Status


def audio_seconds(data: bytes) -> float | None:
    """The audio's length in seconds, or None when neither ``wave`` nor ffmpeg can tell."""
    try:
        with wave.open(io.BytesIO(data)) as src:
            rate = src.getframerate()
            return src.getnframes() / rate if rate > 0 else None
    except (wave.Error, EOFError):
        pass
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    from chatcli.features.transcribe.split import _duration

    with tempfile.TemporaryDirectory(prefix="chatcli-") as tmp:
        path = Path(tmp) / "audio"
        path.write_bytes(data)
        return _duration(ffmpeg, path)


def transcription_cost(info: ModelInfo, data: bytes, status: Status) -> float | None:
    """One uploaded piece: priced by its length when it was transcribed; a failure costs 0."""
    if status != "ok":
        return 0.0
    return audio_cost(info, audio_seconds(data))


def images_cost(info: ModelInfo, n: int, size: str | None) -> float | None:
    """``n`` images of ``size`` at the API's default quality (chatcli sends none)."""
    return image_cost(info, n, size)
