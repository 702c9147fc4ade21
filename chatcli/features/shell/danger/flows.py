"""What a variable holds when a loop or a shell's arguments fill it from a listing of paths.

``find ~ | while read f; do rm "$f"; done``, ``for f in $(find ~); do rm $f; done`` and
``find ~ -exec sh -c 'rm "$@"' _ {} +`` delete what ``find ~ -exec rm {} +`` does, but a rule
sees only ``rm "$f"``. So a variable is bound to what it holds, in the loop's body only: the
words of ``for VAR in WORDS`` (``for VAR; do`` takes ``"$@"``), a ``$(find ...)`` or
``$(ls ...)`` among them standing for its listing; the lines ``read VAR`` takes from ``find``
or ``ls`` piped in (through ``sort``, ``uniq``, ...) or given by ``done < <(...)``. A shell's
positional parameters (``sh -c SCRIPT ARG0 ARGS``) hold its arguments, and ``{}`` holds what
``find -exec`` and ``xargs`` put there. A word that is such a variable (``$f``, ``"${f}"``,
``"$@"``, ``~/"$f"``) is judged as each thing it holds: what ``find ROOT`` lists as ``{}`` in
``find ROOT -exec`` is (``rm`` on it is ``rm -r ROOT``), an entry of ``ls DIR`` as ``DIR/*``
(``~/"$f"`` as ``~/*``). A listing narrowed by a test (``-name``), one from another program
(``git ls-files``, a file), or a value reassigned in the body leaves the word as written,
judged as before, so the common loop over one's own files stays quiet.
"""

from __future__ import annotations

import itertools
import math
import posixpath
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from chatcli.features.shell.danger import deletion, permissions
from chatcli.features.shell.danger.command import Command, Script
from chatcli.features.shell.danger.options import split_flags
from chatcli.features.shell.danger.paths import EVERYTHING
from chatcli.features.shell.danger.scripts import SHELLS, script_at
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
UNKNOWN: tuple[Choice, ...] = ((Value(None),),)  # what a word left as written holds
_Known = dict[str, tuple[Choice, ...]]  # a variable's name: what it may hold
_BOUND: ContextVar[_Known | None] = ContextVar("bound", default=None)
_REF = re.compile(
    r"(?P<prefix>.*?)\$(?:\{(?P<braced>[A-Za-z_]\w*|\d+|[@*])\}|(?P<plain>[A-Za-z_]\w*|\d|[@*]))"
    r"(?P<slash>/?)",
    re.S,
)
_NAME = re.compile(r"[A-Za-z_]\w*")
_MOST = 32  # variants of one command judged one by one; past that, all values in one
AS_IF_RECURSIVE = {
    **dict.fromkeys(permissions.CHANGES, "-R"),
    **dict.fromkeys(deletion.DELETES, "-r"),
}
"""What running these programs on every path under a root is: ``chmod {} +`` is ``chmod -R
ROOT``, ``rm {} +`` is ``rm -r ROOT`` (``find ~ -type f -exec rm {} +`` empties the home
directory as ``-delete`` does)."""
PASSES = {"sort": False, "uniq": False, "tac": False, "cat": False, "tee": True, "tr": True}
"""Programs that pass the lines they read on (``find ~ | sort | xargs rm``): always (True),
or when given no file to read instead (False)."""
_LS_VALUES = frozenset({"--block-size", "--color", "--format", "--hide", "--ignore",
                        "--indicator-style", "--quoting-style", "--sort", "--tabsize", "--time",
                        "--time-style", "--width"})  # fmt: skip
_TESTS = ("-name", "-iname", "-path", "-ipath", "-regex", "-iregex", "-wholename")
_LEADING = {"{", "!", "then", "else", "do", "and", "or", "not", "begin"}
_FISH_OPENS = {"function", "if", "while", "for", "begin", "switch"}
_READ_VALUES = "adinNptuPRc"  # read's options taking a value, bash's and fish's


@contextmanager
def bound(name: str, choices: tuple[Choice, ...]) -> Iterator[None]:
    """``name`` holding ``choices`` in the commands checked inside (``{}`` for what ``find
    -exec`` or ``xargs`` puts there)."""
    token = _BOUND.set({**_known(), name: choices})
    try:
        yield
    finally:
        _BOUND.reset(token)


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
    """The words of the ``find`` or ``ls`` whose lines the last of ``commands`` writes,
    through the programs that pass lines on (``find ~ | sort``); None for any other
    writer (a file, ``git ls-files``: the user's own list)."""
    for writer in reversed(commands):
        listed, _ = unwrap(writer.words, [])
        name = posixpath.basename(listed[0]) if listed else ""
        if name not in PASSES or not (PASSES[name] or not split_flags(listed[1:])[1]):
            return listed if name in ("find", "ls") else None
    return None


def listing(commands: list[Command]) -> tuple[Choice, ...]:
    """What each line written by the last of ``commands`` is: every path under each root of
    an unnarrowed ``find``, every entry of each directory ``ls`` lists; not known
    otherwise."""
    listed = lister(commands)
    if listed is None:
        return UNKNOWN
    if posixpath.basename(listed[0]) == "find":
        if find_filtered(listed):
            return UNKNOWN
        return under(find_roots(listed))
    _, dirs = split_flags(listed[1:], "ITw", _LS_VALUES)
    return tuple((Value(posixpath.join(d, "*"), "*", many=True),) for d in dirs or [""]) or UNKNOWN


def under(roots: list[str]) -> tuple[Choice, ...]:
    """Every path under each of ``roots``, as ``find`` lists them."""
    return tuple((Value(root, every=True, many=True),) for root in roots)


def variants(words: list[str]) -> list[list[str]]:
    """The command ``words`` (wrappers taken off) as run with each thing its variables hold
    (``rm "$f"`` -> ``rm -r ~`` when ``f`` holds what ``find ~`` lists); ``[words]`` when
    none is bound. A shell's arguments after its ``-c`` script stay as written: they become
    its positional parameters (``arguments``)."""
    known = _known()
    if not known:
        return [words]
    keep = len(words)
    if posixpath.basename(words[0]) in SHELLS:
        at = script_at(words)
        keep = keep if at is None else at + 1
    choices = [
        (_choices(w, known) if i < keep else None) or [([w], False)] for i, w in enumerate(words)
    ]
    if math.prod(len(c) for c in choices) > _MOST:
        choices = [[([w for ws, _ in c for w in ws], any(e for _, e in c))] for c in choices]
    found: list[list[str]] = []
    for combo in itertools.product(*choices):
        variant = [w for ws, _ in combo for w in ws]
        if any(every for _, every in combo):
            variant = as_if_recursive(variant)
        if variant not in found:
            found.append(variant)
    return found


def as_if_recursive(run: list[str]) -> list[str]:
    """``run`` as run on every path under a root: with ``-r`` (``-R``) when its program
    deletes or changes permissions (``AS_IF_RECURSIVE``) and it is not there already."""
    flag = AS_IF_RECURSIVE.get(posixpath.basename(run[0])) if run else None
    if flag and not {"r", "R", "--recursive"} & split_flags(run[1:])[0]:
        return [run[0], flag, *run[1:]]
    return run


@contextmanager
def arguments(words: list[str]) -> Iterator[None]:
    """The positional parameters of the shell ``words`` runs (``sh -c SCRIPT ARG0 ARGS``):
    ``$0`` the first argument, ``$1``... and ``"$@"`` the others; one standing for many
    (``{} +``) fills every one from its own on. A new shell: the ones around it are gone
    (its other variables are kept, as an exported or expanded one would be)."""
    known = _known()
    at = script_at(words)
    args = words[at + 1 :] if at is not None else []
    scope = {k: v for k, v in known.items() if not _positional(k)}
    held = [_held(arg, known) for arg in args]
    if held:
        for index in range(max(len(held), 10)):
            values = [
                v for i, vs in enumerate(held) for v in vs if i == index or (i < index and v.many)
            ]
            if values:
                scope[str(index)] = tuple((v,) for v in values)
        rest = tuple(v for i, vs in enumerate(held) for v in vs if i > 0 or v.many)
        scope["@"] = scope["*"] = (rest,)
    token = _BOUND.set(scope)
    try:
        yield
    finally:
        _BOUND.reset(token)


@dataclass
class _Loop:
    """A loop of a script: the pipelines of its body, the variables it sets, what they hold
    (worked out on entering the body, with the loops around it bound) and where the body
    assigns one anew."""

    body: range
    names: list[str]
    header: Command
    producer: list[Command] | None  # read loops: the commands whose lines are read
    choices: tuple[Choice, ...] | None = None
    assigned: dict[str, int] = field(default_factory=dict)


class Loops:
    """The ``for`` and ``while read`` loops of one script, binding their variables in their
    bodies as the script is walked."""

    def __init__(self, script: Script) -> None:
        self._loops: list[_Loop] = []
        for index, pipeline in enumerate(script):
            for at, cmd in enumerate(pipeline):
                loop = _header(script, index, pipeline[:at], cmd)
                if loop is not None:
                    self._loops.append(loop)

    @contextmanager
    def at(self, index: int) -> Iterator[None]:
        """Checking the pipeline ``index``: the variables of the loops whose body holds it
        bound, the inner loops' over the outer ones'."""
        if not any(index in loop.body for loop in self._loops):
            yield
            return
        token = _BOUND.set(dict(_known()))
        try:
            for loop in self._loops:
                if index not in loop.body:
                    continue
                if loop.choices is None:
                    loop.choices = _held_by(loop)
                scope = dict(_known())
                for name in loop.names:
                    fresh = loop.assigned.get(name, index) >= index
                    scope[name] = loop.choices if fresh else UNKNOWN
                _BOUND.set(scope)
            yield
        finally:
            _BOUND.reset(token)

    def after(self, index: int, pipeline: list[Command]) -> None:
        """The pipeline ``index`` checked: a lone assignment to a loop's variable
        (``f=other``) leaves it not known for the rest of the body."""
        if len(pipeline) != 1:
            return
        words = _lead_stripped(pipeline[0].words)
        names = [w.split("=", 1)[0] for w in words if re.fullmatch(r"[A-Za-z_]\w*=.*", w, re.S)]
        if not words or len(names) != len(words):
            return
        for loop in self._loops:
            if index in loop.body:
                for name in set(names) & set(loop.names):
                    loop.assigned.setdefault(name, index)


def _header(script: Script, index: int, upstream: list[Command], cmd: Command) -> _Loop | None:
    """The loop ``cmd`` (in the pipeline ``index``, after ``upstream``) starts, if any:
    ``for NAME [in WORDS]`` or ``while``/``until read NAME...``."""
    words = _lead_stripped(cmd.words)
    if words[:1] in (["for"], ["select"]) and len(words) > 1 and _NAME.fullmatch(words[1]):
        if len(words) > 2 and words[2] != "in":
            return None
        body, _ = _body(script, index)
        return _Loop(body, [words[1]], cmd, None)
    if words[:1] not in (["while"], ["until"]):
        return None
    rest = list(itertools.dropwhile(lambda w: w == "!" or "=" in w, words[1:]))
    if rest[:1] != ["read"]:
        return None
    _, operands = split_flags(rest[1:], _READ_VALUES)
    names = [w for w in operands if _NAME.fullmatch(w)] or ["REPLY"]
    body, end = _body(script, index)
    producer = upstream
    closing = script[end][0] if end < len(script) else None
    if (
        closing is not None
        and closing.nested
        and any(
            (op == "<" and not target) or (op == "<<<" and target.startswith("$("))
            for op, target in closing.redirects
        )
    ):
        producer = closing.nested[-1][-1] if closing.nested[-1] else []
    return _Loop(body, names, cmd, producer)


def _body(script: Script, index: int) -> tuple[range, int]:
    """The pipelines of the body of the loop whose header is in the pipeline ``index``, and
    the index of the pipeline closing it: from ``do`` to its ``done``, or in fish (no
    ``do`` before the body) up to its ``end``; none when it is not closed (a shell would
    stop at the syntax error), so a binding never reaches past its loop."""
    raw = [p[0].words[:1] if p else [] for p in script]
    start = index + 1
    while start < len(script) and raw[start] not in (["do"], ["done"], ["end"]):
        if _fish_opens(script[start]):
            break
        start += 1
    fish = not (start < len(script) and raw[start] == ["do"])
    start = index + 1 if fish else start
    depth = 0
    for end in range(start, len(script)):
        word = raw[end][0] if raw[end] else ""
        if fish:
            depth += 1 if _fish_opens(script[end]) else -1 if word == "end" else 0
        else:
            depth += 1 if word == "do" else -1 if word == "done" else 0
        if depth < 0 or (not fish and depth == 0 and word == "done"):
            return range(start, end), end
    return range(0), len(script)  # never closed: the shell runs none of it


def _fish_opens(pipeline: list[Command]) -> bool:
    """Whether ``pipeline`` starts a fish block (``begin``, ``if``, ``for``, ...; ``else if``
    does not)."""
    words = pipeline[0].words if pipeline else []
    words = list(itertools.dropwhile(lambda w: w in ("and", "or", "not", "!"), words))
    return bool(words) and words[0] in _FISH_OPENS


def _held_by(loop: _Loop) -> tuple[Choice, ...]:
    """What the variables of ``loop`` hold: the listing read from its producer, or each of
    the words after ``in`` (``"$@"`` without them)."""
    if loop.producer is not None:
        return listing(loop.producer)
    known = _known()
    words = _lead_stripped(loop.header.words)
    if len(words) < 3:
        return tuple((v,) for choice in known.get("@", UNKNOWN) for v in choice) or UNKNOWN
    made = _substitutions(loop.header)
    values: list[Value] = []
    for at, word in enumerate(words[3:], 3 + len(loop.header.words) - len(words)):
        if at in made:
            values.extend(v for choice in listing(made[at]) for v in choice)
        else:
            values.extend(_held(word, known))
    return tuple((v,) for v in values) or UNKNOWN


def _substitutions(cmd: Command) -> dict[int, list[Command]]:
    """The words of ``cmd`` that are a whole ``$( )`` (or backticks, or fish's ``( )``),
    by their index, with the last pipeline of the script each runs; empty when the nested
    scripts cannot be matched to the words."""
    made: dict[int, list[Command]] = {}
    taken = 0
    for at, word in enumerate(cmd.words):
        if word == "$(…)" and taken < len(cmd.nested):
            made[at] = cmd.nested[taken][-1] if cmd.nested[taken] else []
        taken += "$(" in word
    taken += sum("$(" in target for _, target in cmd.redirects)
    return made if taken == len(cmd.nested) else {}


def _held(word: str, known: _Known) -> list[Value]:
    """What ``word`` holds as an argument: each thing the variable it is holds (one not
    known stays as written), the words a join with one stands for, a literal word itself."""
    if word == "{}" and "{}" in known:
        name: str | None = "{}"
    else:
        match = _REF.fullmatch(word)
        whole = match is not None and not match["prefix"] and not match["slash"]
        name = _name(match) if match is not None and whole else None
    if name is not None and name in known:
        return [v if v.path is not None else Value(word) for c in known[name] for v in c]
    choices = _choices(word, known)
    return [_literal(w) for ws, _ in choices for w in ws] if choices else [_literal(word)]


def _literal(word: str) -> Value:
    """A word as a value: a join keeps to it only when it is not made at run time."""
    return Value(word, None if "$" in word else word)


def _choices(word: str, known: _Known) -> list[tuple[list[str], bool]] | None:
    """The words ``word`` stands for, one list per thing its variable may hold, each with
    whether it is every path under a root; None when it is no bound variable."""
    if word == "{}":
        prefix, name, slash = "", "{}", ""
    else:
        match = _REF.fullmatch(word)
        if match is None:
            return None
        prefix, name, slash = match["prefix"], _name(match), match["slash"]
    if name not in known:
        return None
    out: list[tuple[list[str], bool]] = []
    for choice in known[name]:
        if prefix:
            entry = choice[0].entry if len(choice) == 1 else None
            out.append(([word if entry is None else prefix + entry + slash], False))
        else:
            out.append(
                ([word if v.path is None else v.path + slash for v in choice],
                 any(v.every and v.path is not None for v in choice))
            )  # fmt: skip
    return out


def _known() -> _Known:
    """The variables bound where the check is."""
    return _BOUND.get() or {}


def _name(match: re.Match[str]) -> str:
    return match["braced"] or match["plain"]


def _positional(name: str) -> bool:
    return name.isdigit() or name in ("@", "*")


def _lead_stripped(words: list[str]) -> list[str]:
    """``words`` without the keywords before a command (``do``, ``then``, ``{``, ``!``)."""
    return list(itertools.dropwhile(lambda w: w in _LEADING, words))
