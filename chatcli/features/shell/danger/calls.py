"""What an interpreter's code does that a shell command would be judged for: it deletes files,
writes where a redirection would be a finding, or runs shell commands.

The code is read with its string literals set apart (literals.py), so a call named only in a
string is text, as ``echo 'rm -rf /'`` is. Each language's calls are looked for by name and
their literal arguments read:

- a deletion (``shutil.rmtree``, ``os.remove``, ``unlink``, ``FileUtils.rm_rf``,
  ``fs.rmSync``) is a finding whatever it deletes, its path said when the code shows it:
  ``rm`` shows what it deletes, code hides it from a reader;
- a write (``open(PATH, 'w')``, ``writeFileSync``, a rename onto PATH) only where a
  redirection would be one: a system directory, a disk, the user's set-up;
- a shell command (``os.system``, ``subprocess``, ``system``, backticks) is checked as any
  command line is, by the check passed in; one made at run time cannot be checked;
- a literal given to ``eval`` or ``exec`` is read again as code.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from chatcli.features.shell.danger.literals import (
    MARK,
    Arg,
    Expr,
    Literal,
    arguments,
    set_apart,
    variable,
)
from chatcli.features.shell.danger.paths import DISK, broad, setup_file, system

_L = MARK  # a literal, set apart
_OS = rf"(?:\bos|__import__\(\s*{_L}\s*\))"
_PERL = r"(?<![\w$@%&>:])"  # a builtin, not a variable, a method or a package's sub
_PHP = r"(?<![\w$>:\\])"
_FS = rf"(?:\b(?:fs\.promises|fsp?|promises)|require\(\s*{_L}\s*\)(?:\.promises)?)\."
_CHILD = rf"(?:\b(?:child_process|childProcess|cp)|require\(\s*{_L}\s*\))\."
_CALLS: dict[str, list[tuple[str, str]]] = {  # language: (what the call does, its names)
    "python": [
        ("delete", rf"(?:(?:\bshutil|__import__\(\s*{_L}\s*\))\.|(?<![\w.]))rmtree\b"),
        ("delete", rf"{_OS}\.(?:remove|unlink|rmdir|removedirs)\b"),
        ("delete", r"(?<!\bos)\.(?:unlink|rmdir)(?=\s*\()"),  # pathlib's Path
        ("rename", rf"{_OS}\.(?:rename|replace)\b|\bshutil\.move\b"),
        ("open", r"(?<![\w.])open(?=\s*\()"),
        ("shell", rf"{_OS}\.(?:system|popen|exec\w*|spawn\w*)\b"),
        ("shell", rf"(?:\bsubprocess|__import__\(\s*{_L}\s*\))\.(?:run|call|check_call|"
                  r"check_output|Popen|getoutput|getstatusoutput)\b"),
        ("code", r"(?<![\w.])(?:exec|eval)(?=\s*\()"),
    ],
    "perl": [
        ("delete", rf"{_PERL}(?:unlink|rmdir)\b|(?<![\w$@%&>])(?:File::Path::)?(?:rmtree|"
                   r"remove_tree)\b"),
        ("rename", rf"{_PERL}rename\b|\bFile::Copy::move\b"),
        ("open", rf"{_PERL}open\b"),
        ("shell", rf"{_PERL}(?:system|exec)\b"),
        ("code", rf"{_PERL}eval\b"),
    ],
    "ruby": [
        ("delete", r"\b(?:FileUtils\.)?(?:rm_rf|rm_r|remove_dir|remove_entry_secure|"
                   r"remove_entry|rmtree)\b"),
        ("delete", r"\bFileUtils\.(?:rm|rm_f|remove|rmdir|safe_unlink|remove_file)\b|"
                   r"\b(?:File|Dir)\.(?:delete|unlink|rmdir)\b"),
        ("rename", r"\bFile\.rename\b|\bFileUtils\.(?:mv|move)\b"),
        ("write", r"\b(?:File|IO)\.(?:write|binwrite)\b"),
        ("open", r"\b(?:File|IO)\.open\b|(?<![\w.])open\b"),
        ("shell", r"(?:\bKernel\.|(?<![\w.]))(?:system|exec|spawn)\b|\bIO\.popen\b|"
                  r"\bOpen3\.\w+"),
        ("code", r"(?<![\w.])eval\b"),
    ],
    "node": [
        ("delete", rf"(?:{_FS})?(?:rm|rmdir|unlink)Sync\b|{_FS}(?:rm|rmdir|unlink)\b"),
        ("rename", rf"(?:{_FS})?renameSync\b|{_FS}rename\b"),
        ("write", rf"(?:{_FS})?(?:writeFileSync|truncateSync)\b|{_FS}(?:writeFile|truncate)\b"),
        ("shell", rf"(?:{_CHILD})?(?:execSync|execFileSync|spawnSync)\b|"
                  rf"(?:{_CHILD}|(?<![\w.$]))(?:exec|execFile|spawn)\b"),
        ("code", r"(?<![\w.$])eval\b"),
    ],
    "php": [
        ("delete", rf"{_PHP}(?:unlink|rmdir)\b"),
        ("rename", rf"{_PHP}rename\b"),
        ("write", rf"{_PHP}file_put_contents\b"),
        ("open", rf"{_PHP}fopen\b"),
        ("shell", rf"{_PHP}(?:system|exec|shell_exec|passthru|popen|proc_open)\b"),
        ("code", rf"{_PHP}eval\b"),
    ],
}  # fmt: skip
_PATTERNS = {lang: [(kind, re.compile(names)) for kind, names in calls]
             for lang, calls in _CALLS.items()}  # fmt: skip
_DEPTH = 4


def check(
    program: str, lang: str, code: str, found: list[str], shell: Callable[[str], list[str]]
) -> None:
    """Add to ``found`` why the ``lang`` code run by ``program`` looks destructive; ``shell``
    gives the reasons of a shell command's text."""
    _check(program, lang, code, found, shell, 0)


def _check(
    program: str,
    lang: str,
    code: str,
    found: list[str],
    shell: Callable[[str], list[str]],
    depth: int,
) -> None:
    """``check``, ``depth`` levels of ``eval`` deep."""
    masked, literals = set_apart(code, lang)
    for literal in literals:
        if literal.shell:
            _run(program, literal.shell, [literal.text], found, shell)
    calls = sorted(
        (match.start(), match.end(), kind, match.group(0))
        for kind, pattern in _PATTERNS[lang]
        for match in pattern.finditer(masked)
    )
    seen: set[int] = set()
    for _, end, kind, name in calls:
        if end in seen:
            continue  # one call, named by two patterns (os.unlink, Path.unlink)
        seen.add(end)
        label = _label(name, literals, lang)
        args = arguments(masked, end, literals)
        if kind == "delete":
            path = args[0] if args and isinstance(args[0], str) else None
            why = (broad(path) or ("a system directory" if system(path) else "")) if path else ""
            on = f" on {path}{': ' + why if why else ''}" if path else ""
            found.append(f"{program}'s code deletes files or directories ({label}{on})")
        elif kind in ("write", "rename", "open"):
            target = _written(kind, lang, args)
            if target:
                _write(program, target, found)
        elif kind == "shell" and args:
            _run(program, label, args, found, shell)
        elif kind == "code" and args and isinstance(args[0], str) and depth < _DEPTH:
            _check(program, lang, args[0], found, shell, depth + 1)


def _written(kind: str, lang: str, args: list[Arg]) -> str | None:
    """The path a write call replaces, when the code shows it: the first argument (the
    second for a rename), or for ``open`` the file opened for writing from its start
    (python's ``'w'``, perl's ``'>'``); None otherwise."""
    texts = [a if isinstance(a, str) else None for a in args]
    if kind == "write":
        return texts[0] if texts else None
    if kind == "rename":
        return texts[1] if len(texts) > 1 else None
    if lang == "perl":  # open(FH, '>', PATH) or open(FH, '>PATH')
        mode = texts[1] if len(texts) > 1 else None
        if mode is not None and len(texts) > 2 and re.fullmatch(r"\+?>(?!>)[^ ]*", mode):
            return texts[2]
        two = re.fullmatch(r"\s*\+?>(?!>)\s*(\S.*)", mode or "")
        return two.group(1) if two and len(texts) == 2 else None
    mode = texts[1] if len(texts) > 1 else None
    truncates = mode is not None and "w" in mode and set(mode) <= set("wbt+")
    return texts[0] if truncates else None


def _write(program: str, target: str, found: list[str]) -> None:
    """A write over ``target``, a finding where a redirection to it would be one."""
    dotfile = setup_file(target)
    if DISK.match(target):
        found.append(f"{program}'s code writes onto the disk device {target}")
    elif system(target):
        found.append(f"{program}'s code writes into a system directory ({target})")
    elif dotfile:
        found.append(f"{program}'s code overwrites {target}, {dotfile}")


def _run(
    program: str,
    label: str,
    args: list[Arg],
    found: list[str],
    shell: Callable[[str], list[str]],
) -> None:
    """A command run by the code: one string is shell text; a string and a list, or a list,
    are the words of a command (``subprocess.run(["rm", "-rf", d])``: ``d`` is ``$d``); a
    command made at run time cannot be checked."""
    first = args[0]
    if isinstance(first, Expr):
        found.append(
            f"cannot be checked: {program}'s code runs a command made at run time ({label})"
        )
        return
    if isinstance(first, str) and not any(isinstance(a, (str, list)) for a in args[1:2]):
        text = first
    else:
        words: list[str] = []
        for arg in args:
            if isinstance(arg, Expr):
                break
            for item in arg if isinstance(arg, list) else [arg]:
                words.append(item if isinstance(item, str) else variable(item))
        text = " ".join(w if w.startswith("$") else shlex.quote(w) for w in words)
    inner = shell(text)
    if inner:
        found.append(f"{program}'s code runs a shell command that looks destructive ({label})")
        found.extend(inner)


def _label(name: str, literals: list[Literal], lang: str) -> str:
    """How a finding names a call: as written, a module got by ``__import__('os')`` or
    ``require('fs')`` by its name, a ``pathlib`` method as ``Path.unlink``."""
    name = re.sub(
        rf"(?:__import__|require)\(\s*{MARK}\s*\)",
        lambda m: literals[int(m.group(1))].text.removeprefix("node:"),
        name,
    )
    name = re.sub(r"\s+", "", name)
    return "Path" + name if lang == "python" and name.startswith(".") else name
