"""Text out of documents (PDF, DOCX, ODT, EPUB, HTML, RTF) and web pages, recognised by content.

``extract`` is the one entry point: it returns Markdown-ish text for a document, or None when
the bytes are not a document (plain text and images are the caller's business). Each format
lives in its own module and is imported only when a document of that kind is given. A document
that yields no text at all raises ``NoText`` (the caller says so: a notice beside a prompt, an
error alone); an HTML page of which the converter keeps next to nothing gets a notice. Every
document's text leaves here without terminal escapes and control characters (a PDF's text
strings can hold any byte): the model is sent words, tabs and newlines.
"""

from __future__ import annotations

import re

from chatcli.documents.notices import notice
from chatcli.documents.sniff import document_kind
from chatcli.errors import UsageError

_NAMES = {
    "docx": "a Word document",
    "odt": "an OpenDocument text",
    "epub": "an EPUB book",
    "pdf": "a PDF",
    "rtf": "an RTF document",
}
_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, erases
    r"|\x1b[\]PX^_][^\x07\x1b\n]{0,512}(?:\x07|\x1b\\)"  # OSC, DCS... with their terminator
    r"|\x1b[ -/]*[0-~]"  # other escape sequences
    r"|[\x00-\x08\x0e-\x1f\x7f-\x9f]"  # other C0 controls (tab and newline stay), DEL, C1
)
_SCANTY = 500
"""Characters of text an HTML page must hold before a conversion keeping under 5 % of them gets
a notice (a short page is short, not gutted)."""


class NoText(UsageError):
    """A document that is not empty yielded no text (an empty Word file, an HTML page whose
    text is all in scripts, navigation or forms): the message says which and why."""


def extract(
    data: bytes, source: str, content_type: str | None = None, *, name: str | None = None
) -> str | None:
    """The text of ``data`` if it is a document, else None (raises UsageError on a bad one,
    ``NoText`` on one without text). ``name``, a file name or URL path, keeps source code
    (``App.vue``, ``icon.svg``) from being read as a page."""
    kind = document_kind(data, content_type, name)
    if kind is None:
        return None
    try:
        text = _extract(kind, data, source, content_type)
    except RecursionError:
        raise UsageError(f"{source} is nested too deeply to read") from None
    text = clean(text)
    if not text.strip() and data.strip() and kind in _NAMES:
        raise NoText(f"{source} is {_NAMES[kind]} with no text")
    return text


def clean(text: str) -> str:
    """``text`` without escape sequences and control characters; line and page breaks of any
    kind (CR, VT, FF, NEL, U+2028) as newlines."""
    return _CONTROL.sub("", _BREAKS.sub("\n", text))


def _extract(kind: str, data: bytes, source: str, content_type: str | None) -> str:
    if kind == "pdf":
        from chatcli.documents import pdf

        return pdf.to_text(data, source)
    if kind == "docx":
        from chatcli.documents import docx

        return docx.to_text(data, source)
    if kind == "odt":
        from chatcli.documents import odt

        return odt.to_text(data, source)
    if kind == "epub":
        from chatcli.documents import epub

        return epub.to_text(data, source)
    if kind == "rtf":
        from chatcli.documents import rtf

        return rtf.to_text(data)
    from chatcli.documents import html

    text, seen = html.convert(html.decode(data, content_type))
    kept = len("".join(text.split()))
    if not kept and data.strip():
        why = (
            "all of its text is in parts chatcli drops (head, navigation, header, footer, "
            "forms, templates, hidden elements)"
            if seen
            else "it has no text outside scripts and styles (a page its scripts build?)"
        )
        raise NoText(
            f"{source} is an HTML page with no readable text: {why}",
            hint="if a browser shows text, save the page from there and pass that file",
        )
    if seen >= _SCANTY and kept * 20 < seen:
        notice(
            f"{source}: the HTML converter kept {kept:,} of {seen:,} characters of text "
            "(navigation, header, footer, forms and hidden elements are dropped)"
        )
    return text
