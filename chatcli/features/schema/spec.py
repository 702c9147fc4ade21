"""SPEC of ``--schema`` -> a ``Schema``: a file, inline JSON, ``@NAME`` or a field list.

Read in this order: ``@NAME`` is ``[schemas.NAME]`` of the config; text starting with ``{`` is
inline JSON; an existing file is a JSON Schema file; anything else is a field list
(``fields.parse``). ``--schema-multi`` asks for ``{"items": [...]}`` of such records. A schema
whose root is not an object (strict mode needs one) is sent as ``{"value": ...}`` and unwrapped.
Either way only what is *sent* is wrapped (``wrap``, its ``$ref``s made to point where they
did); the answer is checked against the user's own schema.

Whatever the SPEC, the schema is checked whole (``check.check_schema``) before anything is
sent. A ``[schemas.NAME]`` entry that cannot be used is a config problem (exit 3), reported at
its place in the config file, when ``--schema @NAME`` uses it and by ``config_problems`` (what
``config validate`` reports) for every entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatcli import reading
from chatcli.errors import ConfigError, UsageError
from chatcli.features.schema import fields
from chatcli.features.schema.check import MAX_DEPTH, SchemaProblem, check_schema
from chatcli.features.schema.strict import Strict, to_strict
from chatcli.settings import paths

if TYPE_CHECKING:
    from chatcli.settings.loading import Config

WRAP_KEY = "value"
MULTI_KEY = "items"
_DEFS = ("$defs", "definitions")


@dataclass(frozen=True)
class Schema:
    """The user's schema (what the answer must validate against) and how it is sent."""

    user: dict[str, Any]  # with ``multi``: the schema of each record
    name: str = "response"  # response_format's name: [A-Za-z0-9_-]{1,64}
    source: str = "the schema"  # for messages: "the field list", "schema.json", "@person"
    wrapped: bool = False  # the root is not an object: sent under {"value": ...}
    multi: bool = False  # --schema-multi: asked for, and printed, as {"items": [records]}

    @property
    def root(self) -> dict[str, Any]:
        """The object schema the model is asked for."""
        if self.multi:
            return wrap(MULTI_KEY, self.user, multi=True)
        if self.wrapped:
            return wrap(WRAP_KEY, self.user)
        return self.user

    def strict(self) -> Strict:
        return to_strict(self.root)

    def unwrap(self, data: Any) -> Any:
        """The answer as the user's schema describes it (``{"items": [...]}`` with ``multi``)."""
        if self.wrapped and not self.multi and isinstance(data, dict) and WRAP_KEY in data:
            return data[WRAP_KEY]
        return data

    def errors(self, data: Any) -> list[str]:
        """How the (unwrapped) answer fails the user's schema: each record's with ``multi``,
        never the wrapper's (whose ``$ref``s were moved)."""
        from chatcli.features.schema.check import errors

        if not self.multi:
            return errors(data, self.user)
        shape = {
            "type": "object",
            "properties": {MULTI_KEY: {"type": "array"}},
            "required": [MULTI_KEY],
            "additionalProperties": False,
        }
        found = errors(data, shape)
        if found:
            return found
        return [
            f"$.{MULTI_KEY}[{i}]{problem[1:]}"
            for i, item in enumerate(data[MULTI_KEY])
            for problem in errors(item, self.user)
        ]

    def to_json(self) -> dict[str, Any]:
        """What a batch line keeps to check its answer later (``from_json`` reads it)."""
        return {"schema": self.user, "name": self.name, "wrapped": self.wrapped,
                "multi": self.multi}  # fmt: skip

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Schema:
        return cls(obj["schema"], str(obj.get("name") or "response"), "the schema",
                   bool(obj.get("wrapped")), bool(obj.get("multi")))  # fmt: skip


def wrap(key: str, schema: dict[str, Any], *, multi: bool = False) -> dict[str, Any]:
    """An object schema with the one required property ``key`` holding ``schema`` (with
    ``multi``: a list of them). Its ``$defs`` move up to the new root, where its ``#/$defs/...``
    references now point; a reference to anything else of it (``#`` of a recursive schema,
    ``#/properties/a``) would name the wrapper, so then the schema itself moves into the
    ``$defs`` too and each such ``$ref`` is made to point there."""
    body = {k: v for k, v in schema.items() if k not in ("$schema", "$id")}
    kept = {k for k in _DEFS if isinstance(body.get(k), dict)}
    if _refs_moved(body, ["properties", key], kept) is not None:  # it refers to itself
        taken = body.get("$defs", {})
        first = "item" if multi else key
        name = next(n for n in (f"{first}_{i}" if i else first for i in range(len(taken) + 1))
                    if n not in taken)  # fmt: skip
        body = _refs_moved(body, ["$defs", name], kept)
        body["$defs"] = {**body.get("$defs", {}), name: {k: v for k, v in body.items()
                                                         if k not in kept}}  # fmt: skip
        kept.add("$defs")
        inner: Any = {"$ref": "#/$defs/" + name}
    else:
        inner = {k: v for k, v in body.items() if k not in kept}
    defs = {k: body[k] for k in _DEFS if k in kept}
    value = {"type": "array", "items": inner} if multi else inner
    return {
        **({"$schema": schema["$schema"]} if "$schema" in schema else {}),
        "type": "object",
        "properties": {key: value},
        "required": [key],
        "additionalProperties": False,
        **defs,
    }


_SCHEMA_IN = frozenset({
    "items", "additionalItems", "additionalProperties", "not", "if", "then", "else", "contains",
    "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema",
})  # fmt: skip
_SCHEMAS_IN_LIST = frozenset({"allOf", "anyOf", "oneOf", "prefixItems", "items"})
_SCHEMAS_IN_MAP = frozenset({
    "properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies",
})  # fmt: skip


def _refs_moved(schema: Any, at: list[str], kept: set[str]) -> Any:
    """A copy of ``schema`` whose ``$ref``s into its root now point into ``at`` (a JSON pointer
    of the new root, as parts) where it goes, those into the ``kept`` ``$defs`` staying as
    they are; None when no ``$ref`` changes (values under ``const``, ``enum`` and other
    keywords that hold data, not schemas, are never touched)."""
    changed = False

    def walk(node: Any) -> Any:
        nonlocal changed
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                moved = _moved(value, at, kept)
                changed = changed or moved != value
                out[key] = moved
            elif key in _SCHEMAS_IN_MAP and isinstance(value, dict):
                out[key] = {k: walk(v) for k, v in value.items()}
            elif key in _SCHEMAS_IN_LIST and isinstance(value, list):
                out[key] = [walk(v) for v in value]
            elif key in _SCHEMA_IN:
                out[key] = walk(value)
            else:
                out[key] = value
        return out

    copy = walk(schema)
    return copy if changed else None


def _moved(ref: str, at: list[str], kept: set[str]) -> str:
    """``ref`` (read from the old root) as the new root reads it."""
    from urllib.parse import unquote

    if not ref.startswith("#") or not (ref == "#" or ref.startswith("#/")):
        return ref  # another document, or a named anchor: not a place in the root
    first = unquote(ref[2:].split("/", 1)[0].replace("~1", "/").replace("~0", "~"))
    if ref != "#" and first in kept:
        return ref
    prefix = "/".join(p.replace("~", "~0").replace("/", "~1") for p in at)
    return f"#/{prefix}{ref[1:]}"


def _name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:64]
    return name or "response"


def load(spec: str, config_schemas: dict[str, Any], *, multi: bool = False,
         config_dir: Path | None = None, base: Path | None = None) -> Schema:  # fmt: skip
    """The ``Schema`` SPEC names, checked whole (nothing has been sent yet): a ``UsageError``
    saying what is wrong, or a ``ConfigError`` for an ``@NAME`` of the config. ``base``: the
    directory a relative file name is read from (a template's own; else the current one)."""
    text = spec.strip()
    if not text:
        raise UsageError("--schema: the schema is empty", hint=fields.HINT)
    path = paths.expand(text)
    if base is not None and not path.is_absolute():
        path = base / path
    if text.startswith("@"):
        name = text[1:]
        schema, source = _named(name, config_schemas, config_dir), f"[{table(name)}]"
    elif text.startswith(("{", "[")):
        schema, source, name = _json(text, "the inline JSON"), "the inline JSON", "response"
        check_schema(schema, source)
    elif _path_like(text) and paths.exists(path, follow=False):
        # a directory or a dangling link is refused as such
        schema, source, name = _file(path), str(path), path.stem
        check_schema(schema, source)
    elif text.endswith(".json") and "\n" not in text and "," not in text:
        raise UsageError(f"--schema: {text if base is None else path} does not exist")
    else:
        schema, source, name = fields.parse(spec), "the field list", "response"
        check_schema(schema, source)
    return made(schema, source, name, multi=multi)


def made(schema: dict[str, Any], source: str, name: str = "response", *,
         multi: bool = False) -> Schema:  # fmt: skip
    """The ``Schema`` of a checked JSON Schema (``check_schema``)."""
    return Schema(schema, _name(name), source, not multi and not is_object(schema), multi)


def _path_like(text: str) -> bool:
    """A file name, not a one-word field list that happens to name a file here (``name``)."""
    return "/" in text or text.startswith(("~", ".")) or "." in Path(text).name


def is_object(schema: dict[str, Any]) -> bool:
    t = schema.get("type")
    return t == "object" or (t is None and "properties" in schema and "anyOf" not in schema)


def _json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--schema: {source} is not valid JSON: {exc}") from None
    except RecursionError:
        raise UsageError(f"--schema: {source} nests deeper than {MAX_DEPTH} levels") from None


def _file(path: Path) -> Any:
    text = reading.read_text_file(path, reading.CONFIG, "a JSON Schema file", lead="--schema")
    return _json(text, str(path))


def table(name: str) -> str:
    """``schemas.NAME`` as a TOML table header writes it (a name that is not a bare key
    quoted: ``schemas."my review"``)."""
    if re.fullmatch(r"[A-Za-z0-9_-]+", name):
        return f"schemas.{name}"
    return f"schemas.{json.dumps(name, ensure_ascii=False)}"


def _named(name: str, config_schemas: dict[str, Any], config_dir: Path | None) -> Any:
    """The checked JSON Schema of ``[schemas.NAME]``; a ``ConfigError`` (exit 3) when there is
    no such entry or it cannot be used, at its place in the config file (a bare ``@`` is a
    usage error: it names nothing)."""
    entry = config_schemas.get(name)
    if not isinstance(entry, dict):
        known = ", ".join(f"@{n}" for n in sorted(config_schemas)) or "none defined"
        if not name.strip():
            raise UsageError(
                f"--schema: {'@' + name!r} names no schema (known: {known})",
                hint="write @NAME for the [schemas.NAME] table of the config",
            )
        hint = f'add [{table(name)}] with fields = "name, age int" to the config'
        first = name.split()[0]
        if first != name and isinstance(config_schemas.get(first), dict):
            hint = f"did you mean @{first}? (or {hint})"
        raise ConfigError(f"unknown schema @{name} (known: {known})", hint=hint)
    try:
        return entry_schema(name, entry, config_dir)
    except EntryProblem as exc:
        raise exc.config_error(config_schemas) from None


class EntryProblem(UsageError):
    """Why ``[schemas.NAME]`` cannot be used: ``key`` is the entry's ``fields``, ``file`` or
    ``json`` that holds the problem (None: the JSON Schema written as TOML keys, ``at`` the
    path inside it)."""

    def __init__(self, name: str, detail: str, key: str | None = None,
                 at: tuple[str | int, ...] = (), hint: str | None = None) -> None:  # fmt: skip
        super().__init__(f"schemas.{name}: {detail}", hint=hint)
        self.name = name
        self.key = key
        self.at = at

    def parts(self) -> list[str]:
        """The dotted key the problem is at (``schemas.NAME.fields``, or as deep inside the
        TOML-written schema as its path names keys)."""
        if self.key is not None:
            return ["schemas", self.name, self.key]
        inside = []
        for part in self.at:
            if not isinstance(part, str):
                break
            inside.append(part)
        return ["schemas", self.name, *inside]

    def config_error(self, config_schemas: dict[str, Any]) -> ConfigError:
        """This problem as a config error (exit 3): ``file:line:col: schemas.NAME: ...`` when
        ``config_schemas`` is the config's ``[schemas]`` (it knows where each entry is)."""
        from chatcli.settings.loading import SchemaTable

        place = None
        if isinstance(config_schemas, SchemaTable):
            place = config_schemas.where(self.parts())
        return ConfigError(f"{place}: {self.message}" if place else self.message, hint=self.hint)


ENTRY_KEYS = ("fields", "file", "json")
"""The keys of a ``[schemas.NAME]`` that hold its schema; without one, the table is it."""
ONE_OF = "give one of fields, file, json, or the JSON Schema written as TOML keys"


def _source(name: str, entry: dict[str, Any]) -> str | None:
    """Which key of ``[schemas.NAME]`` holds the schema (None: the table is the schema); an
    ``EntryProblem`` when two sources are given (which one wins would be a guess), at the
    second, or none at all (an empty table would be a schema taking anything)."""
    keys = [k for k in ENTRY_KEYS if k in entry]
    rest = [k for k in entry if k not in ENTRY_KEYS]
    if not keys and not rest:
        raise EntryProblem(name, f"is empty; {ONE_OF}")
    if len(keys) + bool(rest) > 1:
        given = [*keys, *(["the TOML keys " + ", ".join(rest)] if rest else [])]
        said = ", ".join(given[:-1]) + " and " + given[-1]
        where = keys[1] if len(keys) > 1 else rest[0]
        raise EntryProblem(name, f"{said} each give a schema; {ONE_OF}", where)
    return keys[0] if keys else None


def entry_schema(name: str, entry: dict[str, Any], config_dir: Path | None) -> Any:
    """The JSON Schema of ``[schemas.NAME]`` (``entry``), checked as ``--schema`` checks it:
    ``fields = "..."``, ``file = "path"`` (relative to the config's folder), ``json = '{...}'``,
    or the JSON Schema itself written as TOML; ``EntryProblem`` saying what is wrong (two of
    these, or none, included)."""
    key = _source(name, entry)
    try:
        if key == "fields":
            schema, source = fields.parse(str(entry["fields"])), "the field list"
        elif key == "file":
            path = paths.expand(str(entry["file"]))
            if not path.is_absolute() and config_dir is not None:
                path = config_dir / path
            schema, source = _file(path), str(path)
        elif key == "json":
            schema, source = _json(str(entry["json"]), "the value"), "the value"
        else:
            schema, source = entry, "the table"
        check_schema(schema, source)
    except UsageError as exc:  # SchemaProblem included
        detail = exc.message.removeprefix("--schema: ")
        at = exc.at if isinstance(exc, SchemaProblem) and key is None else ()
        raise EntryProblem(name, f"{key}: {detail}" if key else detail, key, at, exc.hint) from None
    return schema


def config_problems(config: Config) -> list[ConfigError]:
    """Every ``[schemas.NAME]`` of ``config`` that cannot be used, each at its place in the
    file (``config validate`` lists them with the file's other problems)."""
    found = []
    for name, entry in config.schemas.items():
        try:
            entry_schema(name, entry, config.path.parent)
        except EntryProblem as exc:
            found.append(exc.config_error(config.schemas))
    return found
