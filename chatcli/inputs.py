"""Turn prompt words, piped stdin and ``-f`` files or URLs into one user message.

Documents (PDF, DOCX, ODT, EPUB, HTML) are recognised by content and turned into text by
``features.documents``; ``http(s)://`` URLs are fetched through the profile's proxy. Text is
decoded as UTF-8 (with or without BOM), UTF-16 with a BOM, or GB18030, because users pipe
Chinese files from Windows as often as UTF-8 ones. Images become vision parts; any other
binary input is refused with a one-line error that says what it looked like and what to use.
"""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from chatcli.errors import UsageError, unreadable

if TYPE_CHECKING:
    from chatcli.settings.loading import Profile

MAX_INPUT_BYTES = 20 * 1024 * 1024
_URL = re.compile(r"^(https?):/+(?=[^/])", re.I)

_IMAGES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
_KNOWN_BINARY = {
    b"RIFF": "audio or video (RIFF/WAV)",
    b"ID3": "audio (MP3)",
    b"\xff\xfb": "audio (MP3)",
    b"OggS": "audio (Ogg)",
    b"fLaC": "audio (FLAC)",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (or an Office document)",
    b"\x1f\x8b": "gzip-compressed data",
    b"\x7fELF": "an executable",
}


@dataclass
class UserInput:
    """The assembled message: text pieces in order plus image parts."""

    texts: list[str] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)  # (label, data URL)

    @property
    def text(self) -> str:
        return "\n\n".join(t for t in self.texts if t)

    def content(self) -> str | list[dict[str, Any]]:
        """A plain string, or text + image_url parts when images are attached."""
        if not self.images:
            return self.text
        parts: list[dict[str, Any]] = []
        if self.text:
            parts.append({"type": "text", "text": self.text})
        for _label, url in self.images:
            parts.append({"type": "image_url", "image_url": {"url": url}})
        return parts

    def empty(self) -> bool:
        return not self.text.strip() and not self.images


def image_type(data: bytes) -> str | None:
    """The MIME type of a PNG, JPEG, GIF or WebP image, from its magic bytes."""
    for magic, mime in _IMAGES.items():
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def decode_text(data: bytes, source: str) -> str:
    """Decode text input, or raise a UsageError saying why it is not text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    head = data[:8192]
    if b"\x00" not in head:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            if _looks_like_text(text[:4096]):
                return text
    kind = next((v for k, v in _KNOWN_BINARY.items() if data.startswith(k)), "binary data")
    legacy = kind == "binary data" and _looks_like_text(head.decode("latin-1"))
    if legacy:  # text, in an encoding chatcli does not guess (Latin-1, cp1252, Shift-JIS...)
        raise UsageError(
            f"{source} is not text in UTF-8, UTF-16 or GB18030",
            hint="convert it first, e.g. iconv -f latin1 -t utf-8 FILE > FILE.utf8",
        )
    hint = "chatcli reads text, images and documents (PDF, DOCX, ODT, EPUB, HTML)"
    if kind.startswith("audio"):
        hint = "to transcribe audio, use `chatcli transcribe`"
    raise UsageError(f"{source} is {kind}, not text", hint=hint)


def _looks_like_text(sample: str) -> bool:
    if not sample:
        return True
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f\x1b")
    return bad / len(sample) < 0.01


def _read_limited(stream: BinaryIO, source: str) -> bytes:
    data = stream.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise UsageError(
            f"{source} is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB",
            hint="use `chatcli summarize` for long text",
        )
    return data


def url_of(name: str | Path) -> str | None:
    """``name`` as an http(s) URL, or None. A URL that went through ``Path`` lost one slash of
    its ``//``; it is put back."""
    match = _URL.match(str(name))
    if match is None:
        return None
    return f"{match.group(1).lower()}://" + str(name)[match.end() :]


def fetch_url(url: str, profile: Profile | None) -> tuple[bytes, str | None]:
    """The body and Content-Type of ``url``, fetched through the profile's proxy settings."""
    if profile is None:
        raise UsageError(f"cannot fetch {url} here", hint="download it and pass the file")
    from chatcli.providers.web import fetch

    got = fetch(url, profile, limit=MAX_INPUT_BYTES)
    return got.data, got.content_type


def to_text(data: bytes, source: str, content_type: str | None = None) -> str:
    """The text of a document or of plain text, or a UsageError naming what it is instead."""
    from chatcli.documents import extract

    text = extract(data, source, content_type)
    return decode_text(data, source) if text is None else text


def add_bytes(
    into: UserInput,
    data: bytes,
    source: str,
    label: str | None = None,
    content_type: str | None = None,
) -> None:
    """Append text, a document's text or an image read from ``source``."""
    mime = image_type(data)
    if mime is not None:
        url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        into.images.append((label or source, url))
        return
    text = to_text(data, source, content_type)
    if label is None:
        into.texts.append(text.rstrip("\n"))
    else:
        into.texts.append(f"File {label}:\n```\n{text.rstrip()}\n```")


def gather(
    prompt: list[str],
    files: Sequence[str | Path],
    *,
    stdin: BinaryIO | None = None,
    profile: Profile | None = None,
    allow_empty: bool = False,
) -> UserInput:
    """Prompt words first, then piped stdin, then each ``-f`` file or URL, in that order;
    nothing at all is an error unless ``allow_empty`` (a template brings the prompt)."""
    result = UserInput()
    words = " ".join(prompt).strip()
    if words:
        result.texts.append(words)
    if stdin is None and sys.stdin is not None and not sys.stdin.isatty():
        stdin = sys.stdin.buffer
    if stdin is not None:
        data = _read_limited(stdin, "piped input")
        if data.strip():
            add_bytes(result, data, "piped input")
    for name in files:
        url = url_of(name)
        if url is not None:
            data, content_type = fetch_url(url, profile)
            add_bytes(result, data, url, label=url, content_type=content_type)
            continue
        path = Path(name)
        try:
            with path.open("rb") as fh:
                data = _read_limited(fh, f"file {path}")
        except OSError as exc:
            raise unreadable(path, exc) from None
        add_bytes(result, data, f"file {path}", label=path.name)
    if result.empty() and not allow_empty:
        raise UsageError(
            "nothing to ask: give a prompt, pipe text in, or attach a file with -f",
            hint='chatcli ask "your question"',
        )
    return result
