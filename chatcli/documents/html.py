"""HTML to readable Markdown with the stdlib's ``html.parser``: the main content, not the page's
navigation, scripts and forms.

Readability rule, kept simple and predictable: scripts, styles, ``nav``, ``header``, ``footer``,
``aside``, ``form`` and elements with ``role=navigation``/``hidden`` are dropped; when the page
has a ``<main>`` or ``<article>``, only what is inside it is kept. Headings become ``#`` lines,
list items ``-``/``1.`` lines (an ``<ol start>`` counts from there), ``pre`` fenced code, links
their text. A data table becomes a pipe table (``tables``: a header line, ``colspan`` and
``rowspan`` keeping the columns, ``|`` escaped, a ``<br>`` in a cell a space); a table used
for layout (one holding a table, a heading or code, or long prose, or a single column) keeps
its content as blocks. No dependency: readability libraries pull in lxml, several MB, for
little gain on the pages people summarise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from chatcli.documents import tables

_SKIP = frozenset(
    (
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "canvas",
        "nav",
        "header",
        "footer",
        "aside",
        "form",
        "button",
        "select",
        "iframe",
        "object",
        "head",
        "dialog",
    )
)
_VOID = frozenset(
    (
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    )
)
_BLOCK = frozenset(
    (
        "p",
        "div",
        "section",
        "article",
        "main",
        "blockquote",
        "table",
        "tr",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "figure",
        "figcaption",
        "details",
        "summary",
        "caption",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "hr",
        "br",
    )
)
_MAIN = frozenset(("main", "article"))
_LAYOUT = frozenset(("table", "h1", "h2", "h3", "h4", "h5", "h6", "pre"))
"""Elements that, inside a cell, make a table one that lays a page out, not one of data."""
_LONG_CELL = 2000
"""A cell holding more text than this is prose laid out in a table."""
_CODE = frozenset(("script", "style"))
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([\w.:+-]{1,40})""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([\w.:+-]{1,40})["']""", re.I)


def decode(data: bytes, content_type: str | None) -> str:
    """Bytes to str: a byte order mark, else the charset of the Content-Type, else the page's
    own (``<meta charset>``, ``<meta http-equiv>``, the XML declaration), else what text input
    gets (UTF-8, or GB18030 when it reads as Chinese), else cp1252, the HTML standard's
    default for a page that says nothing."""
    from chatcli import charsets

    text = charsets.with_bom(data)
    if text is not None:
        return text
    label = charsets.declared(content_type) or _page_charset(data[:4096])
    text = charsets.as_declared(data, label)
    if text is None:
        text = charsets.guess(data)
    if text is None:
        name = charsets.codec(label) or "cp1252"
        text = data.decode(name, "replace")
    return text


def _page_charset(head: bytes) -> str | None:
    """The charset a page declares in its first bytes; a UTF-16 one is taken as UTF-8 (the
    page is ASCII-compatible, or the meta tag could not have been read this way)."""
    match = _XML_ENCODING.match(head) or _META_CHARSET.search(head)
    if match is None:
        return None
    label = match.group(1).decode("ascii")
    return "utf-8" if label.lower().startswith(("utf-16", "utf-32", "utf16", "utf32")) else label


def to_markdown(page: str, *, main_only: bool = True) -> str:
    """The readable text of ``page`` as Markdown."""
    return convert(page, main_only=main_only)[0]


def convert(page: str, *, main_only: bool = True) -> tuple[str, int]:
    """The readable text of ``page`` as Markdown, and how many characters of text (not
    counting whitespace, scripts and styles) the page held before anything was dropped."""
    has_main = main_only and re.search(r"<(?:main|article)\b", page, re.I) is not None
    parser = _Converter(only_main=has_main)
    parser.feed(page)
    parser.close()
    return parser.result(), parser.seen


@dataclass
class _Table:
    """A table being read: its cells (``grid``) beside the blocks the converter writes, which
    are kept instead when it lays a page out."""

    start: int  # where its blocks begin in the converter's output
    grid: tables.Grid = field(default_factory=tables.Grid)
    cell: list[str] | None = None
    span: tuple[int, int] = (1, 1)
    caption: list[str] = field(default_factory=list)
    in_caption: bool = False
    layout: bool = False

    def close_cell(self) -> None:
        if self.cell is not None:
            text = tables.cell(self.cell)
            if len(text) > _LONG_CELL:
                self.layout = True
            self.grid.add(text, *self.span)
            self.cell = None


def _span(value: str | None) -> int:
    value = (value or "").strip()
    return min(int(value), tables.MAX_SPAN) if value.isdigit() and len(value) < 6 else 1


class _Converter(HTMLParser):
    def __init__(self, only_main: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.only_main = only_main
        self.main_depth = 0
        self.skip_stack: list[str] = []
        self.out: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [is_ordered, counter]
        self.pre = 0
        self.line: list[str] = []
        self.seen = 0  # characters of text met, visible or not (scripts and styles aside)
        self.code = 0  # depth inside script/style: their text is code, not the page's
        self.tables: list[_Table] = []

    # -- helpers ------------------------------------------------------------------------------

    def _visible(self) -> bool:
        return not self.skip_stack and (not self.only_main or self.main_depth > 0)

    def _flush(self, gap: bool = True) -> None:
        text = "".join(self.line)
        self.line = []
        if not self.pre:
            indent = re.match(r" *", text).group()  # type: ignore[union-attr]
            text = indent + re.sub(r"\s+", " ", text).strip()
        if text.strip("# -*.0123456789") or (self.pre and text):
            self.out.append(text)
        if gap and self.out and self.out[-1] != "":
            self.out.append("")

    # -- parser callbacks ---------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        hidden = values.get("hidden") is not None or "hidden" in values
        role = (values.get("role") or "").lower()
        if tag in _CODE:
            self.code += 1
        if tag not in _VOID and (
            self.skip_stack or tag in _SKIP or hidden or role in ("navigation", "banner")
        ):
            self.skip_stack.append(tag)
            return
        if tag in _MAIN:
            self.main_depth += 1
        if not self._visible():
            return
        if tag in _BLOCK:
            in_list = tag in ("ul", "ol") and bool(self.lists)
            self._flush(gap=not in_list and tag not in ("li", "br", "tr", "dt", "dd"))
            self._table_start(tag)
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.line.append("#" * int(tag[1]) + " ")
        elif tag in ("ul", "ol"):
            start = (values.get("start") or "").strip()
            first = int(start) if tag == "ol" and start.isdigit() and len(start) < 10 else 1
            self.lists.append([tag == "ol", first - 1])
        elif tag == "li":
            indent = "  " * max(len(self.lists) - 1, 0)
            if self.lists and self.lists[-1][0]:
                self.lists[-1][1] += 1
                self.line.append(f"{indent}{self.lists[-1][1]}. ")
            else:
                self.line.append(f"{indent}- ")
        elif tag == "pre":
            self.out.append("```")
            self.pre += 1
        elif tag in ("td", "th"):
            if self.line:
                self.line.append(" | ")
            if self.tables:
                table = self.tables[-1]
                table.close_cell()
                table.cell = []
                table.span = (_span(values.get("colspan")), _span(values.get("rowspan")))
        elif tag == "hr":
            self.out.extend(["---", ""])

    def handle_endtag(self, tag: str) -> None:
        if tag in _CODE and self.code:
            self.code -= 1
        if self.skip_stack:
            if tag in self.skip_stack:
                while self.skip_stack and self.skip_stack.pop() != tag:
                    pass
            return
        visible = self._visible()
        if tag in _MAIN and self.main_depth:
            self.main_depth -= 1
        if not visible:
            return
        if tag == "pre" and self.pre:
            self._flush(gap=False)
            self.pre -= 1
            self.out.extend(["```", ""])
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
            self._flush(gap=not self.lists)
        elif tag in _BLOCK:
            self._flush(gap=tag not in ("li", "tr", "dt", "dd"))
        if self.tables:
            self._table_end(tag)

    def handle_data(self, data: str) -> None:
        if not self.code:
            self.seen += len("".join(data.split()))
        if self._visible():
            self.line.append(data)
            if self.tables:
                table = self.tables[-1]
                if table.in_caption:
                    table.caption.append(data)
                elif table.cell is not None:
                    table.cell.append(data)
                elif data.strip():  # text outside any cell: not a grid of data
                    table.layout = True

    # -- tables -------------------------------------------------------------------------------

    def _table_start(self, tag: str) -> None:
        """Follow a table's cells; block elements inside a cell part its words."""
        table = self.tables[-1] if self.tables else None
        if table is not None and table.cell is not None:
            if tag in _LAYOUT:
                table.layout = True
            table.cell.append(" ")
        if tag == "table":
            if table is not None:  # a table in a table lays a page out
                table.layout = True
            self.tables.append(_Table(start=len(self.out)))
        elif table is not None and tag == "tr":
            table.close_cell()
            table.grid.start_row()
        elif table is not None and tag == "caption":
            table.close_cell()
            table.in_caption = True

    def _table_end(self, tag: str) -> None:
        table = self.tables[-1]
        if tag in ("td", "th", "tr"):
            table.close_cell()
        elif tag == "caption":
            table.in_caption = False
        elif tag in _BLOCK and table.cell is not None:
            table.cell.append(" ")
        if tag != "table":
            return
        self.tables.pop()
        table.close_cell()
        if table.layout or max((len(row) for row in table.grid.rows), default=0) < 2:
            return  # laid out: its blocks, as written, stay
        del self.out[table.start :]
        caption = " ".join("".join(table.caption).split())
        if caption:
            self.out.extend([caption, ""])
        markdown = table.grid.markdown()
        if markdown:
            self.out.extend([markdown, ""])

    def result(self) -> str:
        self._flush()
        text = "\n".join(self.out)
        return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
