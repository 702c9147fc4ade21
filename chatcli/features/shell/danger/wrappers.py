"""Wrappers taken off, so the rules see the program a line really runs.

``sudo rm -rf /`` is ``rm -rf /`` run as root: ``sudo``, ``env``, ``nice``, ``timeout``,
``xargs``, ``time`` and their kind are skipped with their options (each wrapper's options
taking a value are listed, or a value would pass for the program). The directory ``env -C``
or ``sudo -D`` runs the command in is kept, as ``.`` there is not ``.`` here.
"""

from __future__ import annotations

import posixpath
import re
import shlex

from chatcli.features.shell.danger.lexer import live
from chatcli.features.shell.danger.options import option_values, skip_options

_KEYWORDS = {
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}",
    "and", "or", "not", "begin", "end", "builtin", "noglob", "nocorrect",
}  # fmt: skip
_ROOT = {"sudo", "doas", "pkexec", "run0", "su"}
_WRAPPERS: dict[str, tuple[str, frozenset[str], int]] = {
    # name: (short options taking a value, long ones, positional arguments before the command)
    "sudo": ("ugChprtTUDRc", frozenset({
        "--user", "--group", "--chdir", "--close-from", "--host", "--prompt", "--role",
        "--type", "--other-user", "--chroot", "--command-timeout", "--login-class",
    }), 0),
    "env": ("uC", frozenset({"--unset", "--chdir"}), 0),
    "nice": ("n", frozenset({"--adjustment"}), 0),
    "ionice": ("cnp", frozenset({"--class", "--classdata", "--pid", "--pgid", "--uid"}), 0),
    "timeout": ("sk", frozenset({"--signal", "--kill-after"}), 1),
    "stdbuf": ("ioe", frozenset({"--input", "--output", "--error"}), 0),
    "xargs": ("IdEsnLPa", frozenset({  # --replace, --eof, --max-lines: only with "="
        "--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-chars",
        "--process-slot-var",
    }), 0),
    "watch": ("n", frozenset({"--interval"}), 0),
    "command": ("", frozenset(), 0),
    "exec": ("a", frozenset(), 0),
    "time": ("of", frozenset({"--output", "--format"}), 0),
    "nohup": ("", frozenset(), 0),
    "fakeroot": ("lsi", frozenset({"--lib", "--faked"}), 0),
    "parallel": ("jSadIEnNLP", frozenset({
        "--jobs", "--sshlogin", "--arg-file", "--delimiter", "--joblog", "--results",
        "--tmpdir", "--workdir",
    }), 0),
    "nsenter": ("tSG", frozenset({"--target", "--setuid", "--setgid"}), 0),
    "firejail": ("", frozenset(), 0),
    "proxychains": ("f", frozenset(), 0),
    "proxychains4": ("f", frozenset(), 0),
    "torsocks": ("", frozenset(), 0),
    "systemd-run": ("pEuMH", frozenset({
        "--unit", "--property", "--uid", "--gid", "--setenv", "--working-directory",
        "--machine", "--host", "--description", "--slice", "--on-calendar", "--on-active",
    }), 0),
    "chrt": ("", frozenset(), 1),
    "taskset": ("", frozenset(), 1),
    "caffeinate": ("tw", frozenset(), 0),
    "unbuffer": ("", frozenset(), 0),
    "flock": ("wEc", frozenset({"--wait", "--timeout", "--conflict-exit-code"}), 1),
    "setsid": ("", frozenset(), 0),
    "chroot": ("", frozenset({"--userspec", "--groups"}), 1),
    "runuser": ("ugGsw", frozenset({"--user", "--group", "--supp-group", "--shell"}), 0),
    "strace": ("abeEIoOpPsSuUX", frozenset({"--output", "--user", "--signal", "--trace"}), 0),
    "ltrace": ("aeEnopsSuxXAD", frozenset({"--output", "--user"}), 0),
    "busybox": ("", frozenset(), 0),
    "unshare": ("", frozenset(), 0),
    "repeat": ("", frozenset(), 1),  # zsh: repeat N CMD
}  # fmt: skip
_CHDIR = {"env": ("-C", "--chdir"), "sudo": ("-D", "--chdir"), "run0": ("-D", "--chdir")}
_FEEDERS = ("xargs", "parallel")  # run a command on each line they read
_ARGUMENTS = {":::", ":::+", "::::", "::::+"}  # parallel: the arguments, or files of them


def unwrap(
    words: list[str], found: list[str], moves: list[tuple[str, str]] | None = None
) -> tuple[list[str], bool]:
    """The command a line really runs: keywords, ``NAME=value`` assignments and wrappers
    (``sudo``, ``env``, ``nice``, ``timeout``, ``xargs``, ``command``, ``time``, ...) taken
    off; ``sudo`` and its kind are findings. ``watch CMD`` and ``flock FILE -c CMD`` come back
    as the ``sh -c CMD`` they run, GNU parallel without a command the ``sh`` running each
    of its arguments or lines. The flag says whether the arguments come from input
    (``xargs``, ``parallel``); ``moves`` gets the directories the wrappers run the command
    in (``env -C DIR``: ``("DIR", "env -C DIR")``), in order."""
    from_input = False
    i = 0
    while i < len(words):
        word = words[i]
        name = posixpath.basename(word)
        if word in _KEYWORDS or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", word, re.S):
            i += 1
        elif word == "coproc":  # coproc CMD, coproc NAME { CMD; }
            i += 2 if words[i + 2 : i + 3] == ["{"] else 1
        elif name == "watch" and not {"-x", "--exec"} & set(words[i + 1 :]):
            rest = skip_options(words, i + 1, *_WRAPPERS["watch"][:2])
            return ["sh", "-c", " ".join(words[rest:])], from_input  # run by sh -c
        elif name == "flock":
            rest = skip_options(words, i + 1, *_WRAPPERS["flock"][:2]) + 1  # the lock file
            rest = skip_options(words, rest, "wE", frozenset({"--wait", "--timeout"}))
            if words[rest - 1 : rest] in (["-c"], ["--command"]):
                return ["sh", "-c", *words[rest : rest + 1]], from_input
            i = rest
        elif name == "command" and any(
            w.startswith("-") and set(w[1:]) & {"v", "V"} for w in words[i + 1 : i + 2]
        ):
            return [], from_input  # command -v NAME: prints where NAME is, runs nothing
        elif name in _ROOT or name == "runuser":
            found.append(f"runs as root ({name})")
            if name in ("su", "runuser") and not {"-u", "--user"} & set(words[i + 1 :]):
                return words[i:], from_input  # su USER -c SCRIPT: scripts.inner_script reads it
            short, long, _ = _WRAPPERS.get(name, _WRAPPERS["sudo"])
            _chdir(name, words, i + 1, short, long, moves)
            i = skip_options(words, i + 1, short, long)
        elif name in _WRAPPERS:
            start = i
            short, long, positional = _WRAPPERS[name]
            _chdir(name, words, i + 1, short, long, moves)
            split = _split_string(words, i + 1) if name == "env" else None
            if split is not None:
                return unwrap(words[:i] + split, found, moves)
            i = skip_options(words, i + 1, short, long)
            i += positional
            from_input = from_input or name in ("xargs", "parallel")
            given = parallel_arguments(words[start:]) if name == "parallel" else []
            if name == "parallel":  # ::: ARGS are its input, not the command's words
                cut = next((j for j in range(i, len(words)) if words[j] in _ARGUMENTS), None)
                if i == cut or i == len(words):  # no command: each argument, or line, is one
                    run = "\n".join(words[start + at] for at, file in given if not file)
                    return (["sh"] if cut is None else ["sh", "-c", run]), from_input
                words = words[:cut]
            if name == "parallel" and re.search(r"[\s;&|<>]", "".join(words[i : i + 1])):
                return ["sh", "-c", *words[i:]], from_input  # a command line run by a shell
        else:
            return words[i:], from_input
    return [], from_input


def _chdir(
    name: str,
    words: list[str],
    i: int,
    short: str,
    long: frozenset[str],
    moves: list[tuple[str, str]] | None,
) -> None:
    """Add to ``moves`` the directories the wrapper ``name``, its options starting at
    ``words[i]``, runs its command in (``env -C DIR``, ``sudo --chdir=DIR``)."""
    if moves is None or name not in _CHDIR:
        return
    for value in option_values(words, i, short, long, set(_CHDIR[name])):
        moves.append((value, f"{name} {_CHDIR[name][0]} {value}"))


def _split_string(words: list[str], i: int) -> list[str] | None:
    """``env -S 'CMD ARGS' MORE``'s command as words (``CMD ARGS MORE``), or None without
    ``-S``."""
    while i < len(words) and words[i].startswith("-") and words[i] not in ("-", "--"):
        word = words[i]
        value: str | None = None
        if word in ("-S", "--split-string"):
            value = words[i + 1] if i + 1 < len(words) else ""
            i += 1
        elif word.startswith("--split-string="):
            value = word.split("=", 1)[1]
        elif word.startswith("-S") and not word.startswith("--"):
            value = word[2:]
        if value is not None:
            try:
                return shlex.split(live(value)) + words[i + 1 :]
            except ValueError:
                return ["env -S", "(unreadable)"]
        i += 2 if word in ("-u", "-C", "--unset", "--chdir") else 1
    return None


def fed_command(line: list[str], words: list[str]) -> list[str]:
    """The command ``words`` that ``xargs`` or ``parallel`` in ``line`` runs, with ``{}``
    standing for each line it reads: in place of its replace string (xargs's ``-I R``,
    ``-i``, ``--replace``; parallel's ``{}`` or ``-I R``), or after the command's words
    (at the end of parallel's command line run by a shell)."""
    options = feeder_options(line)
    if "parallel" in options:  # {1}, {2}: the argument of each ::: group
        words = [re.sub(r"\{\d+\}", "{}", w) for w in words]
    replace = options.get("I", ("{}" if "parallel" in options else None, -1))[0]
    if replace and any(replace in w for w in words):
        return [w.replace(replace, "{}") for w in words]
    if replace == "{}" and words[:2] == ["sh", "-c"] and len(words) == 3:
        return [*words[:2], words[2] + " {}"]  # parallel 'rm -f': the lines at its end
    return [*words, "{}"]


def parallel_arguments(line: list[str]) -> list[tuple[int, bool]]:
    """Where the arguments after GNU parallel's ``:::`` (and ``:::+``) are in ``line``, the
    words after its first ``:::`` on, with whether each names a file of them (``::::``); its
    input is not read then. Empty when there are none."""
    at = next((i for i, w in enumerate(line) if posixpath.basename(w) == "parallel"), None)
    if at is None:
        return []
    start = next((i for i in range(at + 1, len(line)) if line[i] in _ARGUMENTS), None)
    if start is None:
        return []
    found: list[tuple[int, bool]] = []
    files = False
    for index in range(start, len(line)):
        if line[index] in _ARGUMENTS:
            files = line[index].startswith("::::")
        else:
            found.append((index, files))
    return found


def feeder_options(line: list[str]) -> dict[str, tuple[str, int]]:
    """The options of the first ``xargs`` or ``parallel`` in ``line`` that say where its
    lines go and come from, with their value and the index in ``line`` of the word that
    holds the value (-1 when it is glued to a short option): ``I`` the replace string
    (xargs's ``-I R``, ``-i[R]``, ``--replace[=R]``), ``a`` the file read instead of the
    input (``-a FILE``, ``--arg-file FILE``, ``--arg-file=FILE``); the program's name is a
    key too."""
    at = next((i for i, w in enumerate(line) if posixpath.basename(w) in _FEEDERS), None)
    if at is None:
        return {}
    program = posixpath.basename(line[at])
    xargs = program == "xargs"
    short, long, _ = _WRAPPERS[program]
    found: dict[str, tuple[str, int]] = {program: (program, at)}
    i = at + 1
    while i < len(line) and line[i].startswith("-") and line[i] not in ("-", "--"):
        word = line[i]
        i += 1
        if word.startswith("--"):
            name, equals, value = word.partition("=")
            if name == "--replace" and xargs:
                found["I"] = (value if equals else "{}", -1)
            elif name == "--arg-file" and equals:
                found["a"] = (value, i - 1)  # --arg-file=<(…): the word is the value
            elif name in long and not equals:
                value, i = (line[i] if i < len(line) else ""), i + 1
                if name == "--arg-file":
                    found["a"] = (value, i - 1)
            continue
        for pos, letter in enumerate(word[1:], 1):
            rest = word[pos + 1 :]
            if xargs and letter in "iel":  # -i[R], -e[EOF], -l[N]: a value only in the word
                if letter == "i":
                    found["I"] = (rest or "{}", -1)
                break
            if letter in short:
                value, index = (rest, -1) if rest else (line[i] if i < len(line) else "", i)
                i += 0 if rest else 1
                if letter in "Ia":
                    found[letter] = (value, index)
                break
    return found
