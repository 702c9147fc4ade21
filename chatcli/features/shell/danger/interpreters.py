"""The command line of python, perl, ruby, node and php: the code it runs, and the files it
edits in place.

``python3 -c CODE``, ``perl -e CODE``, ``node -e CODE`` and ``php -r CODE`` run code given
on the line, and with no script named they run the text of their input (a here-document,
``echo ... |``): calls.py reads that code. ``perl -pi -e ... FILE`` and ``ruby -i`` rewrite
their files as ``sed -i`` does, so writes.py judges them as it does sed. Each language's
switches are listed (those whose value is code, or a word of its own), or a value would pass
for the script.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class _Switches:
    """One language's switches: ``code`` take code as their value, ``value`` the rest of the
    word or the next word, ``glued`` only the rest of the word, ``digits`` the digits after
    them; ``script`` name what runs instead of the input (``-m MODULE``, ``-f FILE``);
    ``in_place`` is the letter of ``-i[SUFFIX]``; long options alike."""

    code: str
    value: str = ""
    glued: str = ""
    digits: str = ""
    script: str = ""
    in_place: str = ""
    long_code: frozenset[str] = frozenset()
    long_value: frozenset[str] = frozenset()
    code_ends: bool = False  # python: the word after -c CODE is an argument, not a switch


_SWITCHES = {
    "python": _Switches("c", value="WXm", script="m", code_ends=True),
    "perl": _Switches("eE", glued="IMmFCxdDV", digits="l0", in_place="i"),
    "ruby": _Switches("e", value="rICE", glued="WFxKTU", digits="0", in_place="i"),
    "node": _Switches(
        "ep",
        value="r",
        long_code=frozenset({"--eval", "--print"}),
        long_value=frozenset({"--require", "--import", "--input-type", "--loader", "--title"}),
    ),
    "php": _Switches("rBRE", value="dczfF", script="fF"),
}


@dataclass
class Line:
    """What an interpreter's words say: its inline code (None without any), whether it runs
    the text of its input instead, and with ``-i`` the files it rewrites and whether it keeps
    a backup of each."""

    code: str | None = None
    reads_input: bool = False
    files: list[str] = field(default_factory=list)
    backup: bool = False


def language(program: str) -> str | None:
    """The language ``program`` runs (``python3.12`` and ``pypy3`` are python, ``nodejs``
    is node), or None."""
    if re.fullmatch(r"(python|pypy)[\d.]*", program):
        return "python"
    return {"perl": "perl", "ruby": "ruby", "node": "node", "nodejs": "node", "php": "php"}.get(
        program
    )


def read(lang: str, words: list[str]) -> Line:
    """The code, the input and the in-place files of the interpreter ``words`` runs, read
    as its switches are (``perl -lne CODE``, ``python3 -Ic CODE``, ``perl -i.bak``)."""
    switches = _SWITCHES[lang]
    code: list[str] = []
    script = False
    suffix: str | None = None
    i = 1
    while i < len(words) and words[i].startswith("-") and words[i] != "-":
        word = words[i]
        i += 1
        if word == "--":
            break
        if word.startswith("--"):
            name, equals, value = word.partition("=")
            if not equals and name in switches.long_code | switches.long_value:
                value, i = (words[i] if i < len(words) else ""), i + 1
            if name in switches.long_code:
                code.append(value)
            continue
        at = 1
        while at < len(word):
            letter, rest = word[at], word[at + 1 :]
            at += 1
            if letter in switches.digits:
                at += len(rest) - len(rest.lstrip("01234567"))
            elif switches.in_place and letter == switches.in_place:
                suffix = rest
                break
            elif letter in switches.glued:
                break
            elif letter in switches.code + switches.value:
                if not rest:
                    rest, i = (words[i] if i < len(words) else ""), i + 1
                if letter in switches.code:
                    code.append(rest)
                script = script or letter in switches.script
                break
        if (code and switches.code_ends) or script:
            break  # python -c CODE ARGS, python -m MODULE ARGS
    operands = words[i:]
    text = "\n".join(code) if code else None
    reads_input = text is None and not script and operands[:1] in ([], ["-"])
    files = operands if text is not None else operands[1:]
    return Line(text, reads_input, files if suffix is not None else [], bool(suffix))
