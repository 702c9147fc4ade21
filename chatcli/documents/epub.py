"""EPUB to Markdown with the stdlib: the spine's XHTML chapters, in reading order, through the
HTML converter. An EPUB is a ZIP whose container.xml names the package (OPF) file."""

from __future__ import annotations

import io
import posixpath
import zipfile
from xml.etree import ElementTree as ET

from chatcli.documents import html
from chatcli.errors import UsageError

CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
OPF = "{http://www.idpf.org/2007/opf}"


def to_text(data: bytes, source: str) -> str:
    """Every chapter of the spine, as Markdown, in order."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
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
            for ref in package.iter(f"{OPF}itemref"):
                href = manifest.get(ref.get("idref", ""))
                if href:
                    raw = archive.read(posixpath.normpath(posixpath.join(base, href)))
                    text = html.to_markdown(html.decode(raw, None), main_only=False)
                    if text.strip():
                        chapters.append(text.strip())
    except (zipfile.BadZipFile, KeyError, ET.ParseError, OSError) as exc:
        raise UsageError(f"{source} is a damaged EPUB: {exc}") from None
    return "\n\n".join(chapters)
