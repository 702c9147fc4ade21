"""Rules for programs that erase: ``rm`` on a broad path, a system file or the user's set-up,
the disk tools (``dd``, ``shred``, ``mkfs``, ``wipefs``, partitioning, ``diskutil``), and the
tools that erase a whole drive, volume or pool, or a user's files (``ERASERS``)."""

from __future__ import annotations

import posixpath

from chatcli.features.shell.danger.options import split_flags
from chatcli.features.shell.danger.paths import (
    DISK,
    braces,
    broad,
    broad_files,
    in_home,
    setup_file,
    startup_file,
    system,
)

DELETES = ("rm", "unlink")
"""The programs whose every operand is deleted (the ``rm`` rule): ``find -exec`` and
``xargs`` running one on the paths ``find`` lists are as if recursive."""


def rm(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """rm and unlink: recursive or forced on a broad path, even without them on every file
    of one (``rm ~/*``), on every path read from input (``xargs rm -rf``); any deletion in a
    system directory or of the user's keys and start-up files. Brace expansions are made
    first (``/{etc,usr}``)."""
    flags, targets = split_flags(words[1:])
    recursive = bool(flags & {"r", "R", "--recursive"})
    force = bool(flags & {"f", "--force"})
    shown = " ".join([posixpath.basename(words[0]), *(w for w in words[1:] if w.startswith("-"))])
    if "--no-preserve-root" in flags:
        found.append("rm --no-preserve-root: may delete the whole file system")
    if (recursive or force) and from_input:
        found.append(f"{shown} on every path it reads from input")
    for target in targets:
        paths = braces(target)
        judge = broad if recursive or force else broad_files
        why = next(filter(None, map(judge, paths)), None)
        precious = next(filter(None, map(_precious, paths)), None)
        if why and judge is broad:
            found.append(f"{shown} on {target}: {why}")
        elif any(map(system, paths)):
            found.append(f"deletes in a system directory ({target})")
        elif why:
            found.append(f"{shown} on {target}: {why}")
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


ERASERS: dict[str, tuple[tuple[str, ...], str]] = {
    # program: (what on its line makes it erase: an option, or a subcommand (its words in
    # order); none: always), why
    "blkdiscard": ((), "discards every block of the device: its data is gone"),
    "nvme": (("format", "sanitize"), "erases the whole drive"),
    "sg_format": (("--format", "-F"), "formats the whole drive (erases it)"),
    "hdparm": (("--security-erase", "--security-erase-enhanced", "--trim-sector-ranges",
                "--trim-sector-ranges-stdin"), "erases the drive"),
    "badblocks": (("-w",), "a write test: overwrites the whole device"),
    "cryptsetup": (("erase", "luksErase", "luksFormat"),
                   "destroys the keys of an encrypted device, or formats it anew"),
    "mdadm": (("--zero-superblock",), "erases a RAID member's metadata"),
    "zfs": (("destroy", "rollback"), "destroys a dataset or snapshot, or what changed since one"),
    "zpool": (("destroy", "labelclear"), "destroys a pool and every file system in it"),
    "lvremove": ((), "deletes logical volumes with their data"),
    "vgremove": ((), "deletes a volume group with every logical volume in it"),
    "pvremove": ((), "wipes the LVM label of a physical volume"),
    "btrfs": (("subvolume delete",), "deletes a subvolume with every file in it"),
    "userdel": (("-r", "--remove"), "deletes the user's home directory and mail"),
    "deluser": (("--remove-home", "--remove-all-files"), "deletes the user's files"),
}  # fmt: skip
"""Programs that erase a whole drive, volume, pool or a user's files, with what on the line
makes them do it; their other uses (listing, creating) are left alone."""
_ABBREVIATED = {"btrfs"}  # takes any unambiguous start of a subcommand (btrfs sub del)


def erase(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """The programs of ``ERASERS``, when their line has what makes them erase."""
    program = posixpath.basename(words[0])
    triggers, why = ERASERS[program]
    flags, operands = split_flags(words[1:])
    if flags & {"--help", "--version"}:
        return
    if not triggers:
        found.append(f"{program} {why}")
        return
    for trigger in triggers:
        if _given(trigger, flags, operands, program in _ABBREVIATED):
            found.append(f"{program} {trigger}: {why}")
            return


def _given(trigger: str, flags: set[str], operands: list[str], abbreviated: bool) -> bool:
    """Whether ``trigger`` (an option, ``-r`` or ``--remove``, or a subcommand's words) is
    on the line: an option among ``flags``, a subcommand as operands one after the other
    (anywhere, so an option's value before it does not hide it)."""
    if trigger.startswith("--"):
        return trigger in flags
    if trigger.startswith("-"):
        return trigger[1:] in flags
    verbs = trigger.split()
    for start in range(len(operands) - len(verbs) + 1):
        given = operands[start : start + len(verbs)]
        if all(
            w == v or (abbreviated and v.startswith(w)) for w, v in zip(given, verbs, strict=True)
        ):
            return True
    return False
