"""ODT (OpenDocument text) to Markdown with the stdlib: content.xml read with ElementTree.

Same output as DOCX: ``text:h`` headings as ``#`` lines, ``text:list`` items as ``-`` lines
indented by nesting, tables as pipe tables (``tables``: a cell's paragraphs joined by a space,
a covered cell of a merge kept empty so the columns stay, a table inside a cell inline, read
once), footnotes as ``[^N]`` with their text after the body. Sections, indexes and other
containers are read through; tracked deletions and index templates are not text. A
password-protected file (its content.xml encrypted) is said, not called damaged. It costs
nothing beyond what DOCX already needs.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from chatcli.documents import tables
from chatcli.documents.archive import Archive
from chatcli.errors import UsageError

TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_SKIP = frozenset(
    (
        f"{TEXT}tracked-changes",
        f"{TEXT}sequence-decls",
        f"{TEXT}variable-decls",
        f"{TEXT}user-field-decls",
        f"{OFFICE}forms",
        f"{TABLE}table-columns",
        f"{TABLE}table-column",
    )
)
"""Deleted text kept for change tracking, declarations and forms: not the document's text."""


def to_text(data: bytes, source: str) -> str:
    """The document body as Markdown."""
    try:
        with Archive(data, source, "OpenDocument file") as archive:
            raw = archive.read("content.xml")
            try:
                root = ET.fromstring(raw)
            except ET.ParseError:
                if _encrypted(archive):
                    raise UsageError(
                        f"{source} is a password-protected OpenDocument file",
                        hint="save an unprotected copy and pass that",
                    ) from None
                raise
    except (KeyError, ET.ParseError, RecursionError) as exc:
        raise UsageError(f"{source} is a damaged OpenDocument file: {exc}") from None
    body = root.find(f"{OFFICE}body/{OFFICE}text")
    if body is None:
        return ""
    reader = _Reader()
    blocks: list[str] = []
    reader.blocks(body, blocks, depth=-1)
    text = "\n\n".join(b for b in blocks if b.strip())
    return "\n\n".join(x for x in (text, "\n".join(reader.notes)) if x)


def _encrypted(archive: Archive) -> bool:
    """Whether the manifest says content.xml is encrypted (a password set in the editor)."""
    try:
        return b"encryption-data" in archive.read("META-INF/manifest.xml")
    except KeyError:
        return False


def _skipped(tag: str) -> bool:
    return tag in _SKIP or tag.endswith("-source")  # an index's template, not its entries


class _Reader:
    def __init__(self) -> None:
        self.notes: list[str] = []

    def inline(self, element: ET.Element) -> str:
        parts = [element.text or ""]
        for child in element:
            tag = child.tag
            if tag == f"{TEXT}s":
                count = child.get(f"{TEXT}c", "1")
                parts.append(" " * (min(int(count), 100) if count.isdigit() else 1))
            elif tag == f"{TEXT}tab":
                parts.append("\t")
            elif tag == f"{TEXT}line-break":
                parts.append("\n")
            elif tag == f"{TEXT}note":
                parts.append(self.note(child))
            elif tag in (f"{TEXT}p", f"{TEXT}h"):  # a paragraph of a frame or text box
                parts.append("\n" + self.inline(child).strip() + "\n")
            elif tag == f"{TABLE}table":
                parts.append("\n" + tables.inline(self.grid(child).rows) + "\n")
            elif not _skipped(tag):
                parts.append(self.inline(child))
            parts.append(child.tail or "")
        return "".join(parts)

    def note(self, note: ET.Element) -> str:
        """``[^N]`` where a footnote is, its text kept for after the body."""
        citation = note.find(f"{TEXT}note-citation")
        mark = "".join((citation.text or "").split()) if citation is not None else ""
        mark = mark or str(len(self.notes) + 1)
        body = note.find(f"{TEXT}note-body")
        if body is not None:
            parts: list[str] = []
            self.blocks(body, parts, depth=-1)
            text = " ".join(" ".join(parts).split())
            if text:
                self.notes.append(f"[^{mark}]: {text}")
        return f"[^{mark}]"

    def blocks(self, parent: ET.Element, out: list[str], depth: int) -> None:
        for child in parent:
            tag = child.tag
            if tag == f"{TEXT}h":
                level = child.get(f"{TEXT}outline-level", "1")
                hashes = "#" * min(int(level) if level.isdigit() else 1, 6)
                out.append(hashes + " " + self.inline(child).strip())
            elif tag == f"{TEXT}p":
                out.append(self.inline(child).strip())
            elif tag == f"{TEXT}list":
                items: list[str] = []
                self.list(child, items, depth + 1)
                out.append("\n".join(items))
            elif tag == f"{TABLE}table":
                out.append(self.grid(child).markdown())
            elif not _skipped(tag):  # sections, indexes, frames: read through
                self.blocks(child, out, depth)

    def grid(self, table: ET.Element) -> tables.Grid:
        grid = tables.Grid()
        for row in _rows(table):
            grid.start_row()
            for cell in row:
                if cell.tag == f"{TABLE}covered-table-cell":
                    grid.add("")
                elif cell.tag == f"{TABLE}table-cell":
                    parts = self.cell_parts(cell)
                    repeat = cell.get(f"{TABLE}number-columns-repeated", "1")
                    grid.add(tables.cell(parts))
                    for _ in range(min(int(repeat), 100) - 1 if repeat.isdigit() else 0):
                        if not grid.pad():
                            break
                        grid.rows[-1].append("")
        return grid

    def cell_parts(self, cell: ET.Element) -> list[str]:
        out: list[str] = []
        for child in cell:
            if child.tag == f"{TABLE}table":
                out.append(tables.inline(self.grid(child).rows))
            elif child.tag == f"{TEXT}list":
                items: list[str] = []
                self.list(child, items, 0)
                out.extend(item.strip().removeprefix("- ") for item in items)
            elif child.tag in (f"{TEXT}p", f"{TEXT}h"):
                out.append(self.inline(child))
            elif not _skipped(child.tag):
                out.extend(self.cell_parts(child))
        return out

    def list(self, element: ET.Element, items: list[str], depth: int) -> None:
        for item in element.findall(f"{TEXT}list-item"):
            for child in item:
                if child.tag in (f"{TEXT}p", f"{TEXT}h"):
                    text = self.inline(child).strip()
                    if text:
                        items.append("  " * depth + f"- {text}")
                elif child.tag == f"{TEXT}list":
                    self.list(child, items, depth + 1)


def _rows(table: ET.Element) -> list[ET.Element]:
    """The rows of ``table``, inside header-rows and row groups, not those of a nested table."""
    found: list[ET.Element] = []
    for child in table:
        if child.tag == f"{TABLE}table-row":
            found.append(child)
        elif child.tag in (
            f"{TABLE}table-header-rows",
            f"{TABLE}table-rows",
            f"{TABLE}table-row-group",
        ):
            found.extend(_rows(child))
    return found
