"""DOCX (Word) to Markdown with the stdlib: a .docx is a ZIP of XML (zipfile + ElementTree).

Headings (``Heading N`` / ``Title`` styles) become ``#`` lines, list paragraphs ``-`` or ``1.``
items indented by level (numbering.xml says which lists are numbered, for a paragraph's own
numbering or its style's: ``List Number``), tables pipe tables (``tables``). Text is read
wherever Word keeps it: inside content controls (``w:sdt``, templates and forms put whole
clauses, table rows and cells there) and ``w:customXml``; a text box once (the
``mc:AlternateContent`` choice, not also its VML fallback); headers and footers, and footnotes
and endnotes (``[^N]`` where they are referenced, their text after the body). A Strict Open
XML document (Word's "Strict Open XML Document" save) differs only in its namespace and is read
the same. No dependency: python-docx would add lxml (several MB) for the same few elements.
"""

from __future__ import annotations

import posixpath
import re
from xml.etree import ElementTree as ET

from chatcli.documents import tables
from chatcli.documents.archive import Archive
from chatcli.errors import UsageError

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_STRICT = b"http://purl.oclc.org/ooxml/wordprocessingml/main"
_TRANSITIONAL = W[1:-1].encode()
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_HEADING = re.compile(r"^(?:heading|titre|überschrift)\s*(\d)$", re.I)
_SKIP = frozenset(
    W + tag for tag in ("pPr", "rPr", "sectPr", "sdtPr", "sdtEndPr", "del", "moveFrom", "tblPr")
)
"""Properties, and text tracked as deleted or moved away: none of it is the document's text."""
_NOTES = {"footnote": "", "endnote": "e"}


def to_text(data: bytes, source: str) -> str:
    """The document as Markdown: headers, the body, footers, then the notes."""
    try:
        with Archive(data, source, "Word document") as archive:
            root = _xml(archive, "word/document.xml")
            reader = _Reader(_numbered_lists(archive), _styles(archive))
            parts = {
                kind: [_xml(archive, p) for p in paths] for kind, paths in _parts(archive).items()
            }
    except (KeyError, ET.ParseError, RecursionError) as exc:
        raise UsageError(f"{source} is a damaged Word document: {exc}") from None
    body = root.find(f"{W}body")
    blocks = reader.blocks(body) if body is not None else []
    heads = [reader.line(part) for part in parts.get("header", [])]
    feet = [reader.line(part) for part in parts.get("footer", [])]
    notes = [
        note
        for kind in _NOTES
        for part in parts.get(kind + "s", [])
        for note in reader.notes(part, kind)
    ]
    text = _join(blocks)
    if not text.strip():
        return ""  # headers alone are no text: "a Word document with no text"
    head = [f"Header: {h}" for h in dict.fromkeys(heads) if _words(h)]
    foot = [f"Footer: {f}" for f in dict.fromkeys(feet) if _words(f)]
    return "\n\n".join(x for x in ("\n".join(head), text, "\n".join(foot), "\n".join(notes)) if x)


def _xml(archive: Archive, name: str) -> ET.Element:
    """A part parsed, a Strict document's namespace read as the transitional one."""
    raw = archive.read(name)
    if _STRICT in raw:
        raw = raw.replace(_STRICT, _TRANSITIONAL)
    return ET.fromstring(raw)


def _words(text: str) -> bool:
    """Whether a header or footer says something (not only a page number)."""
    return any(ch.isalpha() for ch in text)


def _parts(archive: Archive) -> dict[str, list[str]]:
    """Header, footer, footnotes and endnotes parts the document's relationships name."""
    try:
        rels = ET.fromstring(archive.read("word/_rels/document.xml.rels"))
    except KeyError:
        return {}
    found: dict[str, list[str]] = {}
    for rel in rels.iter(f"{_RELS}Relationship"):
        kind = rel.get("Type", "").rsplit("/", 1)[-1]
        target = rel.get("Target", "")
        if kind not in ("header", "footer", "footnotes", "endnotes") or not target:
            continue
        if rel.get("TargetMode") == "External":
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.join("word", target)
        found.setdefault(kind, []).append(posixpath.normpath(path))
    return {kind: sorted(set(paths)) for kind, paths in found.items()}


def _join(blocks: list[str]) -> str:
    """Blank lines between blocks, none between consecutive list items."""
    out: list[str] = []
    for block in blocks:
        is_item = bool(re.match(r"^\s*(?:-|\d+\.) ", block))
        if out and not (is_item and out[-1].endswith("\x00")):
            out.append("\n")
        out.append(block + ("\x00" if is_item else ""))
    return "\n".join(out).replace("\x00", "").replace("\n\n\n", "\n\n").strip()


def _chosen(alternate: ET.Element) -> ET.Element | None:
    """The one branch of an ``mc:AlternateContent`` to read: the first choice holding text,
    else the fallback (the same text box is in both)."""
    choices = alternate.findall(f"{MC}Choice")
    for choice in choices:
        if any(t.text for t in choice.iter(f"{W}t")):
            return choice
    fallback = alternate.find(f"{MC}Fallback")
    return fallback if fallback is not None else (choices[0] if choices else None)


class _Reader:
    def __init__(
        self, numbered: dict[tuple[str, str], bool], styles: dict[str, tuple[str, str, str]]
    ) -> None:
        self.numbered = numbered
        self.styles = styles  # id -> (name, numId, level)

    # -- blocks -----------------------------------------------------------------------------

    def blocks(self, parent: ET.Element, out: list[str] | None = None) -> list[str]:
        """Paragraphs and tables of ``parent`` in order, inside any wrapper (content controls,
        custom XML, a chosen alternate)."""
        out = [] if out is None else out
        for element in parent:
            if element.tag == f"{W}p":
                line = self.paragraph(element)
                if line:
                    out.append(line)
            elif element.tag == f"{W}tbl":
                table = self.grid(element).markdown()
                if table:
                    out.append(table)
            elif element.tag == f"{MC}AlternateContent":
                chosen = _chosen(element)
                if chosen is not None:
                    self.blocks(chosen, out)
            elif element.tag not in _SKIP:
                self.blocks(element, out)
        return out

    def line(self, part: ET.Element) -> str:
        """A header or footer as one line."""
        return " ".join(" ".join(self.blocks(part)).split())

    def notes(self, part: ET.Element, kind: str) -> list[str]:
        """``[^N]: text`` for each footnote (``[^eN]`` endnote), separators left out."""
        out = []
        for note in part.iter(f"{W}{kind}"):
            if note.get(f"{W}type") not in (None, "normal"):
                continue
            text = " ".join(" ".join(self.blocks(note)).split())
            if text:
                out.append(f"[^{_NOTES[kind]}{note.get(f'{W}id', '')}]: {text}")
        return out

    # -- tables -----------------------------------------------------------------------------

    def grid(self, tbl: ET.Element) -> tables.Grid:
        grid = tables.Grid()
        for row in _within(tbl, f"{W}tr", f"{W}tbl"):
            grid.start_row()
            props = row.find(f"{W}trPr")
            before = props.find(f"{W}gridBefore") if props is not None else None
            for _ in range(_number(before, 0)):
                if grid.pad():
                    grid.rows[-1].append("")
            for tc in _within(row, f"{W}tc", f"{W}tbl"):
                cell_props = tc.find(f"{W}tcPr")
                span = cell_props.find(f"{W}gridSpan") if cell_props is not None else None
                grid.add(tables.cell(self.cell_parts(tc)), colspan=_number(span, 1))
        return grid

    def cell_parts(self, parent: ET.Element, out: list[str] | None = None) -> list[str]:
        """The paragraphs of a cell as plain text, a table inside it inline."""
        out = [] if out is None else out
        for element in parent:
            if element.tag == f"{W}p":
                out.append(self.text(element))
            elif element.tag == f"{W}tbl":
                out.append(tables.inline(self.grid(element).rows))
            elif element.tag == f"{MC}AlternateContent":
                chosen = _chosen(element)
                if chosen is not None:
                    self.cell_parts(chosen, out)
            elif element.tag not in _SKIP and element.tag != f"{W}tcPr":
                self.cell_parts(element, out)
        return out

    # -- paragraphs -------------------------------------------------------------------------

    def text(self, element: ET.Element) -> str:
        parts: list[str] = []
        self._runs(element, parts)
        return "".join(parts)

    def _runs(self, element: ET.Element, parts: list[str]) -> None:
        for node in element:
            tag = node.tag
            if tag == f"{W}t":
                parts.append(node.text or "")
            elif tag == f"{W}tab":
                parts.append("\t")
            elif tag in (f"{W}br", f"{W}cr"):
                parts.append("\n")
            elif tag == f"{W}noBreakHyphen":
                parts.append("-")
            elif tag in (f"{W}footnoteReference", f"{W}endnoteReference"):
                prefix = "" if tag == f"{W}footnoteReference" else "e"
                parts.append(f"[^{prefix}{node.get(f'{W}id', '')}]")
            elif tag == f"{W}p":  # a paragraph of a text box, on its own line
                parts.append("\n" + self.text(node).strip() + "\n")
            elif tag == f"{W}tbl":
                parts.append("\n" + tables.inline(self.grid(node).rows) + "\n")
            elif tag == f"{MC}AlternateContent":
                chosen = _chosen(node)
                if chosen is not None:
                    self._runs(chosen, parts)
            elif tag not in _SKIP:
                self._runs(node, parts)

    def paragraph(self, p: ET.Element) -> str:
        text = re.sub(r" *\n[ \n]*", "\n", self.text(p)).strip()
        if not text:
            return ""
        props = p.find(f"{W}pPr")
        style_id = name = ""
        num_id = level = None
        if props is not None:
            style_el = props.find(f"{W}pStyle")
            if style_el is not None:
                style_id = style_el.get(f"{W}val", "")
            num = props.find(f"{W}numPr")
            if num is not None:
                num_el, lvl_el = num.find(f"{W}numId"), num.find(f"{W}ilvl")
                num_id = num_el.get(f"{W}val", "0") if num_el is not None else "0"
                level = lvl_el.get(f"{W}val", "0") if lvl_el is not None else "0"
        name, style_num, style_level = self.styles.get(style_id, (style_id, "", ""))
        if num_id is None and style_num:  # numbered by its style (List Number)
            num_id, level = style_num, style_level or _name_level(name)
        heading = _HEADING.match(name.replace("heading", "heading ").strip())
        if name.lower() == "title":
            return f"# {text}"
        if heading:
            return "#" * min(int(heading.group(1)), 6) + f" {text}"
        if num_id is not None and num_id != "0" and level is not None:
            numbered = self.numbered.get((num_id, level))
            if numbered is None:
                numbered = name.lower().startswith("list number")
            marker = "1." if numbered else "-"
            return "  " * min(int(level) if level.isdigit() else 0, 9) + f"{marker} {text}"
        if name.lower().startswith("list number"):
            return "  " * int(_name_level(name)) + f"1. {text}"
        if name.lower().startswith("list"):
            return f"- {text}"
        return text


def _name_level(name: str) -> str:
    """The level a ``List Number 2`` style's name says (``1``), else ``0``."""
    match = re.search(r"(\d)$", name.strip())
    return str(max(int(match.group(1)) - 1, 0)) if match else "0"


def _number(element: ET.Element | None, default: int) -> int:
    value = element.get(f"{W}val", "") if element is not None else ""
    return int(value) if value.isdigit() and len(value) < 6 else default


def _within(parent: ET.Element, tag: str, stop: str) -> list[ET.Element]:
    """The ``tag`` elements of ``parent``: its children, and those inside wrappers (a row or
    cell in a content control), not those of a nested ``stop`` (a table in a cell)."""
    found: list[ET.Element] = []
    for child in parent:
        if child.tag == tag:
            found.append(child)
        elif child.tag == f"{MC}AlternateContent":
            chosen = _chosen(child)
            if chosen is not None:
                found.extend(_within(chosen, tag, stop))
        elif child.tag != stop and child.tag not in _SKIP:
            found.extend(_within(child, tag, stop))
    return found


def _styles(archive: Archive) -> dict[str, tuple[str, str, str]]:
    """Style id -> (name, numId, level): ``Heading1`` -> ``heading 1`` (ids are localised in
    some Words), and the numbering a style gives its paragraphs (``List Number``), inherited
    from the style it is based on."""
    try:
        root = _xml(archive, "word/styles.xml")
    except KeyError:
        return {}
    own: dict[str, tuple[str, str, str, str]] = {}
    for style in root.iter(f"{W}style"):
        name_el = style.find(f"{W}name")
        based_el = style.find(f"{W}basedOn")
        num = style.find(f"{W}pPr/{W}numPr")
        num_id = level = ""
        if num is not None:
            num_el, lvl_el = num.find(f"{W}numId"), num.find(f"{W}ilvl")
            num_id = num_el.get(f"{W}val", "") if num_el is not None else ""
            level = lvl_el.get(f"{W}val", "") if lvl_el is not None else ""
        sid = style.get(f"{W}styleId", "")
        own[sid] = (
            name_el.get(f"{W}val", "") if name_el is not None else sid,
            num_id,
            level,
            based_el.get(f"{W}val", "") if based_el is not None else "",
        )
    out: dict[str, tuple[str, str, str]] = {}
    for sid, (name, num_id, level, based) in own.items():
        for _ in range(10):  # a chain of basedOn, cut short if it loops
            if num_id or not based or based not in own:
                break
            _n, num_id, level, based = own[based]
        out[sid] = (name, num_id, level)
    return out


def _numbered_lists(archive: Archive) -> dict[tuple[str, str], bool]:
    """(numId, level) -> whether its number format is not a bullet."""
    try:
        root = _xml(archive, "word/numbering.xml")
    except KeyError:
        return {}
    abstract: dict[str, dict[str, bool]] = {}
    for item in root.iter(f"{W}abstractNum"):
        levels: dict[str, bool] = {}
        for lvl in item.findall(f"{W}lvl"):
            fmt = lvl.find(f"{W}numFmt")
            value = fmt.get(f"{W}val") if fmt is not None else None
            levels[lvl.get(f"{W}ilvl", "0")] = value not in ("bullet", "none", None)
        abstract[item.get(f"{W}abstractNumId", "")] = levels
    out: dict[tuple[str, str], bool] = {}
    for num in root.iter(f"{W}num"):
        ref = num.find(f"{W}abstractNumId")
        if ref is not None:
            for level, numbered in abstract.get(ref.get(f"{W}val", ""), {}).items():
                out[(num.get(f"{W}numId", ""), level)] = numbered
    return out
