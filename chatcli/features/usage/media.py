"""Image, audio and speech requests in the usage log (``logged``), with their prices, so
budgets and ``usage`` cover them. Chat turns are logged by ``session``; these are the rest.

Images are priced by the tokens the response reports where the model bills so, else per image
from the table (``pricing.image_cost``); speech per character, or per minute of the audio made;
transcription per minute of the uploaded audio. Lengths are read from the audio: a WAV's
bytes (``wav_audio``), or ffmpeg's report for other containers. A length that cannot be found
leaves the cost unknown (None), never 0.

A WAV's header is not trusted for its length: a WAV written to a pipe (``ffmpeg -f wav -``,
``arecord``, ``sox -t wav -``) says 0 or 0xFFFFFFFF bytes, one a crashed recorder left says
more than there is; the audio is the bytes present. An MP3 cut short is priced by the share of
the stream its Xing/Info/VBRI header says is there, not by the length that header claims.
"""

from __future__ import annotations

import shutil
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
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
    thread), priced by ``cost(status)`` (None: unknown, never 0 by default). A request that
    never reached the endpoint (a spent budget, a refused connection: ``accounting.logs``)
    is not logged."""
    from chatcli.accounting import logs
    from chatcli.errors import Interrupted

    started = time.monotonic()
    status: Status = "error"
    refused = False
    try:
        yield
        status = "ok"
    except (KeyboardInterrupt, Interrupted):
        status = "interrupted"
        raise
    except Exception as exc:
        refused = not logs(exc)  # never sent
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


_PCM, _FLOAT, _ALAW, _MULAW, _EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)
"""What a WAV written to a pipe says its data is: its writer could not go back to fill it in."""


@dataclass(frozen=True)
class WavAudio:
    """A WAV as its bytes have it: the format its header gives and the whole frames present."""

    tag: int  # the format (1 PCM, 3 float...; the sub-format of an extensible WAV)
    channels: int
    rate: int  # frames per second
    byte_rate: int
    align: int  # bytes per frame
    bits: int
    frames: bytes  # the audio present, cut to whole frames

    @property
    def pcm(self) -> bool:
        """Integer PCM that the stdlib ``wave`` module writes (pieces of a split)."""
        return (
            self.tag == _PCM
            and self.bits in (8, 16, 24, 32)
            and (self.align == self.channels * self.bits // 8)
        )

    @property
    def seconds(self) -> float | None:
        """The length of the frames present; None when the header gives no rate."""
        if self.tag in (_PCM, _FLOAT, _ALAW, _MULAW):
            return len(self.frames) // self.align / self.rate
        return len(self.frames) / self.byte_rate if self.byte_rate > 0 else None


def wav_audio(data: bytes) -> WavAudio | None:
    """``data`` read as a RIFF WAV: its ``fmt`` chunk and the frames of its ``data`` chunk
    that are there (see ``wav_format``); None when it is no WAV, or one without a usable
    format."""
    found = wav_format(lambda at, n: data[at : at + n], len(data))
    if found is None:
        return None
    audio, start, length = found
    return replace(audio, frames=data[start : start + length])


def wav_format(read: Callable[[int, int], bytes], size: int) -> tuple[WavAudio, int, int] | None:
    """A RIFF WAV of ``size`` bytes, read through ``read(offset, count)``, without its frames:
    its ``fmt`` chunk (as a ``WavAudio`` with no frames), where the frames of its ``data``
    chunk start and how many bytes of whole frames are there (a size of 0 or 0xFFFFFFFF, or
    one past the end, means "to the end"); None when it is no WAV, or one without a usable
    format. One reader for bytes in memory (``wav_audio``) and a file split in place
    (``transcribe.split.wav_layout``)."""
    head = read(0, 12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, fmt = 12, None
    while pos + 8 <= size:
        chunk, length = struct.unpack("<4sI", read(pos, 8))
        body = pos + 8
        if chunk == b"fmt " and length >= 16 and body + 16 <= size:
            raw = read(body, 40 if length >= 40 and body + 40 <= size else 16)
            fmt = struct.unpack_from("<HHIIHH", raw)
            if fmt[0] == _EXTENSIBLE and len(raw) >= 40:
                fmt = (int.from_bytes(raw[24:26], "little"), *fmt[1:])
        elif chunk == b"data":
            if fmt is None:
                return None
            tag, channels, rate, byte_rate, align, bits = fmt
            align = align or channels * ((bits + 7) // 8)
            if channels < 1 or rate < 1 or align < 1:
                return None
            end = body + length
            if length in _UNKNOWN_SIZES or end > size:
                end = size
            audio = WavAudio(tag, channels, rate, byte_rate, align, bits, b"")
            return audio, body, (end - body) // align * align
        pos = body + length + (length & 1)
    return None


def audio_seconds(data: bytes) -> float | None:
    """The audio's length in seconds, or None when neither the WAV reader nor ffmpeg can
    tell."""
    wav = wav_audio(data)
    if wav is not None and wav.seconds is not None:
        return wav.seconds
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    from chatcli.features.durations import ffmpeg_duration

    with tempfile.TemporaryDirectory(prefix="chatcli-") as tmp:
        path = Path(tmp) / "audio"
        path.write_bytes(data)
        seconds = ffmpeg_duration(ffmpeg, path)
    share = mp3_share(data)
    return seconds * share if seconds is not None and share is not None else seconds


def mp3_share(data: bytes) -> float | None:
    """For an MP3 whose Xing/Info (LAME) or VBRI header says how many bytes its stream holds
    (ffmpeg takes its length from there): the share of them present, when fewer are; None
    otherwise."""
    start = 0
    if data.startswith(b"ID3") and len(data) >= 10:  # an ID3v2 tag: a syncsafe size
        size = 0
        for byte in data[6:10]:
            size = size << 7 | (byte & 0x7F)
        start = 10 + size + (10 if data[5] & 0x10 else 0)
    if len(data) < start + 4 or data[start] != 0xFF or data[start + 1] & 0xE0 != 0xE0:
        return None
    head = data[start : start + 200]
    claimed = None
    for tag in (b"Xing", b"Info"):
        at = head.find(tag)
        if at >= 0 and len(head) >= at + 8:
            flags = int.from_bytes(head[at + 4 : at + 8], "big")
            field = at + 8 + (4 if flags & 1 else 0)  # the frame count comes first
            if flags & 2 and len(head) >= field + 4:
                claimed = int.from_bytes(head[field : field + 4], "big")
            break
    at = head.find(b"VBRI")
    if claimed is None and at >= 0 and len(head) >= at + 14:
        claimed = int.from_bytes(head[at + 10 : at + 14], "big")
    present = len(data) - start
    if not claimed or present >= claimed:
        return None
    return present / claimed


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
