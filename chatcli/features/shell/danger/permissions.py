"""The rule for programs that change who may do what with a file: ``chmod``, ``chown``,
``chgrp``, ``setfacl``, ``chattr``; recursive on a broad path, or on a system file."""

from __future__ import annotations

import posixpath
import re

from chatcli.features.shell.danger.options import split_flags
from chatcli.features.shell.danger.paths import braces, broad_here, expand, system

CHANGES = {"chmod": "permissions", "chown": "owner", "chgrp": "group", "setfacl": "permissions",
            "chattr": "attributes"}  # fmt: skip


def change(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """chmod, chown, chgrp, setfacl, chattr: recursive (the flag anywhere) on a broad path,
    or on anything in a system directory (``chmod u+s /bin/bash``). The current directory
    counts as broad when it is: where a ``cd`` before the command went, or where chatcli
    runs (the command runs there); one not known counts."""
    program = posixpath.basename(words[0])
    args = words[1:]
    if program == "chmod":  # a mode such as -w or -rwx is an operand, not options
        args = ["mode" if re.fullmatch(r"-[rwxXst]+", w) else w for w in args]
    values = {"setfacl": "mMxX", "chattr": "pv"}.get(program, "")
    flags, operands = split_flags(args, values)
    if program in ("chmod", "chown", "chgrp") and "--reference" not in flags:
        operands = operands[1:]  # the mode, the owner or the group
    elif program == "chattr":
        operands = [o for o in operands if not o.startswith(("+", "="))]
    recursive = bool(flags & {"R", "--recursive"})
    for target in operands:
        paths = braces(target)
        why = next(filter(None, map(broad_here, paths)), None) if recursive else None
        if why:
            found.append(f"{program} -R on {target}: {why}")
        elif any(system(p) or expand(p) == "/" for p in paths):
            found.append(f"{program} changes the {CHANGES[program]} of a system file ({target})")
