"""Appending an executed command to the shell's history file (``save_history``), so Up finds it.

Each shell has its own file and format: bash one line per command (a ``#EPOCH`` line before it
when the file already carries timestamps), zsh ``: EPOCH:0;COMMAND`` when the file uses
EXTENDED_HISTORY (lines of a multi-line command joined with a backslash, non-ASCII bytes
"metafied" as zsh stores them), fish ``- cmd: ...`` / ``  when: ...`` entries with ``\\`` and
newlines escaped. The entry is written with one ``O_APPEND`` write, so a shell writing at the
same time cannot interleave with it. A running shell reads the file again only when told
(``history -n``, ``fc -RI``, ``history merge``) or with shared history on.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from chatcli.errors import ChatcliError
from chatcli.features.shell.detect import Shell

_TAIL = 4096
_ZSH_META = 0x83


def history_file(shell: Shell, setting: bool | str) -> Path | None:
    """Where ``shell`` keeps its history: ``setting`` when it is a path, else the shell's own
    default (None for ``sh``, which keeps none)."""
    if isinstance(setting, str):
        return Path(setting).expanduser()
    home = Path.home()
    exported = os.environ.get("HISTFILE")
    if shell.name == "bash":
        return Path(exported) if exported else home / ".bash_history"
    if shell.name == "zsh":
        zdotdir = Path(os.environ.get("ZDOTDIR") or home)
        return Path(exported) if exported else zdotdir / ".zsh_history"
    if shell.name == "fish":
        data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
        return data / "fish" / "fish_history"
    return None


def append(command: str, shell: Shell, setting: bool | str, when: float | None = None) -> Path:
    """Append ``command`` to ``shell``'s history file; the file written."""
    path = history_file(shell, setting)
    if path is None:
        raise ChatcliError(
            f"{shell.name} keeps no history file",
            hint='set save_history = "PATH" to name one, or save_history = false',
        )
    stamp = int(time.time() if when is None else when)
    tail = _tail(path)
    if shell.name == "fish":
        data = _fish(command, stamp)
    elif shell.name == "zsh":
        data = _zsh(command, stamp, extended=bool(re.search(rb"(^|\n): \d+:\d+;", tail)))
    else:
        data = _bash(command, stamp, stamped=bool(re.search(rb"(^|\n)#\d{9,}\n", tail)))
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if tail and not tail.endswith(b"\n"):
                data = b"\n" + data
            os.write(fd, data)
        finally:
            os.close(fd)
    except OSError as exc:
        raise ChatcliError(f"cannot add the command to {path}: {exc.strerror or exc}") from None
    return path


def _tail(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - _TAIL))
            return fh.read()
    except OSError:
        return b""


def _bash(command: str, stamp: int, *, stamped: bool) -> bytes:
    entry = command.encode("utf-8") + b"\n"
    return (f"#{stamp}\n".encode() if stamped else b"") + entry


def _zsh(command: str, stamp: int, *, extended: bool) -> bytes:
    body = _metafy(command.replace("\n", "\\\n").encode("utf-8"))
    return (f": {stamp}:0;".encode() if extended else b"") + body + b"\n"


def _metafy(data: bytes) -> bytes:
    """zsh's on-disk form: NUL and the bytes 0x83-0xa2 become 0x83 then the byte XOR 32."""
    out = bytearray()
    for byte in data:
        if byte == 0 or _ZSH_META <= byte <= 0xA2:
            out += bytes((_ZSH_META, byte ^ 32))
        else:
            out.append(byte)
    return bytes(out)


def _fish(command: str, stamp: int) -> bytes:
    escaped = command.replace("\\", "\\\\").replace("\n", "\\n")
    return f"- cmd: {escaped}\n  when: {stamp}\n".encode()
