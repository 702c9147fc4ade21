"""The shell functions a script defines, so a call is checked as the body it runs.

``f() { rm "$@"; }; f ~/*`` is ``rm ~/*``: the body, read where it is written, sees only
``"$@"``. So each call of a function the text defines (in the script or one around it) checks
its body again with the call's arguments as its positional parameters (flows.py). A function
calling itself is not followed again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from chatcli.features.shell.danger.command import Script

_DEFINED: ContextVar[dict[str, list[Script]] | None] = ContextVar("defined", default=None)
_RUNNING: ContextVar[frozenset[str]] = ContextVar("running", default=frozenset())
_FISH_OPENS = {"function", "if", "while", "for", "begin", "switch"}
_CALLS: ContextVar[list[int] | None] = ContextVar("calls", default=None)
_MOST = 64  # calls followed in one text: past that, calling each other can take forever


@contextmanager
def checking() -> Iterator[None]:
    """One text being checked: the calls followed are counted from none."""
    token = _CALLS.set([0])
    try:
        yield
    finally:
        _CALLS.reset(token)


def followed() -> bool:
    """Count one more call followed; False past ``_MOST`` (functions calling each other
    many times over, whose calls are then not followed: a finding of its own)."""
    calls = _CALLS.get()
    if calls is None:
        return True
    calls[0] += 1
    return calls[0] <= _MOST


@contextmanager
def defined(script: Script) -> Iterator[None]:
    """The functions ``script`` defines known, with those of the scripts around it, in the
    commands checked inside."""
    bodies = _bodies(script)
    if not bodies:
        yield
        return
    around = _DEFINED.get() or {}
    token = _DEFINED.set({**around, **{k: around.get(k, []) + v for k, v in bodies.items()}})
    try:
        yield
    finally:
        _DEFINED.reset(token)


def bodies(name: str) -> list[Script]:
    """The bodies of the function ``name`` the text defines (each, when it defines it more
    than once), none when it is running already (a call of itself)."""
    if name in _RUNNING.get():
        return []
    return (_DEFINED.get() or {}).get(name, [])


@contextmanager
def running(name: str) -> Iterator[None]:
    """The body of ``name`` being checked for a call."""
    token = _RUNNING.set(_RUNNING.get() | {name})
    try:
        yield
    finally:
        _RUNNING.reset(token)


def _bodies(script: Script) -> dict[str, list[Script]]:
    """The functions ``script`` defines, by name: the pipelines of each body after its
    header (``{ ... }``, a subshell ``( ... )``, fish's up to ``end``)."""
    found: dict[str, list[Script]] = {}
    for index, pipeline in enumerate(script):
        name = pipeline[0].defines if pipeline else ""
        if name:
            found.setdefault(name, []).append(script[index + 1 : _end(script, index + 1) + 1])
    return found


def _end(script: Script, start: int) -> int:
    """The index of the last pipeline of a body starting at ``script[start]``."""
    if start >= len(script):
        return start
    first = script[start][0].words[:1] if script[start] else []
    opens, closes = ("{", "}") if first == ["{"] else ("", "end")
    if not first:
        return start  # ( ... ): one command, the subshell nested in it
    depth = 0
    for end in range(start, len(script)):
        for cmd in script[end]:
            words = cmd.words
            if opens:
                depth += words.count(opens) - words.count(closes)
            elif cmd is script[end][0]:
                head = [w for w in words if w not in ("and", "or", "not", "!")][:1]
                depth += 1 if head and head[0] in _FISH_OPENS else -1 if head == ["end"] else 0
        if depth <= 0 and (opens or end > start):
            return end
    return len(script) - 1
