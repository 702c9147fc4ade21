"""Text that a command runs as shell code, found in its words or its input.

``sh -c TEXT``, ``eval``, ``su -c``, ``ssh HOST CMD`` run text given as an argument; a shell
reading its input runs what ``echo`` or ``printf`` write into the pipe. check.py checks that
text as the script it is; a download run this way is unseen, and a finding of its own.
"""

from __future__ import annotations

import posixpath
import re

from chatcli.features.shell.danger.command import Command, Script
from chatcli.features.shell.danger.lexer import live
from chatcli.features.shell.danger.options import operand_indices, skip_options, split_flags
from chatcli.features.shell.danger.parser import parse
from chatcli.features.shell.danger.values import made_scripts
from chatcli.features.shell.danger.wrappers import unwrap

SHELLS = {"sh", "bash", "zsh", "fish", "dash", "ksh", "ash", "mksh"}
INTERPRETERS = SHELLS | {"python", "python3", "perl", "ruby", "node", "php", "pwsh"}
_DOWNLOADERS = {"curl", "wget", "fetch", "http", "https", "xh", "aria2c"}


def inner_script(program: str, words: list[str]) -> str | None:
    """The text a command runs as shell code: ``sh -c TEXT``, ``eval ARGS``, ``su -c TEXT``
    (and ``runuser``, ``script``, ``sg``), ``ssh HOST CMD``."""
    if program == "eval":
        return live(" ".join(words[1:]))
    if program in SHELLS:
        script = _shell_script(words)
        return None if script is None else live(script)
    if program == "sg" and len(words) > 2 and not words[2].startswith("-"):
        return live(" ".join(words[2:]))  # sg GROUP CMD
    if program in ("su", "runuser", "script", "sg"):
        for index, word in enumerate(words[1:], 1):
            if word in ("-c", "--command") or (
                word.startswith("-") and not word.startswith("--") and word.endswith("c")
            ):
                return live(words[index + 1]) if index + 1 < len(words) else ""
        return None
    if program == "ssh":
        rest = skip_options(words, 1, "bcDEeFIiJLlmOopQRSWw", frozenset())
        return live(" ".join(words[rest + 1 :])) or None
    return None


def _shell_script(words: list[str]) -> str | None:
    """The script of ``sh [OPTIONS] -c SCRIPT``; None without ``-c``."""
    at = script_at(words)
    return None if at is None else words[at] if at < len(words) else ""


def script_at(words: list[str]) -> int | None:
    """Where the script of ``sh [OPTIONS] -c SCRIPT ARG0 ARGS`` is in ``words``: the first
    operand after the options (``-c`` is a flag, ``--`` ends the options, ``-o NAME`` takes a
    value); None without ``-c``."""
    command = False
    i = 1
    while i < len(words) and words[i][:1] in "-+" and len(words[i]) > 1:
        word = words[i]
        i += 1
        if word == "--":
            break
        if word in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
            i += 1
        elif word == "--command" or (not word.startswith("--") and "c" in word[1:]):
            command = True
    return i if command else None


def reads_script(words: list[str]) -> bool:
    """Whether ``sh ARGS`` runs the text of its standard input: no ``-c``, no script file
    (``-s`` keeps reading it whatever follows)."""
    flags, operands = split_flags(words[1:])
    return "s" in flags or ("c" not in flags and "--command" not in flags and not operands)


def script_file(program: str, words: list[str]) -> int | None:
    """Where in ``words`` the script file a shell (``sh FILE``, no ``-c``) or ``source``
    (``.``) runs is; None without one."""
    if program in ("source", "."):
        return 1 if len(words) > 1 else None
    if program not in SHELLS or script_at(words) is not None:
        return None
    at = operand_indices(words[1:], "oO", frozenset({"--rcfile", "--init-file"}))
    return at[0] + 1 if at and "s" not in split_flags(words[1:], "oO")[0] else None


def made_output(words: list[str], at: int | None, cmd: Command) -> str | None:
    """What the word ``words[at]`` writes when it is a whole substitution whose output the
    command line shows (``output_of``): a script given as ``"$(echo ...)"`` or ``$(printf
    ...)`` (``sh -c``, ``eval``), or as ``<(echo ...)`` (``sh <(...)``); ``words`` are
    ``cmd``'s, wrappers taken off. None for any other word, or output not shown."""
    if at is None or at >= len(words):
        return None
    word = words[at]
    if word in ("$(…)", "<(…)"):
        offset = len(cmd.words) - len(words)
        made = made_scripts(cmd) if offset >= 0 and cmd.words[offset:] == words else {}
        return output_of(made[at + offset]) if at + offset in made else None
    if not word.startswith("$("):
        return None
    try:
        parsed = parse(word)
    except ValueError:
        return None
    whole = len(parsed) == 1 and len(parsed[0]) == 1 and parsed[0][0].words == ["$(…)"]
    return output_of(parsed[0][0].nested[0]) if whole and len(parsed[0][0].nested) == 1 else None


def output_of(script: Script) -> str | None:
    """What ``script`` writes, when the command line shows all of it: each of its pipelines
    ends in ``echo``, ``printf`` or ``cat`` of a here-string (``shown``)."""
    texts = [shown(pipeline[-1]) for pipeline in script if pipeline]
    return "\n".join(t for t in texts if t is not None) if None not in texts else None


def shown(cmd: Command) -> str | None:
    """What ``cmd`` writes, when the command line shows it: the arguments of ``echo`` or
    ``printf``, the here-string or here-document given to ``cat``; None otherwise."""
    words, _ = unwrap(cmd.words, [])
    name = posixpath.basename(words[0]) if words else ""
    if name in ("echo", "printf") and not cmd.nested:
        return _printed(name, words[1:])
    stdin = [(op, target) for op, target in cmd.redirects if op in ("<", "<<<")]
    if name == "cat" and len(words) == 1 and stdin[-1:] and stdin[-1][0] == "<<<":
        return stdin[-1][1]
    return None


def _printed(program: str, args: list[str]) -> str:
    """What ``echo ARGS`` or ``printf FORMAT ARGS`` writes, near enough to check it."""
    if program == "echo":
        while args and re.fullmatch(r"-[neE]+", args[0]):
            args = args[1:]
        return " ".join(args).replace("\\n", "\n")
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        return ""
    rest = iter(args[1:])
    text = re.sub(  # "%%" is a "%"; a conversion takes the next argument
        r"%%|%[-+ #0-9.]*[sbdiouxXfeEgGqc]",
        lambda match: "%" if match.group() == "%%" else next(rest, ""),
        args[0],
    )
    return " ".join([text, *rest]).replace("\\n", "\n")


def name_of(cmd: Command | None) -> str:
    """The name of the program ``cmd`` runs, wrappers taken off; "" if none."""
    words, _ = unwrap(cmd.words, []) if cmd is not None else ([], False)
    return posixpath.basename(words[0]) if words else ""


def downloads(cmd: Command) -> bool:
    """Whether ``cmd`` runs a downloader (``curl``, ``wget``, ...), wrappers taken off."""
    words, _ = unwrap(cmd.words, [])
    return bool(words) and posixpath.basename(words[0]) in _DOWNLOADERS


def all_commands(script: Script) -> list[Command]:
    """Every command of ``script``, and of the scripts nested in them."""
    commands: list[Command] = []
    for pipeline in script:
        for cmd in pipeline:
            commands.append(cmd)
            for nested in cmd.nested:
                commands.extend(all_commands(nested))
    return commands
