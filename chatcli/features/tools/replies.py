"""A server's answers to ``tools/list`` and ``tools/call``, made readable before the SDK sees
them.

The SDK validates a whole answer at once: one tool listed without an ``inputSchema`` fails the
whole listing (the server would not start), and one content item of a type it does not know
fails the whole result (the call's text would be a pydantic dump). Here each tool and each
content item is judged on its own, by the same rules (the negotiated protocol version's): a
bad tool is left out, with one line saying why; a bad item becomes a short text
(``[unsupported result: TYPE]``), the other items kept. A tool's input schema must also be a
valid JSON Schema, as the model's API refuses a request whose tools carry an invalid one.
An answer whose fault is not in one tool or one item is left as it came.
"""

from __future__ import annotations

import functools
from typing import Any

from chatcli.safetext import one_line

FALLBACK_VERSION = "2025-11-25"
"""The version the SDK validates by when none was negotiated."""


def tidy_listing(
    server: str, version: str | None, result: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """``result`` without the tools it cannot use, and one line for each left out."""
    tools = result.get("tools")
    if not isinstance(tools, list) or not tools:
        return result, []
    version = _known(version)
    if _reason(version, "tools/list", result) is None and all(map(_schema_ok, tools)):
        return result, []
    if _reason(version, "tools/list", {**result, "tools": []}) is not None:
        return result, []  # not a fault of its tools
    kept: list[Any] = []
    said: list[str] = []
    for entry in tools:
        why = _unusable(version, result, entry)
        if why is None:
            kept.append(entry)
        else:
            said.append(f"MCP server {server}: {_named(entry)} left out: {why}")
    return {**result, "tools": kept}, said


def tidy_result(version: str | None, result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with each content item that cannot be read as a short text instead, and a
    result without ``content`` as one such text."""
    version = _known(version)
    if _reason(version, "tools/call", result) is None:
        return result
    content = result.get("content")
    if not isinstance(content, list):
        fixed = {**result, "content": [_unsupported("no content")]}
        return fixed if _reason(version, "tools/call", fixed) is None else result
    if _reason(version, "tools/call", {**result, "content": []}) is not None:
        return result  # not a fault of its items
    items = [
        item if _item_ok(version, result, item) else _unsupported(_kind(item)) for item in content
    ]
    return {**result, "content": items}


def unreadable(exc: BaseException) -> str | None:
    """Where and why a pydantic ValidationError failed, on one short line (None for another
    exception): the SDK's own text is a dump of many lines and a link."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return None
    try:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        why = str(first.get("msg") or "")
    except (TypeError, IndexError, AttributeError, ValueError):
        return None
    return one_line(f"{where}: {why}" if where else why, 160)


def _known(version: str | None) -> str:
    from mcp_types.version import KNOWN_PROTOCOL_VERSIONS

    return version if version in KNOWN_PROTOCOL_VERSIONS else FALLBACK_VERSION


def _reason(version: str, method: str, result: dict[str, Any]) -> str | None:
    """Why ``result`` fails the protocol's rules for ``method`` (None: it passes)."""
    from mcp_types.methods import validate_server_result

    try:
        validate_server_result(method, version, result)
    except KeyError:  # the method is not in that version: the SDK does not judge it either
        return None
    except ValueError as exc:  # pydantic's ValidationError is one
        return unreadable(exc) or one_line(str(exc), 160)
    return None


def _unusable(version: str, result: dict[str, Any], entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "it is not a tool definition"
    if "inputSchema" not in entry:
        return "it has no input schema"
    why = _reason(version, "tools/list", {**result, "tools": [entry]})
    if why is None:
        import mcp_types

        try:
            mcp_types.Tool.model_validate(entry, by_name=False)
        except ValueError as exc:
            why = unreadable(exc) or one_line(str(exc), 160)
    if why is not None:
        why = why.removeprefix("tools.0.")
        if why.startswith("inputSchema"):
            return f"its input schema is not usable ({why})"
        return f"its definition does not follow MCP ({why})"
    schema = entry["inputSchema"]
    if not _schema_ok(entry):
        return f"its input schema is not valid JSON Schema ({_schema_error(schema)})"
    return None


def _schema_ok(entry: Any) -> bool:
    schema = entry.get("inputSchema") if isinstance(entry, dict) else None
    return not isinstance(schema, dict) or _schema_error(schema) is None


def _schema_error(schema: dict[str, Any]) -> str | None:
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import Draft202012Validator, validator_for

    try:
        validator_for(schema, default=Draft202012Validator).check_schema(schema)
    except SchemaError as exc:
        return one_line(str(exc.message), 120)
    except Exception as exc:  # a schema that breaks the checker (deep, odd keys): not usable
        return one_line(f"{type(exc).__name__}: {exc}", 120)
    return None


def _item_ok(version: str, result: dict[str, Any], item: Any) -> bool:
    if _reason(version, "tools/call", {**result, "content": [item]}) is not None:
        return False
    try:
        _content_adapter().validate_python(item, by_name=False)
    except ValueError:
        return False
    return True


@functools.cache
def _content_adapter() -> Any:
    from mcp_types import ContentBlock
    from pydantic import TypeAdapter

    return TypeAdapter(ContentBlock)


def _kind(item: Any) -> str:
    kind = item.get("type") if isinstance(item, dict) else None
    return one_line(kind, 40) if isinstance(kind, str) and kind.strip() else "unknown type"


def _unsupported(what: str) -> dict[str, str]:
    return {"type": "text", "text": f"[unsupported result: {what}]"}


def _named(entry: Any) -> str:
    name = entry.get("name") if isinstance(entry, dict) else None
    if isinstance(name, str) and name.strip():
        return f"tool {one_line(name, 100)!r}"
    return "a tool without a name"
