"""ODT (OpenDocument text) to Markdown with the stdlib: content.xml read with ElementTree.

Same output as DOCX: ``text:h`` headings as ``#`` lines, ``text:list`` items as ``-`` lines
indented by nesting, tables as pipe tables. It costs nothing beyond what DOCX already needs.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from chatcli.documents.archive import Archive
from chatcli.errors import UsageError

TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"


def to_text(data: bytes, source: str) -> str:
    """The document body as Markdown."""
    try:
        with Archive(data, source, "OpenDocument file") as archive:
            root = ET.fromstring(archive.read("content.xml"))
    except (KeyError, ET.ParseError, RecursionError) as exc:
        raise UsageError(f"{source} is a damaged OpenDocument file: {exc}") from None
    body = root.find(f"{OFFICE}body/{OFFICE}text")
    if body is None:
        return ""
    blocks: list[str] = []
    _blocks(body, blocks, depth=-1)
    return "\n\n".join(b for b in blocks if b.strip())


def _inline(element: ET.Element) -> str:
    parts = [element.text or ""]
    for child in element:
        if child.tag == f"{TEXT}s":
            parts.append(" " * int(child.get(f"{TEXT}c", "1")))
        elif child.tag == f"{TEXT}tab":
            parts.append("\t")
        elif child.tag == f"{TEXT}line-break":
            parts.append("\n")
        elif child.tag != f"{TEXT}note":
            parts.append(_inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _blocks(parent: ET.Element, out: list[str], depth: int) -> None:
    for child in parent:
        if child.tag == f"{TEXT}h":
            level = int(child.get(f"{TEXT}outline-level", "1"))
            out.append("#" * min(level, 6) + " " + _inline(child).strip())
        elif child.tag == f"{TEXT}p":
            out.append(_inline(child).strip())
        elif child.tag == f"{TEXT}list":
            items: list[str] = []
            _list(child, items, depth + 1)
            out.append("\n".join(items))
        elif child.tag == f"{TABLE}table":
            rows = [
                [_inline(cell).strip() for cell in row.iter(f"{TABLE}table-cell")]
                for row in child.iter(f"{TABLE}table-row")
            ]
            if rows:
                width = max(len(r) for r in rows)
                lines = ["| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in rows]
                lines.insert(1, "|" + " --- |" * width)
                out.append("\n".join(lines))
        elif child.tag == f"{TEXT}section":
            _blocks(child, out, depth)


def _list(element: ET.Element, items: list[str], depth: int) -> None:
    for item in element.findall(f"{TEXT}list-item"):
        for child in item:
            if child.tag in (f"{TEXT}p", f"{TEXT}h"):
                text = _inline(child).strip()
                if text:
                    items.append("  " * depth + f"- {text}")
            elif child.tag == f"{TEXT}list":
                _list(child, items, depth + 1)
