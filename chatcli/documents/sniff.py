"""Which document a byte string is, from its content (magic bytes, ZIP members), not its name.

A ``Content-Type`` from a web server decides HTML, since a page need not start with a tag; a
server that says ``text/plain`` (or JSON, XML, JavaScript...) is believed too: that is text.
Without one, only an HTML *document* is HTML: a doctype, or an ``<html>``, ``<head>`` or
``<body>`` first element. Markup that is not a page (a Vue component, an SVG, an XML file, a
fragment with a ``<script>``), a page holding server code (``<?php``, ``<% %>``, ``{% %}``)
and a file named as source code (``.vue``, ``.svg``, ``.php``, ``.jsx``, ``.xml``...) are
text, sent as they are: the HTML converter would drop their templates, scripts and code.

A ZIP cut short (a broken download) has lost the directory at its end; its first members'
own headers still say what it is (EPUB and ODT store a ``mimetype`` member first, a DOCX has
``word/`` members and a ``[Content_Types].xml`` naming Word), so it is named as that kind of
document, which then says it is damaged, rather than as an unknown archive. RTF is its
``{\\rtf`` start. ``other_office`` names the Office files chatcli does not read (spreadsheets,
presentations), so the error can say what to export them as.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["pdf", "docx", "odt", "epub", "html", "rtf"]

_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html\b|html\b|head\b|body\b)",
    re.I | re.S,
)
_SERVER_CODE = re.compile(rb"<\?(?:php\b|=)|<%[\s=@#!:-]|\{%-?\s", re.I)
_ODF_TEXT = b"application/vnd.oasis.opendocument.text"
_WORD_MAIN = b"wordprocessingml.document.main"
_MIMETYPES: dict[bytes, Kind] = {b"application/epub+zip": "epub", _ODF_TEXT: "odt"}
_LOCAL = b"PK\x03\x04"
_HTML_TYPES = frozenset(("text/html", "application/xhtml+xml"))

SOURCE_SUFFIXES = frozenset(
    (
        # components, templates and server pages that hold HTML-like markup
        ".vue", ".svelte", ".astro", ".jsx", ".tsx", ".js", ".mjs", ".cjs", ".ts", ".mts",
        ".php", ".phtml", ".php3", ".php4", ".php5", ".phps", ".inc", ".ctp", ".blade",
        ".jsp", ".jspx", ".asp", ".aspx", ".ascx", ".cshtml", ".vbhtml", ".razor",
        ".erb", ".rhtml", ".ejs", ".hbs", ".handlebars", ".mustache", ".njk", ".jinja",
        ".jinja2", ".j2", ".twig", ".liquid", ".tpl", ".tmpl", ".haml", ".pug", ".jade",
        ".heex", ".eex", ".leex", ".gohtml", ".hta",
        # XML and markup that is not a web page
        ".svg", ".xml", ".xsl", ".xslt", ".xsd", ".dtd", ".rss", ".atom", ".plist", ".wsdl",
        ".xaml", ".xul", ".kml", ".gpx", ".csproj", ".vbproj", ".props", ".targets", ".resx",
        ".storyboard", ".xib", ".mathml", ".mml",
        # documentation sources and data
        ".md", ".markdown", ".mdx", ".rst", ".adoc", ".tex", ".json", ".yaml", ".yml",
    )
)  # fmt: skip
"""File name endings that name source code or markup: such a file is sent as the text it is,
even when its content looks like an HTML page."""


def document_kind(
    data: bytes, content_type: str | None = None, name: str | None = None
) -> Kind | None:
    """``pdf``, ``docx``, ``odt``, ``epub``, ``html`` or ``rtf``; None for anything else.
    ``name`` (a file name or URL path) only ever keeps source code from being taken for HTML."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if data.startswith(b"%PDF-") or (mime == "application/pdf" and b"%PDF-" in data[:1024]):
        return "pdf"
    if data.lstrip(b"\xef\xbb\xbf").startswith(b"{\\rtf"):
        return "rtf"
    if data.startswith(b"PK\x03\x04"):
        return _zip_kind(data)
    if mime in _HTML_TYPES:
        return "html"
    if mime and _declared_text(mime):
        return None
    if name is not None and source_code(name):
        return None
    if is_html_page(data):
        return "html"
    return None


def source_code(name: str) -> bool:
    """Whether the file name (or URL path) ``name`` ends in a source-code suffix."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    dot = base.rfind(".")
    return dot > 0 and base[dot:] in SOURCE_SUFFIXES


def is_html_page(data: bytes) -> bool:
    """Whether ``data`` is an HTML document by its content: it opens with a doctype or an
    ``<html>``/``<head>``/``<body>`` element (after an XML declaration and comments), and
    holds no server code."""
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a BOM: look at it as text
        head = head.decode("utf-16", "ignore").encode("utf-8")
    head = head.removeprefix(b"\xef\xbb\xbf")
    if not _HTML_START.match(head):
        return False
    return _SERVER_CODE.search(data) is None


def _declared_text(mime: str) -> bool:
    """A type a server gives text that is not a web page: plain text, source, data."""
    if mime.startswith("text/"):
        return True
    return mime.endswith(("+xml", "/xml", "+json", "/json", "javascript", "ecmascript"))


_OTHER_ODF = {
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}


def other_office(data: bytes) -> str | None:
    """``xlsx``, ``pptx``, ``ods`` or ``odp``: an Office file chatcli does not read, for an
    error that names it; None for any other ZIP."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if any(n.startswith("xl/") for n in names):
                return "xlsx"
            if any(n.startswith("ppt/") for n in names):
                return "pptx"
            if "mimetype" in names and archive.getinfo("mimetype").file_size <= 100:
                return _OTHER_ODF.get(archive.read("mimetype").strip())
    except Exception:  # a damaged ZIP is only a ZIP
        return None
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
    except zipfile.BadZipFile:  # no directory at the end (a cut download?): the first headers
        return _local_kind(data)
    except Exception:  # anything wrong with the ZIP: it is not a document we know
        return None
    return None


def _local_kind(data: bytes) -> Kind | None:
    """The document a ZIP without its central directory was, from the local headers of its
    first members (within its first 64 KiB)."""
    pos = 0
    while pos >= 0 and pos + 30 <= min(len(data), 64 * 1024):
        encrypted, method = data[pos + 6] & 1, data[pos + 8]
        name_len = int.from_bytes(data[pos + 26 : pos + 28], "little")
        extra = int.from_bytes(data[pos + 28 : pos + 30], "little")
        name = data[pos + 30 : pos + 30 + name_len]
        size = int.from_bytes(data[pos + 18 : pos + 22], "little") or 64 * 1024  # 0: not said
        start = pos + 30 + name_len + extra
        head = b"" if encrypted else _head(method, data[start : start + min(size, 64 * 1024)])
        if name.startswith(b"word/") or (name == b"[Content_Types].xml" and _WORD_MAIN in head):
            return "docx"
        if name == b"mimetype":
            return _MIMETYPES.get(head[:100].strip())
        pos = data.find(_LOCAL, pos + 30)
    return None


def _head(method: int, body: bytes) -> bytes:
    """What a member's first bytes hold: as stored, or inflated as far as they go."""
    if method == 0:
        return body
    if method != 8:
        return b""
    import zlib

    try:
        return zlib.decompressobj(-15).decompress(body, 64 * 1024)
    except zlib.error:
        return b""
