"""Fork bombs, seen in the shape of the text rather than in one command.

A function calling itself in the background or through a pipe, or an endless loop starting a
background process on every turn, harms nothing command by command: the parser asks here when
it reads a function's header or a loop's keyword. An interpreter's inline code forking in a
loop is the same thing in another language.
"""

from __future__ import annotations

import re

from chatcli.features.shell.danger.lexer import OPEN, PIPES, SEPARATORS

_AT_START = SEPARATORS | PIPES | OPEN | {
    "{", "do", "then", "else", "elif", "!", "begin", "and", "or", "not",
}  # fmt: skip
_FISH_BLOCKS = {"function", "if", "while", "for", "begin", "switch"}


def _starts_command(tokens: list[str], i: int) -> bool:
    """Whether ``tokens[i]`` is where a command's name goes (not an argument)."""
    return i == 0 or tokens[i - 1] in _AT_START


def _block_end(tokens: list[str], i: int, opens: set[str], close: str) -> int:
    """The index of the ``close`` (``}``, ``done``, fish's ``end``) ending the block whose body
    starts at ``tokens[i]``; the end of the tokens if there is none."""
    depth = 1
    for k in range(i, len(tokens)):
        if not _starts_command(tokens, k):
            continue
        if tokens[k] in opens and not (tokens[k] == "if" and tokens[k - 1] == "else"):
            depth += 1
        elif tokens[k] == close:
            depth -= 1
            if depth == 0:
                return k
    return len(tokens)


def _body(tokens: list[str], i: int) -> list[str]:
    """The tokens of the compound command starting at ``tokens[i]`` (after blank lines):
    ``{ ... }``, ``( ... )``, ``do ... done``, or fish's block up to its ``end``."""
    while i < len(tokens) and tokens[i] in ("\n", ";"):
        i += 1
    if i >= len(tokens):
        return []
    if tokens[i] == "{":
        return tokens[i + 1 : _block_end(tokens, i + 1, {"{"}, "}")]
    if tokens[i] == "do":
        return tokens[i + 1 : _block_end(tokens, i + 1, {"do"}, "done")]
    if tokens[i] == "(":
        depth = 0
        for k in range(i, len(tokens)):
            depth += 1 if tokens[k] in OPEN else -1 if tokens[k] == ")" else 0
            if depth == 0:
                return tokens[i + 1 : k]
        return tokens[i + 1 :]
    return tokens[i : _block_end(tokens, i, _FISH_BLOCKS, "end")]


def fork_bomb(tokens: list[str], i: int, name: str) -> list[str]:
    """Whether the body of the function ``name``, starting at ``tokens[i]``, calls the
    function in the background or in a pipe: every call starts more, without end."""
    body = _body(tokens, i)
    for k, token in enumerate(body):
        if token != name or not _starts_command(body, k):
            continue
        spawned = k > 0 and body[k - 1] in PIPES
        m = k + 1
        while m < len(body) and body[m] not in SEPARATORS | PIPES | {")"}:
            m += 1
        while m < len(body) and body[m] == ")":  # the end of the group the call is in
            m += 1
        if spawned or (m < len(body) and (body[m] in PIPES or body[m] == "&")):
            return [
                f"a fork bomb: {name} calls itself in the background or through a pipe, "
                "so processes multiply until the machine stalls"
            ]
    return []


def endless_spawner(tokens: list[str], i: int) -> list[str]:
    """Whether the loop at ``tokens[i]`` never ends (``while true``, ``while :``,
    ``until false``, ``for ((;;))``) and starts a background process on every turn."""
    k = i + 1
    if tokens[i] == "for":
        for width in (5, 6):  # ((;;)) or (( ; ; ))
            if "".join(tokens[k : k + width]) == "((;;))":
                k += width
                break
        else:
            return []
    else:
        condition: list[str] = []
        while k < len(tokens) and tokens[k] not in SEPARATORS and tokens[k] != "do":
            condition.append(tokens[k])
            k += 1
        endless = [["false"]] if tokens[i] == "until" else [["true"], [":"], ["[", "1", "]"]]
        if condition not in endless:
            return []
    if "&" in _body(tokens, k):
        return [
            "an endless loop starting a background process on every turn: they pile up until "
            "the machine stalls (a fork bomb)"
        ]
    return []


def forks_in_a_loop(words: list[str]) -> bool:
    """Whether an interpreter's inline code (``-c``, ``-e``) calls fork in a loop
    (``perl -e 'fork while fork'``)."""
    inline = next((i for i, w in enumerate(words) if re.fullmatch(r"-\w*[ceE]|--eval", w)), None)
    code = " ".join(words[inline + 1 :]) if inline is not None else ""
    return bool(re.search(r"\bfork\b", code) and re.search(r"\b(while|for|loop|until)\b", code))
