"""The command inside a model's answer: fences, prompts and prose around it taken away.

Models asked for "only the command" still wrap it: a code fence, "Here is the command:", a
paragraph explaining it, a ``$`` prompt, a ``<think>`` block. What is left is the command; an
answer of several command lines is kept whole, as one script. Several fenced blocks are
usually alternatives, never to be run one after another unasked: the first is taken, and the
caller is told. An answer with no command-like line at all (a refusal, a question back) is
``Cleaned.command is None``: reported, never run.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from dataclasses import dataclass
from functools import lru_cache

_THINK = re.compile(r"^\s*<think>.*?</think>\s*", re.S)
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)", re.M)
_CONSOLE = {"console", "shell-session", "terminal", "sh-session"}
# Prompt markers that are never shell syntax before a command. ``> `` (a redirection: ``> ~/.x``
# truncates a file, without it the file is run) and ``# `` (a comment) are not among them.
_PROMPT = re.compile(r"^(\$|%|❯) ")
_CONTINUED = ("\\", "|", "&&", "||")
_INLINE = re.compile(r"`([^`\n]+)`")
_LIST_ITEM = re.compile(r"^([-*•+]|\d+[.)])\s")
_WORDS = re.compile(r"[A-Za-z][a-z]*(?:'[a-z]+)?")
_KEYWORDS = {
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case",
    "esac", "function", "select", "time", "and", "or", "not", "begin", "end", "set",
    "export", "cd", "echo", "printf", "source", "alias", "test", "read", "eval", "exec",
    "local", "unset", "ulimit", "umask", "wait", "kill", "trap", "type", "command",
    "builtin", "history", "jobs", "fg", "bg", "pushd", "popd", "shopt", "setopt",
}  # fmt: skip


@dataclass(frozen=True)
class Cleaned:
    """The command found in ``answer`` (None: the answer is not a command), and what the
    user should be told about how it was found."""

    command: str | None
    answer: str
    notes: tuple[str, ...] = ()


def clean(answer: str) -> Cleaned:
    """The command in a model's ``answer``."""
    text = _THINK.sub("", answer).strip()
    blocks = _fenced_blocks(text)
    notes: tuple[str, ...] = ()
    if blocks:
        command = blocks[0]
        if len(blocks) > 1:
            notes = (
                f"the answer held {len(blocks)} code blocks; this is the first "
                "(the others may be alternatives)",
            )
    elif _FENCE.search(text):
        command = ""  # only empty fences
    else:
        command = _unfenced(text)
    command = _strip_prompts(command)
    if not command or all(is_prose(line) for line in command.splitlines() if line.strip()):
        return Cleaned(None, text)
    return Cleaned(command, text, notes)


def _fenced_blocks(text: str) -> list[str]:
    """The non-empty fenced code blocks of ``text``, in order (an unclosed fence runs to the
    end, as in an answer cut short)."""
    blocks: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, info = opening.group(1), opening.group(2).lower()
        body: list[str] = []
        i += 1
        while i < len(lines):
            stripped = lines[i].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            body.append(lines[i])
            i += 1
        i += 1
        if info in _CONSOLE:
            body = _typed_lines(body)
        code = textwrap.dedent("\n".join(body)).strip("\n")
        code = "\n".join(ln.rstrip() for ln in code.splitlines())
        if code.strip():
            blocks.append(code)
    return blocks


def _typed_lines(transcript: list[str]) -> list[str]:
    """The lines typed in a console transcript: prompt lines without their prompt, and ``> ``
    continuation lines only after a line that asks for one (a ``> `` line anywhere else may be
    output, or a redirection: never made into a command)."""
    typed: list[str] = []
    typing = False
    for line in transcript:
        if _PROMPT.match(line):
            typed.append(_PROMPT.sub("", line, count=1))
            typing = True
        elif typing and line.startswith("> ") and typed[-1].rstrip().endswith(_CONTINUED):
            typed.append(line[2:])
        else:
            typing = False
    return typed


def _unfenced(text: str) -> str:
    """The command lines of an answer without fences: a whole-line inline code span, the
    code span of a single prose sentence, or the lines between an introduction ("Here is
    the command:") and a trailing explanation."""
    lines = [ln.rstrip() for ln in text.splitlines()]
    if len(lines) == 1:
        line = lines[0].strip()
        whole = re.fullmatch(r"`([^`]+)`", line)
        if whole:
            return whole.group(1).strip()
        spans = _INLINE.findall(line)
        if spans and is_prose(_INLINE.sub("x", line)):
            return str(spans[0]).strip()
        head, colon, tail = line.partition(": ")
        tail = tail.strip()
        prose_colon = colon and not head.endswith(":")  # not parallel's ":::" or a "::"
        if prose_colon and tail and is_prose(head + ":") and not is_prose(tail):
            return tail if is_command_word(tail.split()[0]) else line  # "Here it is: CMD"
        return line
    start = next((i for i, ln in enumerate(lines) if ln.strip() and not is_prose(ln)), None)
    if start is None:
        return ""
    kept: list[str] = []
    for i in range(start, len(lines)):
        line = lines[i]
        if line.strip() and is_prose(line) and (not kept or not kept[-1].strip()):
            break  # a paragraph of explanation after the command
        kept.append(line)
    code = "\n".join(kept).strip("\n")
    return "\n".join(_unquote(ln) for ln in code.splitlines())


def _unquote(line: str) -> str:
    whole = re.fullmatch(r"(\s*)`([^`]+)`", line)
    return whole.group(1) + whole.group(2) if whole else line


def _strip_prompts(command: str) -> str:
    """Drop a ``$ `` prompt written before every line (only markers that are no shell syntax:
    what is left must mean what the line meant)."""
    lines = [ln for ln in command.splitlines() if ln.strip()]
    if lines and all(_PROMPT.match(ln.lstrip()) for ln in lines):
        return "\n".join(_PROMPT.sub("", ln.lstrip(), count=1) for ln in command.splitlines())
    return command.strip()


def is_prose(line: str) -> bool:
    """Whether ``line`` reads as a sentence (or a list item, a heading) rather than a command."""
    s = line.strip()
    if not s or s.startswith("#!"):
        return False
    if s.startswith("#"):
        return _looks_like_heading(s)
    if _LIST_ITEM.match(s):
        return True  # "- `-type f`: regular files only"
    words = s.split()
    first = words[0]
    if is_command_word(first):
        return False
    if first[-1] in ",:;!?." and first[:-1].isalpha():
        return True  # "Sorry,", "Note:", "Explanation:"
    if "'" in first and first[0].isupper():
        return True  # "I'm", "It's"
    alpha = sum(1 for w in words if _WORDS.fullmatch(w.strip(',.;:!?()"')))
    sentence = len(words) >= 3 and alpha >= 0.6 * len(words)
    if sentence and (first[0].isupper() or s.endswith((".", ":", "?", "!"))):
        return True
    return s.endswith(":") and len(words) >= 2


def _looks_like_heading(s: str) -> bool:
    """``# Explanation`` (a Markdown heading) rather than ``# a shell comment``: short and
    capitalised."""
    words = s.lstrip("#").split()
    return 0 < len(words) <= 4 and words[0][:1].isupper() and not s.endswith((".", ";"))


def is_command_word(word: str) -> bool:
    """Whether ``word`` can start a command: a program on PATH, a shell keyword or builtin,
    a path, an assignment, an expansion or a grouping."""
    if word[0] in "$({[.!~/\\\"'`" or "/" in word or "=" in word.split("/")[0]:
        return True
    return word in _KEYWORDS or _on_path(word)


@lru_cache(maxsize=256)
def _on_path(word: str) -> bool:
    return word.isprintable() and shutil.which(word) is not None
