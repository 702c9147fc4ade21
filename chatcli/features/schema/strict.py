"""The provider's strict form of a JSON Schema, and undoing what it adds to the answer.

OpenAI's structured outputs (``strict: true``) accept a subset of JSON Schema: every object
has ``additionalProperties: false`` and lists all its properties in ``required``; only some
keywords are understood. ``to_strict`` rewrites the user's schema into that form:

- every object gets ``additionalProperties: false`` and all its properties required; a property
  the user left optional becomes nullable (``"type": ["string", "null"]``, or an ``anyOf`` with
  ``{"type": "null"}``), and ``strip_nulls`` drops those nulls from the answer again, so what is
  printed validates against the user's own schema;
- keywords strict mode does not take (``minLength``, ``uniqueItems``, ``default``, ``allOf`` ...)
  are moved into the description as text, so the model still reads them (the local validation
  enforces them); ``oneOf`` becomes ``anyOf``; ``$defs``/``definitions`` and ``$ref`` are kept.

A schema that cannot be strict (a free-form object, an array without ``items``, a node with no
type) is sent as converted with ``strict: false``; ``Strict.why_not`` says why. An object whose
keys go beyond its properties (a map: ``additionalProperties`` or ``patternProperties`` with a
schema, a ``required`` name that is not a property) keeps them as written: strict mode would
forbid every such key, leaving the model no answer but one the user did not want.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

COMMON = frozenset({"type", "description", "enum", "const", "anyOf", "$ref"})
_NUMBER = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
BY_TYPE: dict[str, frozenset[str]] = {
    "string": frozenset({"pattern", "format"}),
    "number": _NUMBER,
    "integer": _NUMBER,
    "array": frozenset({"items", "minItems", "maxItems"}),
    "object": frozenset({"properties", "required", "additionalProperties", "patternProperties"}),
}
FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
DROPPED = frozenset({"$schema", "$id", "$comment", "title", "$defs", "definitions"})
"""Annotations strict mode has no use for (``$defs`` are converted separately, at the root)."""


@dataclass(frozen=True)
class Strict:
    """The schema to send, and whether it may be sent with ``strict: true``."""

    schema: dict[str, Any]
    why_not: str | None = None  # None: strict

    @property
    def strict(self) -> bool:
        return self.why_not is None


class _Converter:
    def __init__(self) -> None:
        self.why_not: str | None = None

    def cannot(self, path: str, reason: str) -> None:
        if self.why_not is None:
            self.why_not = f"{reason} at {path or '/'}"

    def node(self, schema: Any, path: str) -> dict[str, Any]:
        if schema is True or schema == {}:
            self.cannot(path, "a value of any type")
            return {}
        if not isinstance(schema, dict):  # ``false``: nothing is valid
            self.cannot(path, "a schema that allows nothing")
            return {"not": {}}
        if "$ref" in schema:
            return {"$ref": schema["$ref"]}
        out: dict[str, Any] = {}
        notes: list[str] = []
        types = _types(schema)
        allowed = set(COMMON)
        for t in types:
            allowed |= BY_TYPE.get(t, frozenset())
        if "properties" in schema:
            allowed |= BY_TYPE["object"]
        for key, value in schema.items():
            if key in DROPPED:
                continue
            if key == "oneOf":
                key = "anyOf"
            if key == "format" and value not in FORMATS:
                notes.append(f"format: {value}")
            elif key in allowed:
                out[key] = value
            else:
                notes.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
        if "anyOf" in out:
            branches = out["anyOf"] if isinstance(out["anyOf"], list) else []
            out["anyOf"] = [self.node(b, f"{path}/anyOf/{i}") for i, b in enumerate(branches)]
        if "type" not in out and "enum" in out and isinstance(out["enum"], list):
            inferred = _enum_types(out["enum"])
            if inferred:
                out["type"] = inferred
                types = [inferred] if isinstance(inferred, str) else inferred
        if "properties" in out or "object" in types:
            self.object(out, path)
        if "array" in types:
            if isinstance(out.get("items"), dict | bool):
                out["items"] = self.node(out["items"], f"{path}/items")
            else:
                self.cannot(path, "an array without a schema for its items")
        if not ({"type", "anyOf", "enum", "const"} & out.keys()):
            self.cannot(path, "a value without a type")
        if notes:
            text = "; ".join(notes)
            base = out.get("description")
            out["description"] = f"{base} ({text})" if base else text
        return out

    def object(self, out: dict[str, Any], path: str) -> None:
        properties = out.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        extra = out.get("additionalProperties", True)
        patterns = out.get("patternProperties")
        required = out.get("required")
        required = [r for r in required if isinstance(r, str)] if isinstance(required, list) else []
        unlisted = [r for r in dict.fromkeys(required) if r not in properties]
        # Keys beyond the properties that the user's schema wants or needs: strict mode would
        # forbid them all, so then the object is sent as the user wrote it (not strict).
        open_keys = True
        if not properties and extra is not False:
            self.cannot(path, "an object with free-form keys")
        elif isinstance(extra, dict) and extra:  # typed extra keys: the user wants them
            self.cannot(path, "an object with keys beyond its properties")
        elif isinstance(patterns, dict) and patterns:
            self.cannot(path, "an object with patternProperties")
        elif unlisted:
            self.cannot(path, f"a required key not among its properties ({unlisted[0]!r})")
        else:
            open_keys = False
        converted = {}
        for name, sub in properties.items():
            node = self.node(sub, f"{path}/properties/{name}")
            converted[name] = node if name in required else nullable(node)
        if "type" not in out:
            out["type"] = "object"
        out["properties"] = converted
        out["required"] = [*converted, *unlisted]
        if not open_keys:
            out["additionalProperties"] = False
            out.pop("patternProperties", None)
            return
        if isinstance(extra, dict):
            out["additionalProperties"] = self.node(extra, f"{path}/additionalProperties")
        if isinstance(patterns, dict):
            out["patternProperties"] = {
                k: self.node(v, f"{path}/patternProperties/{k}") for k, v in patterns.items()
            }


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type")
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return [x for x in t if isinstance(x, str)]
    return []


def _enum_types(values: list[Any]) -> str | list[str] | None:
    names = []
    for v in values:
        if v is None:
            name = "null"
        elif isinstance(v, bool):
            name = "boolean"
        elif isinstance(v, int):
            name = "integer"
        elif isinstance(v, float):
            name = "number"
        elif isinstance(v, str):
            name = "string"
        else:
            return None
        if name not in names:
            names.append(name)
    if "integer" in names and "number" in names:
        names.remove("integer")
    return names[0] if len(names) == 1 else names or None


def nullable(node: dict[str, Any]) -> dict[str, Any]:
    """``node`` that also takes null (how strict mode spells an optional property)."""
    if _allows_null(node):
        return node
    if isinstance(node.get("anyOf"), list) and set(node) <= {"anyOf", "description"}:
        return {**node, "anyOf": [*node["anyOf"], {"type": "null"}]}
    if "$ref" in node or "anyOf" in node or "const" in node or "type" not in node:
        return {"anyOf": [node, {"type": "null"}]}
    out = dict(node)
    t = out["type"]
    out["type"] = [t, "null"] if isinstance(t, str) else [*t, "null"]
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def _allows_null(node: dict[str, Any]) -> bool:
    t = node.get("type")
    if t == "null" or (isinstance(t, list) and "null" in t):
        return "enum" not in node or None in node["enum"]
    branches = node.get("anyOf")
    return isinstance(branches, list) and any(
        isinstance(b, dict) and b.get("type") == "null" for b in branches
    )


def to_strict(schema: dict[str, Any]) -> Strict:
    """The strict form of an object schema (see the module docstring)."""
    converter = _Converter()
    out = converter.node(schema, "")
    for key in ("$defs", "definitions"):
        defs = schema.get(key)
        if isinstance(defs, dict):
            out[key] = {name: converter.node(sub, f"/{key}/{name}") for name, sub in defs.items()}
    return Strict(out, converter.why_not)


# -- undoing the nulls -------------------------------------------------------------------------


def _resolve(node: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """Follow a local ``$ref`` (``#/$defs/x``) to its schema; anything else as it is."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < 32:
        ref = node["$ref"]
        if not ref.startswith("#"):
            return {}
        target: Any = root
        for part in ref[1:].split("/")[1:] if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                return {}
            target = target[part]
        node = target
        depth += 1
    return node


def _branches(node: Any, root: dict[str, Any], depth: int = 0) -> list[dict[str, Any]]:
    """``node`` and the schemas of its ``anyOf``/``oneOf``/``allOf`` branches, resolved."""
    node = _resolve(node, root)
    if not isinstance(node, dict) or depth > 16:
        return []
    found = [node]
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in node.get(key) or []:
            found.extend(_branches(branch, root, depth + 1))
    return found


def strip_nulls(data: Any, schema: dict[str, Any]) -> Any:
    """``data`` without the nulls strict mode put where the user's ``schema`` lets a
    property be left out (nulls the schema requires stay), and a whole number written as a
    float (``5.0``, ``1e3``) where it declares an ``integer`` as an integer: the same JSON
    number, which a consumer reading ints (Python, ``%d``) takes as it should."""
    return _strip(data, schema, schema)


def _strip(data: Any, node: Any, root: dict[str, Any]) -> Any:
    branches = _branches(node, root)
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            declared = [b for b in branches if key in (b.get("properties") or {})]
            required = any(key in (b.get("required") or []) for b in branches)
            if value is None and declared and not required:
                continue
            out[key] = _strip(value, declared[0]["properties"][key], root) if declared else value
        return out
    if isinstance(data, list):
        items = next((b["items"] for b in branches if isinstance(b.get("items"), dict)), None)
        return [_strip(v, items, root) for v in data] if items is not None else data
    whole = isinstance(data, float) and data.is_integer() and abs(data) <= 2**53
    if whole and any("integer" in _types(b) for b in branches):  # 5.0 or 1e3 for an ``int``
        return int(data)
    return data
