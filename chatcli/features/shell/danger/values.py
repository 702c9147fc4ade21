"""What a word holds where a loop, an assignment or a shell's arguments bind its variable.

A ``Value`` is one thing a variable holds: a path, or every path under one (what ``find ROOT``
lists), or an entry of a directory (what ``ls DIR`` lists). The bindings live in a context
variable, so the scripts nested where they hold (``$( )``, ``( )``, ``sh -c``) see them; the
lines a command reads are a listing too: from ``find``, ``ls``, ``echo`` or ``printf`` piped
in (through ``sort`` and its kind), from ``< <(...)`` or ``<<< "$(...)"``, or from what a
group or a shell it runs in reads (``find ~ | ( while read f; ...; done )``).
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from chatcli.features.shell.danger.command import Command
from chatcli.features.shell.danger.options import split_flags
from chatcli.features.shell.danger.paths import EVERYTHING
from chatcli.features.shell.danger.wrappers import unwrap


@dataclass(frozen=True)
class Value:
    """One thing a variable holds. ``path``: the word it stands for alone (None: not known,
    the word stays as written); ``entry``: what it stands for after a prefix (``~/"$f"``;
    None: such a word stays as written); ``every``: every path under ``path`` (``find``), so
    a program deleting or changing permissions runs as if recursive; ``many``: many
    arguments at once (``{} +``, ``xargs``), filling every positional parameter from its
    own on."""

    path: str | None
    entry: str | None = None
    every: bool = False
    many: bool = False


Choice = tuple[Value, ...]  # the words one reference stands for at once ("$@": several)
Lines = tuple[Choice, ...]  # what a variable may hold, one choice at a time
UNKNOWN: Lines = ((Value(None),),)  # what a word left as written holds
Known = dict[str, Lines]  # a variable's name: what it may hold
_BOUND: ContextVar[Known | None] = ContextVar("bound", default=None)
_STDIN: ContextVar[Lines | None] = ContextVar("stdin", default=None)
_REF = re.compile(
    r"(?P<prefix>.*?)(?:\$(?:\{(?P<braced>[A-Za-z_]\w*|\d+|[@*])(?P<index>\[(?:[@*]|\d+)\])?"
    r"(?P<slice>:\d+(?::\d+)?)?\}|(?P<plain>[A-Za-z_]\w*|\d|[@*]))|(?P<brace>\{\}))(?P<slash>/?)",
    re.S,
)
PASSES = {"sort": False, "uniq": False, "tac": False, "cat": False, "tee": True, "tr": True}
"""Programs that pass the lines they read on (``find ~ | sort | xargs rm``): always (True),
or when given no file to read instead (False)."""
_LS_VALUES = frozenset({"--block-size", "--color", "--format", "--hide", "--ignore",
                        "--indicator-style", "--quoting-style", "--sort", "--tabsize", "--time",
                        "--time-style", "--width"})  # fmt: skip
_TESTS = ("-name", "-iname", "-path", "-ipath", "-regex", "-iregex", "-wholename")
_MADE = ("$(…)", "<(…)", ">(…)")  # the words a substitution stands in for
_PRINTS = ("echo", "printf")  # write the words they are given, one a line with "%s\n"


def known() -> Known:
    """The variables bound where the check is."""
    return _BOUND.get() or {}


@contextmanager
def binding(scope: Known) -> Iterator[None]:
    """``scope`` as the variables bound in the commands checked inside."""
    token = _BOUND.set(scope)
    try:
        yield
    finally:
        _BOUND.reset(token)


@contextmanager
def bound(name: str, choices: Lines) -> Iterator[None]:
    """``name`` holding ``choices`` in the commands checked inside (``{}`` for what ``find
    -exec`` or ``xargs`` puts there)."""
    with binding({**known(), name: choices}):
        yield


@contextmanager
def stdin(lines: Lines | None) -> Iterator[None]:
    """The lines the scripts checked inside read from their standard input (None: not a
    listing): a group or a shell fed by a pipe reads what the pipe carries."""
    token = _STDIN.set(lines)
    try:
        yield
    finally:
        _STDIN.reset(token)


def lines(cmd: Command, upstream: list[Command]) -> Lines | None:
    """What each line ``cmd`` reads from its standard input is: as in the shell its last
    ``<`` or ``<<<`` wins (``< <(find ~)``, ``<<< "$(find ~)"``, ``<<< "$files"``; a file is
    the user's own, not known), then a pipe from ``upstream``, then what the group or shell
    it runs in reads; None when that is the terminal."""
    fed = [(op, target) for op, target in cmd.redirects if op in ("<", "<<<")]
    if fed:
        op, target = fed[-1]
        if cmd.nested and ((op == "<" and not target) or (op == "<<<" and target[:2] == "$(")):
            return listing(cmd.nested[-1][-1] if cmd.nested[-1] else [])
        if op == "<<<" and _whole(target) in known():
            return tuple((v,) for v in held(target))
        return UNKNOWN
    if upstream:
        return listing(upstream)
    return _STDIN.get()


def find_roots(words: list[str]) -> list[str]:
    """The starting points of ``find``'s ``words`` (after ``-H``, ``-L``, ``-P``, ``-D
    OPTS``, ``-O3``), up to the expression; ``.`` when there are none."""
    i = 1
    while i < len(words) and re.fullmatch(r"-[HLP]+|-D|-O\d*", words[i]):
        i += 2 if words[i] == "-D" else 1
    roots = list(itertools.takewhile(lambda w: not w.startswith(("-", "(", "!", ",")), words[i:]))
    return roots or ["."]


def find_filtered(words: list[str]) -> bool:
    """Whether a test of ``find``'s ``words`` (``-name``, ``-path``, ...) narrows what it
    finds; one every path passes (``-name '*'``) does not."""
    return any(
        w in _TESTS and words[j + 1 : j + 2] not in ([p] for p in (*EVERYTHING, ".*", ".*.*"))
        for j, w in enumerate(words)
    )


def lister(commands: list[Command]) -> list[str] | None:
    """The words of the ``find``, ``ls``, ``echo`` or ``printf`` whose lines the last of
    ``commands`` writes, through the programs that pass lines on (``find ~ | sort``); None
    for any other writer (a file, ``git ls-files``: the user's own list)."""
    for writer in reversed(commands):
        listed, _ = unwrap(writer.words, [])
        name = posixpath.basename(listed[0]) if listed else ""
        if name not in PASSES or not (PASSES[name] or not split_flags(listed[1:])[1]):
            return listed if name in ("find", "ls", *_PRINTS) else None
    return None


def listing(commands: list[Command]) -> Lines:
    """What each line written by the last of ``commands`` is: every path under each root of
    an unnarrowed ``find``, every entry of each directory ``ls`` lists (with ``-d``, the
    paths it is given), each word ``echo`` or ``printf`` writes; not known otherwise."""
    listed = lister(commands)
    if listed is None:
        return UNKNOWN
    program = posixpath.basename(listed[0])
    if program == "find":
        return UNKNOWN if find_filtered(listed) else under(find_roots(listed))
    if program in _PRINTS:
        words = listed[1:]
        if program == "printf":
            words = words[1:] if words[:1] != ["--"] else words[2:]  # the format
        else:
            words = list(itertools.dropwhile(lambda w: re.fullmatch(r"-[neE]+", w), words))
        return tuple((v,) for w in words for v in held(w)) or UNKNOWN
    flags, dirs = split_flags(listed[1:], "ITw", _LS_VALUES)
    if flags & {"d", "--directory"}:  # ls -d ~/*: the paths themselves
        return tuple((v,) for d in dirs or ["."] for v in held(d))
    return tuple((Value(posixpath.join(d, "*"), "*", many=True),) for d in dirs or [""]) or UNKNOWN


def under(roots: list[str]) -> Lines:
    """Every path under each of ``roots``, as ``find`` lists them."""
    return tuple((Value(root, every=True, many=True),) for root in roots)


def substitutions(cmd: Command) -> dict[int, list[Command]]:
    """The words of ``cmd`` that are a whole ``$( )`` (or backticks, or fish's ``( )``; an
    assignment's value too, ``f=$(find ~)`` or ``f="$(find ~)"``) or ``<( )``, by their
    index, with the last pipeline of the script each runs; empty when the nested scripts
    cannot be matched to the words."""
    made: dict[int, list[Command]] = {}
    taken = 0
    for at, word in enumerate(cmd.words):
        value = word.split("=", 1)[1] if re.match(r"[A-Za-z_]\w*\+?=", word) else None
        whole = value is not None and value[:2] == "$(" and value.endswith(")")
        if (word in _MADE or value == "$(…)" or whole) and taken < len(cmd.nested):
            made[at] = cmd.nested[taken][-1] if cmd.nested[taken] else []
        taken += "$(" in word or word in _MADE
    taken += sum("$(" in target for _, target in cmd.redirects)
    return made if taken == len(cmd.nested) else {}


def words_held(cmd: Command, start: int) -> list[list[Value]]:
    """What each word of ``cmd`` from ``cmd.words[start]`` on holds: each path a ``$(find
    ...)`` among them lists, each thing a variable holds, a literal word itself."""
    made = substitutions(cmd)
    return [
        [v for c in listing(made[at]) for v in c] if at in made else held(word)
        for at, word in enumerate(cmd.words[start:], start)
    ]


def held(word: str, scope: Known | None = None) -> list[Value]:
    """What ``word`` holds as an argument: each thing the variable it is holds (one not
    known stays as written), the words a join with one stands for, a literal word itself."""
    scope = known() if scope is None else scope
    name = _whole(word)
    if name is not None and name in scope:
        return [v if v.path is not None else Value(word) for c in scope[name] for v in c]
    choices = choices_of(word, scope)
    return [literal(w) for ws, _ in choices for w in ws] if choices else [literal(word)]


def literal(word: str) -> Value:
    """A word as a value: a join keeps to it only when it is not made at run time."""
    return Value(word, None if "$" in word else word)


def choices_of(
    word: str, scope: Known, spread: bool = False
) -> list[tuple[list[str], bool]] | None:
    """The words ``word`` stands for, one list per thing its variable may hold, each with
    whether it is every path under a root; None when it is no bound variable. ``spread``:
    every path under a root is written ``ROOT/**`` (what a program that is not recursive
    is given, one path at a time)."""
    ref = reference(word)
    if ref is None or ref[1] not in scope:
        return None
    prefix, name, slash = ref
    out: list[tuple[list[str], bool]] = []
    for choice in scope[name]:
        if prefix:
            entry = choice[0].entry if len(choice) == 1 else None
            out.append(([word if entry is None else prefix + entry + slash], False))
            continue
        words: list[str] = []
        every = False
        for v in choice:
            if v.path is None:
                words.append(word)
            elif v.every and spread:
                words.append(posixpath.join(v.path, "**") + slash)
            else:
                words.append(v.path + slash)
                every = every or v.every
        out.append((words, every))
    return out


def reference(word: str) -> tuple[str, str, str] | None:
    """``word`` as a reference to a variable: its prefix, the variable's name and a slash
    after it (``~/"${f}"/`` -> ``~/``, ``f``, ``/``); an array's elements or a slice of
    them (``${a[@]}``, ``${@:2}``) name the array; ``{}`` is a name of its own. None for
    any other word."""
    match = _REF.fullmatch(word)
    if match is None:
        return None
    if match["slice"] and match["index"] not in ("[@]", "[*]") and match["braced"] not in "@*":
        return None  # ${f:2}: part of a value, not the value
    return match["prefix"], match["braced"] or match["plain"] or "{}", match["slash"]


def _whole(word: str) -> str | None:
    """The name of the variable ``word`` is a reference to, alone (no prefix, no slash)."""
    ref = reference(word)
    return ref[1] if ref is not None and not ref[0] and not ref[2] else None
