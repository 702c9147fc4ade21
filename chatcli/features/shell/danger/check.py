"""The walk over a script: every simple command, and every text that runs as one, checked.

For each command: its redirections, then the program its wrappers run, where they run it
(``env -C DIR``), by that program's rule (``_RULES``), once for each thing the variables in
it hold where a loop, an assignment or a shell's arguments bind them (flows.py), and a
function's body again at each call with its arguments (functions.py). Text run as code
(substitutions, ``sh -c``, a shell's input, ``find -exec``, an alias, what is appended to a
start-up file, the shell commands an interpreter's code runs) is parsed and walked again,
nested one level deeper; past ``_DEPTH`` levels the text is not checkable.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from chatcli.features.shell.danger import (
    calls,
    deletion,
    flows,
    functions,
    interpreters,
    machine,
    permissions,
    tools,
    values,
    workdir,
    writes,
)
from chatcli.features.shell.danger.command import Command, Rule, Script
from chatcli.features.shell.danger.forkbombs import forks_in_a_loop
from chatcli.features.shell.danger.lexer import WRITES, live, unreadable
from chatcli.features.shell.danger.options import split_flags
from chatcli.features.shell.danger.parser import parse
from chatcli.features.shell.danger.paths import (
    DISK,
    braces,
    broad,
    setup_file,
    startup_file,
    system,
)
from chatcli.features.shell.danger.scripts import (
    INTERPRETERS,
    SHELLS,
    all_commands,
    downloads,
    inner_script,
    made_output,
    name_of,
    output_of,
    reads_script,
    script_at,
    script_file,
    shown,
)
from chatcli.features.shell.danger.wrappers import (
    fed_command,
    feeder_options,
    parallel_arguments,
    unwrap,
)

_DEPTH = 8


def check_script(script: Script, found: list[str], depth: int) -> None:
    """Add to ``found`` why the commands of ``script``, and the scripts nested in them, look
    destructive; past ``_DEPTH`` levels of nesting the text is not checkable, so no text can
    keep the check going without end. A ``cd`` moves the commands after it in the script
    (a lone command, not one in a pipeline or the background), not those around it."""
    if depth > _DEPTH:
        found.append("cannot be checked: nested too deeply")
        return
    bindings = flows.Bindings(script)
    with workdir.scope(), functions.defined(script):
        for at, pipeline in enumerate(script):
            with bindings.at(at):
                for index, cmd in enumerate(pipeline):
                    found.extend(cmd.findings)
                    with values.stdin(values.lines(cmd, pipeline[:index])):
                        for nested in cmd.nested:  # a group or $( ) reads what cmd reads
                            check_script(nested, found, depth + 1)
                    _check_redirects(cmd, found, depth)
                    _check_command(cmd, pipeline[:index], found, depth)
                bindings.after(at, pipeline)
            if len(pipeline) == 1 and not pipeline[0].background:
                workdir.follow(unwrap(pipeline[0].words, [])[0])


def _check_command(cmd: Command, upstream: list[Command], found: list[str], depth: int) -> None:
    """One simple command, read past its wrappers and judged in the directory they run it in
    (``env -C DIR``, ``sudo -D DIR``), once for each thing the loop variables in it hold
    (flows.py). ``upstream`` are the commands piping into it."""
    moves: list[tuple[str, str]] = []
    unwrapped, fed = unwrap(cmd.words, found, moves)
    name = unwrapped[0] if unwrapped else ""
    for body in functions.bodies(name):  # f ~/*: its body with "$@" holding ~/*
        if not functions.followed():
            found.append("cannot be checked: too many calls of the functions it defines")
            break
        with functions.running(name), flows.called(unwrapped):
            check_script(body, found, depth + 1)
    with _listings(cmd, unwrapped) as unwrapped:
        for words in flows.variants(unwrapped) if unwrapped else []:
            _check_variant(words, unwrapped, fed, moves, cmd, upstream, found, depth)


@contextmanager
def _listings(cmd: Command, words: list[str]) -> Iterator[list[str]]:
    """``words`` with each whole ``$( )`` that lists paths (``rm $(find ~ -type f)``) made a
    variable holding them, bound in the commands checked inside; not a script's text
    (``eval $(echo ...)``, ``sh -c``'s), which is checked as the text it writes."""
    made = values.substitutions(cmd)
    offset = len(cmd.words) - len(words)
    program = posixpath.basename(words[0]) if words else ""
    script = script_at(words) if program in SHELLS else None
    listed = {
        at - offset: values.listing(made[at])
        for at in made
        if at > offset
        and cmd.words[offset:] == words
        and cmd.words[at] == "$(…)"
        and program != "eval"
        and at - offset != script
    }  # not the program's name: one made at run time cannot be checked
    listed = {at: held for at, held in listed.items() if held != values.UNKNOWN}
    if not listed:
        yield words
        return
    scope = {**values.known(), **{f"__listing{at}": held for at, held in listed.items()}}
    with values.binding(scope):
        yield [f"${{__listing{i}}}" if i in listed else w for i, w in enumerate(words)]


def _check_variant(
    words: list[str],
    unwrapped: list[str],
    fed: bool,
    moves: list[tuple[str, str]],
    cmd: Command,
    upstream: list[Command],
    found: list[str],
    depth: int,
) -> None:
    """One variant of ``cmd`` (``words``: its variables made what they hold)."""
    from_input = fed
    if words[:1] != unwrapped[:1]:  # the program was a variable: "$@" in sh -c
        words, more = unwrap(words, found, moves)
        from_input = from_input or more
    if not words:
        return
    if "$" in words[0]:
        found.append(f"cannot be checked: the program's name is made at run time ({words[0]})")
        return
    with workdir.scope():
        for directory, how in moves:
            workdir.enter(directory, how)
        _check_program(words, from_input, cmd, upstream, found, depth)


def _check_program(
    words: list[str],
    from_input: bool,
    cmd: Command,
    upstream: list[Command],
    found: list[str],
    depth: int,
) -> None:
    """The program ``words`` runs: the SQL a database client runs, a download, text or code
    it runs, then its program's rule."""
    program = posixpath.basename(words[0])
    client = tools.sql_client(words)
    if client is not None:
        _check_sql(words[client + 1 :], cmd, upstream, found)
    if program in INTERPRETERS and any(downloads(c) for c in upstream):
        found.append(f"pipes a download into {program} (runs code from the network unseen)")
    elif (program in SHELLS and reads_script(words)) or (
        program in ("at", "batch") and "-f" not in words
    ):
        _check_input(program, cmd, upstream, found, depth)
    if program in INTERPRETERS - SHELLS and forks_in_a_loop(words):
        found.append(
            f"a fork bomb: {program} calls fork in a loop, so processes multiply until the "
            "machine stalls"
        )
    if program in INTERPRETERS | {"eval", "source", "."} and any(
        downloads(c) for s in cmd.nested for c in all_commands(s)
    ):
        found.append(f"runs a download with {program} (runs code from the network unseen)")
    made = made_output(words, script_file(program, words), cmd)
    if made is not None:  # sh <(echo '...'), source <(printf ...): that text
        found.extend(_reasons_of(made, depth))
    inner = inner_script(program, words)
    if inner is not None:  # sh -c "$(echo '...')", eval $(printf ...): that text
        lone = 1 if program == "eval" and len(words) == 2 else None  # eval "$(...)"
        made = made_output(words, script_at(words) if program in SHELLS else lone, cmd)
        inner = live(made) if made is not None else inner
        try:
            parsed = parse(inner)
        except ValueError as exc:
            found.append(unreadable(exc, f"{program}'s script"))
        else:
            if program in INTERPRETERS | {"eval", "su"} and any(
                downloads(c) for c in all_commands(parsed)
            ):
                found.append(f"runs a download with {program} (runs code from the network unseen)")
            feeds = values.lines(cmd, upstream) if not from_input else None  # xargs: none
            shell = flows.arguments(words) if program in SHELLS else nullcontext()
            with shell, values.stdin(feeds):
                check_script(parsed, found, depth + 1)
    lang = interpreters.language(program)
    if lang is not None:
        _check_code(program, lang, words, cmd, upstream, found, depth)
    rule = _RULES.get(program) or (deletion.mkfs if program.startswith("mkfs") else None)
    if rule is not None:  # parallel's ::: ARGS are on the line, not read from input
        given = parallel_arguments(cmd.words) if from_input else []
        read = from_input and (not given or any(from_file for _, from_file in given))
        rule(words, read, found, depth)
    if from_input:
        _check_fed(words, cmd, upstream, found, depth)
    flags, targets = split_flags(words[1:]) if program == "tee" else (set(), [])
    if flags & {"a", "--append"}:  # tee -a
        writer = upstream[-1] if upstream else None
        what = f"what {name_of(writer)} writes" if writer else "what it reads from the terminal"
        for target in targets:
            _check_append(target, writer, what, found, depth)
    if words[0].startswith(("/etc/init.d/", "/etc/rc.d/")):
        machine.service(["service", program, *words[1:]], from_input, found, depth)


def _check_fed(
    words: list[str], cmd: Command, upstream: list[Command], found: list[str], depth: int
) -> None:
    """A command run by ``xargs`` or ``parallel`` on the lines it reads, judged as run with
    ``{}`` holding each (values.py): what ``find`` finds as ``find ... -exec`` does
    (``find ~ -type f | xargs rm`` is ``find ~ -type f -exec rm {} +``), every entry of the
    directories ``ls`` lists (``ls ~ | xargs rm`` is ``rm ~/*``), in place of its replace
    string (``xargs -I % rm %``); parallel's ``:::`` arguments (``parallel rm ::: ~/*``)
    and the files of its ``::::`` and of ``xargs -a`` in place of its input. Other lists
    (a file, ``git ls-files``) are the user's own and not judged here."""
    arg_file = feeder_options(cmd.words).get("a")  # xargs -a <(find ~): not its input
    given = parallel_arguments(cmd.words)  # parallel rm ::: ~/*: nor are these
    fed: values.Lines | None
    if given:
        fed = values.arguments(cmd, given, upstream)
    elif arg_file is not None:
        made = values.substitutions(cmd).get(arg_file[1])
        fed = values.listing(made) if made is not None else values.UNKNOWN
    else:
        fed = values.lines(cmd, upstream)
    if fed is None or fed == values.UNKNOWN:
        return
    with values.bound("{}", fed):
        _check_command(Command(fed_command(cmd.words, words)), [], found, depth + 1)


def _check_input(
    program: str, cmd: Command, upstream: list[Command], found: list[str], depth: int
) -> None:
    """Check the text a shell runs from its input: a here-string or here-document, or what
    ``echo``/``printf`` write into the pipe; any other input cannot be checked. A script
    file (``sh < script.sh``) is not looked at, as ``sh script.sh`` is not."""
    source, text = _stdin(cmd, upstream)
    if source in ("", "<"):
        return  # an interactive shell, or a script file
    if text is None:
        found.append(f"cannot be checked: {program} runs the text it reads from {source}")
        return
    try:
        parsed = parse(live(text))
    except ValueError as exc:
        found.append(unreadable(exc, f"the text {program} reads"))
    else:
        check_script(parsed, found, depth + 1)


def _check_code(
    program: str,
    lang: str,
    words: list[str],
    cmd: Command,
    upstream: list[Command],
    found: list[str],
    depth: int,
) -> None:
    """The code an interpreter runs (calls.py): given on the line (``-c``, ``-e``), or its
    input when the line shows it (a here-document, ``echo ... |``); the shell commands in it
    are checked as scripts one level deeper. Input not shown (``< x.py``, ``cat x.py |``) is
    the user's own file and not looked at, as ``python3 x.py`` is not."""
    line = interpreters.read(lang, words)
    code = line.code
    if code is None and line.reads_input:
        _, code = _stdin(cmd, upstream)
    if code is not None:
        calls.check(program, lang, live(code), found, lambda text: _reasons_of(text, depth))


def _stdin(cmd: Command, upstream: list[Command]) -> tuple[str, str | None]:
    """Where ``cmd`` reads its standard input from, and the text when the command line shows
    it. As in the shell, the last of its ``<`` and ``<<<`` redirections wins (a here-document
    is a here-string by now; ``< <(...)`` is a pipe from what it runs), and any of them wins
    over a pipe: ``("<", None)`` for a file,
    ``("a here-string", TEXT)``, ``(WRITER, TEXT or None)`` for a pipe from the program
    WRITER (``shown``), ``("", None)`` for the terminal."""
    fed = [(op, target) for op, target in cmd.redirects if op in ("<<<", "<")]
    if fed:
        op, target = fed[-1]
        if op == "<" and not target and cmd.nested:  # < <(echo ...): what it writes
            script = cmd.nested[-1]
            last = script[-1] if script else []
            return (name_of(last[-1]) or "a pipe", output_of(script)) if last else ("<", None)
        return ("<", None) if op == "<" else ("a here-string", target)
    if upstream:
        writer, _ = unwrap(upstream[-1].words, [])
        return (posixpath.basename(writer[0]) if writer else "a pipe"), shown(upstream[-1])
    return "", None


def _check_sql(args: list[str], cmd: Command, upstream: list[Command], found: list[str]) -> None:
    """The SQL a database client runs: in its arguments (``-c``, ``-e``, ``--execute``, the
    SQL after sqlite3's database), and in its input when the command line shows it (a
    here-string or here-document, ``echo ... |``). Input whose text is not shown (``< dump.sql``,
    ``-f dump.sql``, ``cat dump.sql |``) is not a finding, as it was not before the check
    looked at input: a file is the user's own, as ``sh script.sh`` is, and restoring a dump
    (which drops its tables first) is a common, asked-for command; a warning on each would
    teach the user to ignore the warning."""
    tools.sql(" ".join(args), found)
    _, text = _stdin(cmd, upstream)
    if text is not None:
        tools.sql(live(text), found)


def _check_redirects(cmd: Command, found: list[str], depth: int) -> None:
    """Writes by redirection: onto a disk device, into a system directory, over the user's
    set-up (``>``), or into a file read at start-up (``>>``); over, or onto the end of,
    every file of a broad directory (an append counting ``*`` only where the current
    directory is broad itself, as an edit in place does)."""
    for op, written in cmd.redirects:
        if op not in WRITES or not written:
            continue
        for target in flows.targets(written):  # what "$f" holds in a loop over find ~
            dotfile = setup_file(target)
            appends = op in (">>", "&>>")
            every = writes.every_file(target, here=appends) if op != "<>" else None
            if DISK.match(target):
                found.append(f"writes straight onto the disk device {target}")
            elif system(target):
                found.append(f"writes into a system directory ({target})")
            elif op in (">>", "&>>"):
                what = f"what {name_of(cmd)} writes" if name_of(cmd) else "a text it does not show"
                _check_append(target, cmd, what, found, depth)
            elif dotfile:
                found.append(f"overwrites {target}, {dotfile}")
            if every:
                verb = "appends to" if appends else "overwrites"
                found.append(f"{op} {verb} every file {writes.spread(target)}: {every}")


def _check_append(
    target: str, writer: Command | None, what: str, found: list[str], depth: int
) -> None:
    """An append to a file the shell or sshd reads at start-up: the keys added to
    ``authorized_keys`` may log in; a text added to ``~/.bashrc`` and its kind runs in every
    new shell, so it is checked as a script when the command shows it (``echo ... >>``), and
    is a finding when it does not."""
    startup = startup_file(target)
    if startup is None:
        return
    if not startup.startswith("a shell"):
        found.append(f"adds to {target}: {startup}")
        return
    text = shown(writer) if writer is not None else None
    if text is None:
        found.append(f"appends {what} to {target}, {startup}")
        return
    inner = _reasons_of(text, depth)
    if inner:
        found.append(f"appends to {target} commands that look destructive ({startup})")
        found.extend(inner)


def _reasons_of(text: str, depth: int) -> list[str]:
    """What the shell text ``text`` gives as a script of its own (one level deeper)."""
    inner: list[str] = []
    try:
        check_script(parse(live(text)), inner, depth + 1)
    except ValueError as exc:
        inner.append(unreadable(exc))
    return inner


def _find(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """find: the command of ``-exec`` (and its kind) as run on every path found, and
    ``-delete`` on a broad root; a test such as ``-name`` narrows both. ``{}`` holds every
    path under the root, the root itself first (flows.py: ``rm {} +`` is ``rm -r ROOT``, and
    ``sh -c 'rm "$@"' _ {} +`` too). A rule here, not with the others, because it checks the
    command it runs."""
    roots = values.find_roots(words)
    filtered = values.find_filtered(words)
    for index, word in enumerate(words):
        if word in ("-exec", "-execdir", "-ok", "-okdir"):
            end = next(
                (j for j in range(index + 1, len(words)) if words[j] in (";", "+")), len(words)
            )
            run = words[index + 1 : end]
            with values.bound("{}", values.UNKNOWN if filtered else values.under(roots)):
                _check_command(Command(run), [], found, depth + 1)
    why = next(filter(None, map(broad, braces(roots[0]))), None)
    if "-delete" in words and why and not filtered:
        found.append(f"find -delete on {roots[0]}: {why}")


def _alias(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """alias NAME=VALUE: the value runs whenever NAME is typed, so it is checked as a script
    (a rule here, not with the others, because it checks a script)."""
    for word in words[1:]:
        name, equals, value = word.partition("=")
        if not equals:
            continue
        inner = _reasons_of(value, depth)
        if inner:
            found.append(f"alias {name} runs a command that looks destructive")
            found.extend(inner)


_RULES: dict[str, Rule] = {
    **dict.fromkeys(deletion.DELETES, deletion.rm),
    **dict.fromkeys(deletion.ERASERS, deletion.erase),
    "find": _find,
    "dd": deletion.dd,
    "shred": deletion.shred,
    "wipefs": deletion.wipefs,
    "mke2fs": deletion.mkfs,
    "mkswap": deletion.mkfs,
    "newfs": deletion.mkfs,
    "fdisk": deletion.partition,
    "sfdisk": deletion.partition,
    "gdisk": deletion.partition,
    "sgdisk": deletion.partition,
    "cfdisk": deletion.partition,
    "parted": deletion.partition,
    "diskutil": deletion.diskutil,
    "chmod": permissions.change,
    "chown": permissions.change,
    "chgrp": permissions.change,
    "setfacl": permissions.change,
    "chattr": permissions.change,
    "tee": writes.copy_into,
    "cp": writes.copy_into,
    "mv": writes.copy_into,
    "install": writes.copy_into,
    "ln": writes.copy_into,
    "rsync": writes.copy_into,
    "truncate": writes.copy_into,
    "sed": writes.copy_into,
    "perl": writes.copy_into,  # -i
    "ruby": writes.copy_into,
    "git": tools.git,
    "kill": machine.kill,
    "pkill": machine.pkill,
    "killall": machine.pkill,
    "killall5": machine.pkill,
    "shutdown": machine.power,
    "reboot": machine.power,
    "poweroff": machine.power,
    "halt": machine.power,
    "openrc-shutdown": machine.power,
    "init": machine.runlevel,
    "telinit": machine.runlevel,
    "kexec": machine.kexec,
    "systemctl": machine.systemctl,
    "loginctl": machine.systemctl,
    "service": machine.service,
    "iptables": machine.firewall,
    "ip6tables": machine.firewall,
    "iptables-legacy": machine.firewall,
    "iptables-nft": machine.firewall,
    "nft": machine.firewall,
    "ufw": machine.firewall,
    "crontab": machine.crontab,
    "alias": _alias,
    "docker": tools.docker,
    "docker-compose": tools.docker,
    "podman": tools.docker,
    "kubectl": tools.kubectl,
    "terraform": tools.terraform,
    "tofu": tools.terraform,
    "aws": tools.cloud_storage,
    "gsutil": tools.cloud_storage,
}
