"""The rule for programs that write the files they are named: ``tee``, ``truncate``,
``sed -i`` (and ``perl -i``, ``ruby -i``, which edit in place as it does), ``cp``, ``mv``,
``install``, ``ln``, ``rsync``; into a system directory, onto a disk, over the user's set-up,
over every file of a broad directory (``truncate -s0 ~/*``, or ``"$f"`` of a loop over
``find ~``: ``~/**``), or onto the end of each (``tee -a``) (a redirection, ``>``, is
checked in check.py, with ``every_file``)."""

from __future__ import annotations

import posixpath

from chatcli.features.shell.danger import interpreters
from chatcli.features.shell.danger.options import split_flags
from chatcli.features.shell.danger.paths import (
    DISK,
    EVERYTHING,
    broad,
    broad_here,
    expand,
    in_home,
    setup_file,
    system,
)

_VALUES: dict[str, tuple[str, frozenset[str]]] = {  # options taking a value, short and long
    "cp": ("tS", frozenset({"--target-directory", "--suffix"})),
    "mv": ("tS", frozenset({"--target-directory", "--suffix"})),
    "ln": ("tS", frozenset({"--target-directory", "--suffix"})),
    "install": ("tSmogC", frozenset({"--target-directory", "--suffix", "--mode", "--owner",
                                     "--group"})),
    "rsync": ("efTB", frozenset({"--rsh", "--filter", "--temp-dir", "--exclude", "--include",
                                 "--block-size"})),
    "truncate": ("sr", frozenset({"--size", "--reference"})),
}  # fmt: skip
_OVERWRITES = {"mv": "mv replaces", "ln": "ln -f replaces", "truncate": "truncate cuts",
               "sed": "sed -i rewrites", "perl": "perl -i rewrites",
               "ruby": "ruby -i rewrites"}  # fmt: skip
_IN_PLACE = {"truncate", "sed", "perl", "ruby"}  # rewrite the files they are given
_EDITS = {"sed", "perl", "ruby"}  # edit them: a project's own files are theirs to edit
_VERBS = {"truncate": "cuts", "sed": "rewrites", "perl": "rewrites", "ruby": "rewrites",
          "mv": "replaces", "ln": "replaces"}  # fmt: skip
_DIRECTORIES = {"", ".ssh", ".gnupg", ".config", ".local"}  # dotted names that are folders


def copy_into(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """Programs that write files they are given: tee, truncate, sed -i, perl -i, ruby -i,
    cp, mv, install, ln, rsync; into a system directory, onto a disk, over the user's set-up
    (a backup, ``sed -i.bak``, keeps the set-up, not the system's files, from a change)."""
    program = posixpath.basename(words[0])
    values, long = _VALUES.get(program, ("", frozenset()))
    flags, operands = split_flags(words[1:], values, long)
    into = _option_value(words[1:], values) if program in ("cp", "mv", "ln", "install") else None
    kept = False  # a backup of each file rewritten in place
    if program in ("tee", "truncate"):
        targets = operands
    elif program == "sed":
        targets, kept = _sed_files(words[1:])
    elif program in ("perl", "ruby"):
        line = interpreters.read(program, words)
        targets, kept = line.files, line.backup
    elif into is not None:
        targets = [into]
    else:
        targets = operands[-1:] if len(operands) > 1 else []
    if program == "rsync" and any(f.startswith("--delete") for f in flags):
        why = broad(targets[0]) if targets else None
        if why:
            found.append(f"rsync --delete on {targets[0]}: {why}")
    if program == "mv":
        for source in operands[:-1]:
            why = broad_here(source) if expand(source).startswith("/") else None
            if why and source != "/dev/null":
                found.append(f"mv moves {source} away: {why}")
    for target in targets:
        if program == "mv" and target == "/dev/null":
            found.append("mv into /dev/null: what is moved is lost")
        elif DISK.match(target):
            found.append(f"{program} writes onto the disk device {target}")
        elif system(target):
            found.append(f"{program} writes into a system directory ({target})")
    if program == "tee" and flags & {"a", "--append"}:
        for target in targets:
            why = every_file(target, here=True)
            if why:
                found.append(f"tee -a appends to every file {spread(target)}: {why}")
    for path in _overwritten(program, flags, operands, targets, into, kept):
        dotfile = setup_file(path)
        if dotfile:
            verb = _OVERWRITES.get(program, f"{program} overwrites")
            found.append(f"{verb} {path}, {dotfile}")
        why = every_file(path, here=program in _EDITS) if path in targets else None
        if why:
            name = f"{program} -i" if program in _EDITS else program
            verb = _VERBS.get(program, "overwrites")
            found.append(f"{name} {verb} every file {spread(path)}: {why}")


def every_file(path: str, here: bool = False) -> str | None:
    """Why writing over each file ``path`` names loses the files of a broad directory: it is
    every file of one (``~/*``, ``*``, ``/etc/.*``, ``~/**``: every path under ``~``, what a
    loop over ``find ~`` writes), judged as ``rm -f`` judges it (``*`` anywhere); ``here``:
    as an edit in place (``sed -i``) is, ``.`` and ``*`` only where the current directory
    is broad itself."""
    if posixpath.basename(path.rstrip("/")) not in EVERYTHING:
        return None
    return broad_here(path) if here else broad(path)


def spread(path: str) -> str:
    """Where the files ``path`` names are, for a finding: ``under ~`` for ``~/**``, ``in
    ~/*``."""
    return f"under {path[:-3] or '/'}" if path.endswith("/**") else f"in {path}"


def _option_value(words: list[str], takes_value: str) -> str | None:
    """The directory of cp's, mv's, ln's or install's ``-t DIR`` (``-tDIR``, ``-rt DIR``,
    ``--target-directory DIR`` or ``=DIR``), or None."""
    for index, word in enumerate(words):
        if word == "--":
            break
        if word == "--target-directory":
            return words[index + 1] if index + 1 < len(words) else None
        if word.startswith("--target-directory="):
            return word.split("=", 1)[1]
        if word.startswith("-") and not word.startswith("--"):
            for at, letter in enumerate(word[1:], 1):
                if letter == "t":
                    rest = word[at + 1 :]
                    return rest or (words[index + 1] if index + 1 < len(words) else None)
                if letter in takes_value:
                    break  # the rest of the word is that option's value
    return None


def _overwritten(
    program: str,
    flags: set[str],
    operands: list[str],
    targets: list[str],
    into: str | None,
    kept: bool,
) -> list[str]:
    """The files a write replaces: the target, or ``DIR/NAME`` of each source copied into a
    directory; none when the program keeps what is there (``-n``, ``--backup``, ``ln``
    without ``-f``, ``tee -a``, ``sed -i.bak`` (``kept``), ``install -d``)."""
    if program == "tee":
        return [] if flags & {"a", "--append"} else targets
    if program in _IN_PLACE:
        return [] if kept else targets
    keeps = {"n", "--no-clobber", "b", "--backup", "--dry-run", "d", "--directory"}
    if flags & keeps or (program == "ln" and not flags & {"f", "--force"}):
        return []
    sources = operands if into is not None else operands[:-1]
    paths: list[str] = []
    for target in targets:
        folder = into is not None or target.endswith("/") or len(sources) > 1
        if folder or in_home(target.rstrip("/")) in _DIRECTORIES:
            paths.extend(posixpath.join(target, posixpath.basename(s.rstrip("/"))) for s in sources)
        else:
            paths.append(target)
    return paths


def _sed_files(args: list[str]) -> tuple[list[str], bool]:
    """The files ``sed -i`` rewrites, its operands after the script (the first operand,
    unless ``-e`` or ``-f`` gave it), and whether it keeps a backup of each (``-i.bak``)."""
    in_place = backup = script_given = False
    operands: list[str] = []
    skip = False
    for word in args:
        if skip:
            skip = False
        elif word.startswith("--in-place"):
            in_place, backup = True, "=" in word and word.split("=", 1)[1] != ""
        elif word in ("--expression", "--file") or word.startswith(("--expression=", "--file=")):
            script_given, skip = True, "=" not in word
        elif word.startswith("-") and not word.startswith("--") and word != "-":
            for at, letter in enumerate(word[1:], 1):
                if letter == "i":
                    in_place, backup = True, at < len(word) - 1
                    break
                if letter in "efl":
                    script_given = script_given or letter != "l"
                    skip = at == len(word) - 1
                    break
        elif not word.startswith("--"):
            operands.append(word)
    if not in_place:
        return [], False
    return (operands if script_given else operands[1:]), backup
