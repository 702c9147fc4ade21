"""EPUB to Markdown with the stdlib: the spine's XHTML chapters, in reading order, through the
HTML converter. An EPUB is a ZIP whose container.xml names the package (OPF) file."""

from __future__ import annotations

import posixpath
from xml.etree import ElementTree as ET

from chatcli.documents import html
from chatcli.documents.archive import Archive
from chatcli.errors import UsageError

CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
OPF = "{http://www.idpf.org/2007/opf}"


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
            chapters: list[str] = []
            seen: set[str] = set()
            for ref in package.iter(f"{OPF}itemref"):
                href = manifest.get(ref.get("idref", ""))
                path = posixpath.normpath(posixpath.join(base, href)) if href else ""
                if not path or path in seen:
                    continue
                seen.add(path)
                if len(seen) > MAX_CHAPTERS:
                    raise UsageError(f"{source} lists more than {MAX_CHAPTERS:,} chapters")
                raw = archive.read(path)
                text = html.to_markdown(html.decode(raw, None), main_only=False)
                if text.strip():
                    chapters.append(text.strip())
    except (KeyError, ET.ParseError, RecursionError) as exc:
        raise UsageError(f"{source} is a damaged EPUB: {exc}") from None
    return "\n\n".join(chapters)
