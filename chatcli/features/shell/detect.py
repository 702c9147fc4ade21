"""Which shell and OS a generated command is for, and which program runs it.

The command must suit the shell the user types into, which is not always ``$SHELL`` (a zsh
user trying fish, a bash script calling ``$(chatcli cmd ...)``). So the order is: ``--shell``,
the ``shell`` config key, the nearest shell among the parent processes (wrappers such as
``env``, ``sudo`` or the Python interpreter skipped), ``$SHELL``, then ``sh``.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from chatcli.errors import UsageError
from chatcli.features.shell.names import ShellName

SHELLS = tuple(ShellName)
"""The shells chatcli writes commands for; others of the Bourne family count as ``sh``."""
_BOURNE = {"sh", "dash", "ash", "ksh", "mksh", "busybox", "posh", "yash"}
_PASS_THROUGH = {
    "python", "python3", "env", "sudo", "doas", "nice", "nohup", "time", "timeout", "uv",
    "pipx", "chatcli", "exec", "script", "xargs", "stdbuf",
}  # fmt: skip
"""Parents skipped while looking for the shell: the program that started chatcli for it."""
_ANCESTORS = 4


@dataclass(frozen=True)
class Shell:
    """The shell a command is written for (``name``, one of ``SHELLS``) and the program
    that runs it (``path``)."""

    name: str
    path: str
    os: str

    @property
    def posix(self) -> bool:
        """Whether the shell's syntax is the POSIX one (fish's is not)."""
        return self.name != "fish"


def family(program: str) -> str | None:
    """``bash``, ``zsh``, ``fish`` or ``sh`` for a shell program's name or path; None for
    anything else."""
    name = Path(program).name.lstrip("-").lower()  # a login shell's argv[0] is "-bash"
    if name.endswith(".exe"):
        name = name[:-4]
    base = name.rstrip("0123456789.")  # bash5, python3.12
    if base in ("bash", "zsh", "fish"):
        return base
    if base in _BOURNE or name in _BOURNE:
        return "sh"
    return None


def detect(override: str | None = None) -> Shell:
    """The shell and OS to write for: ``override`` (``--shell`` or the config's ``shell``,
    a name or a path), else the parent processes, ``$SHELL``, ``sh``."""
    system = os_name()
    if override:
        name = family(override)
        if name is None:
            raise UsageError(f"unknown shell {override!r}", hint=f"use one of {', '.join(SHELLS)}")
        path = override if "/" in override else shutil.which(override) or _program(name)
        return Shell(name, path, system)
    for program in _parent_programs():
        name = family(program)
        if name is not None:
            return Shell(name, _usable(program, name), system)
    login = os.environ.get("SHELL", "")
    name = family(login) if login else None
    if name is not None:
        return Shell(name, login, system)
    return Shell("sh", _program("sh"), system)


def os_name() -> str:
    """The OS as a model knows it: ``macOS``, ``Linux (Debian GNU/Linux 12)``, ``FreeBSD``."""
    system = platform.system()
    if system == "Darwin":
        version = platform.mac_ver()[0]
        return f"macOS {version}".strip()
    if system == "Linux":
        pretty = _os_release().get("PRETTY_NAME")
        return f"Linux ({pretty})" if pretty else "Linux"
    return system or "Unix"


def _os_release() -> dict[str, str]:
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip("\"'")
    return fields


def _program(name: str) -> str:
    return shutil.which(name) or f"/bin/{name}"


def _usable(program: str, name: str) -> str:
    """A path to run the shell a parent process was (its executable, else by name)."""
    if "/" in program and os.access(program, os.X_OK):
        return program
    return _program(name)


def _parent_programs() -> list[str]:
    """Executables of the nearest ancestors, skipping the wrappers that started chatcli and
    stopping at the first program that is neither a wrapper nor a shell."""
    found: list[str] = []
    pid = os.getppid()
    for _ in range(_ANCESTORS):
        if pid <= 1:
            break
        facts = _process(pid)
        if facts is None:
            break
        program, parent = facts
        found.append(program)
        if family(program) is not None:
            break
        base = Path(program).name.lower().rstrip("0123456789.")
        if base not in _PASS_THROUGH:
            break
        pid = parent
    return found


def _process(pid: int) -> tuple[str, int] | None:
    """(executable path or name, parent pid) of ``pid``: from /proc, or ``ps`` (macOS)."""
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            stat = (proc / "stat").read_text()
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            return None
        try:
            program = os.readlink(proc / "exe")
        except OSError:
            program = stat[stat.index("(") + 1 : stat.rindex(")")]
        return program, parent
    try:
        out = subprocess.run(
            ["ps", "-o", "ppid=,comm=", "-p", str(pid)],
            capture_output=True, text=True, timeout=2, check=False,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    ppid, _, program = out.partition(" ")
    try:
        return program.strip(), int(ppid)
    except ValueError:
        return None
