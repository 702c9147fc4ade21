"""The short field-list syntax of ``--schema`` -> a JSON Schema object.

``'name, age int, tags list[str], bio: a one-line summary'``: fields separated by commas (or by
newlines, when the list spans several lines, so descriptions may hold commas). Each field is a
name, an optional ``?`` (the field may be left out), an optional type and an optional
description after a colon. Types: ``str`` (the default), ``int``, ``float``, ``bool``,
``list[T]`` (``list`` alone is ``list[str]``) and nested objects written as a group,
``address{street, city}`` or ``people list[{name, age int}]``.

A parse error is a ``UsageError`` that says where; whatever is accepted is a valid JSON Schema
(``tests/test_schema_fields.py`` checks that with hypothesis).
"""

from __future__ import annotations

from typing import Any

from chatcli.errors import UsageError

TYPES: dict[str, str] = {
    "str": "string",
    "string": "string",
    "int": "integer",
    "integer": "integer",
    "float": "number",
    "number": "number",
    "bool": "boolean",
    "boolean": "boolean",
}
_PUNCT = set(",:{}[]?\n")
MAX_GROUPS = 32
HINT = "field list: 'name, age int, tags list[str], address{street, city}, bio: description'"


class _Parser:
    """A recursive-descent parser over the spec's characters."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0  # groups open
        # One line with commas, or one field per line (then descriptions may hold commas).
        self.lines = "\n" in _outside_groups(text.strip())

    def fail(self, message: str) -> UsageError:
        near = self.text[self.pos : self.pos + 20].split("\n", 1)[0]
        where = f" at {near!r}" if near else " at the end"
        return UsageError(f"--schema: {message}{where} (column {self.pos + 1})", hint=HINT)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def blanks(self, newlines: bool = False) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            if self.text[self.pos] == "\n" and not newlines:
                return
            self.pos += 1

    def word(self) -> str:
        start = self.pos
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c.isspace() or c in _PUNCT:
                break
            self.pos += 1
        return self.text[start : self.pos]

    def fields(self, nested: bool) -> dict[str, Any]:
        """Fields up to the end (or the closing brace of a group)."""
        properties: dict[str, Any] = {}
        required: list[str] = []
        while True:
            self.blanks(newlines=True)
            if self.peek() in ("", "}"):
                if not properties:
                    raise self.fail("expected a field name")
                break
            start = self.pos
            name, optional, schema = self.field(nested)
            if name in properties:
                raise UsageError(
                    f"--schema: field {name!r} is given twice (again at column {start + 1})",
                    hint=HINT,
                )
            properties[name] = schema
            if not optional:
                required.append(name)
            self.blanks()
            sep = self.peek()
            if sep in (",", "\n"):
                self.pos += 1
                self.blanks(newlines=True)
                if self.peek() in ("", "}"):  # a trailing separator
                    break
            elif sep in ("", "}"):
                break
            else:
                raise self.fail("expected a comma between fields")
        return {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }

    def field(self, nested: bool) -> tuple[str, bool, dict[str, Any]]:
        name = self.word()
        if not name:
            raise self.fail("expected a field name")
        if self.peek() == "[" and name.lower() == "list":  # ``list[str]`` alone: no name
            self.pos -= len(name)
            raise self.fail("a field needs a name before its type ('items list[str]')")
        optional = self.peek() == "?"
        if optional:
            self.pos += 1
        self.blanks()
        schema: dict[str, Any] = {"type": "string"}
        if self.peek() == "{":
            schema = self.group()
        elif self.peek() not in (":", ",", "\n", "}", ""):
            schema = self.type_()
        self.blanks()
        if self.peek() == ":":
            self.pos += 1
            description = self.description(nested)
            if description:
                schema = {**schema, "description": description}
        return name, optional, schema

    def group(self) -> dict[str, Any]:
        if self.depth >= MAX_GROUPS:
            raise self.fail(f"groups nest deeper than {MAX_GROUPS} levels")
        self.pos += 1  # {
        self.depth += 1
        schema = self.fields(nested=True)
        self.depth -= 1
        self.blanks(newlines=True)
        if self.peek() != "}":
            raise self.fail("expected '}' to close the group")
        self.pos += 1
        return schema

    def type_(self) -> dict[str, Any]:
        if self.peek() == "{":
            return self.group()
        start = self.pos
        word = self.word()
        if word.lower() in TYPES:
            return {"type": TYPES[word.lower()]}
        if word.lower() == "list":
            if self.peek() != "[":
                return {"type": "array", "items": {"type": "string"}}
            if self.depth >= MAX_GROUPS:
                raise self.fail(f"groups nest deeper than {MAX_GROUPS} levels")
            self.pos += 1
            self.blanks()
            self.depth += 1
            items = self.type_()
            self.depth -= 1
            self.blanks()
            if self.peek() != "]":
                raise self.fail("expected ']' to close list[...]")
            self.pos += 1
            return {"type": "array", "items": items}
        self.pos = start
        if not word:
            raise self.fail("expected a type")
        known = "str, int, float, bool, list[...], {...}"
        raise self.fail(f"unknown type {word!r} (types: {known})")

    def description(self, nested: bool) -> str:
        start = self.pos
        stops = {"\n"} if self.lines else {",", "\n"}
        if nested:  # inside a group, commas and the closing brace end it too
            stops |= {",", "}"}
        while self.pos < len(self.text) and self.text[self.pos] not in stops:
            self.pos += 1
        return self.text[start : self.pos].strip()


def _outside_groups(text: str) -> str:
    """``text`` without what is inside braces (where newlines do not separate top fields)."""
    depth = 0
    out = []
    for c in text:
        if c == "{":
            depth += 1
        elif c == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(c)
    return "".join(out)


def parse(text: str) -> dict[str, Any]:
    """The JSON Schema (an object) of a field list; ``UsageError`` saying where it is wrong."""
    parser = _Parser(text)
    schema = parser.fields(nested=False)
    parser.blanks(newlines=True)
    if parser.peek() == "}":
        raise parser.fail("unmatched '}'")
    if parser.pos != len(text):
        raise parser.fail("unexpected text")
    return schema
