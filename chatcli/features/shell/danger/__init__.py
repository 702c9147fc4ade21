"""Whether a command looks destructive, and why: read with a shell lexer, not a regex.

The text is split into words and operators by ``shlex`` (POSIX rules: quotes, escapes), after
one pass that tracks quoting to drop comments and line continuations, turn backticks into
``$( )`` and here-documents into here-strings; then into simple commands along ``;``, ``&&``,
``||``, ``&``, newlines and pipes, with the commands inside ``$( )``, backticks, ``<( )``,
subshells, function bodies, ``case`` branches, ``sh -c '...'``, ``eval``, ``xargs``,
``find -exec`` and wrappers such as ``sudo``, ``env``, ``time``, ``watch`` or ``timeout``
looked at too. Each simple command is then checked by the rules below (``rm -rf`` on a broad
path, ``dd of=``, ``mkfs``, ``shred``, ``chmod -R`` on ``/``, ``git push --force``,
``DROP TABLE`` given to a database client, ``sudo``, ``pkill``, writes into system directories
or disk devices or over the user's dotfiles, a download piped into a shell, ...), with ``.`` and
relative paths read from where a ``cd`` before it in the text went (or ``env -C``, ``git -C``),
and a variable a loop, an assignment, ``set --`` or a shell's or function's arguments fill
from a listing of paths read as the paths it holds (``find ~ | while read f; do rm "$f";
done``, ``find ~ -exec sh -c 'rm "$@"' _ {} +``, ``mapfile -t a < <(find ~)``, ``xargs -I %``);
the shape of the text is checked for fork bombs. Code given to python, perl, ruby, node or php
(``-c``, ``-e``, ``-r``, or on their input) is read for the calls that delete files, write
where a redirection would be a finding, or run shell commands, which are checked as text.

Text fed to a shell (``echo '...' | sh``, ``sh <<< '...'``, a here-document, ``sh <(echo
'...')``, ``sh -c "$(echo '...')"``) is checked as the script it is; a here-document's body
given to any other program is text. A text the lexer cannot read (an unclosed quote), a
program name or a shell's input made at run time, is reported as not checkable: what cannot
be checked is treated as dangerous. Fish's syntax is close enough for these rules (its
``(cmd)`` substitutions are read like ``$(cmd)``).

The modules, in the order a text goes through them: lexer.py (words and operators),
parser.py (simple commands, with what is nested in them; command.py their shape),
forkbombs.py (fork bombs, from the shape of the text), check.py (the walk, and the table of
rules), wrappers.py (``sudo``, ``env``, ... taken off), scripts.py (text run as shell code),
workdir.py (where a command runs: the home directory, ``cd`` and ``pushd`` before it),
values.py and flows.py (what a loop's variable, an array, a shell's ``$1`` and ``"$@"`` or
``{}`` hold, and the lines a command reads; filters.py the filters passing them on),
functions.py (a function's body at each call),
options.py and paths.py (what the rules read: options, paths); the rules by family:
deletion.py, writes.py, permissions.py, machine.py (processes, services, firewall), tools.py
(git, containers, clouds, SQL); interpreters.py (an interpreter's code and in-place files on
its command line), literals.py (that code's strings set apart) and calls.py (what it calls).
"""

from __future__ import annotations

from chatcli.features.shell.danger import functions, workdir
from chatcli.features.shell.danger.check import check_script
from chatcli.features.shell.danger.lexer import unreadable
from chatcli.features.shell.danger.parser import parse
from chatcli.safetext import hidden

__all__ = ["reasons"]


def reasons(command: str) -> list[str]:
    """Why ``command`` looks destructive, one phrase per finding, in order; empty when it
    does not."""
    found: list[str] = []
    unshown = dict.fromkeys(f"U+{ord(c):04X}" for c in command if hidden(c))
    if unshown:
        named = ", ".join(list(unshown)[:4]) + (", …" if len(unshown) > 4 else "")
        found.append(f"holds control characters a terminal would not show as they are ({named})")
    try:
        script = parse(command)
    except ValueError as exc:
        return [unreadable(exc)]
    with workdir.checking(), functions.checking():
        check_script(script, found, 0)
    return list(dict.fromkeys(found))
