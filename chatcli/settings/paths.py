"""Where chatcli reads its config and keeps its data: env first, then platformdirs.

Nothing else on disk is ever written. Directories are created 0700 and key-holding files 0600,
because the config may hold an API key and the database holds every conversation.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

APP = "chatcli"


def expand(path: str | Path) -> Path:
    """``path`` with a leading ``~`` or ``~user`` expanded, the one way every path argument is
    (``/file``, ``--schema``, ``--config``, ``CHATCLI_HOME``...). A ``~user`` naming no user is
    left as typed, as a shell leaves it: it then names no file, a plain "no such file" error,
    where ``Path.expanduser`` raises ``RuntimeError``."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        return Path(path)


def exists(path: str | Path, *, follow: bool = True) -> bool:
    """Whether ``path`` names something, False for a name the system refuses (too long, a NUL)
    instead of the ``OSError`` ``Path.exists`` raises; ``follow=False`` counts a dangling
    symlink too."""
    return os.path.exists(path) if follow else os.path.lexists(path)


def _absolute(path: str | Path, named_by: str | None = None) -> Path:
    """``path`` with ``~`` expanded, made absolute against the working directory once, here:
    a relative ``CHATCLI_HOME=./data`` or ``--config cfg.toml`` then works everywhere a path is
    used (``Path.as_uri`` refuses a relative one). Relative ``XDG_*`` values never get here:
    platformdirs ignores them, as the XDG spec asks. A ``~user`` naming no user in an
    environment variable (``named_by``) is a ConfigError: taken as typed it would be a folder
    ``~user`` made in whatever directory chatcli runs in."""
    expanded = expand(path)
    if named_by and str(expanded).startswith("~"):
        from chatcli.errors import ConfigError

        user = str(expanded).split("/", 1)[0]
        raise ConfigError(
            f"{named_by}={path}: {user} names no user on this system",
            hint=f"set {named_by} to an absolute path",
        )
    return Path(os.path.abspath(expanded))


_CONFIGS: set[Path] = set()
"""Every config file this process was told to use (``own_files``)."""


def config_path(flag: str | None = None) -> tuple[Path, bool]:
    """The config file to use and whether it was named by ``--config`` (then it must exist)."""
    if flag:
        path, named = _absolute(flag), True
    elif env := os.environ.get("CHATCLI_CONFIG"):
        path, named = _absolute(env, "CHATCLI_CONFIG"), False
    else:
        from platformdirs import user_config_dir

        path, named = _absolute(user_config_dir(APP, appauthor=False)) / "config.toml", False
    _CONFIGS.add(path)
    return path, named


OWN_DATA = ("chatcli.db", "chatcli.db-wal", "chatcli.db-shm", "chatcli.db-journal", "history")
"""The files of the data dir chatcli keeps (with the recovery journal's ``recovery.jsonl*``)."""


def own_files() -> set[Path]:
    """chatcli's own files, as real paths: the database and its companions, the recovery
    journal, the input history, and the config files in use. An output file (``-o``) is never
    one of them: ``sessions export NAME -o .../chatcli.db`` would replace every session."""
    folder = data_dir()
    found = {folder / name for name in OWN_DATA}
    with contextlib.suppress(OSError):
        found.update(folder.glob("recovery.jsonl*"))
    found.update(_CONFIGS)
    found.add(config_path()[0])
    return {Path(os.path.realpath(p)) for p in found}


def data_dir() -> Path:
    """The directory holding ``chatcli.db`` and the REPL input history."""
    env = os.environ.get("CHATCLI_HOME")
    if env:
        return _absolute(env, "CHATCLI_HOME")
    from platformdirs import user_data_dir

    return _absolute(user_data_dir(APP, appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` and each missing parent readable by the owner only (0700 whatever the
    umask: ``mkdir -p`` would give the parents the umask's mode); existing ones are left as
    they are."""
    missing: list[Path] = []
    folder = path
    while not folder.is_dir() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            if not folder.is_dir():
                raise
            continue  # another process made it first: its mode is its own
        folder.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` atomically to a 0600 file, so a crash never leaves half a config. A
    symlink (a config kept in a dotfiles repository) is followed: the file it points to is
    replaced and the link stays."""
    path = Path(os.path.realpath(path))
    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
