"""What ``chatcli transcribe`` does: read the audio, split it if too big, upload, join, print.

Pieces of a split file are transcribed one after the other and joined in the requested format:
plain text one piece per line; ``json`` texts joined with a space; ``srt`` and ``vtt`` cues
shifted by the piece's start time (and srt cues renumbered); ``verbose_json`` segments (and
words) shifted, renumbered and concatenated, durations summed.

``CHATCLI_UPLOAD_LIMIT`` (bytes) lowers the 25 MiB split threshold. It is a test and debugging
knob, also handy for a relay or gateway with a smaller upload limit than OpenAI's.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatcli.errors import APIError, ChatcliError, UsageError
from chatcli.events import Notice
from chatcli.features.transcribe.split import UPLOAD_LIMIT, AudioKind, Piece, sniff, split
from chatcli.output import Notifier
from chatcli.settings.resolve import Env, Globals, resolve

if TYPE_CHECKING:
    from chatcli.store import Status

DEFAULT_MODEL = "whisper-1"
LIMIT_ENV = "CHATCLI_UPLOAD_LIMIT"
ACCEPTED = "flac, m4a, mp3, mp4, mpeg, mpga, oga, ogg, wav or webm"


@dataclass
class TranscribeOptions:
    """The parsed options of ``transcribe``."""

    file: str | None
    response_format: str = "text"
    language: str | None = None
    prompt: str | None = None
    translate: bool = False
    output: Path | None = None


def run(g: Globals, opts: TranscribeOptions) -> None:
    """Run one ``transcribe``; raises chatcli errors for the funnel in ``__main__``."""
    if opts.translate and opts.language:
        raise UsageError(
            "--language does not apply with --translate (the translation is always English)",
            hint="drop --language; the spoken language is detected",
        )
    data, source, stem = read_input(opts.file)
    kind = sniff(data)
    if kind is None:
        raise _not_audio(data, source)
    env = resolve(g)
    model = env.config.resolve_model(g.model) if g.model else DEFAULT_MODEL
    pieces = split(data, kind, upload_limit(), source)
    results = _upload(env, model, opts, pieces, kind, stem)
    text = join(opts.response_format, results, [p.start for p in pieces])
    _write(text, opts.output)


def upload_limit() -> int:
    """The split threshold: 25 MiB, or ``CHATCLI_UPLOAD_LIMIT`` bytes."""
    raw = os.environ.get(LIMIT_ENV)
    if not raw:
        return UPLOAD_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if limit < 1024:
        raise UsageError(f"{LIMIT_ENV}={raw!r} must be a byte count of at least 1024")
    return limit


def read_input(file: str | None) -> tuple[bytes, str, str]:
    """The audio bytes, a name for messages, and a file stem for the upload name."""
    if file is None or file == "-":
        if file is None and (sys.stdin is None or sys.stdin.isatty()):
            raise UsageError(
                "nothing to transcribe: give an audio FILE or pipe audio in",
                hint="chatcli transcribe talk.mp3",
            )
        data = sys.stdin.buffer.read()
        if not data:
            raise UsageError("piped input is empty: there is no audio to transcribe")
        return data, "piped input", "audio"
    path = Path(file)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not an audio file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data:
        raise UsageError(f"{path} is empty: there is no audio to transcribe")
    return data, str(path), path.stem or "audio"


def _not_audio(data: bytes, source: str) -> UsageError:
    head = data[:4096]
    sample = head.decode("utf-8", "replace")
    looks_text = b"\x00" not in head and sample.count("\ufffd") <= len(sample) // 100
    what = "text" if looks_text else "not audio that chatcli recognises"
    hint = (
        "to summarise text, use `chatcli summarize`"
        if looks_text
        else "convert it first, e.g. ffmpeg -i IN out.mp3"
    )
    return UsageError(f"{source} is {what} (transcription takes {ACCEPTED})", hint=hint)


def _upload(
    env: Env,
    model: str,
    opts: TranscribeOptions,
    pieces: list[Piece],
    kind: AudioKind,
    stem: str,
) -> list[str]:
    """Upload each piece in order; every request goes into the usage log."""
    from chatcli.features.usage.media import transcription_cost
    from chatcli.providers.audio import AudioClient, AudioRequest
    from chatcli.store import UsageRecord, open_default

    request = AudioRequest(
        model=model,
        response_format=opts.response_format,
        language=opts.language,
        prompt=opts.prompt,
        translate=opts.translate,
    )
    notifier = Notifier()
    client = AudioClient(env.profile, debug=env.debug)
    results: list[str] = []
    total = len(pieces)
    try:
        with open_default() as store:
            for index, piece in enumerate(pieces, 1):
                name = f"{stem}.{kind.ext}" if total == 1 else f"{stem}-{index}.{kind.ext}"
                if total > 1:
                    message = f"transcribing piece {index}/{total}"
                    if notifier.tty:
                        notifier.notice(Notice(message, key="progress"))
                    else:
                        notifier.note(message)
                started = time.monotonic()
                status: Status = "error"
                try:
                    results.append(client.transcribe(name, piece.data, kind.mime, request))
                    status = "ok"
                finally:
                    store.log_usage(
                        UsageRecord(
                            model,
                            env.profile.name,
                            "transcribe",
                            status,
                            0,
                            0,
                            latency_ms=round((time.monotonic() - started) * 1000),
                            cost_usd=transcription_cost(
                                env.config.model_info(model), piece.data, status
                            ),
                        )
                    )
            notifier.end_line()
    finally:
        client.close()
    return results


# -- joining the pieces' transcripts ----------------------------------------------------------

_STAMP = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})[,.](\d{3})")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")


def join(fmt: str, texts: list[str], starts: list[float]) -> str:
    """One transcript in format ``fmt`` from the pieces' transcripts and start times."""
    if len(texts) == 1:
        return texts[0] if texts[0].endswith("\n") else texts[0] + "\n"
    if fmt == "json":
        joined = " ".join(str(_json(t).get("text", "")).strip() for t in texts)
        return json.dumps({"text": joined}, ensure_ascii=False) + "\n"
    if fmt == "verbose_json":
        joined_obj = join_verbose([_json(t) for t in texts], starts)
        return json.dumps(joined_obj, ensure_ascii=False) + "\n"
    if fmt == "srt":
        return join_srt(texts, starts)
    if fmt == "vtt":
        return join_vtt(texts, starts)
    return "".join(t.strip() + "\n" for t in texts if t.strip())


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


def join_srt(texts: list[str], starts: list[float]) -> str:
    """SRT cues of every piece, times shifted, numbered 1..n."""
    cues: list[str] = []
    for text, start in zip(texts, starts, strict=True):
        for block in _blocks(text):
            lines = block.split("\n")
            at = next((i for i, line in enumerate(lines) if "-->" in line), None)
            if at is None:
                continue
            body = [shift_timing(lines[at], start, ","), *lines[at + 1 :]]
            cues.append(f"{len(cues) + 1}\n" + "\n".join(body) + "\n\n")
    return "".join(cues)


def join_vtt(texts: list[str], starts: list[float]) -> str:
    """One WEBVTT header, then every piece's cues and notes with their times shifted."""
    out = ["WEBVTT\n\n"]
    for text, start in zip(texts, starts, strict=True):
        for block in _blocks(text):
            if block.startswith("WEBVTT"):
                continue
            lines = [
                shift_timing(line, start, ".") if "-->" in line else line
                for line in block.split("\n")
            ]
            out.append("\n".join(lines) + "\n\n")
    return "".join(out)


def join_verbose(objs: list[dict[str, Any]], starts: list[float]) -> dict[str, Any]:
    """verbose_json of the whole: segments and words shifted and renumbered, durations summed."""
    result = dict(objs[0])
    segments: list[dict[str, Any]] = []
    words: list[dict[str, Any]] = []
    for obj, start in zip(objs, starts, strict=True):
        for seg in obj.get("segments") or ():
            segments.append(_shifted(seg, start, id=len(segments)))
        for word in obj.get("words") or ():
            words.append(_shifted(word, start))
    result["text"] = " ".join(str(o.get("text", "")).strip() for o in objs)
    result["duration"] = sum(float(o.get("duration") or 0) for o in objs)
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


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ChatcliError(f"cannot write {output}: {exc.strerror or exc}") from None
    Notifier().note(f"wrote {output}")
