"""SPEC of ``--schema`` -> a ``Schema``: a file, inline JSON, ``@NAME`` or a field list.

Read in this order: ``@NAME`` is ``[schemas.NAME]`` of the config; text starting with ``{`` is
inline JSON; an existing file is a JSON Schema file; anything else is a field list
(``fields.parse``). ``--schema-multi`` wraps the schema as ``{"items": [...]}``. A schema whose
root is not an object (strict mode needs one) is sent as ``{"value": ...}`` and unwrapped.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatcli import reading
from chatcli.errors import ConfigError, UsageError
from chatcli.features.schema import fields
from chatcli.features.schema.strict import Strict, to_strict

WRAP_KEY = "value"
MAX_DEPTH = 64
"""Deeper schemas are refused up front (the checks recurse; strict mode allows far less)."""


@dataclass(frozen=True)
class Schema:
    """The user's schema (what the answer must validate against) and how it is sent."""

    user: dict[str, Any]
    name: str = "response"  # response_format's name: [A-Za-z0-9_-]{1,64}
    source: str = "the schema"  # for messages: "the field list", "schema.json", "@person"
    wrapped: bool = False  # the root is not an object: sent under {"value": ...}

    @property
    def root(self) -> dict[str, Any]:
        """The object schema the model is asked for."""
        if not self.wrapped:
            return self.user
        return wrap(WRAP_KEY, self.user)

    def strict(self) -> Strict:
        return to_strict(self.root)

    def unwrap(self, data: Any) -> Any:
        """The answer as the user's schema describes it."""
        if self.wrapped and isinstance(data, dict) and WRAP_KEY in data:
            return data[WRAP_KEY]
        return data

    def to_json(self) -> dict[str, Any]:
        """What a batch line keeps to check its answer later (``from_json`` reads it)."""
        return {"schema": self.user, "name": self.name, "wrapped": self.wrapped}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Schema:
        return cls(obj["schema"], str(obj.get("name") or "response"), "the schema",
                   bool(obj.get("wrapped")))  # fmt: skip


def wrap(key: str, schema: dict[str, Any]) -> dict[str, Any]:
    """An object schema with the one required property ``key`` holding ``schema`` (whose
    ``$defs`` move up to the new root, where its ``#/$defs/...`` references now point)."""
    defs: dict[str, Any] = {k: schema[k] for k in ("$defs", "definitions") if k in schema}
    inner = {k: v for k, v in schema.items() if k not in defs}
    return {
        "type": "object",
        "properties": {key: inner},
        "required": [key],
        "additionalProperties": False,
        **defs,
    }


def _name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:64]
    return name or "response"


def load(spec: str, config_schemas: dict[str, Any], *, multi: bool = False,
         config_dir: Path | None = None) -> Schema:  # fmt: skip
    """The ``Schema`` SPEC names; ``UsageError``/``ConfigError`` saying what is wrong."""
    from chatcli.features.schema.check import check_schema

    text = spec.strip()
    if not text:
        raise UsageError("--schema: the schema is empty", hint=fields.HINT)
    if text.startswith("@"):
        name = text[1:]
        schema, source = _named(name, config_schemas, config_dir), f"[schemas.{name}]"
    elif text.startswith(("{", "[")):
        schema, source, name = _json(text, "the inline JSON"), "the inline JSON", "response"
    elif _path_like(text) and os.path.lexists(Path(text).expanduser()):
        path = Path(text).expanduser()  # a directory or a dangling link is refused as such
        schema, source, name = _file(path), str(path), path.stem
    elif text.endswith(".json") and "\n" not in text and "," not in text:
        raise UsageError(f"--schema: {text} does not exist")
    else:
        schema, source, name = fields.parse(spec), "the field list", "response"
    if _depth(schema) > MAX_DEPTH:
        raise UsageError(f"--schema: {source} nests deeper than {MAX_DEPTH} levels")
    check_schema(schema, source)
    if multi:
        defs = {k: schema[k] for k in ("$defs", "definitions") if k in schema}
        inner = {k: v for k, v in schema.items() if k not in defs}
        schema = wrap("items", {"type": "array", "items": inner, **defs})
    wrapped = not is_object(schema)
    return Schema(schema, _name(name), source, wrapped)


def _depth(value: Any) -> int:
    """How deeply ``value`` nests (iteratively: a hostile file must not exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        stack.extend((child, depth + 1) for child in children)
    return deepest


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


def _named(name: str, config_schemas: dict[str, Any], config_dir: Path | None) -> Any:
    """``[schemas.NAME]``: ``fields = "..."``, ``file = "path"``, ``json = '{...}'``, or the
    JSON Schema itself written as TOML."""
    entry = config_schemas.get(name)
    if not isinstance(entry, dict):
        known = ", ".join(f"@{n}" for n in sorted(config_schemas)) or "none defined"
        raise ConfigError(
            f"unknown schema @{name} (known: {known})",
            hint=f'add [schemas.{name}] with fields = "name, age int" to the config',
        )
    if "fields" in entry:
        return fields.parse(str(entry["fields"]))
    if "file" in entry:
        path = Path(str(entry["file"])).expanduser()
        if not path.is_absolute() and config_dir is not None:
            path = config_dir / path
        return _file(path)
    if "json" in entry:
        return _json(str(entry["json"]), f"[schemas.{name}] json")
    return entry
