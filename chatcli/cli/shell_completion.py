"""Shell completion: the answers to the requests of the scripts ``chatcli completion SHELL``
prints, read from the command tree.

The shell runs ``chatcli`` with ``_CHATCLI_COMPLETE=<shell>_complete``, the words typed so far
(COMP_WORDS) and the index of the one being completed (COMP_CWORD); ``__main__`` sends that here
before anything else. The words are walked through the tree (``typer.main.get_command``): the
subcommands they name, the options they give (with their values) and the arguments they fill.
What the last word can be is then answered by the tree itself, through click's public
``shell_complete`` of that parameter or command: a Choice parameter's choices (the StrEnums
its declaration names), a file for a ``Path`` parameter, the completer its declaration attaches
(``cli/completers.py``), or the options and subcommands of a command. Each answer is one
``type,value`` line (``file``: the shell completes a path itself).

No private Typer or click module is imported; only typer and the stdlib are loaded on this
path (and ``features.completion.values`` by the completers, and the output layer, which
writes the answer to the environment ``__main__`` hands over), so a Tab costs about what
``chatcli --help`` does.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

from chatcli.cli.completers import FILES
from chatcli.features.completion.scripts import SCRIPTS

if TYPE_CHECKING:
    from chatcli.environment import Environment


@dataclass
class _Place:
    """Where the words typed so far lead: the command, its context (the values of the options
    given, for completers that read ``--config`` or ``--template``), the arguments filled."""

    command: Any
    ctx: typer.Context
    given: dict[str, Any] = field(default_factory=dict)
    arguments: int = 0  # positional words taken by this command so far


def _words() -> tuple[list[str], str]:
    """The words before the one being completed (without the program), and that one."""
    try:
        words = shlex.split(os.environ.get("COMP_WORDS", ""))
    except ValueError:  # an unclosed quote: split on blanks
        words = os.environ.get("COMP_WORDS", "").split()
    try:  # a shell (or a hand-run test) may pass anything here; out of range is the end
        cword = int(os.environ.get("COMP_CWORD") or len(words))
    except ValueError:
        cword = len(words)
    if not 1 <= cword <= len(words):
        cword = len(words)
    incomplete = words[cword] if cword < len(words) else ""
    return words[1:cword], incomplete


def _enter(command: Any, name: str, parent: typer.Context | None) -> _Place:
    ctx = typer.Context(command, parent=parent, info_name=name, resilient_parsing=True)
    return _Place(command, ctx)


def _option(place: _Place, word: str) -> Any | None:
    """The option of ``place``'s command that ``word`` (``--name`` or ``-n``) names."""
    for param in place.command.params:
        if param.param_type_name == "option" and word in (*param.opts, *param.secondary_opts):
            return param
    return None


def _takes_value(param: Any) -> bool:
    return not (param.is_flag or getattr(param, "count", False))


def _argument(place: _Place) -> Any | None:
    """The argument the next positional word of ``place``'s command fills, if any."""
    taken = place.arguments
    for param in place.command.params:
        if param.param_type_name != "argument":
            continue
        if param.nargs == -1 or taken < param.nargs:
            return param
        taken -= param.nargs
    return None


def _walk(root: Any, words: list[str]) -> tuple[_Place, Any | None, bool]:
    """Follow ``words`` from ``root``: the place they end in, the option whose value comes
    next (None: the next word is an option, a subcommand or an argument), and whether a
    ``--`` made every word after it an argument."""
    place = _enter(root, "chatcli", None)
    pending: Any | None = None
    only_arguments = False
    for word in words:
        if pending is not None:
            place.ctx.params[pending.name] = word
            pending = None
            continue
        if word == "--" and not only_arguments:
            only_arguments = True
            continue
        if word.startswith("-") and len(word) > 1 and not only_arguments:
            name, eq, value = word.partition("=")
            option = _option(place, name)
            if option is not None and _takes_value(option):
                if eq:
                    place.ctx.params[option.name] = value
                else:
                    pending = option
            continue
        commands = getattr(place.command, "commands", None)
        if commands and word in commands and not only_arguments:
            place = _enter(commands[word], word, place.ctx)
            continue
        argument = _argument(place)
        if argument is not None and argument.name not in place.ctx.params:
            place.ctx.params[argument.name] = word
        place.arguments += 1
    return place, pending, only_arguments


def _is_path(param: Any) -> bool:
    """Whether ``param`` was declared as a ``Path``: click's path type (Typer 0.28), or the
    annotation itself where a later Typer keeps it (``type_descriptor``)."""
    from pathlib import PurePath

    declared = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if isinstance(declared, type) and issubclass(declared, PurePath):
        return True
    return getattr(getattr(param, "type", None), "name", None) == "path"


def _answers(root: Any, words: list[str], incomplete: str) -> list[tuple[str, str]]:
    """(type, value) of every completion of ``incomplete`` after ``words``."""
    place, pending, only_arguments = _walk(root, words)
    target: Any = pending
    if only_arguments:
        target = _argument(place)
        if target is None:
            return []
    elif target is None and incomplete.startswith("-") and "=" in incomplete:
        name, _, incomplete = incomplete.partition("=")
        option = _option(place, name)
        target = option if option is not None and _takes_value(option) else None
        if target is None:
            return []
    if target is None and not incomplete.startswith("-"):
        commands = getattr(place.command, "commands", None)
        target = None if commands else _argument(place)
    if target is not None and _is_path(target):
        return [("file", incomplete)]  # a ``Path`` parameter (Typer's completes nothing)
    items = (target or place.command).shell_complete(place.ctx, incomplete)
    out = []
    for item in items:
        kind = item.type
        if kind in ("file", "dir") or getattr(item, "help", None) == FILES:
            kind = "file"
        out.append((kind, str(item.value)))
    return out


def complete(root: Any, instruction: str, env: Environment) -> int:
    """Answer one completion request from the shell (``bash_complete`` and the like)."""
    from chatcli.output import err, out

    shell, _, action = instruction.partition("_")
    if shell not in SCRIPTS or action != "complete":
        err(env, f"chatcli: error: unknown completion request {instruction!r}")
        return 2
    words, incomplete = _words()
    answer = "".join(f"{kind},{value}\n" for kind, value in _answers(root, words, incomplete))
    if answer:
        out(env, answer)
    return 0
