"""What a path is, for the rules: broad, a system directory, a disk, the user's set-up.

Read from the text alone (``~`` and ``$HOME`` are the user's home, ``..`` is resolved; no
file is looked at): the command has not run, and a path that does not exist yet may be made.
"""

from __future__ import annotations

import os
import posixpath
import re

_SYSTEM_DIRS = (
    "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/opt",
    "/var", "/sys", "/proc", "/root", "/srv", "/System", "/Library", "/private/etc",
    "/private/var",
)  # fmt: skip
_NOT_SYSTEM = ("/var/tmp", "/var/folders", "/private/var/folders", "/private/tmp")
DISK = re.compile(r"^/dev/(sd|hd|vd|xvd|nvme|mmcblk|disk|rdisk|md|dm-|mapper/|loop|sr)[\w/-]*$")
EVERYTHING = {"*", ".*", "*.*", ".[!.]*", ".[^.]*", "..?*", ".??*", "{*,.*}"}
_STARTUP = {
    ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zshenv",
    ".zprofile", ".zlogin", ".zlogout", ".kshrc", ".mkshrc", ".xprofile", ".xinitrc",
    ".xsessionrc", ".config/fish/config.fish",
}  # fmt: skip
_SSH_KEYS = {".ssh/authorized_keys", ".ssh/authorized_keys2"}
_BRACE = re.compile(r"\{([^{}]*,[^{}]*)\}")


def expand(path: str) -> str:
    """``path`` with ``~`` made the home directory, normalized (``a/../b`` -> ``b``,
    ``//etc`` -> ``/etc``) without looking at the file system."""
    home = os.path.expanduser("~")
    if path == "~" or path.startswith("~/"):
        path = home + path[1:]
    if not path:
        return path
    full = posixpath.normpath(path)
    return "/" + full.lstrip("/") if full.startswith("//") else full  # "//etc" is "/etc"


def in_home(path: str) -> str | None:
    """``path`` relative to the home directory ("" for the home itself), or None outside it."""
    full = expand(re.sub(r"^(\$HOME|\$\{HOME\})(?=/|$)", "~", path))
    home = expand("~")
    if full == home:
        return ""
    if home != "/" and full.startswith(home + "/"):
        return full[len(home) + 1 :]
    return None


def broad(path: str) -> str | None:
    """Why deleting everything under ``path`` would be a disaster, or None."""
    if not path:
        return None
    path = re.sub(r"^(\$HOME|\$\{HOME\})(?=/|$)", "~", path)  # set in every login
    if "$(" in path:
        return "a path made by a command's output, which may be anything"
    if path.startswith("$") or "${" in path:
        return "a path built from a variable: empty or unset, it becomes another path"
    if path in (".", "./") or path in EVERYTHING:
        return "the whole current directory"
    if path in ("..", "../") or path.startswith("../"):
        return "a parent directory"
    if re.fullmatch(r"~[\w.-]+/?", path):
        return "a home directory"  # ~root, ~bob
    full = expand(path)
    if posixpath.basename(full) in EVERYTHING:  # dir/* and the like: all of dir
        full = posixpath.dirname(full) or "."
        if full == ".":
            return "the whole current directory"
    home = expand("~")
    if full == "/":
        return "the root of the file system"
    if full in (home, posixpath.dirname(home)):
        return "a home directory"
    if full.startswith("/") and full.count("/") == 1:
        return "a top-level directory"
    if system(full):
        return "a system directory"
    return None


def system(path: str) -> bool:
    """Whether ``path`` is in a system directory (never inside the user's home, even when
    that is /root)."""
    full = expand(path)
    home = expand("~")
    if home != "/" and (full == home or full.startswith(home + "/")):
        return False
    if any(full == d or full.startswith(d + "/") for d in _NOT_SYSTEM):
        return False
    return any(full == d or full.startswith(d + "/") for d in _SYSTEM_DIRS)


def setup_file(path: str) -> str | None:
    """What ``path`` is, when it is a file of the user's set-up that would be lost if
    overwritten: a hidden file right in the home directory, anything in ~/.ssh or ~/.gnupg
    (keys, who may log in), fish's start-up files."""
    rel = in_home(path)
    if not rel:
        return None
    if rel == ".ssh" or rel.startswith(".ssh/"):
        return "part of the user's SSH set-up (keys, who may log in)"
    if rel == ".gnupg" or rel.startswith(".gnupg/"):
        return "part of the user's GnuPG keys"
    if (rel in _STARTUP and "/" in rel) or rel.startswith(".config/fish/conf.d/"):
        return "a shell start-up file"
    if rel.startswith(".") and "/" not in rel:
        return "a configuration file in the home directory"
    return None


def startup_file(path: str) -> str | None:
    """Why a change to ``path`` outlives the command, when something runs what it holds: a
    shell's start-up files, sshd's ``authorized_keys`` and ``rc``."""
    rel = in_home(path)
    if rel in _STARTUP or (rel or "").startswith(".config/fish/conf.d/"):
        return "a shell start-up file: what it holds runs in every new shell"
    if rel in _SSH_KEYS:
        return "the keys in it may log in as this user"
    if rel in (".ssh/rc", ".ssh/environment"):
        return "sshd reads it at every login"
    return None


def braces(word: str) -> list[str]:
    """``word`` with its ``{a,b}`` brace expansions made, as the shell does before running
    the command (``/{etc,usr}`` -> ``/etc``, ``/usr``; ``{/,}`` -> ``/``, ``""``). One group
    is expanded whole at a time; past a few hundred words the rest stay unexpanded."""
    words = [word]
    while len(words) <= 256:
        expanded: list[str] = []
        for item in words:
            match = None if item in EVERYTHING else _BRACE.search(item)
            if match is None:
                expanded.append(item)
            else:
                expanded.extend(
                    item[: match.start()] + part + item[match.end() :]
                    for part in match.group(1).split(",")
                )
        if expanded == words:
            break
        words = expanded
    return words
