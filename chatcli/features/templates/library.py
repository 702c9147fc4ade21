r"""Prompt templates: where they live, how they are read, and how their variables are filled.

A template is ``[templates.NAME]`` in the config, or a file in the ``templates/`` folder beside
the config file: ``NAME.toml`` with the same keys, or ``NAME.md`` whose text is the prompt
(optionally after TOML front matter between ``+++`` lines for the other keys). A config table
wins over a file of the same name, so the file can be kept as a draft, and ``NAME.toml`` over
``NAME.md``; ``places`` lists them all, so what a winner shadows is said, not silently ignored.

``{{name}}`` is a variable, ``{{name|default}}`` one with a default; ``{{input}}`` is what the
user typed or piped. ``\{{`` is a literal ``{{`` (a prompt about Jinja or Handlebars), and
``\\{{name}}`` a backslash before the value, as Handlebars reads them. A default given at one
use of a variable is its default at every use, and two different defaults for one variable
make the template broken (a ConfigError, like a file that does not parse). A variable with no
value and no default is a usage error naming it, before anything is sent.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatcli.errors import ConfigError, UsageError, unreadable
from chatcli.settings.loading import TEMPLATE_KEYS, Config

VARIABLE = re.compile(
    r"(?<!(?<!\\)\\)\{\{\s*([^\W\d](?:[\w-]|[^\x00-\x7f\s|{}])*)\s*(?:\|([^}]*))?\}\}"
)
r"""``{{name}}`` or ``{{name|default}}``: a name starts with a letter of any script (``名字``,
``city``) or ``_``, and goes on with letters, digits, ``_``, ``-`` and any other character
beyond ASCII but spaces (the vowel signs of ``नाम``, which are not letters). Not after one
backslash: ``\{{name}}`` is the literal text ``{{name}}`` (``ESCAPE``)."""
ESCAPE = re.compile(r"(?<!\\)\\(\\?)(?=\{\{)")
r"""A backslash before ``{{`` (not after another): taken off, so ``\{{`` writes ``{{``; of two,
``\\{{name}}``, one stays, before the value."""

INPUT = "input"
SKELETON = """+++
# Optional keys: system, model, temperature, schema, tools (a list of tool names).
system = "You are a careful assistant."
+++
{{input}}
"""
"""What ``templates edit NAME`` starts a new template with."""


@dataclass(frozen=True)
class Template:
    """One template; ``where`` says where it was read from."""

    name: str
    where: str
    system: str | None = None
    prompt: str | None = None
    model: str | None = None
    temperature: float | None = None
    schema: str | dict[str, Any] | None = None
    tools: tuple[str, ...] = ()
    defaults: dict[str, str] = field(default_factory=dict)
    folder: Path | None = None  # where a relative file it names (its schema) is read from

    def variables(self) -> list[str]:
        """The variable names it uses, in order of first use (``input`` included)."""
        seen: dict[str, None] = {}
        for text in (self.system, self.prompt):
            for m in VARIABLE.finditer(text or ""):
                seen.setdefault(m.group(1), None)
        return list(seen)

    def uses_input(self) -> bool:
        return INPUT in self.variables()


SUFFIXES = (".toml", ".md")
"""The template files of one name, in the order they are looked up (after the config)."""


def folder(config: Config) -> Path:
    """The ``templates/`` folder beside the config file."""
    return config.path.parent / "templates"


def names(config: Config) -> list[str]:
    """Every template name, sorted (config tables and files)."""
    found = set(config.templates)
    directory = folder(config)
    if directory.is_dir():
        found.update(p.stem for p in directory.iterdir() if p.suffix in SUFFIXES)
    return sorted(found)


def places(config: Config, name: str) -> list[str]:
    """Where a template called ``name`` is kept, in the order ``load`` looks: the first is
    the one used, the others are shadowed by it (``templates list`` and ``show`` say so)."""
    found = [f"[templates.{name}] in {config.path}"] if name in config.templates else []
    for suffix in SUFFIXES:
        path = folder(config) / f"{name}{suffix}"
        if path.is_file():
            found.append(str(path))
    return found


def load(config: Config, name: str) -> Template:
    """The template called ``name``; a ConfigError naming the known ones if there is none."""
    if name in config.templates:
        where = f"[templates.{name}] in {config.path}"
        return _build(name, where, config.templates[name], config.path.parent)
    for suffix in SUFFIXES:
        path = folder(config) / f"{name}{suffix}"
        if path.is_file():
            return _from_file(name, path)
    known = ", ".join(names(config)) or "none defined"
    raise ConfigError(
        f"unknown template {name!r} (known: {known})",
        hint=f"chatcli templates edit {name} creates it",
    )


def _from_file(name: str, path: Path) -> Template:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise unreadable(path, exc, "a template", lead="template", error=ConfigError) from None
    data: dict[str, Any] = {}
    if path.suffix == ".toml":
        data = _toml(path, text)
    else:
        prompt = text
        front = re.match(r"\A\+\+\+[ \t]*\n(.*?)^\+\+\+[ \t]*\n?", text, re.S | re.M)
        if front:  # parsed where it stands, so an error names the file's line
            above = text[: front.start(1)].count("\n")
            data = _toml(path, "\n" * above + front.group(1))
            prompt = text[front.end() :]
        if prompt.strip():
            data["prompt"] = prompt.strip("\n")
    return _build(name, str(path), data, path.parent)


def _toml(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _build(name: str, where: str, data: dict[str, Any], home: Path | None = None) -> Template:
    """A Template from a checked table (config) or an unchecked one (a file); ``home``: the
    folder of the file it is written in, where the relative file names in it are read."""
    for key, value in data.items():
        if key not in TEMPLATE_KEYS:
            raise ConfigError(f"{where}: unknown key {key!r} in a template")
        types, human = TEMPLATE_KEYS[key]
        if isinstance(value, bool) or not isinstance(value, types):
            raise ConfigError(f"{where}: {key} must be {human}")
    temperature = data.get("temperature")
    if temperature is not None and not 0 <= temperature <= 2:
        raise ConfigError(f"{where}: temperature must be from 0 to 2")
    tools = data.get("tools", [])
    if not all(isinstance(t, str) for t in tools):
        raise ConfigError(f"{where}: tools must be a list of tool names")
    template = Template(
        name,
        where,
        system=data.get("system"),
        prompt=data.get("prompt"),
        model=data.get("model"),
        temperature=None if temperature is None else float(temperature),
        schema=data.get("schema"),
        tools=tuple(tools),
        folder=home,
    )
    return Template(**{**vars(template), "defaults": _defaults(template, where)})


def _defaults(template: Template, where: str) -> dict[str, str]:
    """Each variable's default, wherever in the template it is given: one rule for listing
    and filling. Two different defaults for one variable are an error, not a guess."""
    defaults: dict[str, str] = {}
    for text in (template.system, template.prompt):
        for m in VARIABLE.finditer(text or ""):
            name, default = m.group(1), m.group(2)
            if default is None:
                continue
            if defaults.setdefault(name, default) != default:
                raise ConfigError(
                    f"{where}: {{{{{name}}}}} has two defaults, "
                    f"{defaults[name]!r} and {default!r}: give it one"
                )
    return defaults


def parse_vars(pairs: list[str]) -> dict[str, str]:
    """``-V KEY=VALUE`` options as a dict; a pair without ``=`` is a usage error."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"-V {pair!r} is not KEY=VALUE", hint="e.g. -V lang=French")
        out[key.strip()] = value
    return out


def fill(text: str, values: dict[str, str], template: Template) -> str:
    r"""``text`` with every variable replaced: a given value, else its default; a usage error
    naming the first variable that has neither. ``\{{`` is written ``{{`` (``ESCAPE``); the
    values are put in as they are, never read for variables or escapes."""

    def one(m: re.Match[str]) -> str:
        if m.group("escape") is not None:
            return m.group("escape")
        name = m.group(1)
        default = template.defaults.get(name)  # a default given anywhere applies
        if default is None:  # a Template made without its defaults: this use's own
            default = m.group(2)
        if name in values:
            return values[name]
        if default is not None:
            return default
        if name == INPUT:
            raise UsageError(
                f"template {template.name!r} needs input: give a prompt or pipe text in"
            )
        raise UsageError(
            f"template {template.name!r} needs a value for {{{{{name}}}}}",
            hint=f"add -V {name}=VALUE",
        )

    return _TOKEN.sub(one, text)


_TOKEN = re.compile(VARIABLE.pattern + r"|(?<!\\)\\(?P<escape>\\?)(?=\{\{)")
"""A variable or an escape, in one pass (so a value put in is never read again)."""


def unknown_vars(template: Template, values: dict[str, str]) -> list[str]:
    """The ``-V`` names the template does not use (a typo the user should hear about)."""
    used = set(template.variables())
    return [name for name in values if name not in used]
