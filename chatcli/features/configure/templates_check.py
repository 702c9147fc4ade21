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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatcli.errors import ChatcliError, ConfigError

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
    """What ``ask``/``chat --template`` refuse in a template that loads: a schema that is not
    one, a tool of no configured MCP server, a schema together with tools."""
    found = []
    tools = [t for t in template.tools if t != "none"]
    servers = sorted(config.mcp_servers)
    for tool in tools:
        server = tool.partition(".")[0]
        if server not in config.mcp_servers:
            named = f" (in {tool!r})" if tool != server else ""
            detail = (
                f"no MCP server named {server!r}{named} (servers: "
                f"{', '.join(servers) or 'none configured'})"
            )
            hint = f"add [mcp.servers.{server}] to the config, or fix the name"
            found.append(_at(config, template.name, "tools", detail, hint, template.where))
    if template.schema is None:
        return found
    problem = _schema_problem(config, template)
    if problem is not None:
        found.append(
            _at(config, template.name, "schema", problem.message, problem.hint, template.where)
        )
    elif tools:
        detail = "a schema and tools cannot be used together yet (--schema with -T is refused)"
        hint = "remove one of them; -T none turns the tools off for one run"
        found.append(_at(config, template.name, "schema", detail, hint, template.where))
    return found


def _schema_problem(config: Config, template: Template) -> ChatcliError | None:
    """Why the template's schema cannot be used, checked as ``--schema`` checks it; None when
    it can, or when it names a file relative to where chatcli runs (only a use can read it),
    or a ``[schemas.NAME]`` (checked with ``[schemas]``)."""
    from chatcli.features.schema import spec
    from chatcli.features.templates.apply import Applied

    try:
        text = Applied(template, {}).schema_spec()
        if text is None:
            return None
        if text.startswith("@") and isinstance(config.schemas.get(text[1:]), dict):
            return None
        spec.load(text, config.schemas, config_dir=config.path.parent)
    except ChatcliError as exc:
        if isinstance(template.schema, str) and _relative_file(template.schema):
            return None
        prefix = f"template {template.name!r} ({template.where}): "
        message = exc.message.removeprefix(prefix).removeprefix("--schema: ")
        return ChatcliError(message, hint=exc.hint)
    return None


def _relative_file(text: str) -> bool:
    """Whether ``text`` may name a file, relative to the directory chatcli is run in."""
    text = text.strip()
    if text.startswith(("@", "{", "[")):
        return False
    path = Path(text).expanduser()
    looks = "/" in text or text.startswith(("~", ".")) or "." in path.name
    return looks and not path.is_absolute()


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
