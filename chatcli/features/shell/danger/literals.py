"""An interpreter's code read as a reader of calls needs it: string literals set apart from
the code around them, and the arguments of a call.

Quotes, python's triple quotes and f-strings, backticks, perl's ``q``/``qq``/``qx`` and
ruby's ``%q``/``%x`` forms are literals; backticks, ``qx`` and ``%x`` run their text as a
shell command. A value put into a literal at run time (``f"{d}"``, ``"#{d}"``) reads as the
shell variable ``$d``, so a path made of it counts as the shell's would. Comments are
dropped. This is not a parser: an unusual literal (a regular expression holding a quote) may
hide what follows it, never invent a call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARK = "\ue001(\\d+)\ue002"  # what stands for a literal in the code: its index
_PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">"}
_SHELL_QUOTES = {"perl": "qx", "ruby": "%x", "php": ""}  # and backticks: shell commands
_KEYWORD = re.compile(r"[A-Za-z_]\w*\s*=(?![=>])\s*")  # python's mode='w'
_LITERAL_ARGUMENT = re.compile(  # a literal, alone up to the argument's end
    MARK + r"[ \t]*(?=[,)\];}\n]|$|&&|\|\||(?:if|unless|or|and)\b)"
)  # perl's "system 'x' or die"


@dataclass(frozen=True)
class Literal:
    """A string literal's text; ``shell`` names the quoting that runs it as a shell command
    (backticks, ``qx``, ``%x``), "" for a string."""

    text: str
    shell: str = ""


@dataclass(frozen=True)
class Expr:
    """An argument that is not a literal: its code."""

    text: str


Arg = str | Expr | list[str | Expr]


def variable(expr: Expr) -> str:
    """A word made at run time, as the shell would see it: ``$name`` for a variable."""
    name = expr.text.lstrip("$")
    return "$" + (name if re.fullmatch(r"[A-Za-z_]\w*", name) else "value")


def arguments(masked: str, at: int, literals: list[Literal]) -> list[Arg]:
    """The arguments of the call whose name ends at ``masked[at]``, in parentheses or not
    (perl's ``unlink glob "*"``): a literal's text, a list of them (``["rm", "-rf"]``), or
    the code of any other expression; ``name=`` before one is skipped."""
    pos = at + len(masked[at:]) - len(masked[at:].lstrip(" \t"))
    paren = masked.startswith("(", pos)
    pos += 1 if paren else 0
    args: list[Arg] = []
    while pos < len(masked):
        arg, pos = _argument(masked, pos, literals, paren)
        if arg is None:
            break
        args.append(arg)
        if not masked.startswith(",", pos):
            break
        pos += 1
    return args


def _argument(
    masked: str, pos: int, literals: list[Literal], paren: bool
) -> tuple[Arg | None, int]:
    """One argument starting at ``masked[pos]`` and where it ends; None at the end of the
    arguments."""
    ws = " \t\n" if paren else " \t"
    while pos < len(masked) and masked[pos] in ws:
        pos += 1
    keyword = _KEYWORD.match(masked, pos)
    pos = keyword.end() if keyword else pos
    if pos >= len(masked) or masked[pos] in ")];}\n":
        return None, pos
    literal = _LITERAL_ARGUMENT.match(masked, pos)
    if literal:
        return literals[int(literal.group(1))].text, literal.end()
    if masked[pos] == "[":
        items: list[str | Expr] = []
        pos += 1
        while True:
            item, pos = _argument(masked, pos, literals, True)
            if isinstance(item, (str, Expr)):
                items.append(item)
            if item is None or not masked.startswith(",", pos):
                break
            pos += 1
        end = masked.find("]", pos)
        return items, (len(masked) if end < 0 else end + 1)
    depth, start = 0, pos
    while pos < len(masked):
        ch = masked[pos]
        if depth == 0 and (ch in ",)];}" or (ch == "\n" and not paren)):
            break
        depth += 1 if ch in "([{" else -1 if ch in ")]}" else 0
        pos += 1
    return Expr(masked[start:pos].strip()), pos


def set_apart(code: str, lang: str) -> tuple[str, list[Literal]]:
    """``code`` with each string literal replaced by a mark (``\\ue001N\\ue002``) and
    comments dropped, and the literals; an unclosed one runs to the end."""
    out: list[str] = []
    literals: list[Literal] = []
    i = 0
    while i < len(code):
        opening = _opening(code, i, lang)
        if opening is None:
            comment = _comment(code, i, lang)
            if comment:
                end = code.find("\n", i)
                i = len(code) if end < 0 else end
                continue
            out.append(code[i])
            i += 1
            continue
        size, close, shell, interpolates = opening
        end = _closing(code, i + size, close, code[i + size - 1])
        text = code[i + size : end]
        text = re.sub(r"\\(['\"\\`])", r"\1", text).replace("\\n", "\n")
        if interpolates:  # f"{d}", "#{d}": a value made at run time, as $d is
            text = re.sub(interpolates, lambda m: variable(Expr(m.group(1).strip())), text)
        out.append(f"\ue001{len(literals)}\ue002")
        literals.append(Literal(text, shell))
        i = end + len(close)
    return "".join(out), literals


def _opening(code: str, i: int, lang: str) -> tuple[int, str, str, str] | None:
    """The literal opening at ``code[i]``: the opening's length, the closing delimiter, the
    quoting's name if it runs a shell command, the pattern of what is interpolated; None if
    no literal opens there."""
    before = code[i - 1] if i else ""
    ruby = r"#\{([^{}]*)\}" if lang == "ruby" else ""
    if lang == "python":
        m = re.compile(r"(?<!\w)([rRbBuUfF]{0,2})('''|\"\"\"|'|\")").match(code, i)
        if m:
            fstring = r"\{([^{}]*)\}" if "f" in m.group(1).lower() else ""
            return m.end() - i, m.group(2), "", fstring
        return None
    if code[i] in "'\"":
        return 1, code[i], "", ruby if code[i] == '"' else ""
    if code[i] == "`" and lang != "python":
        return 1, "`", "backticks" if lang in _SHELL_QUOTES else "", ruby
    forms = {"perl": r"(qx|qq|qw|q)", "ruby": r"%([xqQwW])"}.get(lang)
    if forms and not re.match(r"[\w$@%&]", before):
        m = re.compile(forms + r"([^\w\s=,;)\]}>])").match(code, i)
        if m:
            shell = _SHELL_QUOTES[lang] if m.group(1) in ("qx", "x") else ""
            return m.end() - i, _PAIRS.get(m.group(2), m.group(2)), shell, ruby
    return None


def _closing(code: str, i: int, close: str, opener: str) -> int:
    """Where the literal whose text starts at ``code[i]`` ends (its closing delimiter, paired
    ones nested: ``q{a{b}}``), a backslash escaping the next character."""
    depth = 0
    while i < len(code):
        if code[i] == "\\":
            i += 2
            continue
        if code.startswith(close, i) and depth == 0:
            return i
        if close in _PAIRS.values() and opener != close:
            depth += 1 if code[i] == opener else -1 if code[i] == close else 0
        i += 1
    return len(code)


def _comment(code: str, i: int, lang: str) -> bool:
    """Whether a comment starts at ``code[i]``: ``#`` in python and ruby, after a space in
    perl and php; ``//`` after a space in node and php."""
    before = code[i - 1] if i else "\n"
    if code[i] == "#":
        return lang in ("python", "ruby") or (lang in ("perl", "php") and before in " \t\n;")
    return code.startswith("//", i) and lang in ("node", "php") and before in " \t\n;"
