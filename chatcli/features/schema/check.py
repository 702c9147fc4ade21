"""Reading a structured reply and validating it against the user's schema.

Validation uses the ``jsonschema`` library (the draft the schema declares in ``$schema``,
2020-12 otherwise), imported only here and only when something is validated: ``ask`` without
``--schema`` never pays for it. Errors come out as short lines, most relevant first, each
naming where in the answer it is (``$.reasons[1]: 3 is not of type 'string'``).
"""

from __future__ import annotations

import json
from typing import Any

from chatcli.errors import UsageError
from chatcli.safetext import one_line

SHOWN = 3
"""Validation errors named in a message (the rest are counted)."""


class NotJSON(ValueError):
    """The reply is not one JSON value."""


def parse_reply(text: str) -> Any:
    """The JSON value of a reply. Endpoints that ignore ``response_format`` often wrap it in
    a Markdown code fence; one fence around the whole reply is taken off."""
    body = text.strip()
    if body.startswith("```") and body.endswith("```") and body.count("```") == 2:
        body = body[3:-3]
        first, _, rest = body.partition("\n")
        body = rest if first.strip().isalnum() or not first.strip() else body
    try:
        return json.loads(body)
    except ValueError as exc:
        shown = one_line(text.strip(), 60) or "an empty reply"
        raise NotJSON(f"the reply is not JSON ({exc}): {shown!r}") from None


def _validator(schema: dict[str, Any]) -> Any:
    from jsonschema import validators

    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def check_schema(schema: Any, source: str) -> None:
    """``UsageError`` unless ``schema`` is a valid JSON Schema (checked against its draft's
    metaschema)."""
    from jsonschema import exceptions, validators

    if not isinstance(schema, dict):
        raise UsageError(f"--schema: {source} is not a JSON Schema object")
    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except exceptions.SchemaError as exc:
        where = _path(exc.absolute_path)
        raise UsageError(
            f"--schema: {source} is not a valid JSON Schema: {one_line(exc.message, 160)}"
            f" (at {where})"
        ) from None


def errors(data: Any, schema: dict[str, Any]) -> list[str]:
    """Every way ``data`` fails ``schema``, most relevant first; empty when it validates."""
    from jsonschema.exceptions import relevance

    found = sorted(_validator(schema).iter_errors(data), key=relevance, reverse=True)
    return [f"{_path(e.absolute_path)}: {one_line(e.message, 160)}" for e in found]


def _path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def summary(found: list[str]) -> str:
    """The first errors in one line, and how many more there are."""
    shown = "; ".join(found[:SHOWN])
    more = len(found) - SHOWN
    return shown + (f" (and {more} more)" if more > 0 else "")
