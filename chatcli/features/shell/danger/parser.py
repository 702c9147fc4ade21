"""Tokens to simple commands, so each is checked on its own, with what is nested in it.

Commands are split along ``;``, ``&&``, ``||``, ``&``, newlines and pipes; ``$( )``, ``<( )``,
subshells, function bodies and ``case`` branches become scripts nested in the command they are
in, so nothing hides inside one.
"""

from __future__ import annotations

import re

from chatcli.features.shell.danger.command import Command, Pipeline, Script
from chatcli.features.shell.danger.forkbombs import endless_spawner, fork_bomb
from chatcli.features.shell.danger.lexer import OPEN, OPERATORS, PIPES, REDIRECTS, SEPARATORS, lex


def parse(text: str) -> Script:
    """The script ``text`` is; ValueError when shlex cannot read it (an unclosed quote)."""
    script, _ = _parse_list(lex(text), 0, closing=False)
    return script


def _parse_list(tokens: list[str], i: int, *, closing: bool) -> tuple[Script, int]:
    """Parse from ``tokens[i]`` to the end, or to the ``)`` closing a group. A function's
    header (``NAME ()``, ``function NAME``) ends a command, so the body after it is read as the
    commands it is; a ``case`` pattern (up to its ``)``) is not a command."""
    script: Script = []
    pipeline: Pipeline = []
    cmd = Command()
    cases: list[bool] = []  # one per open "case ... in": whether a pattern is being read
    case_header = False  # "case WORD" read, "in" expected

    def end_command() -> None:
        nonlocal cmd
        if cmd.words or cmd.redirects or cmd.nested or cmd.findings or cmd.defines:
            pipeline.append(cmd)
        cmd = Command()

    def end_pipeline(background: bool = False) -> None:
        nonlocal pipeline
        end_command()
        if pipeline:
            pipeline[-1].background = background
            script.append(pipeline)
        pipeline = []

    def end_header(name: str, body: int) -> None:
        cmd.words.clear()  # "f" or "function f": nothing runs yet
        cmd.defines = name
        cmd.findings.extend(fork_bomb(tokens, body, name))
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
        elif token in SEPARATORS:
            case_header = False
            if cmd.words[:1] == ["function"] and len(cmd.words) > 1:  # fish, or bash's NAME\n{
                end_header(cmd.words[1], i + 1)
            end_pipeline(background=token == "&")
            i += 1
        elif token in PIPES:
            end_command()
            i += 1
        elif token == "(" and tokens[i + 1 : i + 2] == [")"] and _function_name(cmd.words):
            end_header(cmd.words[-1], i + 2)  # NAME () or function NAME ()
            i += 2
        elif token in OPEN or (token.endswith("$") and tokens[i + 1 : i + 2] == ["("]):
            if token not in OPEN:  # "prefix$" then "(": a command substitution in a word
                cmd.words.append(token[:-1] + "$(…)")
                i += 1
            elif token == "(" and re.fullmatch(r"[A-Za-z_]\w*\+?=", "".join(cmd.words[-1:])):
                inner, i = _parse_list(tokens, i + 1, closing=True)  # NAME=(words): an array
                cmd.words[-1] += "(…)"
                cmd.arrays[len(cmd.words) - 1] = items = _joined(inner)
                cmd.nested.extend(items.nested)
                i += 1
                continue
            elif token == "(" and _loop_header(cmd.words):  # zsh: for NAME (WORDS) BODY
                inner, i = _parse_list(tokens, i + 1, closing=True)
                items = _joined(inner)
                cmd.words.extend(["in", *items.words])
                cmd.nested.extend(items.nested)
                end_pipeline()  # the body is a command of its own
                i += 1
                continue
            elif token in ("(", "$(") and cmd.words:  # an argument: $(cmd), fish's (cmd)
                cmd.words.append("$(…)")
            elif token in ("<(", ">(") and (i == 0 or tokens[i - 1] not in REDIRECTS):
                if _glued(cmd.words, tokens[i - 1]):  # --arg-file=<(...): the option's value
                    cmd.words[-1] += token + "…)"
                else:
                    cmd.words.append(token + "…)")  # an argument: the path of a pipe
            inner, i = _parse_list(tokens, i + 1, closing=True)
            cmd.nested.append(inner)
            i += 1
        elif token in REDIRECTS:
            if cmd.words and cmd.words[-1].isdigit() and tokens[i - 1] == cmd.words[-1]:
                cmd.words.pop()  # ``2>``, ``0<<<``: a file descriptor's number, not a word
            target = tokens[i + 1] if i + 1 < len(tokens) else ""
            is_word = target not in OPERATORS
            if is_word and "$(" in target:  # a substitution in a redirection (or a here-doc)
                cmd.nested.append(parse(_substituted(target)))
            cmd.redirects.append((token, target if is_word else ""))
            i += 2 if is_word else 1
        elif token == "{" and cmd.words[:1] == ["function"] and len(cmd.words) == 2:
            end_header(cmd.words[1], i)  # function NAME { BODY }
        elif token == "do" and _loop_header(cmd.words):  # for NAME do BODY; done
            end_pipeline()  # the body is a command of its own, not words of the header
            cmd.words.append(token)
            i += 1
        else:
            if not cmd.words:
                if token == "case":
                    case_header = True
                elif token in ("while", "until", "for"):
                    cmd.findings.extend(endless_spawner(tokens, i))
            if "$(" in token and not token.endswith("$(…)"):  # a quoted substitution in a word
                cmd.nested.append(parse(_substituted(token)))
            cmd.words.append(token)
            i += 1
    end_pipeline()
    return script, i


def _substituted(word: str) -> str:
    """The text from a word's first ``$(`` on, as a script (``$(cmd) rest`` -> ``cmd) rest``);
    an arithmetic ``$((`` keeps a parenthesis, so a ``<<`` in it stays a shift."""
    start = word.index("$(") + 2
    return word[start - 1 if word.startswith("(", start) else start :]


def _glued(words: list[str], before: str) -> bool:
    """Whether a ``<( )`` is the value of the option just before it, written ``--opt=<(...)``
    (shlex splits the word there)."""
    return bool(words) and words[-1] == before and re.fullmatch(r"--?[\w-]+=", before) is not None


def _loop_header(words: list[str]) -> bool:
    """Whether ``words`` are a loop's header up to its names, where a body may follow without
    a separator: ``for NAME do`` (the positional parameters), zsh's ``for NAME (WORDS)``."""
    words = words[1:] if words[:1] and words[0] in ("{", "!", "then", "else", "do") else words
    names = words[1:]
    return (
        words[:1] in (["for"], ["select"], ["foreach"])
        and bool(names)
        and all(re.fullmatch(r"[A-Za-z_]\w*", n) and n != "in" for n in names)
    )


def _joined(script: Script) -> Command:
    """The words of ``script`` as one command, with what is nested in them (an array's
    items, zsh's loop words)."""
    joined = Command()
    for line in script:
        for cmd in line:
            joined.words.extend(cmd.words)
            joined.nested.extend(cmd.nested)
    return joined


def _function_name(words: list[str]) -> bool:
    """Whether ``words`` before ``()`` name a function being defined: ``NAME`` or
    ``function NAME``."""
    name = words[1:] if words[:1] == ["function"] else words
    return len(name) == 1 and not re.search(r"[=$\s]", name[0])
