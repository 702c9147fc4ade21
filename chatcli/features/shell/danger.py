"""Whether a command looks destructive, and why: read with a shell lexer, not a regex.

The text is split into words and operators by ``shlex`` (POSIX rules: quotes, escapes), after
one pass that tracks quoting to drop comments and line continuations, turn backticks into
``$( )`` and here-documents into here-strings; then into simple commands along ``;``, ``&&``,
``||``, ``&``, newlines and pipes, with the commands inside ``$( )``, backticks, ``<( )``,
subshells, function bodies, ``case`` branches, ``sh -c '...'``, ``eval``, ``xargs``,
``find -exec`` and wrappers such as ``sudo``, ``env``, ``time``, ``watch`` or ``timeout``
looked at too. Each simple command is then checked by the rules below (``rm -rf`` on a broad
path, ``dd of=``, ``mkfs``, ``shred``, ``chmod -R`` on ``/``, ``git push --force``,
``DROP TABLE``, ``sudo``, ``pkill``, writes into system directories or disk devices or over the
user's dotfiles, a download piped into a shell, ...); the shape of the text is checked for
fork bombs.

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
    "and", "or", "not", "begin", "end", "builtin", "noglob", "nocorrect",
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
_EVERYTHING = {"*", ".*", "*.*", ".[!.]*", ".[^.]*", "..?*", ".??*", "{*,.*}"}
_QUOTED_DOLLAR = "\ue000"  # a "$" inside single quotes: text, no expansion (until run as a script)
_STARTUP = {
    ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zshenv",
    ".zprofile", ".zlogin", ".zlogout", ".kshrc", ".mkshrc", ".xprofile", ".xinitrc",
    ".xsessionrc", ".config/fish/config.fish",
}  # fmt: skip
_SSH_KEYS = {".ssh/authorized_keys", ".ssh/authorized_keys2"}
_HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass
class _Command:
    """A simple command: its words, its redirections, the scripts nested in it
    (substitutions, a subshell group, ``sh -c`` strings) and what its place in the text shows
    (a function calling itself in the background)."""

    words: list[str] = field(default_factory=list)
    redirects: list[tuple[str, str]] = field(default_factory=list)
    nested: list[_Script] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # seen in the shape of the text (a fork bomb)


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


def _prepare(text: str) -> str:
    """Shell-level rewriting shlex does not do, in one pass that tracks quoting: line
    continuations removed, comments dropped (up to, not including, the newline), backticks
    turned into ``$( )``, a ``$`` inside single quotes marked as text, and here-documents
    turned into here-strings (``<<EOF`` + body -> ``<<< 'body'``), so their bodies are read as
    the text they are, not as commands; quoted as the delimiter was (an unquoted one expands
    ``$( )`` in the body). A ``<<`` inside ``$(( ))`` or ``(( ))`` is a shift, not a
    here-document."""
    out: list[str] = []
    pending: list[tuple[int, str, bool, bool]] = []  # slot in out, delimiter, <<-, quoted
    quote: str | None = None
    tick_open = False
    arithmetic = 0  # depth of parentheses inside (( ))
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
        elif quote is not None:
            pass
        elif ch == "(" and (arithmetic or text.startswith("((", i)):
            arithmetic += 1
        elif ch == ")" and arithmetic:
            arithmetic -= 1
        elif text.startswith("<<<", i):
            out.append("<<<")
            i += 3
            continue
        elif ch == "#" and (not out or out[-1][-1:] in " \t\n;|&("):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif not arithmetic and (heredoc := _heredoc(text, i)):
            delimiter, tabs, quoted, i = heredoc
            pending.append((len(out), delimiter, tabs, quoted))
            out.append("'")  # the here-string's closing quote, until its body is read
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


def _heredoc(text: str, i: int) -> tuple[str, bool, bool, int] | None:
    """The here-document starting at ``text[i]`` (``<<WORD`` or ``<<-WORD``): its delimiter
    (the word, quotes removed), whether tabs are stripped, whether any part of the word was
    quoted (the body is then not expanded), and the index after the word; None if there is
    none there."""
    if not text.startswith("<<", i):
        return None
    tabs = text.startswith("<<-", i)
    i += 3 if tabs else 2
    while i < len(text) and text[i] in " \t":
        i += 1
    word: list[str] = []
    quoted = False
    while i < len(text) and text[i] not in " \t\n;&|<>()":
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            word.append(text[i + 1])
            quoted = True
            i += 2
        elif ch in "'\"":
            end = text.find(ch, i + 1)
            if end < 0:
                return None  # an unclosed quote: the lexer reports it
            word.append(text[i + 1 : end])
            quoted = True
            i = end + 1
        else:
            word.append(ch)
            i += 1
    if not word:
        return None
    return "".join(word), tabs, quoted, i


def _read_bodies(
    text: str, i: int, pending: list[tuple[int, str, bool, bool]], out: list[str]
) -> int:
    """Put the bodies starting at ``text[i]`` in place of their ``<<`` in ``out``; the index
    after the last delimiter line."""
    for slot, delimiter, tabs, quoted in pending:
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
        here = shlex.quote(content) if quoted else '"' + _double_quoted(content) + '"'
        out[slot] = _prepare("<<< " + here)
    return min(i, len(text))


def _double_quoted(body: str) -> str:
    """An unquoted here-document's body as the inside of a double-quoted word meaning the
    same: in both a backslash escapes only ``$``, a backtick, a backslash and a newline;
    in the body a ``"``, and a backslash before anything else, are plain text."""
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and body[i + 1 : i + 2] in ("$", "`", "\\", "\n"):
            out.append(body[i : i + 2])
            i += 2
            continue
        out.append('\\"' if ch == '"' else "\\\\" if ch == "\\" else ch)
        i += 1
    return "".join(out)


def _tokens(text: str) -> list[str]:
    lexer = shlex.shlex(_prepare(text), posix=True, punctuation_chars="();<>|&\n")
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
    """Parse from ``tokens[i]`` to the end, or to the ``)`` closing a group. A function's
    header (``NAME ()``, ``function NAME``) ends a command, so the body after it is read as the
    commands it is; a ``case`` pattern (up to its ``)``) is not a command."""
    script: _Script = []
    pipeline: _Pipeline = []
    cmd = _Command()
    cases: list[bool] = []  # one per open "case ... in": whether a pattern is being read
    case_header = False  # "case WORD" read, "in" expected

    def end_command() -> None:
        nonlocal cmd
        if cmd.words or cmd.redirects or cmd.nested or cmd.findings:
            pipeline.append(cmd)
        cmd = _Command()

    def end_pipeline() -> None:
        nonlocal pipeline
        end_command()
        if pipeline:
            script.append(pipeline)
        pipeline = []

    def end_header(name: str, body: int) -> None:
        cmd.words.clear()  # "f" or "function f": nothing runs yet
        cmd.findings.extend(_fork_bomb(tokens, body, name))
        end_pipeline()

    while i < len(tokens):
        token = tokens[i]
        if cases and cases[-1]:  # a pattern: "(", words, "|", up to ")"
            if token == ")":
                cmd.words.clear()  # substitutions in it run, its words do not
                end_pipeline()
                cases[-1] = False
                i += 1
                continue
            if token == "esac" and not cmd.words:
                cases.pop()
                i += 1
                continue
            if token in ("|", "\n") or (token == "(" and not cmd.words):
                i += 1
                continue
        elif cases and (token in (";;", ";&", ";;&") or (token == "esac" and not cmd.words)):
            end_pipeline()
            if token == "esac":
                cases.pop()
            else:
                cases[-1] = True
            i += 1
            continue
        if case_header and token == "in":
            case_header = False
            end_pipeline()
            cases.append(True)
            i += 1
            continue
        if token == ")":
            if closing:
                break
            i += 1
        elif token in _SEPARATORS:
            case_header = False
            if cmd.words[:1] == ["function"] and len(cmd.words) > 1:  # fish, or bash's NAME\n{
                end_header(cmd.words[1], i + 1)
            end_pipeline()
            i += 1
        elif token in _PIPES:
            end_command()
            i += 1
        elif token == "(" and tokens[i + 1 : i + 2] == [")"] and _function_name(cmd.words):
            end_header(cmd.words[-1], i + 2)  # NAME () or function NAME ()
            i += 2
        elif token in _OPEN or (token.endswith("$") and tokens[i + 1 : i + 2] == ["("]):
            if token not in _OPEN:  # "prefix$" then "(": a command substitution in a word
                cmd.words.append(token[:-1] + "$(…)")
                i += 1
            elif token == "(" and re.fullmatch(r"[A-Za-z_]\w*\+?=", "".join(cmd.words[-1:])):
                inner, i = _parse_list(tokens, i + 1, closing=True)  # NAME=(words): an array
                cmd.words[-1] += "(…)"
                cmd.nested.extend(n for line in inner for c in line for n in c.nested)
                i += 1
                continue
            elif token in ("(", "$(") and cmd.words:  # an argument: $(cmd), fish's (cmd)
                cmd.words.append("$(…)")
            inner, i = _parse_list(tokens, i + 1, closing=True)
            cmd.nested.append(inner)
            i += 1
        elif token in _REDIRECTS:
            target = tokens[i + 1] if i + 1 < len(tokens) else ""
            is_word = target not in _OPERATORS
            if is_word and "$(" in target:  # a substitution in a redirection (or a here-doc)
                cmd.nested.append(_parse(_substituted(target)))
            cmd.redirects.append((token, target if is_word else ""))
            i += 2 if is_word else 1
        elif token == "{" and cmd.words[:1] == ["function"] and len(cmd.words) == 2:
            end_header(cmd.words[1], i)  # function NAME { BODY }
        else:
            if not cmd.words:
                if token == "case":
                    case_header = True
                elif token in ("while", "until", "for"):
                    cmd.findings.extend(_endless_spawner(tokens, i))
            if "$(" in token and not token.endswith("$(…)"):  # a quoted substitution in a word
                cmd.nested.append(_parse(_substituted(token)))
            cmd.words.append(token)
            i += 1
    end_pipeline()
    return script, i


def _substituted(word: str) -> str:
    """The text from a word's first ``$(`` on, as a script (``$(cmd) rest`` -> ``cmd) rest``);
    an arithmetic ``$((`` keeps a parenthesis, so a ``<<`` in it stays a shift."""
    start = word.index("$(") + 2
    return word[start - 1 if word.startswith("(", start) else start :]


def _function_name(words: list[str]) -> bool:
    """Whether ``words`` before ``()`` name a function being defined: ``NAME`` or
    ``function NAME``."""
    name = words[1:] if words[:1] == ["function"] else words
    return len(name) == 1 and not re.search(r"[=$\s]", name[0])


# the shapes of a fork bomb

_AT_START = _SEPARATORS | _PIPES | _OPEN | {
    "{", "do", "then", "else", "elif", "!", "begin", "and", "or", "not",
}  # fmt: skip
_FISH_BLOCKS = {"function", "if", "while", "for", "begin", "switch"}


def _starts_command(tokens: list[str], i: int) -> bool:
    return i == 0 or tokens[i - 1] in _AT_START


def _block_end(tokens: list[str], i: int, opens: set[str], close: str) -> int:
    """The index of the ``close`` (``}``, ``done``, fish's ``end``) ending the block whose body
    starts at ``tokens[i]``; the end of the tokens if there is none."""
    depth = 1
    for k in range(i, len(tokens)):
        if not _starts_command(tokens, k):
            continue
        if tokens[k] in opens and not (tokens[k] == "if" and tokens[k - 1] == "else"):
            depth += 1
        elif tokens[k] == close:
            depth -= 1
            if depth == 0:
                return k
    return len(tokens)


def _body(tokens: list[str], i: int) -> list[str]:
    """The tokens of the compound command starting at ``tokens[i]`` (after blank lines):
    ``{ ... }``, ``( ... )``, ``do ... done``, or fish's block up to its ``end``."""
    while i < len(tokens) and tokens[i] in ("\n", ";"):
        i += 1
    if i >= len(tokens):
        return []
    if tokens[i] == "{":
        return tokens[i + 1 : _block_end(tokens, i + 1, {"{"}, "}")]
    if tokens[i] == "do":
        return tokens[i + 1 : _block_end(tokens, i + 1, {"do"}, "done")]
    if tokens[i] == "(":
        depth = 0
        for k in range(i, len(tokens)):
            depth += 1 if tokens[k] in _OPEN else -1 if tokens[k] == ")" else 0
            if depth == 0:
                return tokens[i + 1 : k]
        return tokens[i + 1 :]
    return tokens[i : _block_end(tokens, i, _FISH_BLOCKS, "end")]


def _fork_bomb(tokens: list[str], i: int, name: str) -> list[str]:
    """Whether the body of the function ``name``, starting at ``tokens[i]``, calls the
    function in the background or in a pipe: every call starts more, without end."""
    body = _body(tokens, i)
    for k, token in enumerate(body):
        if token != name or not _starts_command(body, k):
            continue
        spawned = k > 0 and body[k - 1] in _PIPES
        m = k + 1
        while m < len(body) and body[m] not in _SEPARATORS | _PIPES | {")"}:
            m += 1
        while m < len(body) and body[m] == ")":  # the end of the group the call is in
            m += 1
        if spawned or (m < len(body) and (body[m] in _PIPES or body[m] == "&")):
            return [
                f"a fork bomb: {name} calls itself in the background or through a pipe, "
                "so processes multiply until the machine stalls"
            ]
    return []


def _endless_spawner(tokens: list[str], i: int) -> list[str]:
    """Whether the loop at ``tokens[i]`` never ends (``while true``, ``while :``,
    ``until false``, ``for ((;;))``) and starts a background process on every turn."""
    k = i + 1
    if tokens[i] == "for":
        for width in (5, 6):  # ((;;)) or (( ; ; ))
            if "".join(tokens[k : k + width]) == "((;;))":
                k += width
                break
        else:
            return []
    else:
        condition: list[str] = []
        while k < len(tokens) and tokens[k] not in _SEPARATORS and tokens[k] != "do":
            condition.append(tokens[k])
            k += 1
        endless = [["false"]] if tokens[i] == "until" else [["true"], [":"], ["[", "1", "]"]]
        if condition not in endless:
            return []
    if "&" in _body(tokens, k):
        return [
            "an endless loop starting a background process on every turn: they pile up until "
            "the machine stalls (a fork bomb)"
        ]
    return []


# checking


def _check_script(script: _Script, found: list[str], depth: int) -> None:
    if depth > _DEPTH:
        found.append("cannot be checked: nested too deeply")
        return
    for pipeline in script:
        for index, cmd in enumerate(pipeline):
            found.extend(cmd.findings)
            for nested in cmd.nested:
                _check_script(nested, found, depth + 1)
            _check_redirects(cmd, found, depth)
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
    elif (program in _SHELLS and _reads_script(words)) or (
        program in ("at", "batch") and "-f" not in words
    ):
        _check_input(program, cmd, upstream, found, depth)
    if program in _INTERPRETERS - _SHELLS and _forks_in_a_loop(words):
        found.append(
            f"a fork bomb: {program} calls fork in a loop, so processes multiply until the "
            "machine stalls"
        )
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
    if program == "tee" and _split_flags(words[1:])[0] & {"a", "--append"}:
        writer = upstream[-1] if upstream else None
        what = f"what {_program(writer)} writes" if writer else "what it reads from the terminal"
        for target in _split_flags(words[1:])[1]:
            _check_append(target, writer, what, found, depth)
    if words[0].startswith(("/etc/init.d/", "/etc/rc.d/")):
        _service(["service", program, *words[1:]], from_input, found, depth)


def _forks_in_a_loop(words: list[str]) -> bool:
    """Whether an interpreter's inline code (``-c``, ``-e``) calls fork in a loop
    (``perl -e 'fork while fork'``)."""
    inline = next((i for i, w in enumerate(words) if re.fullmatch(r"-\w*[ceE]|--eval", w)), None)
    code = " ".join(words[inline + 1 :]) if inline is not None else ""
    return bool(re.search(r"\bfork\b", code) and re.search(r"\b(while|for|loop|until)\b", code))


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
        source = posixpath.basename(writer[0]) if writer else "a pipe"
        text = _shown(upstream[-1])
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


def _shown(cmd: _Command) -> str | None:
    """What ``cmd`` writes, when the command line shows it: the arguments of ``echo`` or
    ``printf``, the here-string or here-document given to ``cat``; None otherwise."""
    words, _ = _unwrap(cmd.words, [])
    name = posixpath.basename(words[0]) if words else ""
    if name in ("echo", "printf") and not cmd.nested:
        return _printed(name, words[1:])
    stdin = [(op, target) for op, target in cmd.redirects if op in ("<", "<<<")]
    if name == "cat" and len(words) == 1 and stdin[-1:] and stdin[-1][0] == "<<<":
        return stdin[-1][1]
    return None


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
    (``sudo``, ``env``, ``nice``, ``timeout``, ``xargs``, ``command``, ``time``, ...) taken
    off; ``sudo`` and its kind are findings. ``watch CMD`` and ``flock FILE -c CMD`` come back
    as the ``sh -c CMD`` they run. The flag says whether the arguments come from input
    (``xargs``, ``parallel``)."""
    from_input = False
    i = 0
    while i < len(words):
        word = words[i]
        name = posixpath.basename(word)
        if word in _KEYWORDS or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", word, re.S):
            i += 1
        elif word == "coproc":  # coproc CMD, coproc NAME { CMD; }
            i += 2 if words[i + 2 : i + 3] == ["{"] else 1
        elif name == "watch" and not {"-x", "--exec"} & set(words[i + 1 :]):
            rest = _skip_options(words, i + 1, *_WRAPPERS["watch"][:2])
            return ["sh", "-c", " ".join(words[rest:])], from_input  # run by sh -c
        elif name == "flock":
            rest = _skip_options(words, i + 1, *_WRAPPERS["flock"][:2]) + 1  # the lock file
            rest = _skip_options(words, rest, "wE", frozenset({"--wait", "--timeout"}))
            if words[rest - 1 : rest] in (["-c"], ["--command"]):
                return ["sh", "-c", *words[rest : rest + 1]], from_input
            i = rest
        elif name == "command" and any(
            w.startswith("-") and set(w[1:]) & {"v", "V"} for w in words[i + 1 : i + 2]
        ):
            return [], from_input  # command -v NAME: prints where NAME is, runs nothing
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
            from_input = from_input or name in ("xargs", "parallel")
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
    "command": ("", frozenset(), 0),
    "exec": ("a", frozenset(), 0),
    "time": ("of", frozenset({"--output", "--format"}), 0),
    "nohup": ("", frozenset(), 0),
    "fakeroot": ("lsi", frozenset({"--lib", "--faked"}), 0),
    "parallel": ("jSadIEnNLP", frozenset({
        "--jobs", "--sshlogin", "--arg-file", "--delimiter", "--joblog", "--results",
        "--tmpdir", "--workdir",
    }), 0),
    "nsenter": ("tSG", frozenset({"--target", "--setuid", "--setgid"}), 0),
    "firejail": ("", frozenset(), 0),
    "proxychains": ("f", frozenset(), 0),
    "proxychains4": ("f", frozenset(), 0),
    "torsocks": ("", frozenset(), 0),
    "systemd-run": ("pEuMH", frozenset({
        "--unit", "--property", "--uid", "--gid", "--setenv", "--working-directory",
        "--machine", "--host", "--description", "--slice", "--on-calendar", "--on-active",
    }), 0),
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
    """The text a command runs as shell code: ``sh -c TEXT``, ``eval ARGS``, ``su -c TEXT``
    (and ``runuser``, ``script``, ``sg``), ``ssh HOST CMD``."""
    if program == "eval":
        return _live(" ".join(words[1:]))
    if program in _SHELLS:
        script = _shell_script(words)
        return None if script is None else _live(script)
    if program == "sg" and len(words) > 2 and not words[2].startswith("-"):
        return _live(" ".join(words[2:]))  # sg GROUP CMD
    if program in ("su", "runuser", "script", "sg"):
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


def _check_redirects(cmd: _Command, found: list[str], depth: int) -> None:
    for op, target in cmd.redirects:
        if op not in _WRITES or not target:
            continue
        dotfile = _dotfile(target)
        if _DISK.match(target):
            found.append(f"writes straight onto the disk device {target}")
        elif _system(target):
            found.append(f"writes into a system directory ({target})")
        elif op in (">>", "&>>"):
            what = f"what {_program(cmd)} writes" if _program(cmd) else "a text it does not show"
            _check_append(target, cmd, what, found, depth)
        elif dotfile:
            found.append(f"overwrites {target}, {dotfile}")


def _program(cmd: _Command | None) -> str:
    """The name of the program ``cmd`` runs, wrappers taken off; "" if none."""
    words, _ = _unwrap(cmd.words, []) if cmd is not None else ([], False)
    return posixpath.basename(words[0]) if words else ""


def _check_append(
    target: str, writer: _Command | None, what: str, found: list[str], depth: int
) -> None:
    """An append to a file the shell or sshd reads at start-up: the keys added to
    ``authorized_keys`` may log in; a text added to ``~/.bashrc`` and its kind runs in every
    new shell, so it is checked as a script when the command shows it (``echo ... >>``), and
    is a finding when it does not."""
    startup = _startup(target)
    if startup is None:
        return
    if not startup.startswith("a shell"):
        found.append(f"adds to {target}: {startup}")
        return
    text = _shown(writer) if writer is not None else None
    if text is None:
        found.append(f"appends {what} to {target}, {startup}")
        return
    inner: list[str] = []
    try:
        _check_script(_parse(_live(text)), inner, depth + 1)
    except ValueError as exc:
        inner.append(f"cannot be checked: the lexer stops at it ({exc})")
    if inner:
        found.append(f"appends to {target} commands that look destructive ({startup})")
        found.extend(inner)


def _in_home(path: str) -> str | None:
    """``path`` relative to the home directory ("" for the home itself), or None outside it."""
    full = _expand(re.sub(r"^(\$HOME|\$\{HOME\})(?=/|$)", "~", path))
    home = _expand("~")
    if full == home:
        return ""
    if home != "/" and full.startswith(home + "/"):
        return full[len(home) + 1 :]
    return None


def _dotfile(path: str) -> str | None:
    """What ``path`` is, when it is a file of the user's set-up that would be lost if
    overwritten: a hidden file right in the home directory, anything in ~/.ssh or ~/.gnupg
    (keys, who may log in), fish's start-up files."""
    rel = _in_home(path)
    if not rel:
        return None
    if rel == ".ssh" or rel.startswith(".ssh/"):
        return "part of the user's SSH set-up (keys, who may log in)"
    if rel == ".gnupg" or rel.startswith(".gnupg/"):
        return "part of the user's GnuPG keys"
    if (rel in _STARTUP and "/" in rel) or rel.startswith(".config/fish/conf.d/"):
        return "a shell start-up file"
    if rel.startswith(".") and "/" not in rel:
        return "a configuration file in the home directory"
    return None


def _startup(path: str) -> str | None:
    """Why a change to ``path`` outlives the command, when something runs what it holds: a
    shell's start-up files, sshd's ``authorized_keys`` and ``rc``."""
    rel = _in_home(path)
    if rel in _STARTUP or (rel or "").startswith(".config/fish/conf.d/"):
        return "a shell start-up file: what it holds runs in every new shell"
    if rel in _SSH_KEYS:
        return "the keys in it may log in as this user"
    if rel in (".ssh/rc", ".ssh/environment"):
        return "sshd reads it at every login"
    return None


def _precious(path: str) -> str | None:
    """Why deleting ``path`` loses the user's set-up (keys, start-up files, every
    application's settings), or None; ~/.ssh/known_hosts and caches are not precious."""
    rel = _in_home(path)
    if rel is None:
        return None
    rel = rel.rstrip("/")
    if rel.startswith(".ssh/") and posixpath.basename(rel).startswith("known_hosts"):
        return None
    if rel in (".config", ".local", ".local/share"):
        return "where applications keep their settings and data"
    if rel in (".ssh", ".gnupg") or rel.startswith((".ssh/", ".gnupg/")) or _startup(path):
        return _dotfile(path)
    return None


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


def _split_flags(
    words: list[str], takes_value: str = "", long_values: frozenset[str] = frozenset()
) -> tuple[set[str], list[str]]:
    """Short flags (``-rf`` -> r, f), long options and operands of ``words``; a short option
    in ``takes_value`` takes the rest of its word or the next word, a long one in
    ``long_values`` the next word (unless written ``--opt=value``): values are not
    operands."""
    flags: set[str] = set()
    operands: list[str] = []
    ended = False
    skip = False
    for word in words:
        if skip:
            skip = False
        elif ended or not word.startswith("-") or word == "-":
            operands.append(word)
        elif word == "--":
            ended = True
        elif word.startswith("--"):
            flags.add(word.split("=", 1)[0])
            skip = word in long_values
        else:
            for at, letter in enumerate(word[1:], 1):
                flags.add(letter)
                if letter in takes_value:
                    skip = at == len(word) - 1
                    break
    return flags, operands


def _braces(word: str) -> list[str]:
    """``word`` with its ``{a,b}`` brace expansions made, as the shell does before running
    the command (``/{etc,usr}`` -> ``/etc``, ``/usr``; ``{/,}`` -> ``/``, ``""``). One group
    is expanded whole at a time; past a few hundred words the rest stay unexpanded."""
    words = [word]
    while len(words) <= 256:
        expanded: list[str] = []
        for item in words:
            match = None if item in _EVERYTHING else _BRACE.search(item)
            if match is None:
                expanded.append(item)
            else:
                expanded.extend(
                    item[: match.start()] + part + item[match.end() :]
                    for part in match.group(1).split(",")
                )
        if expanded == words:
            break
        words = expanded
    return words


_BRACE = re.compile(r"\{([^{}]*,[^{}]*)\}")


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
        paths = _braces(target)
        why = next(filter(None, map(_broad, paths)), None) if recursive or force else None
        precious = next(filter(None, map(_precious, paths)), None)
        if why:
            found.append(f"{shown.strip()} on {target}: {why}")
        elif any(map(_system, paths)):
            found.append(f"deletes in a system directory ({target})")
        elif precious:
            found.append(f"deletes {target}, {precious}")


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
                if run and posixpath.basename(run[0]) in _CHANGES:  # so chmod is as if -R
                    run.insert(1, "-R")
            _check_command(_Command(run), [], found, depth + 1)
    why = next(filter(None, map(_broad, _braces(roots[0]))), None)
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


def _wipefs(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    flags, _ = _split_flags(words[1:], "otp", frozenset({"--offset", "--types", "--backup"}))
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


def _partition(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    program = posixpath.basename(words[0])
    flags, operands = _split_flags(words[1:])
    if flags & _READ_ONLY.get(program, set()):
        return
    if program == "parted" and "print" in operands and not _PARTED_CHANGES & set(operands):
        return
    found.append(f"{program} changes a disk's partitions")


_CHANGES = {"chmod": "permissions", "chown": "owner", "chgrp": "group", "setfacl": "permissions",
            "chattr": "attributes"}  # fmt: skip


def _permissions(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """chmod, chown, chgrp, setfacl, chattr: recursive (the flag anywhere) on a broad path,
    or on anything in a system directory (``chmod u+s /bin/bash``). The current directory
    counts as broad when it is: the command runs there."""
    program = posixpath.basename(words[0])
    args = words[1:]
    if program == "chmod":  # a mode such as -w or -rwx is an operand, not options
        args = ["mode" if re.fullmatch(r"-[rwxXst]+", w) else w for w in args]
    values = {"setfacl": "mMxX", "chattr": "pv"}.get(program, "")
    flags, operands = _split_flags(args, values)
    if program in ("chmod", "chown", "chgrp") and "--reference" not in flags:
        operands = operands[1:]  # the mode, the owner or the group
    elif program == "chattr":
        operands = [o for o in operands if not o.startswith(("+", "="))]
    recursive = bool(flags & {"R", "--recursive"})
    for target in operands:
        paths = _braces(target)
        why = next(filter(None, map(_broad, paths)), None) if recursive else None
        if why == "the whole current directory":  # a project, or the home directory
            here = _broad(_cwd())
            why = f"{here} (the current directory)" if here else None
        if why:
            found.append(f"{program} -R on {target}: {why}")
        elif any(_system(p) or _expand(p) == "/" for p in paths):
            found.append(f"{program} changes the {_CHANGES[program]} of a system file ({target})")


def _cwd() -> str:
    """The directory the command will run in ("." if it is gone)."""
    try:
        return os.getcwd()
    except OSError:
        return "."


def _copy_into(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    """Programs that write files they are given: tee, truncate, sed -i, cp, mv, install,
    ln, rsync; into a system directory, onto a disk, over the user's set-up."""
    program = posixpath.basename(words[0])
    values, long = _VALUES.get(program, ("", frozenset()))
    flags, operands = _split_flags(words[1:], values, long)
    into = _option_value(words[1:], values) if program in ("cp", "mv", "ln", "install") else None
    if program in ("tee", "truncate"):
        targets = operands
    elif program == "sed":
        targets = _sed_files(words[1:])
    elif into is not None:
        targets = [into]
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
    for path in _overwritten(program, flags, operands, targets, into):
        dotfile = _dotfile(path)
        if dotfile:
            verb = _OVERWRITES.get(program, f"{program} overwrites")
            found.append(f"{verb} {path}, {dotfile}")


_VALUES: dict[str, tuple[str, frozenset[str]]] = {  # options taking a value, short and long
    "cp": ("tS", frozenset({"--target-directory", "--suffix"})),
    "mv": ("tS", frozenset({"--target-directory", "--suffix"})),
    "ln": ("tS", frozenset({"--target-directory", "--suffix"})),
    "install": ("tSmogC", frozenset({"--target-directory", "--suffix", "--mode", "--owner",
                                     "--group"})),
    "rsync": ("efTB", frozenset({"--rsh", "--filter", "--temp-dir", "--exclude", "--include",
                                 "--block-size"})),
    "truncate": ("sr", frozenset({"--size", "--reference"})),
}  # fmt: skip
_OVERWRITES = {"mv": "mv replaces", "ln": "ln -f replaces", "truncate": "truncate cuts",
               "sed": "sed -i rewrites"}  # fmt: skip
_DIRECTORIES = {"", ".ssh", ".gnupg", ".config", ".local"}  # dotted names that are folders


def _option_value(words: list[str], takes_value: str) -> str | None:
    """The directory of cp's, mv's, ln's or install's ``-t DIR`` (``-tDIR``, ``-rt DIR``,
    ``--target-directory DIR`` or ``=DIR``), or None."""
    for index, word in enumerate(words):
        if word == "--":
            break
        if word == "--target-directory":
            return words[index + 1] if index + 1 < len(words) else None
        if word.startswith("--target-directory="):
            return word.split("=", 1)[1]
        if word.startswith("-") and not word.startswith("--"):
            for at, letter in enumerate(word[1:], 1):
                if letter == "t":
                    rest = word[at + 1 :]
                    return rest or (words[index + 1] if index + 1 < len(words) else None)
                if letter in takes_value:
                    break  # the rest of the word is that option's value
    return None


def _overwritten(
    program: str, flags: set[str], operands: list[str], targets: list[str], into: str | None
) -> list[str]:
    """The files a write replaces: the target, or ``DIR/NAME`` of each source copied into a
    directory; none when the program keeps what is there (``-n``, ``--backup``, ``ln``
    without ``-f``, ``tee -a``, ``sed -i.bak``, ``install -d``)."""
    if program == "tee":
        return [] if flags & {"a", "--append"} else targets
    if program in ("truncate", "sed"):
        return targets
    keeps = {"n", "--no-clobber", "b", "--backup", "--dry-run", "d", "--directory"}
    if flags & keeps or (program == "ln" and not flags & {"f", "--force"}):
        return []
    sources = operands if into is not None else operands[:-1]
    paths: list[str] = []
    for target in targets:
        folder = into is not None or target.endswith("/") or len(sources) > 1
        if folder or _in_home(target.rstrip("/")) in _DIRECTORIES:
            paths.extend(posixpath.join(target, posixpath.basename(s.rstrip("/"))) for s in sources)
        else:
            paths.append(target)
    return paths


def _sed_files(args: list[str]) -> list[str]:
    """The files ``sed -i`` rewrites without keeping a backup (``-i.bak`` keeps one): its
    operands after the script (the first operand, unless ``-e`` or ``-f`` gave it)."""
    in_place = backup = script_given = False
    operands: list[str] = []
    skip = False
    for word in args:
        if skip:
            skip = False
        elif word.startswith("--in-place"):
            in_place, backup = True, "=" in word and word.split("=", 1)[1] != ""
        elif word in ("--expression", "--file") or word.startswith(("--expression=", "--file=")):
            script_given, skip = True, "=" not in word
        elif word.startswith("-") and not word.startswith("--") and word != "-":
            for at, letter in enumerate(word[1:], 1):
                if letter == "i":
                    in_place, backup = True, at < len(word) - 1
                    break
                if letter in "efl":
                    script_given = script_given or letter != "l"
                    skip = at == len(word) - 1
                    break
        elif not word.startswith("--"):
            operands.append(word)
    if not in_place:
        return []
    files = operands if script_given else operands[1:]
    return [] if backup else files


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
    elif sub in ("checkout", "switch") and flags & {"f", "--force", "--discard-changes"}:
        found.append(f"git {sub} --force: throws away uncommitted changes")
    elif sub == "reflog" and operands[:1] in (["expire"], ["delete"]):
        found.append(f"git reflog {operands[0]}: deletes the record that lets lost commits back")
    elif sub == "gc" and any(f.startswith("--prune") for f in rest) and "--prune=never" not in rest:
        found.append("git gc --prune: deletes unreachable commits for good")
    elif sub in ("filter-branch", "filter-repo"):
        found.append(f"git {sub}: rewrites the whole history")
    elif sub == "update-ref" and flags & {"d"}:
        found.append("git update-ref -d: deletes a branch or ref")


def _kill(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
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


def _pkill(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    program = posixpath.basename(words[0])
    if words[1:] and all(w in ("-l", "--list", "-V", "--version", "--help") for w in words[1:]):
        return
    if program == "killall5":
        found.append("killall5 signals every process outside its own session")
        return
    _, operands = _split_flags(words[1:], "sugtPGFUen" if program == "pkill" else "suogn")
    shown = " ".join([program, *operands])
    found.append(f"{shown}: kills every process that matches, not one picked by its PID")


def _power(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    found.append(f"{posixpath.basename(words[0])} stops or restarts the machine")


_UNITS = (
    (re.compile(r"(open)?sshd?(-server)?(\.socket)?"), "cuts remote logins (SSH)"),
    (re.compile(r"network(ing|d)?|NetworkManager|systemd-(networkd|resolved)|wpa_supplicant"
                r"|dhcpcd|iwd|connman"), "cuts the network"),
    (re.compile(r"firewalld|ufw|nftables|iptables|netfilter-persistent"), "turns the firewall off"),
    (re.compile(r"dbus|systemd-logind|gdm3?|sddm|lightdm|display-manager"),
     "ends the logins or the desktop session"),
)  # fmt: skip


def _systemctl(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    flags, operands = _split_flags(words[1:], "HMpPnost", frozenset({"--host", "--machine"}))
    if any(w in ("poweroff", "reboot", "halt", "kexec") for w in words[1:]):
        _power(words, from_input, found, depth)
    if "--user" in flags or not operands:
        return
    verb, units = operands[0], operands[1:]
    if verb in ("rescue", "emergency", "isolate"):
        found.append(f"systemctl {verb}: stops every service the target does not need")
    elif verb in ("stop", "disable", "mask", "kill"):
        _stops(f"systemctl {verb} {{}}", units, found)


def _service(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    if len(words) > 2 and words[2] == "stop":
        _stops("service {} stop", [posixpath.basename(words[1])], found)


def _stops(shown: str, units: list[str], found: list[str]) -> None:
    for unit in units:
        name = re.sub(r"\.(service|socket|target)$", "", unit)
        why = next((why for pattern, why in _UNITS if pattern.fullmatch(name)), None)
        if why:
            found.append(f"{shown.format(unit)}: {why}")


def _firewall(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
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
                chain = args[index + 1]
                found.append(
                    f"{program} -P {chain} DROP: drops every packet the rules do not "
                    "let through (remote sessions too)"
                )


def _crontab(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    flags, operands = _split_flags(words[1:], "u", frozenset())
    if "r" in flags:
        found.append("crontab -r: deletes every scheduled job")
    elif operands and not flags & {"l", "e"}:
        source = "its input" if operands[0] == "-" else operands[0]
        found.append(f"crontab {operands[0]}: replaces every scheduled job with {source}")


def _alias(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    for word in words[1:]:
        name, equals, value = word.partition("=")
        if not equals:
            continue
        inner: list[str] = []
        try:
            _check_script(_parse(_live(value)), inner, depth + 1)
        except ValueError as exc:
            inner.append(f"cannot be checked: the lexer stops at it ({exc})")
        if inner:
            found.append(f"alias {name} runs a command that looks destructive")
            found.extend(inner)


def _diskutil(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    verbs = {"eraseDisk", "eraseVolume", "partitionDisk", "zeroDisk", "randomDisk", "secureErase"}
    if verbs & set(words[1:]):
        found.append("diskutil erases or repartitions a disk")


def _docker(words: list[str], from_input: bool, found: list[str], depth: int) -> None:
    program = posixpath.basename(words[0])
    args = words[1:]
    if "prune" in args or args[:2] in (["volume", "rm"], ["volume", "remove"]):
        found.append(f"{program} deletes containers, images or volumes")
    elif any(w in ("rm", "rmi", "remove") for w in args[:2]) and any("$(" in w for w in args):
        found.append(f"{program} rm: deletes every container or image a command lists")
    elif "down" in args and {"-v", "--volumes"} & set(args):
        shown = "docker-compose" if program == "docker-compose" else f"{program} compose"
        found.append(f"{shown} down -v: deletes the project's volumes (their data)")


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
    "unlink": _rm,
    "find": _find,
    "dd": _dd,
    "shred": _say("shred overwrites files so they cannot be recovered"),
    "wipefs": _wipefs,
    "mke2fs": _mkfs,
    "mkswap": _mkfs,
    "newfs": _mkfs,
    "fdisk": _partition,
    "sfdisk": _partition,
    "gdisk": _partition,
    "sgdisk": _partition,
    "cfdisk": _partition,
    "parted": _partition,
    "diskutil": _diskutil,
    "chmod": _permissions,
    "chown": _permissions,
    "chgrp": _permissions,
    "setfacl": _permissions,
    "chattr": _permissions,
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
    "pkill": _pkill,
    "killall": _pkill,
    "killall5": _pkill,
    "shutdown": _power,
    "reboot": _power,
    "poweroff": _power,
    "halt": _power,
    "systemctl": _systemctl,
    "service": _service,
    "iptables": _firewall,
    "ip6tables": _firewall,
    "iptables-legacy": _firewall,
    "iptables-nft": _firewall,
    "nft": _firewall,
    "ufw": _firewall,
    "crontab": _crontab,
    "alias": _alias,
    "docker": _docker,
    "docker-compose": _docker,
    "podman": _docker,
    "kubectl": _kubectl,
    "terraform": _terraform,
    "tofu": _terraform,
    "aws": _cloud_storage,
    "gsutil": _cloud_storage,
}
