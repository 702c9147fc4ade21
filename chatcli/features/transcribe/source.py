"""Where ``transcribe`` reads an input from: its file, never a copy of it in memory.

A regular file is used where it is: ffmpeg reads it through a link in the input's working
folder (a fixed name, so the file's own name is never taken for an ffmpeg protocol nor read in
ffmpeg's report), and only what is uploaded (the file itself when it fits, the extracted track,
or one piece at a time) is ever in memory. Piped input and other files that can be read only
once (``<(cmd)``, ``/dev/stdin``) are streamed into the working folder first. Both are refused
past 2 GiB, an empty input or a WAV header without audio before anything is paid for.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from chatcli import reading
from chatcli.environment import Environment
from chatcli.errors import ChatcliError, UsageError, unreadable
from chatcli.safetext import readable

HEAD = 64 * 1024
"""Bytes read to tell what an input is (magic numbers, text or not)."""
_CHUNK = 1024 * 1024
BIG = "extract the audio first: ffmpeg -i FILE -vn -ac 1 -b:a 48k talk.mp3"
ACCEPTED = "flac, m4a, mp3, mp4, mpeg, mpga, oga, ogg, wav or webm"


@dataclass(frozen=True)
class Input:
    """One input on disk: the file to read (``path``), its size and first bytes, its name in
    messages (``source``) and the stem of its upload name."""

    path: Path
    size: int
    head: bytes
    source: str
    stem: str


def open_input(environment: Environment, file: str | None, folder: Path) -> Input:
    """The input ``file`` (``-`` or None: the environment's stdin), with ``folder`` its working
    folder; refused (exit 2) when missing, unreadable, empty, over 2 GiB or a WAV without
    audio."""
    if file is None or file == "-":
        stdin = environment.stdin
        if stdin is None or (file is None and environment.stdin_isatty):
            raise UsageError(
                "nothing to transcribe: give an audio FILE or pipe audio in",
                hint="chatcli transcribe talk.mp3",
            )
        inp = _spool(stdin.buffer, folder, "piped input", "audio")
    else:
        path = _spelt(Path(file))
        shown = readable(str(path))  # a name that is not UTF-8: sent and shown as \xNN
        stem = readable(path.stem) or "audio"
        try:
            with path.open("rb") as fh:
                found = os.fstat(fh.fileno())
                if not stat.S_ISREG(found.st_mode):  # a pipe: read once, so kept
                    inp = _spool(fh, folder, str(path), stem, shown)
                else:
                    head = fh.read(HEAD)
                    inp = Input(_link(path, folder), found.st_size, head, shown, stem)
        except OSError as exc:
            raise unreadable(path, exc, "an audio file") from None
        if inp.size > reading.MEDIA:
            raise UsageError(f"{path} is larger than {reading.size_text(reading.MEDIA)}", hint=BIG)
    _refuse_empty(inp)
    return inp


def _spelt(path: Path) -> Path:
    """``path``, or its UTF-8 bytes as the OS takes them when its encoding cannot spell it
    (as ``reading`` looks files up)."""
    try:
        os.fsencode(path)
    except UnicodeEncodeError:
        return Path(os.fsdecode(str(path).encode("utf-8", "surrogateescape")))
    return path


def _link(path: Path, folder: Path) -> Path:
    """A link named ``input`` in ``folder`` to ``path`` (``path`` itself where links cannot
    be made)."""
    link = folder / "input"
    target = os.path.abspath(path)
    try:
        os.symlink(target, link)
    except OSError:
        return Path(target)
    return link


def _spool(stream: BinaryIO, folder: Path, name: str, stem: str, shown: str | None = None) -> Input:
    """``stream`` written to ``folder`` (up to 2 GiB), a megabyte at a time."""
    path = folder / "input"
    size = 0
    head = b""
    try:
        out = path.open("xb")
    except OSError as exc:
        raise ChatcliError(f"cannot keep {shown or name} in {folder}: {exc.strerror}") from None
    with out:
        while True:
            try:
                chunk = stream.read(_CHUNK)
            except OSError as exc:
                raise UsageError(f"cannot read {shown or name}: {exc.strerror or exc}") from None
            if not chunk:
                break
            size += len(chunk)
            if size > reading.MEDIA:
                raise UsageError(
                    f"{name} is larger than {reading.size_text(reading.MEDIA)}", hint=BIG
                )
            if len(head) < HEAD:
                head += chunk[: HEAD - len(head)]
            try:
                out.write(chunk)
            except OSError as exc:
                raise ChatcliError(
                    f"cannot keep {shown or name} in {folder}: {exc.strerror}",
                    hint="set TMPDIR to a folder with room",
                ) from None
    return Input(path, size, head, shown or name, stem)


def _refuse_empty(inp: Input) -> None:
    """An empty input, or a WAV header with no sound after it, is refused before it is paid
    for."""
    if not inp.size:
        raise UsageError(f"{inp.source} is empty: there is no audio to transcribe")
    if inp.head[:4] != b"RIFF" or inp.head[8:12] != b"WAVE":
        return
    from chatcli.features.transcribe.split import wav_layout

    try:
        wav = wav_layout(inp.path)
    except OSError:
        return
    if (wav is not None and not wav.length) or (wav is None and not _holds_data(inp.path)):
        raise UsageError(f"{inp.source} is empty: a WAV header with no audio after it")


def _holds_data(path: Path) -> bool:
    """Whether the bytes ``data`` are anywhere in ``path`` (a WAV whose chunks cannot be
    walked may still hold audio)."""
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            if b"data" in tail + chunk:
                return True
            tail = chunk[-3:]
    return False


def not_audio(inp: Input) -> UsageError:
    """Why ``inp`` cannot be transcribed, naming what it is when chatcli knows (a document it
    reads, an image, an Office file, text) and what to use for it instead."""
    from chatcli.documents.sniff import document_kind
    from chatcli.inputs import kind_of

    document = document_kind(inp.head)
    kind = _DOCUMENTS.get(document or "") or kind_of(inp.head)
    if kind is not None and not kind.startswith("audio"):  # a PDF, an image, an archive...
        if document in _DOCUMENTS:
            hint = "to summarise a document, use `chatcli summarize`"
        elif kind.endswith("image") or kind.startswith("an image"):
            hint = "to ask about an image, use `chatcli ask -f FILE`"
        elif "Office" in kind or kind.startswith(_OFFICE):
            hint = "to ask about its content, use `chatcli ask -f FILE`"
        else:
            hint = "convert it first, e.g. ffmpeg -i IN out.mp3"
        return UsageError(f"{inp.source} is {kind} (transcription takes {ACCEPTED})", hint=hint)
    head = inp.head[:4096]
    sample = head.decode("utf-8", "replace")
    looks_text = b"\x00" not in head and sample.count("\ufffd") <= len(sample) // 100
    what = "text" if looks_text else "not audio that chatcli recognises"
    hint = (
        "to summarise text, use `chatcli summarize`"
        if looks_text
        else "convert it first, e.g. ffmpeg -i IN out.mp3"
    )
    return UsageError(f"{inp.source} is {what} (transcription takes {ACCEPTED})", hint=hint)


_DOCUMENTS = {
    "pdf": "a PDF document",
    "docx": "a Word document (DOCX)",
    "odt": "an OpenDocument text (ODT)",
    "epub": "an EPUB book",
    "rtf": "an RTF document",
}
"""The documents ``summarize`` reads, named as ``inputs.kind_of`` names formats (it tells only
those chatcli does not read: to it a DOCX is a ZIP archive, an RTF file text)."""
_OFFICE = ("an Excel", "an OpenDocument", "a PowerPoint", "a Word", "a password-protected")
"""How ``inputs.kind_of`` names the Office files chatcli does not read (a spreadsheet, a
presentation, a legacy or protected file): ``ask -f`` says what to convert each to."""
