"""What the ``templates`` commands print and do: list, show, edit in ``$EDITOR``."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from typing import TYPE_CHECKING

from chatcli.environment import Environment
from chatcli.errors import ConfigError, UsageError
from chatcli.features.templates.library import SKELETON, folder, load, names
from chatcli.output import err, out
from chatcli.safetext import one_line
from chatcli.settings.paths import ensure_private_dir

if TYPE_CHECKING:
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
            continue
        pairs = [(v, t.defaults.get(v)) for v in t.variables()]
        out(environment, f"{name:<{width}}  {_variables(pairs)}  ({t.where})\n")


def show(environment: Environment, config: Config, name: str) -> None:
    t = load(config, name)
    lines = [f"# {t.name}  ({t.where})"]
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
    """Open ``templates/NAME.md`` (or the existing ``.toml``) in ``$EDITOR``."""
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
    created = not path.exists()
    if created:
        try:
            ensure_private_dir(directory)
            path.write_text(SKELETON, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot create {path}: {exc.strerror or exc}") from None
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        done = subprocess.run([*shlex.split(editor), str(path)], check=False)
    except OSError as exc:
        raise UsageError(
            f"cannot run the editor {editor!r}: {exc.strerror or exc}",
            hint="set $EDITOR to your editor",
        ) from None
    if done.returncode != 0:
        raise UsageError(f"the editor exited with status {done.returncode}; {path} kept as is")
    load(config, name)  # say now if it does not parse
    err(environment, f"chatcli: {'created' if created else 'saved'} {path}")
