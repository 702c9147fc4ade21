"""Image, audio and speech requests in the usage log (``logged``), with their prices, so
budgets and ``usage`` cover them. Chat turns are logged by ``session``; these are the rest.

Images are priced by the tokens the response reports where the model bills so, else per image
from the table (``pricing.image_cost``); speech per character, or per minute of the audio made;
transcription per minute of the uploaded audio. Lengths are read from the audio: the WAV
header, or ffmpeg's report for other containers. A length that cannot be found leaves the cost
unknown (None), never 0.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from chatcli.pricing import ModelInfo, audio_cost, image_cost, image_token_cost, speech_cost
from chatcli.store import Status, Store, UsageRecord


@contextmanager
def logged(
    store: Store,
    model: str,
    profile: str,
    command: str,
    cost: Callable[[Status], float | None] = lambda status: None,
) -> Iterator[None]:
    """Time the request made inside the block and put it in the usage log however it ends: ok,
    error or interrupted (Ctrl-C, a signal, or a request cut by ``Provider.abort`` in a worker
    thread), priced by ``cost(status)`` (None: unknown, never 0 by default). A request a spent
    budget refused was never sent: it is not logged."""
    from chatcli.errors import BudgetExceeded, Interrupted

    started = time.monotonic()
    status: Status = "error"
    refused = False
    try:
        yield
        status = "ok"
    except BudgetExceeded:
        refused = True  # never sent
        raise
    except (KeyboardInterrupt, Interrupted):
        status = "interrupted"
        raise
    finally:
        if not refused:
            latency = round((time.monotonic() - started) * 1000)
            store.log_usage(
                UsageRecord(
                    model, profile, command, status, 0, 0, cost_usd=cost(status),
                    latency_ms=latency,
                )
            )  # fmt: skip


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
    from chatcli.features.durations import ffmpeg_duration

    with tempfile.TemporaryDirectory(prefix="chatcli-") as tmp:
        path = Path(tmp) / "audio"
        path.write_bytes(data)
        return ffmpeg_duration(ffmpeg, path)


def speech_price(info: ModelInfo, text: str, audio: bytes | None) -> float | None:
    """What speaking ``text`` cost: per character (tts-1, tts-1-hd), else per minute of the
    ``audio`` made (token-billed models, at OpenAI's published estimate); None when unknown."""
    if info.char_price is not None:
        return speech_cost(info, text, None)
    seconds = audio_seconds(audio) if audio is not None and info.minute_price else None
    return speech_cost(info, text, seconds)


def transcription_cost(info: ModelInfo, data: bytes, status: Status) -> float | None:
    """One uploaded piece: priced by its length when it was transcribed; a failure costs 0."""
    if status != "ok":
        return 0.0
    return audio_cost(info, audio_seconds(data))


def images_cost(
    info: ModelInfo,
    n: int,
    size: str | None,
    status: Status,
    tokens: tuple[int, int, int] | None = None,
) -> float | None:
    """What an images request cost: the tokens the response reported (text in, image in, out)
    at the model's token rates, else ``n`` images of ``size`` at the API's default quality
    (chatcli sends none) from the per-image table; a failed request made none and costs 0.
    ``n`` is what the provider made (the images its 200 answer listed, paid for even when one
    of them cannot be downloaded or read)."""
    if status != "ok":
        return 0.0
    if tokens is not None:
        by_tokens = image_token_cost(info, *tokens)
        if by_tokens is not None:
            return by_tokens
    return image_cost(info, n, size)
