"""Structured output for the fake server: a valid instance of the schema a request asks for.

A request asks through ``response_format`` (Chat Completions) or ``text.format`` (Responses),
or, when the endpoint does not take those, in words: the prompt quotes a JSON Schema after
``JSON Schema:``. ``instance`` builds a small value valid against such a schema (``$ref``,
``anyOf``, enums, min/max items and numbers; null wherever null is allowed, as a model leaves
out what it may), and ``broken`` one that is not,
for tests that need a model getting it wrong.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SAMPLES = {
    "date-time": "2024-01-02T03:04:05Z",
    "date": "2024-01-02",
    "time": "03:04:05Z",
    "duration": "P1D",
    "email": "someone@example.com",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
}
_IN_PROMPT = re.compile(r"JSON Schema:\s*\n")


def refused(setting: str, asked: Any) -> bool:
    """Whether an endpoint set to ``setting`` (``FakeOpenAI.structured``) refuses the format a
    request asked for (its ``response_format`` or ``text.format``, None when it asked none):
    "refuse" takes no format at all, "json_object" no JSON Schema."""
    kind = asked.get("type") if isinstance(asked, dict) else None
    return (setting == "refuse" and asked is not None) or (
        setting == "json_object" and kind == "json_schema"
    )


def requested(req: dict[str, Any]) -> dict[str, Any] | None:
    """The schema of ``response_format`` / ``text.format`` in a request body, if any."""
    fmt = req.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        if isinstance(spec, dict) and isinstance(spec.get("schema"), dict):
            schema: dict[str, Any] = spec["schema"]
            return schema
    text = req.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if (
        isinstance(fmt, dict)
        and fmt.get("type") == "json_schema"
        and isinstance(fmt.get("schema"), dict)
    ):
        found: dict[str, Any] = fmt["schema"]
        return found
    return None


def in_prompt(last_user_text: str) -> dict[str, Any] | None:
    """A JSON Schema quoted in the prompt after ``JSON Schema:`` (instructions in words)."""
    for match in _IN_PROMPT.finditer(last_user_text):
        try:
            value, _ = json.JSONDecoder().raw_decode(last_user_text[match.end() :])
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _resolve(node: Any, root: dict[str, Any]) -> Any:
    for _ in range(32):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            return node
        target: Any = root
        for part in node["$ref"].lstrip("#").split("/")[1:]:
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = target
    return node


def instance(schema: Any, root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A small value valid against ``schema``."""
    root = schema if root is None else root
    node = _resolve(schema, root)
    if not isinstance(node, dict) or depth > 20:
        return None
    if "const" in node:
        return node["const"]
    if isinstance(node.get("enum"), list) and node["enum"]:
        return node["enum"][0]
    for key in ("anyOf", "oneOf"):
        branches = node.get(key)
        if isinstance(branches, list) and branches:
            if any(_resolve(b, root).get("type") == "null" for b in branches):
                return None  # like a model leaving out what it may
            return instance(branches[0], root, depth + 1)
    t = node.get("type")
    if isinstance(t, list):
        t = "null" if "null" in t else t[0] if t else None
    if t is None and "properties" in node:
        t = "object"
    if t == "object":
        props = node.get("properties") or {}
        required = node.get("required") or list(props)
        return {k: instance(props[k], root, depth + 1) for k in props if k in required}
    if t == "array":
        count = max(1, int(node.get("minItems") or 0))
        if node.get("maxItems") == 0:
            count = 0
        return [instance(node.get("items", {}), root, depth + 1) for _ in range(count)]
    if t in ("integer", "number"):
        if "minimum" in node:
            low = node["minimum"]
        elif "exclusiveMinimum" in node:
            low = node["exclusiveMinimum"] + 1
        else:
            low = 0
        return int(low) if t == "integer" else float(low)
    if t == "boolean":
        return True
    if t == "null":
        return None
    if t == "string":
        return _SAMPLES.get(str(node.get("format")), "example")
    return "example"


def broken(schema: dict[str, Any]) -> Any:
    """An instance with its first property of the wrong kind (invalid under ``schema``)."""
    value = instance(schema)
    if isinstance(value, dict) and value:
        first = next(iter(value))
        value[first] = {"unexpected": [1, 2, 3]}
        return value
    return {"unexpected": [1, 2, 3]}
