"""Which document a byte string is, from its content (magic bytes, ZIP members), not its name.

A ``Content-Type`` from a web server decides HTML, since a page need not start with a tag.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["pdf", "docx", "odt", "epub", "html"]

_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html\b)", re.I | re.S
)
_HTML_TAGS = re.compile(rb"<(?:head|body|title|div|p|h1|article)\b[^>]*>", re.I)
_ODF_TEXT = b"application/vnd.oasis.opendocument.text"


def document_kind(data: bytes, content_type: str | None = None) -> Kind | None:
    """``pdf``, ``docx``, ``odt``, ``epub`` or ``html``; None for anything else."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if data.startswith(b"%PDF-") or (mime == "application/pdf" and b"%PDF-" in data[:1024]):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if mime in ("text/html", "application/xhtml+xml"):
        return "html"
    head = data[:4096].lstrip(b"\xef\xbb\xbf")
    if _HTML_START.match(head) or (head.lstrip().startswith(b"<") and _HTML_TAGS.search(head)):
        return "html"
    return None


def _zip_kind(data: bytes) -> Kind | None:
    import io
    import zipfile  # only for ZIP input: plain text need not pay for it

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" in names:
                return "docx"
            if "mimetype" in names:
                info = archive.getinfo("mimetype")
                if info.file_size > 100 or info.flag_bits & 0x1:
                    return None  # not the short plain label the formats store
                mimetype = archive.read("mimetype").strip()
                if mimetype == b"application/epub+zip":
                    return "epub"
                if mimetype == _ODF_TEXT:
                    return "odt"
    except Exception:  # anything wrong with the ZIP: it is not a document we know
        return None
    return None
