"""What the ``templates`` commands print and do: list, show, edit in ``$EDITOR``.

A template that does not load, or that a use would refuse (``apply.problems``: its schema, its
tools), is marked broken in ``list`` and ``show``, with the problem: the first a use meets."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from typing import TYPE_CHECKING

from chatcli.environment import Environment
from chatcli.errors import ChatcliError, ConfigError, UsageError
from chatcli.features.templates.library import SKELETON, folder, load, names, places
from chatcli.output import err, out
from chatcli.safetext import one_line
from chatcli.settings.paths import ensure_private_dir

if TYPE_CHECKING:
    from pathlib import Path

    from chatcli.features.templates.library import Template
    from chatcli.settings.loading import Config

_NAME = re.compile(r"^[\w][\w.-]*$")


def _variables(names_and_defaults: list[tuple[str, str | None]]) -> str:
    shown = [n if d is None else f"{n}={d}" for n, d in names_and_defaults]
    return ", ".join(shown) or "-"


def list_templates(environment: Environment, config: Config) -> None:
    found = names(config)
    if not found:
        err(
            environment,
            f"chatcli: no templates: add [templates.NAME] to {config.path} or files to "
            f"{folder(config)}/ (chatcli templates edit NAME)",
        )
        return
    width = max(len(n) for n in found)
    for name in found:
        try:
            t = load(config, name)
        except ConfigError as exc:
            out(environment, f"{name:<{width}}  (broken: {one_line(exc.message, 200)})\n")
        else:
            problem = _problem(config, t)
            pairs = [(v, t.defaults.get(v)) for v in t.variables()]
            shown = f"{_variables(pairs)}  ({t.where})"
            if problem is not None:
                shown = f"(broken: {one_line(f'{t.where}: {problem}', 200)})"
            out(environment, f"{name:<{width}}  {shown}\n")
        for note in _shadowed(config, name):
            out(environment, f"{'':<{width}}  {note}\n")


def _shadowed(config: Config, name: str) -> list[str]:
    """A line for each other template called ``name`` that the one used hides."""
    used, *hidden = places(config, name) or [""]
    return [f"not used: {place} (shadowed by {used})" for place in hidden]


def _problem(config: Config, template: Template) -> str | None:
    """The first problem a use of ``template`` would meet (``KEY: ...``), or None."""
    from chatcli.features.templates.apply import problems

    found = problems(config, template)
    return f"{found[0][0]}: {found[0][1]}" if found else None


def show(environment: Environment, config: Config, name: str) -> None:
    t = load(config, name)
    lines = [f"# {t.name}  ({t.where})", *_shadowed(config, name)]
    problem = _problem(config, t)
    if problem is not None:
        lines.append(f"broken: {one_line(problem, 300)}")
    for key in ("model", "temperature", "schema", "tools"):
        value = getattr(t, key)
        if value not in (None, ()):
            lines.append(f"{key}: {value if key != 'tools' else ', '.join(value)}")
    pairs = [(v, t.defaults.get(v)) for v in t.variables()]
    lines.append(f"variables: {_variables(pairs)}")
    if t.system is not None:
        lines += ["", "## system", t.system]
    if t.prompt is not None:
        lines += ["", "## prompt", t.prompt]
    text = "\n".join(lines) + "\n"
    out(environment, text)


def edit(environment: Environment, config: Config, name: str) -> None:
    """Open ``templates/NAME.md`` (or the existing ``.toml``) in ``$EDITOR``; refused (exit 2,
    nothing made) off a terminal, like ``chat`` and ``config init``."""
    if not _NAME.match(name):
        raise UsageError(f"invalid template name {name!r}", hint="use letters, digits, - _ .")
    if name in config.templates:
        raise UsageError(
            f"template {name!r} is a [templates.{name}] table in {config.path}",
            hint="edit the config file, or remove the table to use a file",
        )
    directory = folder(config)
    path = directory / f"{name}.toml"
    if not path.exists():
        path = directory / f"{name}.md"
    if not (environment.stdin_isatty and environment.stdout_isatty):
        # the editor would take a script's stdin as keystrokes and write its screen to stdout
        raise UsageError(
            "templates edit opens an editor and needs a terminal (stdin and stdout)",
            hint=f"run it in a terminal, or write {path} yourself",
        )
    argv, editor = _editor()
    created = not path.exists()
    if created:
        try:
            ensure_private_dir(directory)
            path.write_text(SKELETON, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot create {path}: {exc.strerror or exc}") from None
    failed: str | None = "interrupted"  # until the editor returns (Ctrl-C stops it, say)
    try:
        failed = _run_editor(argv, editor, path)
    finally:
        if failed is not None and created:  # no skeleton left behind to pass for a template
            path.unlink(missing_ok=True)
    if failed is not None:
        raise ChatcliError(f"{failed}; {path} {'not created' if created else 'kept as is'}")
    load(config, name)  # say now if it does not parse
    err(environment, f"chatcli: {'created' if created else 'saved'} {path}")


def _editor() -> tuple[list[str], str]:
    """The editor's command line and how to name it; a ConfigError (the user's setting, like
    a key that is not found) when ``$VISUAL``/``$EDITOR`` cannot be read or is not installed."""
    variable = "VISUAL" if os.environ.get("VISUAL") else "EDITOR"
    editor = os.environ.get(variable) or "vi"
    try:
        argv = shlex.split(editor)
    except ValueError as exc:
        raise ConfigError(f"${variable} ({editor}) cannot be read as a command: {exc}") from None
    if not argv or shutil.which(argv[0]) is None:
        raise ConfigError(
            f"the editor {editor!r} was not found", hint="set $VISUAL or $EDITOR to your editor"
        )
    return argv, editor


def _run_editor(argv: list[str], editor: str, path: Path) -> str | None:
    """Edit ``path``; None when the editor ran and exited 0, else what went wrong."""
    try:
        done = subprocess.run([*argv, str(path)], check=False)
    except OSError as exc:
        return f"cannot run the editor {editor!r}: {exc.strerror or exc}"
    if done.returncode != 0:
        return f"the editor {editor!r} exited with status {done.returncode}"
    return None
