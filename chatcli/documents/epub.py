"""EPUB to Markdown with the stdlib: the spine's XHTML chapters, in reading order, through the
HTML converter. An EPUB is a ZIP whose container.xml names the package (OPF) file; its
``href``s are URLs (``%E7%AC%AC1.xhtml``, ``my%20chapter.xhtml``, ``ch1.xhtml#start``), read
as the member names they spell. A book with DRM lists its encrypted chapters in
``META-INF/encryption.xml``: it is refused, as an encrypted PDF is, rather than its ciphertext
sent as pages of mojibake (font obfuscation, listed there too, hides no text)."""

from __future__ import annotations

import posixpath
from urllib.parse import unquote, urldefrag
from xml.etree import ElementTree as ET

from chatcli.documents import html
from chatcli.documents.archive import Archive
from chatcli.errors import UsageError

CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
OPF = "{http://www.idpf.org/2007/opf}"
ENC = "{http://www.w3.org/2001/04/xmlenc#}"
_OBFUSCATION = frozenset(("http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"))
"""Font obfuscation algorithms (IDPF, Adobe): they scramble fonts, never the text."""


MAX_CHAPTERS = 10_000
"""More spine entries than this is not a book."""


def to_text(data: bytes, source: str) -> str:
    """Every chapter of the spine, as Markdown, in order; a chapter the spine lists again is
    read once (a spine repeating one chapter thousands of times stays one chapter)."""
    try:
        with Archive(data, source, "EPUB") as archive:
            container = ET.fromstring(archive.read("META-INF/container.xml"))
            rootfile = container.find(f".//{CONTAINER}rootfile")
            if rootfile is None:
                raise KeyError("no rootfile in META-INF/container.xml")
            opf_path = rootfile.get("full-path", "")
            package = ET.fromstring(archive.read(opf_path))
            base = posixpath.dirname(opf_path)
            manifest = {
                item.get("id", ""): item.get("href", "") for item in package.iter(f"{OPF}item")
            }
            locked = _encrypted(archive)
            chapters: list[str] = []
            seen: set[str] = set()
            for ref in package.iter(f"{OPF}itemref"):
                href = manifest.get(ref.get("idref", ""))
                path = _member(base, href) if href else ""
                if not path or path in seen:
                    continue
                seen.add(path)
                if len(seen) > MAX_CHAPTERS:
                    raise UsageError(f"{source} lists more than {MAX_CHAPTERS:,} chapters")
                if path in locked:
                    raise UsageError(
                        f"{source} is a DRM-protected EPUB (its chapters are encrypted, "
                        "META-INF/encryption.xml says): chatcli cannot read them",
                        hint="use a DRM-free copy of the book (or export its text from the "
                        "reading app that holds the key)",
                    )
                raw = archive.read(path)
                page = html.decode(raw, None)
                if not _text_like(page):
                    raise UsageError(f"{source} is a damaged or encrypted EPUB: {path} is not text")
                text = html.to_markdown(page, main_only=False)
                if text.strip():
                    chapters.append(text.strip())
    except (KeyError, ET.ParseError, RecursionError) as exc:
        raise UsageError(f"{source} is a damaged EPUB: {exc}") from None
    return "\n\n".join(chapters)


def _member(base: str, href: str) -> str:
    """The ZIP member an OPF ``href`` (a URL relative to the OPF file) names."""
    href = unquote(urldefrag(href)[0])
    return posixpath.normpath(posixpath.join(base, href)) if href else ""


def _encrypted(archive: Archive) -> set[str]:
    """The members ``META-INF/encryption.xml`` lists as encrypted (not font obfuscation)."""
    try:
        root = ET.fromstring(archive.read("META-INF/encryption.xml"))
    except KeyError:
        return set()
    locked: set[str] = set()
    for data in root.iter(f"{ENC}EncryptedData"):
        method = data.find(f"{ENC}EncryptionMethod")
        if method is not None and method.get("Algorithm", "") in _OBFUSCATION:
            continue
        for ref in data.iter(f"{ENC}CipherReference"):
            uri = ref.get("URI", "")
            if uri:
                locked.add(posixpath.normpath(unquote(urldefrag(uri)[0]).lstrip("/")))
    return locked


def _text_like(page: str) -> bool:
    """Whether a decoded chapter reads as text: ciphertext decodes (as cp1252) into control
    characters and replacement marks that real XHTML does not hold."""
    sample = page[:4096]
    odd = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\n\r\f") or ch == "\ufffd")
    return odd * 50 <= len(sample)
