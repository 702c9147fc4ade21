"""What a word holds where a loop, an assignment or a shell's arguments bind its variable.

A ``Value`` is one thing a variable holds: a path, or every path under one (what ``find ROOT``
lists), or an entry of a directory (what ``ls DIR`` lists). The bindings live in a context
variable, so the scripts nested where they hold (``$( )``, ``( )``, ``sh -c``) see them; the
lines a command reads are a listing too: from ``find``, ``ls``, ``echo`` or ``printf`` piped
in (through the filters that pass lines on, filters.py: ``sort``, ``grep -v``, ``cat <(...)``),
from ``< <(...)``, ``<<< "$(...)"`` or a here-document's words, or from what a group or a
shell it runs in reads (``find ~ | ( while read f; ...; done )``); parallel's ``::: ARGS``
are one for the command it runs.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from chatcli.features.shell.danger import filters
from chatcli.features.shell.danger.command import Command, Script
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
    r"(?P<prefix>.*?)(?:\$(?:\{(?P<braced>[A-Za-z_]\w*|\d+|[@*])(?P<index>\[(?:[@*]|-?\d+)\])?"
    r"(?P<slice>:\d+(?::\d+)?)?\}|(?P<plain>[A-Za-z_]\w*|\d|[@*])"
    r"(?:\[(?:[@*]|-?\d+(?:\.\.-?\d+)?)\])?)|(?P<brace>\{\}))(?P<slash>/?)",
    re.S,
)  # zsh's and fish's $a[1], $argv[2..-1]: elements of the array, as bash's ${a[0]}
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
    ``<`` or ``<<<`` wins (``redirected``), then a pipe from ``upstream``, then what the
    group or shell it runs in reads; None when that is the terminal."""
    fed = redirected(cmd)
    if fed is not None:
        return fed
    if upstream:
        return listing(upstream)
    return _STDIN.get()


def redirected(cmd: Command) -> Lines | None:
    """What each line ``cmd`` reads through its last ``<`` or ``<<<`` is (None without
    one): a listing (``< <(find ~)``, ``<<< "$(find ~)"``), what a variable holds (``<<<
    "$files"``), the words of a here-string or here-document written out (``<<< "$HOME"``,
    ``<<EOF`` + ``/home/u``); a file is the user's own, not known."""
    fed = [(op, target) for op, target in cmd.redirects if op in ("<", "<<<")]
    if not fed:
        return None
    op, target = fed[-1]
    if cmd.nested and ((op == "<" and not target) or (op == "<<<" and target[:2] == "$(")):
        return listing(cmd.nested[-1][-1] if cmd.nested[-1] else [])
    if op == "<<<" and _whole(target) in known():
        return tuple((v,) for v in held(target))
    if op == "<<<" and "$(" not in target:
        return tuple((v,) for word in target.split() for v in held(word)) or UNKNOWN
    return UNKNOWN


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


def listing(commands: list[Command]) -> Lines:
    """What each line written by the last of ``commands`` is, through the filters that pass
    lines on (filters.py: ``find ~ | grep -v .git``, ``cat <(find ~)``): every path under
    each root of an unnarrowed ``find``, every entry of each directory ``ls`` lists (with
    ``-d``, the paths it is given), each word ``echo`` or ``printf`` writes; not known
    otherwise (a file, ``git ls-files``: the user's own list)."""
    for index in range(len(commands) - 1, -1, -1):
        writer = commands[index]
        words, _ = unwrap(writer.words, [])
        name = posixpath.basename(words[0]) if words else ""
        if name in ("find", "ls", *_PRINTS):
            return _listed(name, words)
        files = filters.passed_on(words)
        if files is None:
            return UNKNOWN
        fed = redirected(writer)
        if fed is not None:
            return fed
        if files:
            return _files(writer, words, files, commands[:index])
    return _stdin()


def _stdin() -> Lines:
    """What the group or shell the check is in reads, as a listing."""
    return _STDIN.get() or UNKNOWN


def _listed(program: str, listed: list[str]) -> Lines:
    """What each line ``find``, ``ls``, ``echo`` or ``printf`` (``listed``) writes is."""
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


def _files(writer: Command, words: list[str], files: list[int], upstream: list[Command]) -> Lines:
    """What each line a filter (``writer``, ``words`` its wrappers taken off) reads from the
    files at ``files`` in ``words`` is: a ``<( )``'s listing (``cat <(find ~)``), its input
    for ``-``; the lines of another file are not known, and left out when some are."""
    made = substitutions(writer)
    offset = len(writer.words) - len(words)
    known_lines: Lines = ()
    for at in files:
        if words[at] == "-":
            part = listing(upstream) if upstream else _stdin()
        elif at + offset in made and writer.words[at + offset] == "<(…)":
            part = listing(made[at + offset])
        else:
            part = UNKNOWN
        known_lines += part if part != UNKNOWN else ()
    return known_lines or UNKNOWN


def arguments(cmd: Command, given: list[tuple[int, bool]], upstream: list[Command]) -> Lines:
    """What each argument GNU parallel takes from its ``:::`` groups (the words at
    ``given`` in ``cmd``: ``~/*``, each path of a ``$(find ~)``) and from the files of its
    ``::::`` groups (a ``<( )``'s listing, its input for ``-``) is; a file's lines are not
    known, and left out when some are."""
    made = substitutions(cmd)
    known_lines: Lines = ()
    for at, from_file in given:
        word = cmd.words[at]
        if at in made and word == ("<(…)" if from_file else "$(…)"):
            part = listing(made[at])
        elif from_file:
            part = UNKNOWN if word != "-" else listing(upstream) if upstream else _stdin()
        else:
            part = tuple((v,) for v in held(word))
        known_lines += part if part != UNKNOWN else ()
    return known_lines or UNKNOWN


def under(roots: list[str]) -> Lines:
    """Every path under each of ``roots``, as ``find`` lists them."""
    return tuple((Value(root, every=True, many=True),) for root in roots)


def substitutions(cmd: Command) -> dict[int, list[Command]]:
    """The words of ``cmd`` that are a whole substitution (``made_scripts``), by their
    index, with the last pipeline of the script each runs."""
    return {at: script[-1] if script else [] for at, script in made_scripts(cmd).items()}


def made_scripts(cmd: Command) -> dict[int, Script]:
    """The words of ``cmd`` that are a whole ``$( )`` (or backticks, or fish's ``( )``; an
    assignment's value too, ``f=$(find ~)`` or ``f="$(find ~)"``) or ``<( )`` (an option's
    value too, ``--arg-file=<(find ~)``), by their index, with the script each runs; empty
    when the nested scripts cannot be matched to the words."""
    made: dict[int, Script] = {}
    taken = 0
    for at, word in enumerate(cmd.words):
        value = word.split("=", 1)[1] if re.match(r"[A-Za-z_]\w*\+?=", word) else None
        whole = value is not None and value[:2] == "$(" and value.endswith(")")
        glued = word.endswith(_MADE[1:]) and word[:-4].endswith("=")  # --arg-file=<(…)
        if (word in _MADE or value == "$(…)" or whole or glued) and taken < len(cmd.nested):
            made[at] = cmd.nested[taken]
        taken += "$(" in word or word in _MADE or glued
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
    them (``${a[@]}``, ``${@:2}``, zsh's and fish's ``$a[1]``, ``$argv[2..-1]``) name the
    array; ``{}`` is a name of its own. None for
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
