"""What a path is, for the rules: broad, a system directory, a disk, the user's set-up.

Read from the text alone (``~`` and ``$HOME`` are the user's home, ``~+`` and ``$PWD`` the
current directory, ``..`` is resolved; no file is looked at): the command has not run, and a
path that does not exist yet may be made. A relative path is read from where a ``cd`` earlier
in the text went (workdir.py).
"""

from __future__ import annotations

import posixpath
import re

from chatcli.features.shell.danger import workdir

_SYSTEM_DIRS = (
    "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/opt",
    "/var", "/sys", "/proc", "/root", "/srv", "/System", "/Library", "/private/etc",
    "/private/var",
)  # fmt: skip
_NOT_SYSTEM = ("/var/tmp", "/var/folders", "/private/var/folders", "/private/tmp")
DISK = re.compile(r"^/dev/(sd|hd|vd|xvd|nvme|mmcblk|disk|rdisk|md|dm-|mapper/|loop|sr)[\w/-]*$")
EVERYTHING = {"*", "**", ".*", "*.*", ".[!.]*", ".[^.]*", "..?*", ".??*", "{*,.*}"}
_STARTUP = {
    ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zshenv",
    ".zprofile", ".zlogin", ".zlogout", ".kshrc", ".mkshrc", ".xprofile", ".xinitrc",
    ".xsessionrc", ".config/fish/config.fish",
}  # fmt: skip
_SSH_KEYS = {".ssh/authorized_keys", ".ssh/authorized_keys2"}
_BRACE = re.compile(r"\{([^{}]*,[^{}]*)\}")
_CURRENT = re.compile(r"^(~\+|\$PWD|\$\{PWD\})(?=/|$)")  # the current directory, spelt otherwise
WHOLE = "the whole current directory"
ROOT, HOME, TOP = "the root of the file system", "a home directory", "a top-level directory"


def spelled(path: str) -> str:
    """``path`` with the other spellings of the home and the current directory made ``~``
    and ``.`` (``$HOME/x`` -> ``~/x``, ``~+/x`` and ``$PWD/x`` -> ``./x``)."""
    return _CURRENT.sub(".", workdir.HOME_VARIABLE.sub("~", path))


def expand(path: str) -> str:
    """``path`` with ``~`` made the home directory, a relative path joined to where a ``cd``
    before it went, normalized (``a/../b`` -> ``b``, ``//etc`` -> ``/etc``) without looking
    at the file system."""
    path = spelled(path)
    if path == "~" or path.startswith("~/"):
        path = workdir.home() + path[1:]
    if not path:
        return path
    full = posixpath.normpath(workdir.resolve(path))
    return "/" + full.lstrip("/") if full.startswith("//") else full  # "//etc" is "/etc"


def in_home(path: str) -> str | None:
    """``path`` relative to the home directory ("" for the home itself), or None outside it."""
    full = expand(path)
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
    path = spelled(path)
    if "$(" in path:
        return "a path made by a command's output, which may be anything"
    if path.startswith("$") or "${" in path:
        return "a path built from a variable: empty or unset, it becomes another path"
    if path in (".", "./") or path in EVERYTHING:
        return _whole()
    if path in ("..", "../") or path.startswith("../"):
        return "a parent directory"
    if path == "~-" or path.startswith("~-/"):
        return "the previous directory ($OLDPWD), not known before the command runs"
    if re.fullmatch(r"~[\w.-]+/?", path):
        return HOME  # ~root, ~bob
    full = expand(path)
    if posixpath.basename(full) in EVERYTHING:  # dir/* and the like: all of dir
        full = posixpath.dirname(full) or "."
        if full == ".":
            return _whole()
    home = expand("~")
    if full == "/":
        return ROOT
    if full in (home, posixpath.dirname(home)):
        return HOME
    if full.startswith("/") and full.count("/") == 1:
        return TOP
    if system(full):
        return "a system directory"
    return None


def broad_files(path: str) -> str | None:
    """Why deleting what ``path`` names is a disaster even without ``-r``: every file of a
    broad directory (``~/*``, ``/*``, ``~+/*``, ``../*`` from a project's top; ``*`` where the
    current directory is broad itself, as ``here_broad`` judges), or the root, a home or a
    top-level directory itself. A path made at run time is not judged (``rm "$f"`` is how a
    loop deletes its one file), nor a relative one after a ``cd`` to a place not known."""
    path = spelled(path)
    if re.search(r"[$`(]", path):
        return None
    directory = path
    while posixpath.basename(directory.rstrip("/")) in EVERYTHING:
        directory = posixpath.dirname(directory.rstrip("/")) or "."
    if directory == path:
        why = broad(path)
        return why if why in (ROOT, HOME, TOP) else None
    if directory in (".", "./"):
        return here_broad()
    full = expand(directory)
    if not full.startswith(("/", "~")):
        base = workdir.start()
        if workdir.here().path is None or base is None:
            return None
        full = posixpath.normpath(posixpath.join(base, full))
    return broad(full)


def _whole() -> str:
    """Why ``.`` (or ``*``) is broad: all of the current directory, wherever that is; where a
    ``cd`` before it went, or that it is not known, is said."""
    here = workdir.here()
    if here.path is None:
        return f"{WHOLE}, not known before the command runs (after {here.how})"
    if here.path == ".":
        return WHOLE
    why = broad(here.path) if here.path.startswith("/") else None
    return f"{WHOLE} (after {here.how}{': ' + why if why else ''})"


def after() -> str:
    """Where a ``cd`` (or ``env -C``, ``git -C``) before the command went, and why that is
    broad, for a finding about the whole directory a command works in: "" where the text
    starts, so ``git clean -f`` in a project reads as it always did."""
    here = workdir.here()
    if here.path == ".":
        return ""
    if here.path is None:
        return f" (in a directory not known before the command runs, after {here.how})"
    why = broad(here.path) if here.path.startswith("/") else None
    return f" (after {here.how}{': ' + why if why else ''})"


def broad_here(path: str) -> str | None:
    """Why changing everything under ``path`` would be a disaster, ``.`` (and ``*``) counting
    only when the current directory is broad itself (``here_broad``)."""
    why = broad(path)
    return here_broad() if why is not None and why.startswith(WHOLE) else why


def here_broad() -> str | None:
    """Why the current directory itself is broad, for the rules that count ``.`` only when it
    is (``chmod -R .`` in a project is fine): judged where a ``cd`` before the command went
    or, without one, where chatcli runs; a directory not known counts."""
    here = workdir.here()
    base = workdir.start()
    if here.path is None or (base is None and not here.path.startswith("/")):
        how = f"after {here.how}" if here.path is None else "chatcli's own is gone"
        return f"the current directory, not known before the command runs ({how})"
    where = posixpath.normpath(posixpath.join(base or "/", here.path))
    why = broad(where)
    if why is None:
        return None
    return f"{why} (the current directory{'' if here.path == '.' else ' after ' + here.how})"


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
