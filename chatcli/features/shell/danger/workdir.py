"""Where a command runs: the user's home directory, read once a check, and the current
directory as ``cd``, ``pushd`` and ``popd`` earlier in the same text leave it.

``cd /etc; rm -rf *`` empties /etc wherever chatcli runs, so the rules judge ``.`` and
relative paths from where a ``cd`` before them went; ``env -C /etc rm -rf *`` and
``git -C DIR`` move the one command they run (``enter``). Only the commands that follow one
another in the same shell carry it (``;``, ``&&``, ``||``, newlines, ``{ }``, ``if``): a ``cd`` in a
pipeline or in the background runs in a subshell, and one in a subshell, a substitution or
``sh -c`` (a nested script, ``scope``) stays in it; one in a function's ``{ }`` body is taken
as run where it is written. A target read from the text alone is known (``/``, ``~``,
``~/src``, ``$HOME``, ``/etc``, ``..``, ``build``: relative to the directory before; ``CDPATH``
is not looked at), ``cd`` alone is the home directory; ``cd -``, ``pushd`` without a directory
and a target made at run time (``$dir``, ``$(...)``, a glob) leave the directory not known,
which the rules count as possibly broad. A ``cd`` is taken to succeed.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Here:
    """The current directory: ``path`` is "." where the text starts (chatcli's own directory),
    relative to that or absolute after a ``cd``, None when not known; ``how`` the command that
    went there (``cd /etc``); ``stack`` where each ``popd`` goes back to, the last first."""

    path: str | None = "."
    how: str = ""
    stack: tuple[tuple[str | None, str], ...] = ()


_HOME: ContextVar[str | None] = ContextVar("home", default=None)
_START = Here()
_HERE: ContextVar[Here] = ContextVar("here")
HOME_VARIABLE = re.compile(r"^(\$HOME|\$\{HOME\})(?=/|$)")  # set in every login
_RUN_TIME = re.compile(r"[$*?\[{`]")  # a variable, a substitution, a glob, a brace expansion
_CHANGES = {"cd", "pushd", "popd"}


def home() -> str:
    """The user's home directory: read once for each check (``checking``), so not once for
    each path; read afresh outside one."""
    return _HOME.get() or os.path.expanduser("~")


def here() -> Here:
    """The current directory at the command being checked."""
    return _HERE.get(_START)


def start() -> str | None:
    """The directory the text starts in (chatcli's own), None if it is gone."""
    try:
        return os.getcwd()
    except OSError:
        return None


def resolve(path: str) -> str:
    """``path`` as seen from where a ``cd`` earlier in the text went: a relative path joined
    to that directory; absolute paths, ``~``, variables and ``-`` as they are, and relative
    ones too where the text starts or where the directory is not known."""
    current = _HERE.get(_START).path
    if current in (None, ".") or not path or path == "-" or path.startswith(("/", "~", "$")):
        return path
    return posixpath.join(current, path)


@contextmanager
def checking() -> Iterator[None]:
    """One check of a text: the home directory read once, the text starting where chatcli
    runs."""
    home_token = _HOME.set(os.path.expanduser("~"))
    here_token = _HERE.set(_START)
    try:
        yield
    finally:
        _HERE.reset(here_token)
        _HOME.reset(home_token)


@contextmanager
def scope() -> Iterator[None]:
    """A script of its own (a subshell, a substitution, ``sh -c``): it starts in the directory
    of the text around it, and a ``cd`` in it does not change that one."""
    token = _HERE.set(_HERE.get(_START))
    try:
        yield
    finally:
        _HERE.reset(token)


def follow(words: list[str]) -> None:
    """Move to where ``cd``, ``pushd`` or ``popd`` (``words``, wrappers taken off) leave the
    commands after it; any other command leaves the directory as it is."""
    if not words or words[0] not in _CHANGES:
        return
    program, args = words[0], words[1:]
    options: list[str] = []
    while args and re.fullmatch(r"-[LPe@n]+", args[0]):  # -n: pushd, popd change the stack only
        options.append(args.pop(0))
    if args[:1] == ["--"]:
        args = args[1:]
    current = _HERE.get(_START)
    how = " ".join(words)
    stay = program != "cd" and any("n" in o for o in options)
    if program == "popd":
        if stay:
            return
        if args or not current.stack:  # popd +N, or a stack from before the text
            _HERE.set(Here(None, how, current.stack[:-1]))
        else:
            path, went = current.stack[-1]
            _HERE.set(Here(path, went, current.stack[:-1]))
        return
    if not args:
        target = home() if program == "cd" else None  # pushd alone swaps with a stack not known
    else:
        target = _target(args[0], current.path) if len(args) == 1 else None
    if program == "pushd" and stay:  # pushd -n DIR: DIR is where the next popd goes
        _HERE.set(Here(current.path, current.how, (*current.stack, (target, how))))
        return
    stack = (*current.stack, (current.path, current.how)) if program == "pushd" else current.stack
    _HERE.set(Here(target, how, stack))


def enter(directory: str, how: str) -> None:
    """Move to ``directory``, relative to where the text is, as a wrapper's or a program's
    own option does (``env -C DIR``, ``sudo -D DIR``, ``git -C DIR``): for the one command it
    runs, so called in a ``scope``. ``how`` is the option, said in findings."""
    current = _HERE.get(_START)
    _HERE.set(Here(_target(directory, current.path), how, current.stack))


def _target(word: str, current: str | None) -> str | None:
    """The directory ``cd WORD`` goes to from ``current``, normalized (``/usr/..`` -> ``/``);
    None when only the run shows it (``-``, ``~bob``, ``$dir``, ``$(...)``, a glob)."""
    word = HOME_VARIABLE.sub("~", word)
    if word == "~" or word.startswith("~/"):
        word = home() + word[1:]
    if word == "-" or word.startswith("~") or _RUN_TIME.search(word):
        return None
    if not word.startswith("/"):
        if current is None:
            return None
        word = posixpath.join(current, word)
    full = posixpath.normpath(word)
    return "/" + full.lstrip("/") if full.startswith("//") else full
