"""DOCX (Word) to Markdown with the stdlib: a .docx is a ZIP of XML (zipfile + ElementTree).

Headings (``Heading N`` / ``Title`` styles) become ``#`` lines, list paragraphs ``-`` or ``1.``
items indented by level (numbering.xml says which lists are numbered), tables pipe tables.
No dependency: python-docx would add lxml (several MB) for the same few elements.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from chatcli.documents.archive import Archive
from chatcli.errors import UsageError

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING = re.compile(r"^(?:heading|titre|überschrift)\s*(\d)$", re.I)


def to_text(data: bytes, source: str) -> str:
    """The document body as Markdown."""
    try:
        with Archive(data, source, "Word document") as archive:
            body = ET.fromstring(archive.read("word/document.xml")).find(f"{W}body")
            numbered = _numbered_lists(archive)
            styles = _style_names(archive)
    except (KeyError, ET.ParseError, RecursionError) as exc:
        raise UsageError(f"{source} is a damaged Word document: {exc}") from None
    if body is None:
        return ""
    blocks: list[str] = []
    for element in body:
        if element.tag == f"{W}p":
            line = _paragraph(element, numbered, styles)
            if line:
                blocks.append(line)
        elif element.tag == f"{W}tbl":
            blocks.append(_table(element))
    return _join(blocks)


def _join(blocks: list[str]) -> str:
    """Blank lines between blocks, none between consecutive list items."""
    out: list[str] = []
    for block in blocks:
        is_item = bool(re.match(r"^\s*(?:-|\d+\.) ", block))
        if out and not (is_item and out[-1].endswith("\x00")):
            out.append("\n")
        out.append(block + ("\x00" if is_item else ""))
    return "\n".join(out).replace("\x00", "").replace("\n\n\n", "\n\n").strip()


def _text(element: ET.Element) -> str:
    parts: list[str] = []
    for node in element.iter():
        if node.tag == f"{W}t":
            parts.append(node.text or "")
        elif node.tag == f"{W}tab":
            parts.append("\t")
        elif node.tag in (f"{W}br", f"{W}cr"):
            parts.append("\n")
    return "".join(parts)


def _paragraph(p: ET.Element, numbered: set[tuple[str, str]], styles: dict[str, str]) -> str:
    text = _text(p).strip()
    if not text:
        return ""
    props = p.find(f"{W}pPr")
    style = ""
    num_id = level = None
    if props is not None:
        style_el = props.find(f"{W}pStyle")
        if style_el is not None:
            sid = style_el.get(f"{W}val", "")
            style = styles.get(sid, sid)
        num = props.find(f"{W}numPr")
        if num is not None:
            num_el, lvl_el = num.find(f"{W}numId"), num.find(f"{W}ilvl")
            num_id = num_el.get(f"{W}val", "0") if num_el is not None else "0"
            level = lvl_el.get(f"{W}val", "0") if lvl_el is not None else "0"
    heading = _HEADING.match(style.replace("heading", "heading ").strip())
    if style.lower() == "title":
        return f"# {text}"
    if heading:
        return "#" * min(int(heading.group(1)), 6) + f" {text}"
    if num_id is not None and num_id != "0" and level is not None:
        marker = "1." if (num_id, level) in numbered else "-"
        return "  " * int(level) + f"{marker} {text}"
    if style.lower().startswith("list"):
        return f"- {text}"
    return text


def _table(tbl: ET.Element) -> str:
    rows = [
        [
            _text(cell).strip().replace("\n", " ").replace("|", "\\|")
            for cell in row.findall(f"{W}tc")
        ]
        for row in tbl.findall(f"{W}tr")
    ]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    lines = ["| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in rows]
    lines.insert(1, "|" + " --- |" * width)
    return "\n".join(lines)


def _style_names(archive: Archive) -> dict[str, str]:
    """Style id -> name (``Heading1`` -> ``heading 1``): ids are localised in some Words."""
    try:
        root = ET.fromstring(archive.read("word/styles.xml"))
    except KeyError:
        return {}
    names: dict[str, str] = {}
    for style in root.iter(f"{W}style"):
        name = style.find(f"{W}name")
        if name is not None:
            names[style.get(f"{W}styleId", "")] = name.get(f"{W}val", "")
    return names


def _numbered_lists(archive: Archive) -> set[tuple[str, str]]:
    """(numId, level) pairs whose number format is not a bullet."""
    try:
        root = ET.fromstring(archive.read("word/numbering.xml"))
    except KeyError:
        return set()
    abstract: dict[str, set[str]] = {}
    for item in root.iter(f"{W}abstractNum"):
        levels = set()
        for lvl in item.findall(f"{W}lvl"):
            fmt = lvl.find(f"{W}numFmt")
            if fmt is not None and fmt.get(f"{W}val") not in ("bullet", "none"):
                levels.add(lvl.get(f"{W}ilvl", "0"))
        abstract[item.get(f"{W}abstractNumId", "")] = levels
    out: set[tuple[str, str]] = set()
    for num in root.iter(f"{W}num"):
        ref = num.find(f"{W}abstractNumId")
        if ref is not None:
            for level in abstract.get(ref.get(f"{W}val", ""), set()):
                out.add((num.get(f"{W}numId", ""), level))
    return out
