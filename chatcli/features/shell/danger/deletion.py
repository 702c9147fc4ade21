"""Rules for programs that erase: ``rm`` on a broad path, a system file or the user's set-up,
and the disk tools (``dd``, ``shred``, ``mkfs``, ``wipefs``, partitioning, ``diskutil``)."""

from __future__ import annotations

import posixpath

from chatcli.features.shell.danger.options import split_flags
from chatcli.features.shell.danger.paths import (
    DISK,
    braces,
    broad,
    in_home,
    setup_file,
    startup_file,
    system,
)


def rm(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """rm and unlink: recursive or forced on a broad path, on every path read from input
    (``xargs rm -rf``); any deletion in a system directory or of the user's keys and start-up
    files. Brace expansions are made first (``/{etc,usr}``)."""
    flags, targets = split_flags(words[1:])
    recursive = bool(flags & {"r", "R", "--recursive"})
    force = bool(flags & {"f", "--force"})
    shown = "rm " + " ".join(w for w in words[1:] if w.startswith("-"))
    if "--no-preserve-root" in flags:
        found.append("rm --no-preserve-root: may delete the whole file system")
    if (recursive or force) and from_input:
        found.append(f"{shown.strip()} on every path it reads from input")
    for target in targets:
        paths = braces(target)
        why = next(filter(None, map(broad, paths)), None) if recursive or force else None
        precious = next(filter(None, map(_precious, paths)), None)
        if why:
            found.append(f"{shown.strip()} on {target}: {why}")
        elif any(map(system, paths)):
            found.append(f"deletes in a system directory ({target})")
        elif precious:
            found.append(f"deletes {target}, {precious}")


def _precious(path: str) -> str | None:
    """Why deleting ``path`` loses the user's set-up (keys, start-up files, every
    application's settings), or None; ~/.ssh/known_hosts and caches are not precious."""
    rel = in_home(path)
    if rel is None:
        return None
    rel = rel.rstrip("/")
    if rel.startswith(".ssh/") and posixpath.basename(rel).startswith("known_hosts"):
        return None
    if rel in (".config", ".local", ".local/share"):
        return "where applications keep their settings and data"
    if rel in (".ssh", ".gnupg") or rel.startswith((".ssh/", ".gnupg/")) or startup_file(path):
        return setup_file(path)
    return None


def dd(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """dd of=TARGET: raw data over a file or a disk."""
    target = next((w[3:] for w in words[1:] if w.startswith("of=")), None)
    if target is not None:
        where = "the disk device " if DISK.match(target) else ""
        found.append(f"dd overwrites {where}{target} with raw data")


def shred(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """shred: overwriting is what it is for."""
    found.append("shred overwrites files so they cannot be recovered")


def mkfs(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """mkfs and its kind: formatting erases what is on the device."""
    found.append(f"{posixpath.basename(words[0])} formats a file system (erases what is on it)")


def wipefs(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """wipefs -a or -o erases file system signatures; without them it only lists them."""
    flags, _ = split_flags(words[1:], "otp", frozenset({"--offset", "--types", "--backup"}))
    if flags & {"a", "--all", "o", "--offset"}:  # without them it lists the signatures
        found.append("wipefs erases file system signatures")


_READ_ONLY = {  # the options with which a partitioning tool only shows the partitions
    "fdisk": {"l", "--list", "s", "--getsz"},
    "sfdisk": {"l", "--list", "d", "--dump", "s", "--show-size", "J", "--json", "V", "--verify",
               "--list-free", "F", "--list-types", "T"},
    "gdisk": {"l"},
    "sgdisk": {"p", "--print", "i", "--info", "v", "--verify", "L", "--list-types"},
    "parted": {"l", "--list"},
}  # fmt: skip
_PARTED_CHANGES = {
    "mklabel", "mktable", "mkpart", "mkpartfs", "rm", "resizepart", "resize", "rescue", "name",
    "set", "toggle", "move", "cp", "mkfs", "disk_set", "disk_toggle", "type",
}  # fmt: skip


def partition(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """fdisk and its kind change partitions, unless given only the options that show them
    (``_READ_ONLY``, ``parted ... print``)."""
    program = posixpath.basename(words[0])
    flags, operands = split_flags(words[1:])
    if flags & _READ_ONLY.get(program, set()):
        return
    if program == "parted" and "print" in operands and not _PARTED_CHANGES & set(operands):
        return
    found.append(f"{program} changes a disk's partitions")


def diskutil(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """macOS's diskutil: the verbs that erase or repartition a disk."""
    verbs = {"eraseDisk", "eraseVolume", "partitionDisk", "zeroDisk", "randomDisk", "secureErase"}
    if verbs & set(words[1:]):
        found.append("diskutil erases or repartitions a disk")
