"""Shell text to words and operators: ``shlex`` with POSIX rules, after one pass of our own.

shlex knows quotes and escapes but not the shell around them: comments, line continuations,
backticks and here-documents are rewritten first, in one pass that tracks quoting, into what
shlex reads correctly. Operators glued together by shlex (``)|``) are split again.
"""

from __future__ import annotations

import shlex

# the operators, as the parser tells them apart
SEPARATORS = {";", "&&", "||", "&", "\n", ";;", ";&", ";;&"}
PIPES = {"|", "|&"}
OPEN = {"(", "$(", "<(", ">(", "=("}
REDIRECTS = {">", ">>", ">|", "&>", "&>>", "<", "<<", "<<<", "<<-", ">&", "<&", "<>"}
WRITES = {">", ">>", ">|", "&>", "&>>", "<>"}  # the redirections that write their target
OPERATORS = sorted(SEPARATORS | PIPES | OPEN | REDIRECTS | {")"}, key=len, reverse=True)
_QUOTED_DOLLAR = "\ue000"  # a "$" inside single quotes: text, no expansion (until run as a script)


def lex(text: str) -> list[str]:
    """The words and operators of ``text``, quotes taken off as the shell takes them off;
    a newline is an operator (it ends a command), a ``(`` or ``$(`` opens a nested script."""
    lexer = shlex.shlex(_prepare(text), posix=True, punctuation_chars="();<>|&\n")
    lexer.whitespace_split = True
    lexer.whitespace = " \t\r"
    lexer.commenters = ""
    tokens: list[str] = []
    for token in lexer:
        if token and set(token) <= set("();<>|&\n"):
            tokens.extend(_split_operators(token))
        else:
            tokens.append(token)
    return tokens


def unreadable(exc: ValueError, what: str = "it") -> str:
    """The finding for a text the lexer cannot read (an unclosed quote): ``what`` is which
    text."""
    return f"cannot be checked: the shell lexer stops at {what} ({exc})"


def _split_operators(token: str) -> list[str]:
    """``)|`` -> ``)``, ``|``; ``;\\n\\n`` -> ``;``, ``\\n``, ``\\n`` (shlex glues runs of
    punctuation together)."""
    parts: list[str] = []
    while token:
        op = next((o for o in OPERATORS if token.startswith(o)), token[0])
        parts.append(op)
        token = token[len(op) :]
    return parts


def live(text: str) -> str:
    """``text`` as a shell that runs it sees it: a ``$`` that was in single quotes is live
    again."""
    return text.replace(_QUOTED_DOLLAR, "$")


def _prepare(text: str) -> str:
    """Shell-level rewriting shlex does not do, in one pass that tracks quoting: line
    continuations removed, comments dropped (up to, not including, the newline), backticks
    turned into ``$( )``, a ``$`` inside single quotes marked as text, and here-documents
    turned into here-strings (``<<EOF`` + body -> ``<<< 'body'``), so their bodies are read as
    the text they are, not as commands; quoted as the delimiter was (an unquoted one expands
    ``$( )`` in the body). A ``<<`` inside ``$(( ))`` or ``(( ))`` is a shift, not a
    here-document."""
    out: list[str] = []
    pending: list[tuple[int, str, bool, bool]] = []  # slot in out, delimiter, <<-, quoted
    quote: str | None = None
    tick_open = False
    arithmetic = 0  # depth of parentheses inside (( ))
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quote != "'" and i + 1 < len(text):
            if text[i + 1] != "\n":
                out.append(text[i : i + 2])
            i += 2
            continue
        if quote is None and ch in "'\"":
            quote = ch
        elif ch == quote:
            quote = None
        elif ch == "$" and quote == "'":
            out.append(_QUOTED_DOLLAR)
            i += 1
            continue
        elif ch == "`" and quote != "'":
            out.append(")" if tick_open else "$(")
            tick_open = not tick_open
            i += 1
            continue
        elif quote is not None:
            pass
        elif ch == "(" and (arithmetic or text.startswith("((", i)):
            arithmetic += 1
        elif ch == ")" and arithmetic:
            arithmetic -= 1
        elif text.startswith("<<<", i):
            out.append("<<<")
            i += 3
            continue
        elif ch == "#" and (not out or out[-1][-1:] in " \t\n;|&("):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif not arithmetic and (heredoc := _heredoc(text, i)):
            delimiter, tabs, quoted, i = heredoc
            pending.append((len(out), delimiter, tabs, quoted))
            out.append("'")  # the here-string's closing quote, until its body is read
            continue
        elif ch == "\n" and pending:
            i = _read_bodies(text, i + 1, pending, out)
            out.append("\n")
            pending = []
            continue
        out.append(ch)
        i += 1
    _read_bodies(text, len(text), pending, out)
    return "".join(out)


def _heredoc(text: str, i: int) -> tuple[str, bool, bool, int] | None:
    """The here-document starting at ``text[i]`` (``<<WORD`` or ``<<-WORD``): its delimiter
    (the word, quotes removed), whether tabs are stripped, whether any part of the word was
    quoted (the body is then not expanded), and the index after the word; None if there is
    none there."""
    if not text.startswith("<<", i):
        return None
    tabs = text.startswith("<<-", i)
    i += 3 if tabs else 2
    while i < len(text) and text[i] in " \t":
        i += 1
    word: list[str] = []
    quoted = False
    while i < len(text) and text[i] not in " \t\n;&|<>()":
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            word.append(text[i + 1])
            quoted = True
            i += 2
        elif ch in "'\"":
            end = text.find(ch, i + 1)
            if end < 0:
                return None  # an unclosed quote: the lexer reports it
            word.append(text[i + 1 : end])
            quoted = True
            i = end + 1
        else:
            word.append(ch)
            i += 1
    if not word:
        return None
    return "".join(word), tabs, quoted, i


def _read_bodies(
    text: str, i: int, pending: list[tuple[int, str, bool, bool]], out: list[str]
) -> int:
    """Put the bodies starting at ``text[i]`` in place of their ``<<`` in ``out``; the index
    after the last delimiter line."""
    for slot, delimiter, tabs, quoted in pending:
        body: list[str] = []
        while i < len(text):
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            line = text[i:end]
            i = end + 1
            if (line.lstrip("\t") if tabs else line) == delimiter:
                break
            body.append(line)
        content = "\n".join(body)
        here = shlex.quote(content) if quoted else '"' + _double_quoted(content) + '"'
        out[slot] = _prepare("<<< " + here)
    return min(i, len(text))


def _double_quoted(body: str) -> str:
    """An unquoted here-document's body as the inside of a double-quoted word meaning the
    same: in both a backslash escapes only ``$``, a backtick, a backslash and a newline;
    in the body a ``"``, and a backslash before anything else, are plain text."""
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and body[i + 1 : i + 2] in ("$", "`", "\\", "\n"):
            out.append(body[i : i + 2])
            i += 2
            continue
        out.append('\\"' if ch == '"' else "\\\\" if ch == "\\" else ch)
        i += 1
    return "".join(out)
