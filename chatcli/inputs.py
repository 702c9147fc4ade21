"""Turn prompt words, piped stdin and ``-f`` files or URLs into one user message.

Documents (PDF, DOCX, ODT, EPUB, HTML, RTF) are recognised by content and turned into text by
``chatcli.documents`` (a file named as source code, ``App.vue``, is never converted);
``http(s)://`` URLs are fetched through the profile's proxy. Text is decoded by its BOM, else
the charset its server declares, else as UTF-8, else in the legacy CJK encoding (GB18030, Big5,
Shift_JIS, EUC-JP, EUC-KR) the bytes clearly read as (``chatcli.charsets``), because users
pipe files from Chinese, Japanese and Korean Windows as often as UTF-8 ones; UTF-8 cut in the
middle of its last character is UTF-8 without that character (a notice says so). Images
become vision parts; any other binary input is refused with a one-line error that says what
it looked like and what to use (audio and video: ``chatcli transcribe``; a spreadsheet, a
presentation, a legacy or protected Office file, a HEIC/AVIF/BMP/TIFF image: what to convert
it to). Each attached file is fenced with a fence longer than any inside it; an empty one is a
notice beside other input, and the error when it is all there is.
"""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from chatcli import charsets
from chatcli.errors import UsageError, unreadable
from chatcli.safetext import one_line, readable

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
    b"\xff\xf3": "audio (MP3)",
    b"\xff\xf2": "audio (MP3)",
    b"\xff\xf1": "audio (AAC)",
    b"\xff\xf9": "audio (AAC)",
    b"OggS": "audio (Ogg)",
    b"fLaC": "audio (FLAC)",
    b"#!AMR\n": "audio (AMR)",
    b"caff\x00\x01": "audio (CAF)",
    b"\x1a\x45\xdf\xa3": "audio or video (Matroska/WebM)",
    b"\x30\x26\xb2\x75\x8e\x66\xcf\x11": "audio or video (ASF: WMA/WMV)",
    b"FLV\x01": "audio or video (FLV)",
    b"\x00\x00\x01\xba": "audio or video (MPEG program stream)",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (or an Office document)",
    b"\x1f\x8b": "gzip-compressed data",
    b"\x7fELF": "an executable",
}


_ISO_IMAGES = frozenset((b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1", b"hevc"))
"""ISO media brands of still images (AVIF, HEIC): an ``ftyp`` box that is no audio or video."""
_CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""An OLE2 compound file: Word 97-2003 and its kin, and any password-protected Office file."""
_CONVERT_IMAGE = "the API takes PNG, JPEG, WebP and GIF: convert it first, e.g. magick IN OUT.png"
_AS_CSV = "export the sheet as CSV from the spreadsheet app and pass that"
_AS_PDF = "export it as PDF from the presentation app and pass that"
_UNREAD = {
    "a HEIC image": _CONVERT_IMAGE,
    "an AVIF image": _CONVERT_IMAGE,
    "a BMP image": _CONVERT_IMAGE,
    "a TIFF image": _CONVERT_IMAGE,
    "an Excel workbook (XLSX)": _AS_CSV,
    "an OpenDocument spreadsheet (ODS)": _AS_CSV,
    "a PowerPoint presentation (PPTX)": _AS_PDF,
    "an OpenDocument presentation (ODP)": _AS_PDF,
    "a password-protected Office document": "save an unprotected copy and pass that",
    "a Word 97-2003 document (.doc)": "save it as DOCX or PDF and pass that, "
    "e.g. libreoffice --headless --convert-to docx FILE",
    "an Excel 97-2003 workbook (.xls)": _AS_CSV,
    "a PowerPoint 97-2003 presentation (.ppt)": _AS_PDF,
    "a legacy Office file (.doc, .xls or .ppt) or a password-protected Office document": (
        "save it as DOCX, PDF or CSV (a protected one: an unprotected copy) and pass that"
    ),
}
"""Formats chatcli names but does not read, and what to do instead."""
_OFFICE = {
    "xlsx": "an Excel workbook (XLSX)",
    "ods": "an OpenDocument spreadsheet (ODS)",
    "pptx": "a PowerPoint presentation (PPTX)",
    "odp": "an OpenDocument presentation (ODP)",
}
_OLE_STREAMS = (
    ("EncryptionInfo", "a password-protected Office document"),
    ("WordDocument", "a Word 97-2003 document (.doc)"),
    ("Workbook", "an Excel 97-2003 workbook (.xls)"),
    ("PowerPoint Document", "a PowerPoint 97-2003 presentation (.ppt)"),
)


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


def kind_of(data: bytes) -> str | None:
    """What binary ``data`` is, for a message ("an image (PNG)", "a PDF document", "audio
    (MP3)"...), from its magic bytes; None when chatcli does not recognise it."""
    mime = image_type(data)
    if mime is not None:
        return f"an image ({mime.removeprefix('image/').upper()})"
    other = _other_format(data)
    if other is not None:
        return other
    if data[4:8] == b"ftyp" and data[8:12] not in _ISO_IMAGES:
        brand = data[8:12].decode("latin-1").strip()
        if brand.startswith(("M4A", "M4B", "M4P")):
            return "audio (M4A)"
        return f"audio or video ({'QuickTime' if brand == 'qt' else 'MP4'})"
    if data[:4] == b"FORM" and data[8:12] in (b"AIFF", b"AIFC"):
        return "audio (AIFF)"
    return next((v for k, v in _KNOWN_BINARY.items() if data.startswith(k)), None)


def _other_format(data: bytes) -> str | None:
    """The image or Office format chatcli does not read that ``data`` is (``_UNREAD``)."""
    if data[4:8] == b"ftyp" and data[8:12] in _ISO_IMAGES:
        return "an AVIF image" if data[8:12] in (b"avif", b"avis") else "a HEIC image"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "a TIFF image"
    if data[:2] == b"BM" and int.from_bytes(data[14:18], "little") in (12, 40, 52, 56, 108, 124):
        return "a BMP image"
    if data.startswith(b"PK\x03\x04"):
        from chatcli.documents.sniff import other_office

        office = other_office(data)
        return _OFFICE[office] if office is not None else None
    if data.startswith(_CFB):
        for stream, what in _OLE_STREAMS:
            if stream.encode("utf-16-le") in data:
                return what
        return "a legacy Office file (.doc, .xls or .ppt) or a password-protected Office document"
    return None


def decode_text(
    data: bytes, source: str, charset: str | None = None, *, reads: str | None = None
) -> str:
    """Decode text input, or raise a UsageError saying why it is not text. A byte order mark
    decides first, then ``charset`` (what the input declares, e.g. a server's Content-Type),
    then UTF-8, then the legacy CJK encoding the bytes clearly are (``charsets.legacy``; one
    too short to be sure of is named in the hint). ``reads``:
    the hint for binary data when the command reads less than ``ask`` does."""
    text = charsets.with_bom(data)
    if text is None and charset is not None:
        text = charsets.as_declared(data, charset)
        if text is not None and not _looks_like_text(text[:4096]):
            text = None
    head = data[:8192]
    cut = False
    likely: charsets.Reading | None = None
    if text is None and b"\x00" not in head:
        read = charsets.utf8(data)
        if read is not None:
            text, cut = read
        else:
            text, likely = charsets.legacy(data)
    if text is not None and _looks_like_text(text[:4096]):
        if cut:
            _notice(
                f"{source} ends in the middle of a UTF-8 character (cut short?): "
                "that partial character is left out"
            )
        return text
    kind = kind_of(data)
    if kind is None and _looks_like_text(head.decode("latin-1")):
        # text, in an encoding chatcli does not guess (Latin-1, cp1252, KOI8-R...), or CJK
        # text too short to tell its legacy encoding
        said = f" (nor in {one_line(charset, 40)}, the charset it declares)" if charset else ""
        encoding = "latin1"
        if likely is not None:
            encoding = likely.label
            said += (
                f"; it may be {likely.language} in {likely.label}, but too little of it "
                "reads that way to be sure"
            )
        raise UsageError(
            f"{source} is not text in UTF-8, UTF-16 or GB18030{said}",
            hint=f"convert it first, e.g. iconv -f {encoding} -t utf-8 FILE > FILE.utf8",
        )
    hint = reads or "chatcli reads text, images and documents (PDF, DOCX, ODT, EPUB, HTML, RTF)"
    if kind in _UNREAD and reads is None:  # what ask and summarize could take, converted
        does = "the API does not take" if kind.endswith("image") else "chatcli does not read"
        raise UsageError(f"{source} is {kind}, which {does}", hint=_UNREAD[kind])
    if kind is not None and kind.startswith("audio"):
        hint = "to transcribe audio, use `chatcli transcribe`"
    elif kind is not None and kind.startswith("an image"):
        hint = "images go to the model as they are: chatcli ask -f IMAGE"
    raise UsageError(f"{source} is {kind or 'binary data'}, not text", hint=hint)


def _looks_like_text(sample: str) -> bool:
    if not sample:
        return True
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f\x1b")
    return bad / len(sample) < 0.01


def _read_limited(stream: BinaryIO, source: str, left: int = MAX_INPUT_BYTES) -> bytes:
    """At most ``left`` bytes of ``stream`` (what the 20 MiB of all input together leaves);
    one byte more is the error, so a huge file is never read whole."""
    data = stream.read(left + 1)
    if len(data) > left:
        if left < MAX_INPUT_BYTES:
            raise _too_much(source)
        kind = kind_of(data[:1024]) or ""
        hint = "use `chatcli summarize` for long text"
        if kind.startswith("an image"):
            hint = "shrink it first, e.g. magick IN -resize 50% OUT.jpg"
        elif kind.startswith("audio"):
            hint = "to transcribe audio, use `chatcli transcribe` (it takes files of any size)"
        raise UsageError(
            f"{source} is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB", hint=hint
        )
    return data


def _too_much(source: str) -> UsageError:
    """The error for input that passes the 20 MiB cap only together with what came before."""
    return UsageError(
        f"{source} takes the input past {MAX_INPUT_BYTES // (1024 * 1024)} MiB in all "
        "(piped input and -f files together)",
        hint="use `chatcli summarize` for long text",
    )


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


def to_text(
    data: bytes, source: str, content_type: str | None = None, name: str | None = None
) -> str:
    """The text of a document or of plain text, or a UsageError naming what it is instead.
    ``name`` (by default the file or URL path in ``source``, ``file NAME`` or a URL) keeps
    source code such as ``App.vue`` or ``icon.svg`` from being read as an HTML page; a
    document that yields no text raises ``documents.NoText``."""
    from chatcli.documents import extract

    if name is None:
        name = _name_in(source)
    text = extract(data, source, content_type, name=name)
    if text is not None:
        return text
    return decode_text(data, source, charset=charsets.declared(content_type))


def _name_in(source: str) -> str | None:
    """The file name or URL path a ``source`` (``file NAME``, a URL, ``piped input``) names."""
    if source.startswith("file "):
        return source.removeprefix("file ")
    url = url_of(source)
    if url is not None:
        from urllib.parse import urlsplit

        return urlsplit(url).path
    return None


def fence(text: str) -> str:
    """A Markdown code fence for ``text``: three backticks, or one more than the longest run of
    backticks in it, so a Markdown file holding fences cannot close the block early."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    return "`" * (longest + 1)


def add_bytes(
    into: UserInput,
    data: bytes,
    source: str,
    label: str | None = None,
    content_type: str | None = None,
    *,
    notes: list[str] | None = None,
) -> bool:
    """Append text, a document's text or an image read from ``source``; False when there was
    nothing in it to send (an empty file, a document with no text). That is said in a notice:
    appended to ``notes`` when given, else printed (``chatcli`` logger, see ``output.log_to``).
    An attached file that is empty still leaves a ``File NAME: (empty)`` line, so the model
    knows it was given one."""
    from chatcli.documents import NoText

    mime = image_type(data)
    if mime is not None:
        url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        into.images.append((label or source, url))
        return True
    try:
        text = to_text(data, source, content_type)
    except NoText as exc:
        text, note, mark = "", exc.message, "(no text)"
    else:
        note, mark = f"{source} is empty", "(empty)"
    if not text.strip():
        if notes is None:
            _notice(note)
        else:
            notes.append(note)
        if label is not None:
            into.texts.append(f"File {label}: {mark}")
        return False
    if label is None:
        into.texts.append(text.rstrip("\n"))
    else:
        body = text.rstrip()
        mark = fence(body)
        into.texts.append(f"File {label}:\n{mark}\n{body}\n{mark}")
    return True


def _notice(note: str) -> None:
    import logging

    logging.getLogger("chatcli").warning(f"chatcli: {one_line(note, 300)}")


def gather(
    prompt: list[str],
    files: Sequence[str | Path],
    *,
    stdin: BinaryIO | None = None,
    profile: Profile | None = None,
    allow_empty: bool = False,
) -> UserInput:
    """Prompt words first, then piped stdin, then each ``-f`` file or URL, in that order;
    nothing at all is an error unless ``allow_empty`` (a template brings the prompt). All of it
    together is capped at ``MAX_INPUT_BYTES``, each source read only as far as the cap. An empty
    file (or a document with no text) beside something else is a notice; alone, it is the
    error that names it."""
    result = UserInput()
    notes: list[str] = []
    words = " ".join(prompt).strip()
    if words:
        result.texts.append(words)
    something = bool(words)
    if stdin is None and sys.stdin is not None and not sys.stdin.isatty():
        stdin = sys.stdin.buffer
    left = MAX_INPUT_BYTES  # for all input together: five 20 MB files are refused at once
    if stdin is not None:
        data = _read_limited(stdin, "piped input")
        left -= len(data)
        if data.strip():
            something |= add_bytes(result, data, "piped input", notes=notes)
    for name in files:
        url = url_of(readable(str(name)))
        if url is not None:
            data, content_type = fetch_url(url, profile)
            if len(data) > left:
                raise _too_much(url)
            left -= len(data)
            something |= add_bytes(
                result, data, url, label=url, content_type=content_type, notes=notes
            )
            continue
        # a name as the OS gave it (see ``__main__._text_arguments``); readable in the message
        path, shown = Path(name), readable(str(name))
        try:
            with path.open("rb") as fh:
                data = _read_limited(fh, f"file {shown}", left)
        except OSError as exc:
            raise unreadable(shown, exc) from None
        left -= len(data)
        label = readable(path.name)
        something |= add_bytes(result, data, f"file {shown}", label=label, notes=notes)
    if not something and not allow_empty:
        if notes:
            raise UsageError(f"nothing to ask: {notes[0]}")
        raise UsageError(
            "nothing to ask: give a prompt, pipe text in, or attach a file with -f",
            hint='chatcli ask "your question"',
        )
    for note in notes:
        _notice(note)
    return result
