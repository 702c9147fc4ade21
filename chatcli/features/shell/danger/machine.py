"""Rules for what keeps the machine running and reachable: processes (``kill``, ``pkill``),
power (``shutdown`` and its kind, ``init 0``, ``kexec``), services (``systemctl``,
``service``), the firewall and scheduled jobs (``crontab``)."""

from __future__ import annotations

import posixpath
import re

from chatcli.features.shell.danger.options import split_flags


def kill(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """kill -1 (every process the user may signal) and kill 1 (init); the signal, given as
    an option, is not a PID, and ``kill -l`` only lists signals."""
    if words[1:2] and re.fullmatch(r"-l\w*|-L|--list|--table", words[1]):
        return  # lists signal names
    i = 1
    if i < len(words) and words[i].startswith("-") and words[i] not in ("--", "-1"):
        i += 2 if words[i] in ("-s", "-n", "--signal") else 1  # the signal
    elif words[i : i + 1] == ["-1"]:
        i += 1  # kill -1 PID: a leading -1 is SIGHUP
    if "-1" in words[i:]:
        found.append("kill -1: signals every process the user may signal")
    if "1" in words[i:]:
        found.append("kill 1: signals init (PID 1); the system or the container goes down")


def pkill(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """pkill, killall, killall5: processes chosen by name or pattern, not by PID, so which
    ones is not known in advance."""
    program = posixpath.basename(words[0])
    if words[1:] and all(w in ("-l", "--list", "-V", "--version", "--help") for w in words[1:]):
        return
    if program == "killall5":
        found.append("killall5 signals every process outside its own session")
        return
    _, operands = split_flags(words[1:], "sugtPGFUen" if program == "pkill" else "suogn")
    shown = " ".join([program, *operands])
    found.append(f"{shown}: kills every process that matches, not one picked by its PID")


def power(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """shutdown, reboot, poweroff, halt."""
    found.append(f"{posixpath.basename(words[0])} stops or restarts the machine")


_RUNLEVELS = {"0": "powers the machine off", "6": "restarts the machine"}
_RELOADS = {"q", "Q", "u", "U"}  # init q: reread inittab; init u: re-execute itself


def runlevel(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """init and telinit N: runlevel 0 powers the machine off, 6 restarts it, any other (1,
    S, 2-5) stops the services it does not need, as ``systemctl isolate`` does; ``q`` and
    ``u`` only make init reread its set-up."""
    program = posixpath.basename(words[0])
    _, operands = split_flags(words[1:], "te")
    level = operands[0] if operands else None
    if level is None or level in _RELOADS:
        return
    why = _RUNLEVELS.get(level, "switches the runlevel: stops every service it does not need")
    found.append(f"{program} {level}: {why}")


def kexec(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """kexec -e (or a kernel given without ``-l``) boots another kernel at once: a restart
    without shutting down; loading, unloading or asking (``-l``, ``-p``, ``-u``, ``-S``) is
    not."""
    flags, _ = split_flags(words[1:], "t", frozenset({"--type", "--initrd", "--append"}))
    quiet = {"l", "--load", "p", "--load-panic", "u", "--unload", "S", "--status", "h",
             "--help", "v", "--version"}  # fmt: skip
    if flags & {"e", "--exec"} or not flags & quiet:
        power(words, from_input, found, depth)


_UNITS = (
    (re.compile(r"(open)?sshd?(-server)?(\.socket)?"), "cuts remote logins (SSH)"),
    (re.compile(r"network(ing|d)?|NetworkManager|systemd-(networkd|resolved)|wpa_supplicant"
                r"|dhcpcd|iwd|connman"), "cuts the network"),
    (re.compile(r"firewalld|ufw|nftables|iptables|netfilter-persistent"), "turns the firewall off"),
    (re.compile(r"dbus|systemd-logind|gdm3?|sddm|lightdm|display-manager"),
     "ends the logins or the desktop session"),
)  # fmt: skip


_POWER_VERBS = {"poweroff", "reboot", "halt", "kexec", "soft-reboot"}
_POWER_TARGETS = re.compile(r"(poweroff|reboot|halt|kexec|soft-reboot|shutdown|ctrl-alt-del|exit)"
                            r"\.target")  # fmt: skip


def systemctl(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """systemctl and loginctl: powering off or restarting (the verb, or starting its target),
    isolating a target, or stopping a unit the machine cannot be reached or used without
    (``_UNITS``); ``--user`` units are the user's own."""
    flags, operands = split_flags(words[1:], "HMpPnost", frozenset({"--host", "--machine"}))
    starts = {"start", "restart", "reload-or-restart", "try-restart"} & set(operands)
    if _POWER_VERBS & set(words[1:]) or (starts and any(map(_POWER_TARGETS.fullmatch, operands))):
        power(words, from_input, found, depth)
    if "--user" in flags or not operands:
        return
    verb, units = operands[0], operands[1:]
    if verb in ("rescue", "emergency", "isolate"):
        found.append(f"systemctl {verb}: stops every service the target does not need")
    elif verb in ("stop", "disable", "mask", "kill"):
        _stops(f"systemctl {verb} {{}}", units, found)


def service(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """service NAME stop (and ``/etc/init.d/NAME stop``), for the units ``_UNITS`` knows."""
    if len(words) > 2 and words[2] == "stop":
        _stops("service {} stop", [posixpath.basename(words[1])], found)


def _stops(shown: str, units: list[str], found: list[str]) -> None:
    """A finding for each of ``units`` that ``_UNITS`` knows; ``shown`` is the command, its
    ``{}`` the unit."""
    for unit in units:
        name = re.sub(r"\.(service|socket|target)$", "", unit)
        why = next((why for pattern, why in _UNITS if pattern.fullmatch(name)), None)
        if why:
            found.append(f"{shown.format(unit)}: {why}")


def firewall(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """ufw, nft, iptables: the firewall turned off or its rules deleted, or a policy
    dropping every packet the rules do not let through (the remote session too)."""
    program = posixpath.basename(words[0])
    args = words[1:]
    if program in ("ufw",) and args[:1] in (["disable"], ["reset"]):
        found.append(f"ufw {args[0]}: turns the firewall off")
    elif program == "nft" and (
        args[:2] == ["flush", "ruleset"] or args[:2] in (["delete", "table"], ["flush", "table"])
    ):
        found.append(f"nft {' '.join(args[:2])}: deletes the firewall's rules")
    elif program.startswith(("iptables", "ip6tables")):
        flush = next((w for w in args if w in ("-F", "--flush", "-X", "--delete-chain")), None)
        if flush:
            found.append(f"{program} {flush}: deletes the firewall's rules")
        for index, word in enumerate(args):
            if word in ("-P", "--policy") and args[index + 2 : index + 3] in (["DROP"], ["REJECT"]):
                chain, policy = args[index + 1 : index + 3]
                verb = "drops" if policy == "DROP" else "rejects"
                found.append(
                    f"{program} -P {chain} {policy}: {verb} every packet the rules do not "
                    "let through (remote sessions too)"
                )


def crontab(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """crontab -r deletes every scheduled job; crontab FILE (or ``-``) replaces them all."""
    flags, operands = split_flags(words[1:], "u", frozenset())
    if "r" in flags:
        found.append("crontab -r: deletes every scheduled job")
    elif operands and not flags & {"l", "e"}:
        source = "its input" if operands[0] == "-" else operands[0]
        found.append(f"crontab {operands[0]}: replaces every scheduled job with {source}")
