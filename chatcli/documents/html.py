"""HTML to readable Markdown with the stdlib's ``html.parser``: the main content, not the page's
navigation, scripts and forms.

Readability rule, kept simple and predictable: scripts, styles, ``nav``, ``header``, ``footer``,
``aside``, ``form`` and elements with ``role=navigation``/``hidden`` are dropped; when the page
has a ``<main>`` or ``<article>``, only what is inside it is kept. Headings become ``#`` lines,
list items ``-``/``1.`` lines, ``pre`` fenced code, links their text. No dependency: readability
libraries pull in lxml, several MB, for little gain on the pages people summarise.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

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
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.line.append("#" * int(tag[1]) + " ")
        elif tag in ("ul", "ol"):
            self.lists.append([tag == "ol", 0])
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
        elif tag in ("td", "th") and self.line:
            self.line.append(" | ")
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

    def handle_data(self, data: str) -> None:
        if not self.code:
            self.seen += len("".join(data.split()))
        if self._visible():
            self.line.append(data)

    def result(self) -> str:
        self._flush()
        text = "\n".join(self.out)
        return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
