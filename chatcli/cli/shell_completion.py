"""Shell completion through click's completion protocol (typer 0.28 vendors click as
``typer._click``): the scripts ``chatcli completion SHELL`` prints, and the answers to the
shell's requests, with values for the options and arguments that name things.

The shell runs ``chatcli`` with ``_CHATCLI_COMPLETE=<shell>_complete`` and the words typed so
far; ``__main__`` sends that here before anything else. Only the command tree (typer and the
stdlib) and ``features.completion.values`` are loaded on that path, so a Tab costs about what
``chatcli --help`` does.
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typer._click import Command, Context, Parameter
from typer._click.shell_completion import CompletionItem, ShellComplete, split_arg_string

from chatcli.features.completion.scripts import COMPLETE_VAR, PROG, SCRIPTS

if TYPE_CHECKING:
    from chatcli.environment import Environment


class WordsComplete(ShellComplete):
    """The one protocol the three scripts speak (see above)."""

    name = "words"
    source_template = ""

    def source_vars(self) -> dict[str, Any]:
        return {}

    def get_completion_args(self) -> tuple[list[str], str]:
        words = split_arg_string(os.environ.get("COMP_WORDS", ""))
        try:  # a shell (or a hand-run test) may pass anything here; out of range is the end
            cword = int(os.environ.get("COMP_CWORD") or len(words))
        except ValueError:
            cword = len(words)
        if not 1 <= cword <= len(words):
            cword = len(words)
        incomplete = words[cword] if cword < len(words) else ""
        return words[1:cword], incomplete

    def format_completion(self, item: CompletionItem) -> str:
        return f"{item.type},{item.value}"


_FORMATS = {
    "sessions export": ("md", "json"),
    "transcribe": ("text", "json", "srt", "vtt", "verbose_json"),
    "speak": ("mp3", "opus", "aac", "flac", "wav"),
}
_CHOICES: dict[tuple[str | None, str], tuple[str, ...]] = {
    (None, "markdown"): ("auto", "always", "never"),
    ("usage", "by"): ("day", "model", "profile", "command"),
    ("image", "response_format"): ("b64_json", "url"),
    ("image", "size"): ("1024x1024", "1792x1024", "1024x1792", "512x512", "256x256"),
    ("completion", "shell"): tuple(SCRIPTS),
    ("cmd", "shell"): ("bash", "zsh", "fish", "sh"),
    ("shell-integration", "shell"): ("bash", "zsh", "fish"),
    ("shell-integration", "key"): ("alt-e", "ctrl-g"),
    **{(cmd, "format"): values for cmd, values in _FORMATS.items()},
    **{(cmd, "response_format"): values for cmd, values in _FORMATS.items()},
}
_SESSION_ARGS = {"name", "names", "old"}  # the arguments of ``sessions show|export|rm|rename``
_FILE_ARGS = {"files", "file", "inputs", "input", "output", "edit", "mask", "variations"}


def _config_flag(ctx: Context) -> Path | None:
    """The config file: a ``--config PATH`` typed before the value being completed, wherever
    it was, else CHATCLI_CONFIG or the platform default (None: none can be named)."""
    from chatcli.settings.paths import config_path

    node: Context | None = ctx
    flag = None
    while node is not None and flag is None:
        value = node.params.get("config")
        flag = value if isinstance(value, str) else None
        node = node.parent
    try:
        return config_path(flag)[0]
    except (OSError, ValueError):
        return None


Values = Callable[[Context], list[str]]


def _names(kind: str) -> Values:
    def values(ctx: Context) -> list[str]:
        from chatcli.features.completion import values as v

        if kind == "session":
            return v.sessions()
        source: Callable[[Path | None], list[str]] = getattr(v, f"{kind}s")
        return source(_config_flag(ctx))

    return values


def _template_vars(ctx: Context) -> list[str]:
    from chatcli.features.completion import values as v

    template = ctx.params.get("template")
    return v.template_variables(template if isinstance(template, str) else None, _config_flag(ctx))


def _completer(command: str, param: Parameter) -> Values | str | None:
    """What completes ``param`` of ``command``: a list of values, "file", or None (click's)."""
    name = param.name or ""
    if name in ("profile", "model", "role", "template") or (
        command.startswith("templates ") and name == "name"
    ):
        return _names("template" if command.startswith("templates ") else name)
    if name in ("tool", "approve") or (command == "mcp list" and name == "names"):
        return _names("tool")
    if name == "var":
        return _template_vars
    if name == "schema":  # @NAME from the config, else a file
        return "schema"
    if name == "session" or (command.startswith("sessions ") and name in _SESSION_ARGS):
        return _names("session")
    choices = _CHOICES.get((command, name)) or _CHOICES.get((None, name))
    if choices:
        return lambda _ctx: list(choices)
    if name in _FILE_ARGS:
        return "file"
    return None


def _attach(param: Parameter, how: Values | str) -> None:
    def complete(self: Parameter, ctx: Context, incomplete: str) -> list[CompletionItem]:
        values = _names("schema") if how == "schema" and incomplete.startswith("@") else how
        if isinstance(values, str):  # "file", or a schema that is not @NAME
            return [CompletionItem(incomplete, type="file")]
        return [CompletionItem(v) for v in values(ctx) if v.startswith(incomplete)]

    param.shell_complete = types.MethodType(complete, param)  # type: ignore[method-assign]


def _walk(command: Command, name: str | None = None) -> Iterator[tuple[str | None, Command]]:
    yield name, command
    commands: dict[str, Command] = getattr(command, "commands", None) or {}
    for sub_name, sub in commands.items():
        yield from _walk(sub, f"{name} {sub_name}" if name else sub_name)


def annotate(root: Command) -> None:
    """Give every parameter that names something its completer."""
    for name, command in _walk(root):
        for param in command.params:
            how = _completer(name or "", param)
            if how is not None:
                _attach(param, how)


def complete(root: Command, instruction: str, env: Environment) -> int:
    """Answer one completion request from the shell (``bash_complete`` and the like)."""
    from chatcli.output import err, out

    shell, _, action = instruction.partition("_")
    if shell not in SCRIPTS or action != "complete":
        err(env, f"chatcli: error: unknown completion request {instruction!r}")
        return 2
    annotate(root)
    answer = WordsComplete(root, {}, PROG, COMPLETE_VAR).complete()
    if answer:
        out(env, answer + "\n")
    return 0
