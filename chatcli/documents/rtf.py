"""RTF to plain text with the stdlib: the words, not the control words.

An RTF file is text in braces and backslash commands; sent raw, most of its tokens are font
tables and formatting. This keeps paragraphs (``\\par``), line breaks and tabs, table cells
(`` | ``, a row per line), ``\\'hh`` bytes in the document's code page (``\\ansicpg``, so
GBK or Shift_JIS text reads right) and ``\\uN`` characters, and drops the destinations that
are not body text (font and colour tables, styles, document info, pictures, embedded objects,
field instructions, ``{\\*...}`` groups). Nesting is a list, not recursion.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?|\\'([0-9a-fA-F]{2})|\\(.)|([{}])|[\r\n]+|([^\\{}\r\n]+)",
    re.S,
)
_SKIPPED = frozenset((
    "fonttbl", "colortbl", "stylesheet", "info", "pict", "object", "fldinst", "listtable",
    "listoverridetable", "rsidtbl", "generator", "themedata", "colorschememapping", "datastore",
    "latentstyles", "xmlnstbl", "filetbl", "revtbl", "pgdsctbl", "mmathPr", "header", "headerl",
    "headerr", "headerf", "footer", "footerl", "footerr", "footerf", "footnote", "annotation",
    "atnid", "atnauthor", "bkmkstart", "bkmkend", "nonshppict", "shpinst", "operator", "author",
    "title", "subject", "keywords", "comment", "doccomm", "company", "template",
))  # fmt: skip
"""Destinations whose text is not the body's."""
_WORDS = {
    "par": "\n", "line": "\n", "sect": "\n\n", "page": "\n\n", "tab": "\t", "cell": " | ",
    "row": "\n", "emdash": "\u2014", "endash": "\u2013", "bullet": "\u2022",
    "lquote": "\u2018", "rquote": "\u2019", "ldblquote": "\u201c", "rdblquote": "\u201d",
    "emspace": " ", "enspace": " ", "qmspace": " ",
}  # fmt: skip
_SYMBOLS = {
    "~": "\u00a0",
    "-": "",
    "_": "-",
    "\\": "\\",
    "{": "{",
    "}": "}",
    "\n": "\n",
    "\r": "\n",
}


def to_text(data: bytes) -> str:
    """The body text of the RTF document ``data``."""
    source = data.decode("latin-1")
    codepage = "cp1252"
    declared = re.search(r"\\ansicpg(\d{3,5})", source[:4096])
    if declared and _known(f"cp{declared.group(1)}"):
        codepage = f"cp{declared.group(1)}"
    out: list[str] = []
    pending = bytearray()  # \'hh bytes, decoded together (a GBK character is two)
    stack: list[tuple[bool, int]] = []
    skip, uc, skip_next = False, 1, 0
    for match in _TOKEN.finditer(source):
        word, number, hexbyte, symbol, brace, text = match.groups()
        if hexbyte is None and pending:
            out.append(pending.decode(codepage, "replace"))
            pending.clear()
        if brace == "{":
            stack.append((skip, uc))
        elif brace == "}":
            skip, uc = stack.pop() if stack else (skip, uc)
            skip_next = 0
        elif symbol is not None:
            if symbol == "*":
                skip = True
            elif not skip and not skip_next:
                out.append(_SYMBOLS.get(symbol, ""))
            skip_next = max(skip_next - 1, 0)
        elif hexbyte is not None:
            if skip_next:
                skip_next -= 1
            elif not skip:
                pending.append(int(hexbyte, 16))
        elif word is not None:
            if word in _SKIPPED:
                skip = True
            elif word == "uc" and number is not None:
                uc = max(int(number), 0)
            elif word == "u" and number is not None:
                if not skip:
                    out.append(chr(int(number) % 65536))
                skip_next = uc
            elif not skip and word in _WORDS:
                out.append(_WORDS[word])
        elif text is not None:
            if skip_next:
                cut = min(skip_next, len(text))
                text, skip_next = text[cut:], skip_next - cut
            if not skip:
                out.append(text)
    if pending:
        out.append(pending.decode(codepage, "replace"))
    lines = [" ".join(line.split()) if "\t" not in line else line.strip() for line in
             "".join(out).split("\n")]  # fmt: skip
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _known(codec: str) -> bool:
    import codecs

    try:
        codecs.lookup(codec)
    except LookupError:
        return False
    return True
