"""Whether a command looks destructive, and why: read with a shell lexer, not a regex.

The text is split into words and operators by ``shlex`` (POSIX rules: quotes, escapes), then
into simple commands along ``;``, ``&&``, ``||``, ``&``, newlines and pipes, with the commands
inside ``$( )``, backticks, ``<( )``, subshells, ``sh -c '...'``, ``eval``, ``xargs``,
``find -exec`` and wrappers such as ``sudo``, ``env`` or ``timeout`` looked at too. Each
simple command is then checked by the rules below (``rm -rf`` on a broad path, ``dd of=``,
``mkfs``, ``shred``, ``chmod -R`` on ``/``, ``git push --force``, ``DROP TABLE``, ``sudo``,
writes into system directories or disk devices, a download piped into a shell, ...).

Text fed to a shell (``echo '...' | sh``, ``sh <<< '...'``, a here-document) is checked as
the script it is; a here-document's body given to any other program is text. A text the lexer
cannot read (an unclosed quote), a program name or a shell's input made at run time, is
reported as not checkable: what cannot be checked is treated as dangerous. Fish's syntax is
close enough for these rules (its ``(cmd)`` substitutions are read like ``$(cmd)``).
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

_SEPARATORS = {";", "&&", "||", "&", "\n", ";;", ";&", ";;&"}
_PIPES = {"|", "|&"}
_OPEN = {"(", "$(", "<(", ">(", "=("}
_REDIRECTS = {">", ">>", ">|", "&>", "&>>", "<", "<<", "<<<", "<<-", ">&", "<&", "<>"}
_WRITES = {">", ">>", ">|", "&>", "&>>", "<>"}
_OPERATORS = sorted(_SEPARATORS | _PIPES | _OPEN | _REDIRECTS | {")"}, key=len, reverse=True)
_KEYWORDS = {
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}",
    "time", "and", "or", "not", "begin", "end", "exec", "command", "builtin", "nohup",
    "noglob", "nocorrect",
}  # fmt: skip
_ROOT = {"sudo", "doas", "pkexec", "run0", "su"}
_SHELLS = {"sh", "bash", "zsh", "fish", "dash", "ksh", "ash", "mksh"}
_INTERPRETERS = _SHELLS | {"python", "python3", "perl", "ruby", "node", "php", "pwsh"}
_DOWNLOADERS = {"curl", "wget", "fetch", "http", "https", "xh", "aria2c"}
_SYSTEM_DIRS = (
    "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/opt",
    "/var", "/sys", "/proc", "/root", "/srv", "/System", "/Library", "/private/etc",
    "/private/var",
)  # fmt: skip
_NOT_SYSTEM = ("/var/tmp", "/var/folders", "/private/var/folders", "/private/tmp")
_DISK = re.compile(r"^/dev/(sd|hd|vd|xvd|nvme|mmcblk|disk|rdisk|md|dm-|mapper/|loop|sr)[\w/-]*$")
_SQL = (
    (re.compile(r"\bdrop\s+(table|database|schema|user|collection)\b", re.I), "drops {what}"),
    (re.compile(r"\btruncate\s+(table\s+)?[\w.\"`]+", re.I), "empties a table (TRUNCATE)"),
    (re.compile(r"\bdelete\s+from\s+[\w.\"`]+\s*(;|$)", re.I), "deletes every row (no WHERE)"),
    (re.compile(r"\bflushall\b|\bflushdb\b|\bdropDatabase\(", re.I), "erases a whole database"),
)
_DEPTH = 8
_EVERYTHING = {"*", ".*", "*.*", ".[!.]*", "..?*", "{*,.*}"}
_QUOTED_DOLLAR = "\ue000"  # a "$" inside single quotes: text, no expansion (until run as a script)
_HEREDOC = re.compile(r"<<(-?)[ \t]*(?:'([^'\n]*)'|\"([^\"\n]*)\"|\\?([A-Za-z_][\w.-]*))")
_HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass
class _Command:
    """A simple command: its words, its redirections and the scripts nested in it
    (substitutions, a subshell group, ``sh -c`` strings)."""

    words: list[str] = field(default_factory=list)
    redirects: list[tuple[str, str]] = field(default_factory=list)
    nested: list[_Script] = field(default_factory=list)


_Pipeline = list[_Command]
_Script = list[_Pipeline]


def reasons(command: str) -> list[str]:
    """Why ``command`` looks destructive, one phrase per finding, in order; empty when it
    does not."""
    found: list[str] = []
    if _HIDDEN.search(command):
        found.append("holds control characters a terminal would not show as they are")
    try:
        script = _parse(command)
    except ValueError as exc:
        return [f"cannot be checked: the shell lexer stops at it ({exc})"]
    _check_script(script, found, 0)
    return list(dict.fromkeys(found))


# lexing and parsing


def _heredocs(text: str) -> str:
    """Here-documents turned into here-strings (``<<EOF`` + body -> ``<<< 'body'``), so their
    bodies are read as the text they are, not as commands; quoted as the delimiter was (an
    unquoted one expands ``$( )`` in the body)."""
    out: list[str] = []
    pending: list[tuple[int, re.Match[str]]] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quote != "'":
            out.append(text[i : i + 2])
            i += 2
            continue
        if quote is None and ch in "'\"":
            quote = ch
        elif ch == quote:
            quote = None
        elif quote is None and text.startswith("<<<", i):
            out.append("<<<")
            i += 3
            continue
        elif quote is None and ch == "#" and (not out or out[-1][-1:] in " \t\n;|&("):
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            out.append(text[i:end])
            i = end
            continue
        elif quote is None and (match := _HEREDOC.match(text, i)):
            pending.append((len(out), match))
            out.append("")
            i = match.end()
            continue
        elif ch == "\n" and pending:
            i = _read_bodies(text, i + 1, pending, out)
            out.append("\n")
            pending = []
            continue
        out.append(ch)
        i += 1
    _read_bodies(text, len(text), pending, out)
    return "".join(out)


def _read_bodies(
    text: str, i: int, pending: list[tuple[int, re.Match[str]]], out: list[str]
) -> int:
    """Put the bodies starting at ``text[i]`` in place of their ``<<`` in ``out``; the index
    after the last delimiter line."""
    for slot, match in pending:
        tabs, single, double, bare = match.groups()
        delimiter = single if single is not None else double if double is not None else bare
        body: list[str] = []
        while i < len(text):
            end = text.find("\n", i)
            end = len(text) if end < 0 else end
            line = text[i:end]
            i = end + 1
            if (line.lstrip("\t") if tabs else line) == delimiter:
                break
            body.append(line)
        content = "\n".join(body)
        if (
            single is not None
            or double is not None
            or match.group(0).rstrip().endswith("\\" + bare)
        ):
            out[slot] = "<<< " + shlex.quote(content)
        else:
            out[slot] = '<<< "' + content.replace('"', '\\"') + '"'
    return min(i, len(text))


def _prepare(text: str) -> str:
    """Shell-level rewriting shlex does not do: line continuations removed, comments
    dropped (up to, not including, the newline), backticks turned into ``$( )``, a ``$``
    inside single quotes marked as text."""
    out: list[str] = []
    quote: str | None = None
    tick_open = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and quote != "'" and i + 1 < len(text):
            if text[i + 1] != "\n":
                out.append(text[i : i + 2])
            i += 2
            continue
        if quote is None and ch in "'\"":
            quote = ch
        elif ch == quote:
            quote = None
        elif ch == "$" and quote == "'":
            out.append(_QUOTED_DOLLAR)
            i += 1
            continue
        elif ch == "`" and quote != "'":
            out.append(")" if tick_open else "$(")
            tick_open = not tick_open
            i += 1
            continue
        elif ch == "#" and quote is None and (not out or out[-1][-1:] in " \t\n;|&("):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _tokens(text: str) -> list[str]:
    lexer = shlex.shlex(_prepare(_heredocs(text)), posix=True, punctuation_chars="();<>|&\n")
    lexer.whitespace_split = True
    lexer.whitespace = " \t\r"
    lexer.commenters = ""
    tokens: list[str] = []
    for token in lexer:
        if token and set(token) <= set("();<>|&\n"):
            tokens.extend(_split_operators(token))
        else:
            tokens.append(token)
    return tokens


def _split_operators(token: str) -> list[str]:
    """``)|`` -> ``)``, ``|``; ``;\\n\\n`` -> ``;``, ``\\n``, ``\\n`` (shlex glues runs of
    punctuation together)."""
    parts: list[str] = []
    while token:
        op = next((o for o in _OPERATORS if token.startswith(o)), token[0])
        parts.append(op)
        token = token[len(op) :]
    return parts


def _parse(text: str) -> _Script:
    script, _ = _parse_list(_tokens(text), 0, closing=False)
    return script


def _parse_list(tokens: list[str], i: int, *, closing: bool) -> tuple[_Script, int]:
    """Parse from ``tokens[i]`` to the end, or to the ``)`` closing a group."""
    script: _Script = []
    pipeline: _Pipeline = []
    cmd = _Command()

    def end_command() -> None:
        nonlocal cmd
        if cmd.words or cmd.redirects or cmd.nested:
            pipeline.append(cmd)
        cmd = _Command()

    def end_pipeline() -> None:
        nonlocal pipeline
        end_command()
        if pipeline:
            script.append(pipeline)
        pipeline = []

    while i < len(tokens):
        token = tokens[i]
        if token == ")":
            if closing:
                break
            i += 1
        elif token in _SEPARATORS:
            end_pipeline()
            i += 1
        elif token in _PIPES:
            end_command()
            i += 1
        elif token in _OPEN or (token.endswith("$") and tokens[i + 1 : i + 2] == ["("]):
            if token not in _OPEN:  # "prefix$" then "(": a command substitution in a word
                cmd.words.append(token[:-1] + "$(…)")
                i += 1
            elif token in ("(", "$(") and cmd.words:  # an argument: $(cmd), fish's (cmd)
                cmd.words.append("$(…)")
            inner, i = _parse_list(tokens, i + 1, closing=True)
            cmd.nested.append(inner)
            i += 1
        elif token in _REDIRECTS:
            target = tokens[i + 1] if i + 1 < len(tokens) else ""
            is_word = target not in _OPERATORS
            if is_word and "$(" in target:  # a substitution in a redirection (or a here-doc)
                cmd.nested.append(_parse(target[target.index("$(") + 2 :]))
            cmd.redirects.append((token, target if is_word else ""))
            i += 2 if is_word else 1
        else:
            if "$(" in token and not token.endswith("$(…)"):  # a quoted substitution in a word
                cmd.nested.append(_parse(token[token.index("$(") + 2 :]))
            cmd.words.append(token)
            i += 1
    end_pipeline()
    return script, i


# checking


def _check_script(script: _Script, found: list[str], depth: int) -> None:
    if depth > _DEPTH:
        found.append("cannot be checked: nested too deeply")
        return
    for pipeline in script:
        for index, cmd in enumerate(pipeline):
            for nested in cmd.nested:
                _check_script(nested, found, depth + 1)
            _check_redirects(cmd, found)
            _check_command(cmd, pipeline[:index], found, depth)


def _check_command(cmd: _Command, upstream: list[_Command], found: list[str], depth: int) -> None:
    words, from_input = _unwrap(cmd.words, found)
    text = " ".join(cmd.words)
    for pattern, reason in _SQL:
        match = pattern.search(text)
        if match:
            what = " ".join(match.group(0).split()[:2]).upper()
            found.append(reason.format(what=f"data ({what})"))
    if not words:
        return
    if "$" in words[0]:
        found.append(f"cannot be checked: the program's name is made at run time ({words[0]})")
        return
    program = posixpath.basename(words[0])
    if program in _INTERPRETERS and any(_downloads(c) for c in upstream):
        found.append(f"pipes a download into {program} (runs code from the network unseen)")
    elif program in _SHELLS and _reads_script(words):
        _check_input(program, cmd, upstream, found, depth)
    if program in _INTERPRETERS | {"eval", "source", "."} and any(
        _downloads(c) for s in cmd.nested for c in _all_commands(s)
    ):
        found.append(f"runs a download with {program} (runs code from the network unseen)")
    inner = _inner_script(program, words)
    if inner is not None:
        try:
            parsed = _parse(inner)
        except ValueError as exc:
            found.append(f"cannot be checked: {program}'s script stops the lexer ({exc})")
        else:
            if program in _INTERPRETERS | {"eval", "su"} and any(
                _downloads(c) for c in _all_commands(parsed)
            ):
                found.append(f"runs a download with {program} (runs code from the network unseen)")
            _check_script(parsed, found, depth + 1)
    rule = _RULES.get(program) or (_mkfs if program.startswith("mkfs") else None)
    if rule is not None:
        rule(words, from_input, found, depth)


def _reads_script(words: list[str]) -> bool:
    """Whether ``sh ARGS`` runs the text of its standard input: no ``-c``, no script file
    (``-s`` keeps reading it whatever follows)."""
    flags, operands = _split_flags(words[1:])
    return "s" in flags or ("c" not in flags and "--command" not in flags and not operands)


def _check_input(
    program: str, cmd: _Command, upstream: list[_Command], found: list[str], depth: int
) -> None:
    """Check the text a shell runs from its input: a here-string or here-document, or what
    ``echo``/``printf`` write into the pipe; any other input cannot be checked."""
    text: str | None = None
    source = "its input"
    fed = [target for op, target in cmd.redirects if op in ("<<<", "<")]
    if fed:
        op = next(op for op, _ in cmd.redirects if op in ("<<<", "<"))
        if op == "<":
            return  # a script file, like "sh script.sh"
        text = fed[-1]
    elif upstream:
        writer, _ = _unwrap(upstream[-1].words, [])
        name = posixpath.basename(writer[0]) if writer else ""
        source = name or "a pipe"
        if name in ("echo", "printf") and not upstream[-1].nested:
            text = _printed(name, writer[1:])
    else:
        return  # an interactive shell
    if text is None:
        found.append(f"cannot be checked: {program} runs the text it reads from {source}")
        return
    try:
        parsed = _parse(_live(text))
    except ValueError as exc:
        found.append(f"cannot be checked: the text {program} reads stops the lexer ({exc})")
    else:
        _check_script(parsed, found, depth + 1)


def _printed(program: str, args: list[str]) -> str:
    """What ``echo ARGS`` or ``printf FORMAT ARGS`` writes, near enough to check it."""
    if program == "echo":
        while args and re.fullmatch(r"-[neE]+", args[0]):
            args = args[1:]
        return " ".join(args).replace("\\n", "\n")
    if not args:
        return ""
    rest = iter(args[1:])
    text = re.sub(r"%[-+ #0-9.]*[sbdqc]", lambda _: next(rest, ""), args[0])
    return " ".join([text, *rest]).replace("\\n", "\n")


def _unwrap(words: list[str], found: list[str]) -> tuple[list[str], bool]:
    """The command a line really runs: keywords, ``NAME=value`` assignments and wrappers
    (``sudo``, ``env``, ``nice``, ``timeout``, ``xargs``, ...) taken off; ``sudo`` and its
    kind are findings. The flag says whether the arguments come from input (``xargs``)."""
    from_input = False
    i = 0
    while i < len(words):
        word = words[i]
        name = posixpath.basename(word)
        if word in _KEYWORDS or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", word, re.S):
            i += 1
        elif name in _ROOT or name == "runuser":
            found.append(f"runs as root ({name})")
            if name in ("su", "runuser") and not {"-u", "--user"} & set(words[i + 1 :]):
                return words[i:], from_input  # su USER -c SCRIPT: _inner_script reads it
            short, long, _ = _WRAPPERS.get(name, _WRAPPERS["sudo"])
            i = _skip_options(words, i + 1, short, long)
        elif name in _WRAPPERS:
            short, long, positional = _WRAPPERS[name]
            split = _split_string(words, i + 1) if name == "env" else None
            if split is not None:
                return _unwrap(words[:i] + split, found)
            i = _skip_options(words, i + 1, short, long)
            i += positional
            from_input = from_input or name == "xargs"
        else:
            return words[i:], from_input
    return [], from_input


def _split_string(words: list[str], i: int) -> list[str] | None:
    """``env -S 'CMD ARGS' MORE``'s command as words (``CMD ARGS MORE``), or None without
    ``-S``."""
    while i < len(words) and words[i].startswith("-") and words[i] not in ("-", "--"):
        word = words[i]
        value: str | None = None
        if word in ("-S", "--split-string"):
            value = words[i + 1] if i + 1 < len(words) else ""
            i += 1
        elif word.startswith("--split-string="):
            value = word.split("=", 1)[1]
        elif word.startswith("-S") and not word.startswith("--"):
            value = word[2:]
        if value is not None:
            try:
                return shlex.split(_live(value)) + words[i + 1 :]
            except ValueError:
                return ["env -S", "(unreadable)"]
        i += 2 if word in ("-u", "-C", "--unset", "--chdir") else 1
    return None


def _live(text: str) -> str:
    """``text`` as a shell that runs it sees it: a ``$`` that was in single quotes is live
    again."""
    return text.replace(_QUOTED_DOLLAR, "$")


_WRAPPERS: dict[str, tuple[str, frozenset[str], int]] = {
    # name: (short options taking a value, long ones, positional arguments before the command)
    "sudo": ("ugChprtTUDRc", frozenset({
        "--user", "--group", "--chdir", "--close-from", "--host", "--prompt", "--role",
        "--type", "--other-user", "--chroot", "--command-timeout", "--login-class",
    }), 0),
    "env": ("uC", frozenset({"--unset", "--chdir"}), 0),
    "nice": ("n", frozenset({"--adjustment"}), 0),
    "ionice": ("cnp", frozenset({"--class", "--classdata", "--pid", "--pgid", "--uid"}), 0),
    "timeout": ("sk", frozenset({"--signal", "--kill-after"}), 1),
    "stdbuf": ("ioe", frozenset({"--input", "--output", "--error"}), 0),
    "xargs": ("IdEsnLPa", frozenset({
        "--arg-file", "--delimiter", "--eof", "--replace", "--max-lines", "--max-args",
        "--max-procs", "--max-chars", "--process-slot-var",
    }), 0),
    "watch": ("n", frozenset({"--interval"}), 0),
    "chrt": ("", frozenset(), 1),
    "taskset": ("", frozenset(), 1),
    "caffeinate": ("tw", frozenset(), 0),
    "unbuffer": ("", frozenset(), 0),
    "flock": ("wEc", frozenset({"--wait", "--timeout", "--conflict-exit-code"}), 1),
    "setsid": ("", frozenset(), 0),
    "chroot": ("", frozenset({"--userspec", "--groups"}), 1),
    "runuser": ("ugGsw", frozenset({"--user", "--group", "--supp-group", "--shell"}), 0),
    "strace": ("abeEIoOpPsSuUX", frozenset({"--output", "--user", "--signal", "--trace"}), 0),
    "ltrace": ("aeEnopsSuxXAD", frozenset({"--output", "--user"}), 0),
    "busybox": ("", frozenset(), 0),
    "unshare": ("", frozenset(), 0),
}  # fmt: skip


def _skip_options(words: list[str], i: int, takes_value: str, long: frozenset[str]) -> int:
    """The index after the options starting at ``words[i]`` (``--`` ends them); a short
    option taking a value takes the rest of its word, or the next word."""
    while i < len(words) and words[i].startswith("-") and words[i] != "-":
        word = words[i]
        i += 1
        if word == "--":
            break
        if word.startswith("--"):
            i += 1 if word in long else 0  # --opt VALUE (--opt=VALUE is one word)
            continue
        at = next((j for j, ch in enumerate(word[1:], 1) if ch in takes_value), None)
        if at == len(word) - 1:
            i += 1  # -u VALUE, -Eu VALUE; -uVALUE holds its value
    return i


def _all_commands(script: _Script) -> list[_Command]:
    commands: list[_Command] = []
    for pipeline in script:
        for cmd in pipeline:
            commands.append(cmd)
            for nested in cmd.nested:
                commands.extend(_all_commands(nested))
    return commands


def _downloads(cmd: _Command) -> bool:
    words, _ = _unwrap(cmd.words, [])
    return bool(words) and posixpath.basename(words[0]) in _DOWNLOADERS


def _inner_script(program: str, words: list[str]) -> str | None:
    """The text a command runs as shell code: ``sh -c TEXT``, ``eval ARGS``, ``su -c TEXT``,
    ``ssh HOST CMD``."""
    if program == "eval":
        return _live(" ".join(words[1:]))
    if program in _SHELLS:
        script = _shell_script(words)
        return None if script is None else _live(script)
    if program in ("su", "runuser"):
        for index, word in enumerate(words[1:], 1):
            if word in ("-c", "--command") or (
                word.startswith("-") and not word.startswith("--") and word.endswith("c")
            ):
                return _live(words[index + 1]) if index + 1 < len(words) else ""
        return None
    if program == "ssh":
        rest = _skip_options(words, 1, "bcDEeFIiJLlmOopQRSWw", frozenset())
        return _live(" ".join(words[rest + 1 :])) or None
    return None


def _shell_script(words: list[str]) -> str | None:
    """The script of ``sh [OPTIONS] -c SCRIPT``: the first operand after the options (``-c``
    is a flag, ``--`` ends the options, ``-o NAME`` takes a value); None without ``-c``."""
    command = False
    i = 1
    while i < len(words) and words[i][:1] in "-+" and len(words[i]) > 1:
        word = words[i]
        i += 1
        if word == "--":
            break
        if word in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
            i += 1
        elif word == "--command" or (not word.startswith("--") and "c" in word[1:]):
            command = True
    if not command:
        return None
    return words[i] if i < len(words) else ""


def _check_redirects(cmd: _Command, found: list[str]) -> None:
    for op, target in cmd.redirects:
        if op not in _WRITES or not target:
            continue
        if _DISK.match(target):
            found.append(f"writes straight onto the disk device {target}")
        elif _system(target):
            found.append(f"writes into a system directory ({target})")
        elif op not in (">>", "&>>") and _dotfile(target):
            found.append(f"overwrites {target}, a configuration file in the home directory")


def _dotfile(path: str) -> bool:
    """Whether ``path`` is a hidden file right in the home directory or in ~/.ssh (shell
    start-up files, keys): emptied, the user's setup is lost."""
    full = _expand(re.sub(r"^(\$HOME|\$\{HOME\})(?=/)", "~", path))
    home = _expand("~")
    parent, name = posixpath.split(full)
    return name.startswith(".") and (parent == home or parent == home + "/.ssh")


# what counts as broad


def _expand(path: str) -> str:
    home = os.path.expanduser("~")
    if path == "~" or path.startswith("~/"):
        path = home + path[1:]
    if not path:
        return path
    full = posixpath.normpath(path)
    return "/" + full.lstrip("/") if full.startswith("//") else full  # "//etc" is "/etc"


def _broad(path: str) -> str | None:
    """Why deleting everything under ``path`` would be a disaster, or None."""
    if not path:
        return None
    path = re.sub(r"^(\$HOME|\$\{HOME\})(?=/|$)", "~", path)  # set in every login
    if "$(" in path:
        return "a path made by a command's output, which may be anything"
    if path.startswith("$") or "${" in path:
        return "a path built from a variable: empty or unset, it becomes another path"
    if path in (".", "./") or path in _EVERYTHING:
        return "the whole current directory"
    if path in ("..", "../") or path.startswith("../"):
        return "a parent directory"
    if re.fullmatch(r"~[\w.-]+/?", path):
        return "a home directory"  # ~root, ~bob
    full = _expand(path)
    if posixpath.basename(full) in _EVERYTHING:  # dir/* and the like: all of dir
        full = posixpath.dirname(full) or "."
        if full == ".":
            return "the whole current directory"
    home = _expand("~")
    if full == "/":
        return "the root of the file system"
    if full in (home, posixpath.dirname(home)):
        return "a home directory"
    if full.startswith("/") and full.count("/") == 1:
        return "a top-level directory"
    if _system(full):
        return "a system directory"
    return None


def _system(path: str) -> bool:
    """Whether ``path`` is in a system directory (never inside the user's home, even when
    that is /root)."""
    full = _expand(path)
    home = _expand("~")
    if home != "/" and (full == home or full.startswith(home + "/")):
        return False
    if any(full == d or full.startswith(d + "/") for d in _NOT_SYSTEM):
        return False
    return any(full == d or full.startswith(d + "/") for d in _SYSTEM_DIRS)


def _split_flags(words: list[str]) -> tuple[set[str], list[str]]:
    """Short flags (``-rf`` -> r, f), long options and operands of ``words``."""
    flags: set[str] = set()
    operands: list[str] = []
    ended = False
    for word in words:
        if ended or not word.startswith("-") or word == "-":
            operands.append(word)
        elif word == "--":
            ended = True
        elif word.startswith("--"):
            flags.add(word.split("=", 1)[0])
        else:
            flags.update(word[1:])
    return flags, operands


# the rules: (words, arguments come from input, findings, depth)

_Rule = Callable[[list[str], bool, list[str], int], None]


def _rm(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    flags, targets = _split_flags(words[1:])
    recursive = bool(flags & {"r", "R", "--recursive"})
    force = bool(flags & {"f", "--force"})
    shown = "rm " + " ".join(w for w in words[1:] if w.startswith("-"))
    if "--no-preserve-root" in flags:
        found.append("rm --no-preserve-root: may delete the whole file system")
    if (recursive or force) and from_input:
        found.append(f"{shown.strip()} on every path it reads from input")
    for target in targets:
        why = _broad(target) if recursive or force else None
        if why:
            found.append(f"{shown.strip()} on {target}: {why}")
        elif _system(target):
            found.append(f"deletes in a system directory ({target})")


def _find(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    roots = [w for w in words[1:] if not w.startswith(("-", "(", "!"))][:1] or ["."]
    tests = ("-name", "-iname", "-path", "-ipath", "-regex", "-iregex", "-wholename")
    filtered = any(  # a test every path passes ("-name '*'") filters nothing
        w in tests and words[j + 1 : j + 2] not in ([p] for p in (*_EVERYTHING, ".*", ".*.*"))
        for j, w in enumerate(words)
    )
    for index, word in enumerate(words):
        if word in ("-exec", "-execdir", "-ok", "-okdir"):
            end = next(
                (j for j in range(index + 1, len(words)) if words[j] in (";", "+")), len(words)
            )
            run = words[index + 1 : end]
            if not filtered:  # {} is every path under the root, the root itself first
                run = [roots[0] if w == "{}" else w for w in run]
            _check_command(_Command(run), [], found, depth + 1)
    why = _broad(roots[0])
    if "-delete" in words and why and not filtered:
        found.append(f"find -delete on {roots[0]}: {why}")


def _dd(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    target = next((w[3:] for w in words[1:] if w.startswith("of=")), None)
    if target is not None:
        where = "the disk device " if _DISK.match(target) else ""
        found.append(f"dd overwrites {where}{target} with raw data")


def _say(reason: str) -> _Rule:
    def rule(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
        found.append(reason.format(program=posixpath.basename(words[0])))

    return rule


def _mkfs(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    found.append(f"{posixpath.basename(words[0])} formats a file system (erases what is on it)")


def _recursive_owner(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    flags, operands = _split_flags(words[1:])
    if not flags & {"R", "--recursive"}:
        return
    for target in operands[1:]:
        why = _broad(target)
        if why:
            found.append(f"{posixpath.basename(words[0])} -R on {target}: {why}")


def _copy_into(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    program = posixpath.basename(words[0])
    flags, operands = _split_flags(words[1:])
    if program == "tee":
        targets = operands
    elif program == "truncate":
        targets = [w for w in operands if not re.fullmatch(r"[-+<>/%]?\d+[KMGTPkmgtp]?B?", w)]
    elif program == "sed":
        targets = operands[1:] if flags & {"i", "--in-place"} else []
    else:
        targets = operands[-1:] if len(operands) > 1 else []
    if program == "rsync" and any(f.startswith("--delete") for f in flags):
        why = _broad(targets[0]) if targets else None
        if why:
            found.append(f"rsync --delete on {targets[0]}: {why}")
    if program == "mv":
        for source in operands[:-1]:
            why = _broad(source) if _expand(source).startswith("/") else None
            if why and source != "/dev/null":
                found.append(f"mv moves {source} away: {why}")
    for target in targets:
        if program == "mv" and target == "/dev/null":
            found.append("mv into /dev/null: what is moved is lost")
        elif _DISK.match(target):
            found.append(f"{program} writes onto the disk device {target}")
        elif _system(target):
            found.append(f"{program} writes into a system directory ({target})")


def _git(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    i = 1
    while i < len(words) and words[i].startswith("-"):
        i += 2 if words[i] in ("-C", "-c", "--git-dir", "--work-tree", "--namespace") else 1
    if i >= len(words):
        return
    sub, rest = words[i], words[i + 1 :]
    flags, operands = _split_flags(rest)
    if sub == "push":
        forced = flags & {"f", "--force", "--force-with-lease", "--force-if-includes", "--mirror"}
        if forced or any(o.startswith("+") for o in operands):
            found.append("git push --force: overwrites history on the remote")
        if flags & {"d", "--delete"} or any(o.startswith(":") for o in operands):
            found.append("git push --delete: deletes a branch or tag on the remote")
    elif sub == "reset" and "--hard" in flags:
        found.append("git reset --hard: throws away uncommitted changes")
    elif sub == "clean" and flags & {"f", "--force"}:
        found.append("git clean -f: deletes untracked files")
    elif sub == "branch" and "D" in flags:
        found.append("git branch -D: deletes a branch even if it is not merged")
    elif sub == "stash" and operands[:1] in (["clear"], ["drop"]):
        found.append(f"git stash {operands[0]}: deletes stashed changes")
    elif sub in ("checkout", "restore") and "." in operands and "--staged" not in flags:
        found.append(f"git {sub} .: throws away uncommitted changes")


def _kill(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    i = 1
    if i < len(words) and words[i].startswith("-") and words[i] not in ("--", "-1"):
        i += 2 if words[i] in ("-s", "-n", "--signal") else 1  # the signal
    elif words[i : i + 1] == ["-1"]:
        i += 1  # kill -1 PID: a leading -1 is SIGHUP
    if "-1" in words[i:]:
        found.append("kill -1: signals every process the user may signal")


def _power(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    found.append(f"{posixpath.basename(words[0])} stops or restarts the machine")


def _systemctl(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    if any(w in ("poweroff", "reboot", "halt", "kexec") for w in words[1:]):
        _power(words, from_input, found, depth)


def _crontab(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    flags, _ = _split_flags(words[1:])
    if "r" in flags:
        found.append("crontab -r: deletes every scheduled job")


def _diskutil(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    verbs = {"eraseDisk", "eraseVolume", "partitionDisk", "zeroDisk", "randomDisk", "secureErase"}
    if verbs & set(words[1:]):
        found.append("diskutil erases or repartitions a disk")


def _docker(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    if "prune" in words[1:] or words[1:3] in (["volume", "rm"], ["volume", "remove"]):
        found.append(f"{posixpath.basename(words[0])} deletes containers, images or volumes")


def _kubectl(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    if "delete" in words[1:]:
        found.append("kubectl delete: deletes cluster resources")


def _terraform(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    if "destroy" in words[1:]:
        found.append(f"{posixpath.basename(words[0])} destroy: deletes the infrastructure")


def _cloud_storage(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    flags, operands = _split_flags(words[1:])
    if "rm" in operands[:2] and flags & {"r", "R", "--recursive"}:
        found.append(f"{posixpath.basename(words[0])} rm --recursive: deletes stored objects")
    if operands[:2] == ["s3", "rb"] and "--force" in flags:
        found.append("aws s3 rb --force: deletes a bucket and everything in it")


_RULES: dict[str, _Rule] = {
    "rm": _rm,
    "find": _find,
    "dd": _dd,
    "shred": _say("shred overwrites files so they cannot be recovered"),
    "wipefs": _say("wipefs erases file system signatures"),
    "mke2fs": _mkfs,
    "mkswap": _mkfs,
    "newfs": _mkfs,
    "fdisk": _say("{program} changes a disk's partitions"),
    "sfdisk": _say("{program} changes a disk's partitions"),
    "gdisk": _say("{program} changes a disk's partitions"),
    "sgdisk": _say("{program} changes a disk's partitions"),
    "cfdisk": _say("{program} changes a disk's partitions"),
    "parted": _say("{program} changes a disk's partitions"),
    "diskutil": _diskutil,
    "chmod": _recursive_owner,
    "chown": _recursive_owner,
    "chgrp": _recursive_owner,
    "tee": _copy_into,
    "cp": _copy_into,
    "mv": _copy_into,
    "install": _copy_into,
    "ln": _copy_into,
    "rsync": _copy_into,
    "truncate": _copy_into,
    "sed": _copy_into,
    "git": _git,
    "kill": _kill,
    "shutdown": _power,
    "reboot": _power,
    "poweroff": _power,
    "halt": _power,
    "systemctl": _systemctl,
    "crontab": _crontab,
    "docker": _docker,
    "podman": _docker,
    "kubectl": _kubectl,
    "terraform": _terraform,
    "tofu": _terraform,
    "aws": _cloud_storage,
    "gsutil": _cloud_storage,
}
