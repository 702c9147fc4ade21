"""``config validate`` on the prompt templates: every template ``--template NAME`` would use (a
``[templates.NAME]`` table, else a file of the ``templates/`` folder) is read by the loader a
use goes through and checked as a use checks it, so that ``validate`` saying OK means no
template fails with a configuration error later. Each problem is reported at its place:
``config.toml:LINE:COL: templates.NAME.KEY: ...`` for a table, the file (and its line and
column, where TOML gives them) for a file.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from chatcli.errors import ConfigError

if TYPE_CHECKING:
    from chatcli.features.templates.library import Template
    from chatcli.settings.loading import Config

_TOML_AT = re.compile(r"^(?P<detail>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$", re.S)


def template_problems(config: Config) -> list[ConfigError]:
    """Every template of ``config`` that a use would refuse, each as one problem."""
    from chatcli.features.templates import library

    found: list[ConfigError] = []
    try:
        names = library.names(config)
    except OSError as exc:  # the folder cannot be listed: the tables are still checked
        folder = library.folder(config)
        found.append(ConfigError(f"{folder}: cannot read the templates folder: {exc.strerror}"))
        names = sorted(config.templates)
    for name in names:
        try:
            template = library.load(config, name)
        except ConfigError as exc:
            found.append(_load_problem(config, name, exc))
            continue
        found.extend(_use_problems(config, template))
    return found


def _load_problem(config: Config, name: str, exc: ConfigError) -> ConfigError:
    """What the loader said, at the table's key or in the file's words."""
    if name in config.templates:
        prefix = f"[templates.{name}] in {config.path}: "
        detail = exc.message.removeprefix(prefix)
        key = _conflicting_key(config.templates[name])
        return _at(config, name, key, detail, exc.hint)
    head, sep, detail = exc.message.partition(": ")
    at = _TOML_AT.match(detail) if sep else None
    if at is None:  # unknown key, wrong type, two defaults: the file names it
        return exc
    place = f"{head}:{at['line']}:{at['col']}"
    return ConfigError(f"{place}: {at['detail']}", hint=exc.hint or "fix the TOML at that place")


def _conflicting_key(table: dict[str, Any]) -> str | None:
    """``system`` or ``prompt``: where a variable gets a second default (the one problem of a
    table the config's own checks let through), or None."""
    from chatcli.features.templates.library import VARIABLE

    defaults: dict[str, str] = {}
    for key in ("system", "prompt"):
        for m in VARIABLE.finditer(str(table.get(key) or "")):
            if m.group(2) is not None and defaults.setdefault(m.group(1), m.group(2)) != m.group(2):
                return key
    return None


def _use_problems(config: Config, template: Template) -> list[ConfigError]:
    """What ``ask``/``chat --template`` refuse in a template that loads
    (``templates.apply.problems``: a schema that is not one, a tool of no configured MCP
    server, a schema together with tools). A ``[schemas.NAME]`` it names is reported with
    ``[schemas]``, not again here."""
    from chatcli.features.templates.apply import SCHEMA_WITH_TOOLS, problems

    named = template.schema.strip() if isinstance(template.schema, str) else ""
    entry = config.schemas.get(named[1:]) if named.startswith("@") else None
    found = []
    for key, detail, hint in problems(config, template):
        if key == "schema" and isinstance(entry, dict) and detail != SCHEMA_WITH_TOOLS[0]:
            continue
        found.append(_at(config, template.name, key, detail, hint, template.where))
    return found


def _at(config: Config, name: str, key: str | None, detail: str, hint: str | None,
        file: str | None = None) -> ConfigError:  # fmt: skip
    """``detail`` about ``key`` of ``[templates.NAME]`` at its place, or of the template
    ``file``."""
    label = f"{key}: " if key else ""
    if name not in config.templates:
        return ConfigError(f"{file or config.path}: {label}{detail}", hint=hint)
    dotted = f"templates.{_bare(name)}" + (f".{key}" if key else "")
    place = _place(config, ["templates", name, *([key] if key else [])])
    return ConfigError(f"{place}: {dotted}: {detail}", hint=hint)


def _place(config: Config, parts: list[str]) -> str:
    """``path:line:col`` of the dotted key ``parts`` in the config file (the locator of the
    file, which its ``[schemas]`` table carries, finds any key), else the file."""
    from chatcli.settings.loading import SchemaTable

    found = config.schemas.where(parts) if isinstance(config.schemas, SchemaTable) else None
    return found or str(config.path)


def _bare(name: str) -> str:
    """``NAME`` as a dotted key writes it (quoted unless it is a bare key)."""
    if re.fullmatch(r"[A-Za-z0-9_-]+", name):
        return name
    return json.dumps(name, ensure_ascii=False)
