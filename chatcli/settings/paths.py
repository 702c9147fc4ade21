"""Where chatcli reads its config and keeps its data: env first, then platformdirs.

Nothing else on disk is ever written. Directories are created 0700 and key-holding files 0600,
because the config may hold an API key and the database holds every conversation.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "chatcli"


def _absolute(path: str | Path) -> Path:
    """``path`` with ``~`` expanded, made absolute against the working directory once, here:
    a relative ``CHATCLI_HOME=./data`` or ``--config cfg.toml`` then works everywhere a path is
    used (``Path.as_uri`` refuses a relative one). Relative ``XDG_*`` values never get here:
    platformdirs ignores them, as the XDG spec asks."""
    return Path(os.path.abspath(Path(path).expanduser()))


def config_path(flag: str | None = None) -> tuple[Path, bool]:
    """The config file to use and whether it was named by ``--config`` (then it must exist)."""
    if flag:
        return _absolute(flag), True
    env = os.environ.get("CHATCLI_CONFIG")
    if env:
        return _absolute(env), False
    from platformdirs import user_config_dir

    return _absolute(user_config_dir(APP, appauthor=False)) / "config.toml", False


def data_dir() -> Path:
    """The directory holding ``chatcli.db`` and the REPL input history."""
    env = os.environ.get("CHATCLI_HOME")
    if env:
        return _absolute(env)
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
