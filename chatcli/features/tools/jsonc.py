"""JSON with comments (JSONC), as VS Code reads its ``mcp.json`` and ``settings.json``:
``//`` and ``/* */`` comments and a trailing comma before ``}`` or ``]``, outside strings.

They are blanked out (newlines kept), so what is left is read by ``json`` and its errors point
at the line and column of the file as written. Nothing else of JSON is relaxed.
"""

from __future__ import annotations

import json
from typing import Any


def loads(text: str) -> Any:
    """``text`` read as JSONC (a leading BOM ignored); ``json.JSONDecodeError`` if it is not."""
    return json.loads(plain(text.removeprefix("\ufeff")))


def plain(text: str) -> str:
    """``text`` with its comments and trailing commas turned into spaces."""
    out = list(text)

    def blank(start: int, end: int) -> None:
        for at in range(start, end):
            if out[at] not in "\r\n":
                out[at] = " "

    at, size = 0, len(text)
    in_string = False
    comma = -1  # a comma followed by nothing but blanks so far
    last = ""  # the last character that counts (not a blank, not in a comment)
    before_comma = ""
    while at < size:
        char = text[at]
        if in_string:
            if char == "\\":
                at += 2
                continue
            in_string = char != '"'
            at += 1
            continue
        if text.startswith("//", at):
            end = text.find("\n", at)
            end = size if end < 0 else end
            blank(at, end)
            at = end
            continue
        if text.startswith("/*", at):
            end = text.find("*/", at + 2)
            if end < 0:
                raise json.JSONDecodeError("Unterminated comment", text, at)
            blank(at, end + 2)
            at = end + 2
            continue
        if char in "}]" and comma >= 0 and before_comma not in ("{", "[", ","):
            out[comma] = " "  # a trailing comma
        if not char.isspace():
            comma, before_comma = (at, last) if char == "," else (-1, "")
            last = char
            in_string = char == '"'
        at += 1
    return "".join(out)
