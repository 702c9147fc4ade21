"""What a variable holds when a loop, an assignment or a shell's arguments fill it with paths.

``find ~ | while read f; do rm "$f"; done``, ``for f in $(find ~); do rm $f; done``,
``mapfile -t a < <(find ~); rm "${a[@]}"``, ``set -- ~/*; rm "$@"`` and
``find ~ -exec sh -c 'rm "$@"' _ {} +`` delete what ``find ~ -exec rm {} +`` does, but a rule
sees only ``rm "$f"``. So a variable is bound to what it holds (values.py): in a loop's body,
the words of ``for VAR [in WORDS]`` (``"$@"`` without ``in``; zsh's ``for VAR (WORDS)``) or
the lines ``read VAR`` takes (``find ~ | while read f``, ``done < <(find ~)``); after an
assignment, for the rest of the script, an array (``a=(...)``, ``mapfile``, ``readarray``,
``read -a``), a ``$(find ...)`` or ``$(ls ...)`` (``f=$(find ~)``) and the positional
parameters (``set -- WORDS``, ``shift``); in a shell run with arguments (``sh -c SCRIPT ARG0
ARGS``), its parameters; ``{}`` holds what ``find -exec`` and ``xargs`` put there. A word that
is such a variable (``$f``, ``"${f}"``, ``"$@"``, ``"${a[@]}"``, ``~/"$f"``) is judged as each
thing it holds: what ``find ROOT`` lists as ``{}`` in ``find ROOT -exec`` is (``rm`` on it is
``rm -r ROOT``; a program that is not recursive gets ``ROOT/**``), an entry of ``ls DIR`` as
``DIR/*`` (``~/"$f"`` as ``~/*``). A listing narrowed by a test (``-name``), one from another
program (``git ls-files``, a file), or a value reassigned leaves the word as written, judged
as before, so the common loop over one's own files stays quiet; an assignment keeps the word
as written too, as one more thing it may hold, since a later change to it may be missed.
"""

from __future__ import annotations

import itertools
import math
import posixpath
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from chatcli.features.shell.danger import deletion, permissions
from chatcli.features.shell.danger.command import Command, Script
from chatcli.features.shell.danger.options import read_options, split_flags
from chatcli.features.shell.danger.scripts import SHELLS, script_at
from chatcli.features.shell.danger.values import (
    UNKNOWN,
    Known,
    Lines,
    Value,
    binding,
    choices_of,
    held,
    known,
    lines,
    listing,
    substitutions,
    words_held,
)

_MOST = 32  # variants of one command judged one by one; past that, all values in one
AS_IF_RECURSIVE = {
    **dict.fromkeys(permissions.CHANGES, "-R"),
    **dict.fromkeys(deletion.DELETES, "-r"),
}
"""What running these programs on every path under a root is: ``chmod {} +`` is ``chmod -R
ROOT``, ``rm {} +`` is ``rm -r ROOT`` (``find ~ -type f -exec rm {} +`` empties the home
directory as ``-delete`` does)."""
_NAME = re.compile(r"[A-Za-z_]\w*")
_LEADING = {"{", "!", "then", "else", "do", "and", "or", "not", "begin"}
_FISH_OPENS = {"function", "if", "while", "for", "begin", "switch"}
_READ_VALUES = "adinNptuPRc"  # read's options taking a value, bash's and fish's
_MAPFILE_VALUES = "dnOsuCc"
_DECLARE = {"declare", "typeset", "local", "export", "readonly"}


def variants(words: list[str]) -> list[list[str]]:
    """The command ``words`` (wrappers taken off) as run with each thing its variables hold
    (``rm "$f"`` -> ``rm -r ~`` when ``f`` holds what ``find ~`` lists; ``truncate -s0 "$f"``
    -> ``truncate -s0 ~/**``); ``[words]`` when none is bound. A shell's arguments after its
    ``-c`` script stay as written: they become its positional parameters (``arguments``)."""
    scope = known()
    if not scope:
        return [words]
    keep = len(words)
    if posixpath.basename(words[0]) in SHELLS:
        at = script_at(words)
        keep = keep if at is None else at + 1
    spread = posixpath.basename(words[0]) not in AS_IF_RECURSIVE
    choices = [
        (choices_of(w, scope, spread) if i < keep else None) or [([w], False)]
        for i, w in enumerate(words)
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


def targets(word: str) -> list[str]:
    """The paths a redirection's target ``word`` may be (``> "$f"``, every path under a root
    written ``ROOT/**``); ``[word]`` when it is no bound variable."""
    choices = choices_of(word, known(), spread=True)
    return list(dict.fromkeys(w for ws, _ in choices for w in ws)) if choices else [word]


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
    ``$0`` the first argument, ``$1``... and ``"$@"`` the others. A new shell: the ones
    around it are gone (its other variables are kept, as an exported or expanded one would
    be)."""
    scope = known()
    at = script_at(words)
    args = words[at + 1 :] if at is not None else []
    inner = {k: v for k, v in scope.items() if not _positional(k)}
    inner.update(_parameters([held(arg, scope) for arg in args]))
    with binding(inner):
        yield


@contextmanager
def called(words: list[str]) -> Iterator[None]:
    """The positional parameters of a shell function run as ``words`` (``f ~/*``): ``$1``...,
    ``"$@"`` and fish's ``$argv`` its arguments; ``$0`` and the other variables as around
    it."""
    scope = known()
    inner = {k: v for k, v in scope.items() if not _positional(k) or k == "0"}
    params = _parameters([[], *(held(w, scope) for w in words[1:])])
    params.pop("0", None)
    inner.update(params)
    inner["argv"] = params.get("@", ((),))
    with binding(inner):
        yield


def _parameters(args: list[list[Value]], unknown: bool = False) -> Known:
    """The positional parameters ``args`` fill, ``$0`` first: one standing for many (``{}
    +``) fills every one from its own on; ``unknown``: each may also hold what is not
    known (after ``set --``, which a later change may undo unseen)."""
    extra = UNKNOWN if unknown else ()
    scope: Known = {}
    if not args:
        return scope
    for index in range(max(len(args), 10)):
        filled = [v for i, vs in enumerate(args[: index + 1]) for v in vs if i == index or v.many]
        if filled:
            scope[str(index)] = tuple((v,) for v in filled) + extra
    rest = tuple(v for i, vs in enumerate(args) for v in vs if i > 0 or v.many)
    scope["@"] = scope["*"] = (rest, *extra)
    return scope


@dataclass
class _Loop:
    """A loop of a script: the pipelines of its body, the variables it sets, what they hold
    (worked out on entering the body, with the loops around it bound) and where the body
    assigns one anew."""

    body: range
    names: list[str]
    header: Command
    source: tuple[Command, list[Command]] | None  # read loops: what feeds their input
    choices: Lines | None = None
    assigned: dict[str, int] = field(default_factory=dict)


class Bindings:
    """The variables of one script as it is walked: the ``for`` and ``while read`` loops,
    bound in their bodies, and the assignments, bound for the rest of the script (the
    positional parameters kept as the words they are, for ``shift``)."""

    def __init__(self, script: Script) -> None:
        self._loops: list[_Loop] = []
        self._set: Known = {}
        self._args: list[list[Value]] | None = None
        for index, pipeline in enumerate(script):
            for at, cmd in enumerate(pipeline):
                loop = _header(script, index, pipeline[:at], cmd)
                if loop is not None:
                    self._loops.append(loop)

    @contextmanager
    def at(self, index: int) -> Iterator[None]:
        """Checking the pipeline ``index``: what the assignments before it set, then the
        variables of the loops whose body holds it, the inner loops' over the outer ones'."""
        scope = {**known(), **self._set}
        if self._args is not None:
            scope = {k: v for k, v in scope.items() if not _positional(k)}
            scope.update(_parameters([[], *self._args], unknown=True))
        with ExitStack() as stack:
            stack.enter_context(binding(scope))
            for loop in self._loops:
                if index not in loop.body:
                    continue
                if loop.choices is None:
                    loop.choices = _held_by(loop)
                inner = dict(known())
                for name in loop.names:
                    fresh = loop.assigned.get(name, index) >= index
                    inner[name] = loop.choices if fresh else self._set.get(name, UNKNOWN)
                stack.enter_context(binding(inner))
            yield

    def after(self, index: int, pipeline: list[Command]) -> None:
        """The pipeline ``index`` checked (with what is bound there): what it assigns holds
        from the next one on. A lone assignment to a loop's variable (``f=other``) leaves it
        not known for the rest of the body."""
        last = pipeline[-1] if pipeline else None
        if last is None or last.background:
            return
        words = _lead_stripped(last.words)
        if len(pipeline) == 1 and words and all(_assignment(w) for w in words):
            names = [w.split("=", 1)[0].rstrip("+") for w in words]
            for loop in self._loops:
                if index in loop.body:
                    for name in set(names) & set(loop.names):
                        loop.assigned.setdefault(name, index)
        self._assign(words, last, pipeline[:-1])

    def _assign(self, words: list[str], cmd: Command, upstream: list[Command]) -> None:
        """Bind what ``words`` (the command ``cmd``, after ``upstream``) assign."""
        run = list(itertools.dropwhile(_assignment, words))  # IFS= read: the read
        words = run or words
        program = run[0] if run else ""
        if program == "set":
            self._set_words(words, cmd)
        elif program == "shift" and self._args is not None:
            count = int(words[1]) if words[1:2] and words[1].isdigit() else 1
            while count and self._args and not any(v.many for v in self._args[0]):
                self._args, count = self._args[1:], count - 1
        elif program in ("mapfile", "readarray", "read"):
            self._read(words, cmd, upstream)
        elif not upstream and words and all(_assignment(w) for w in _declared(words)):
            offset = len(cmd.words) - len(words)
            for at, word in enumerate(words):
                if _assignment(word):
                    self._variable(word, cmd, offset + at)

    def _set_words(self, words: list[str], cmd: Command) -> None:
        """``set -- WORDS`` (or ``set WORDS``): the positional parameters; fish's ``set
        NAME VALUES`` is read as both."""
        at = len(cmd.words) - len(words) + 1
        while at < len(cmd.words) and re.fullmatch(r"[-+][^-].*", cmd.words[at], re.S):
            at += 2 if cmd.words[at].endswith("o") else 1  # -eo pipefail
        first = cmd.words[at : at + 1]
        if not first:
            return
        skip = first in (["--"], ["argv"])
        self._args = words_held(cmd, at + skip)
        if not skip and _NAME.fullmatch(first[0]):
            values = [v for vs in words_held(cmd, at + 1) for v in vs]
            self._set[first[0]] = tuple((v,) for v in values) + UNKNOWN

    def _read(self, words: list[str], cmd: Command, upstream: list[Command]) -> None:
        """``mapfile``/``readarray [-t] [NAME]``, and a lone ``read -d '' [-a] NAME...``
        (to the end of its input): the lines of their input, as a loop reading them is
        bound. A ``read`` of one line holds one path, not all: its names are left as
        written."""
        fed = lines(cmd, upstream)
        if words[0] == "read":
            options, at = read_options(words, 1, _READ_VALUES, frozenset())
            names = [n for n in words[at:] if _NAME.fullmatch(n)]
            names = names + [value for option, value in options if option == "-a"] or ["REPLY"]
            if ("-d", "") not in options:
                fed = None
        else:
            _, names = split_flags(words[1:], _MAPFILE_VALUES)
            names = names[-1:] or ["MAPFILE"]
        for name in names:
            if fed is None:
                self._set.pop(name, None)
            else:
                self._set[name] = fed + (UNKNOWN if fed != UNKNOWN else ())

    def _variable(self, word: str, cmd: Command, at: int) -> None:
        """``NAME=(ITEMS)``, ``NAME+=(ITEMS)``, ``NAME=$(LISTING)``: what ``NAME`` holds;
        any other value leaves it as written."""
        name, _, _ = word.partition("=")
        append = name.endswith("+")
        name = name.rstrip("+")
        items = cmd.arrays.get(at)
        made = substitutions(cmd)
        if items is not None:
            values = [v for vs in words_held(items, 0) for v in vs]
        elif at in made and listing(made[at]) != UNKNOWN:
            values = [v for c in listing(made[at]) for v in c]
        else:
            self._set.pop(name, None)
            return
        before = self._set.get(name, ()) if append else ()
        choices = tuple((v,) for v in values)
        self._set[name] = tuple(dict.fromkeys(before + choices + UNKNOWN))


def _assignment(word: str) -> bool:
    return re.fullmatch(r"[A-Za-z_]\w*\+?=.*", word, re.S) is not None


def _declared(words: list[str]) -> list[str]:
    """The words of an assignment after ``declare``, ``local``, ``export`` and their kind,
    and their options."""
    if words[:1] and words[0] in _DECLARE:
        return [w for w in words[1:] if not w.startswith(("-", "+"))]
    return words


def _header(script: Script, index: int, upstream: list[Command], cmd: Command) -> _Loop | None:
    """The loop ``cmd`` (in the pipeline ``index``, after ``upstream``) starts, if any:
    ``for NAME [in WORDS]`` or ``while``/``until read NAME...``."""
    words = _lead_stripped(cmd.words)
    if (
        words[:1] in (["for"], ["select"], ["foreach"])
        and len(words) > 1
        and _NAME.fullmatch(words[1])
    ):
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
    closing = script[end][0] if end < len(script) and script[end] else None
    fed = closing if closing is not None and any(
        op in ("<", "<<<") for op, _ in closing.redirects
    ) else Command()  # fmt: skip
    return _Loop(body, names, cmd, (fed, upstream))


def _body(script: Script, index: int) -> tuple[range, int]:
    """The pipelines of the body of the loop whose header is in the pipeline ``index``, and
    the index of the pipeline closing it: from ``do`` to its ``done``, or in fish (no
    ``do`` before the body) up to its ``end``; zsh's short form, without either, is the one
    pipeline after the header. A ``do`` never closed has none (a shell would stop at the
    syntax error), so a binding never reaches past its loop."""
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
    if fish:  # zsh: for f in ~/*; rm $f
        return range(start, min(start + 1, len(script))), len(script)
    return range(0), len(script)


def _fish_opens(pipeline: list[Command]) -> bool:
    """Whether ``pipeline`` starts a fish block (``begin``, ``if``, ``for``, ...; ``else if``
    does not)."""
    words = pipeline[0].words if pipeline else []
    words = list(itertools.dropwhile(lambda w: w in ("and", "or", "not", "!"), words))
    return bool(words) and words[0] in _FISH_OPENS


def _held_by(loop: _Loop) -> Lines:
    """What the variables of ``loop`` hold: the lines of its input, or each of the words
    after ``in`` (``"$@"`` without them)."""
    if loop.source is not None:
        return lines(*loop.source) or UNKNOWN
    scope = known()
    words = _lead_stripped(loop.header.words)
    if len(words) < 3:
        return tuple((v,) for choice in scope.get("@", UNKNOWN) for v in choice) or UNKNOWN
    values = words_held(loop.header, 3 + len(loop.header.words) - len(words))
    return tuple((v,) for vs in values for v in vs) or UNKNOWN


def _positional(name: str) -> bool:
    return name.isdigit() or name in ("@", "*")


def _lead_stripped(words: list[str]) -> list[str]:
    """``words`` without the keywords before a command (``do``, ``then``, ``{``, ``!``)."""
    return list(itertools.dropwhile(lambda w: w in _LEADING, words))
