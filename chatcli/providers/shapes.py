"""Shape checks for JSON answers, shared by the two wire protocols' readers (``answers`` for
Chat Completions, ``responses`` for the Responses API): a field of the wrong type is one
"malformed ..." ``APIError`` (exit 5) naming the field, with the protocol's own hint."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chatcli.errors import APIError
from chatcli.safetext import one_line


def excerpt(value: Any, limit: int = 160) -> str:
    """A one-line JSON excerpt of ``value`` for an error message (not a Python repr)."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        text = "<unprintable>"
    return one_line(text, limit)


@dataclass(frozen=True)
class Shapes:
    """The checks, with ``hint`` saying which API the endpoint failed to speak."""

    hint: str

    def bad(self, where: str, field: str, value: Any) -> APIError:
        """The error for a field of the wrong shape."""
        return APIError(f"malformed {where}: `{field}` is {excerpt(value, 60)}", hint=self.hint)

    def text(self, obj: dict[str, Any], key: str, where: str, field: str) -> str | None:
        """``obj[key]`` when a string or absent/null; anything else is malformed."""
        value = obj.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self.bad(where, field, value)

    def table(self, value: Any, where: str, field: str) -> dict[str, Any]:
        """A JSON object, or {} for null/absent; anything else is malformed."""
        if value is None:
            return {}
        if isinstance(value, dict):
            return value
        raise self.bad(where, field, value)

    def array(self, value: Any, where: str, field: str) -> list[Any]:
        """A JSON array, or [] for null/absent; anything else is malformed."""
        if value is None:
            return []
        if isinstance(value, list):
            return value
        raise self.bad(where, field, value)


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url``: where an error came from, without path or query."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].split('?', 1)[0]}"
