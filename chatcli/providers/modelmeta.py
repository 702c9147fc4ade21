"""What an endpoint's model list says about each model besides its id.

Servers put it in different fields: OpenAI's ``shutdown_date`` (Azure's list: the Unix time
of ``deprecation.inference``, the end of its own inference support); OpenRouter's
``context_length`` (and ``top_provider.context_length``); vLLM's ``max_model_len``; LiteLLM's
``/model/info`` ``model_info.max_input_tokens`` (and ``max_input_tokens`` in its
``/v1/models`` entries); some relays ``context_window``. Every value is
shape-checked; one of the wrong type is ignored, never trusted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chatcli.safetext import mask_fragments, one_line

MAX_WINDOW = 100_000_000
"""A context window larger than this is a broken value, not a real model."""


@dataclass(frozen=True)
class ListedModel:
    """One model of the endpoint's list."""

    id: str
    context_window: int | None = None
    shutdown_date: str | None = None  # YYYY-MM-DD
    spelt: str | None = None
    """The id as the endpoint wrote it, when cleaning (``one_line``: escapes and what a
    terminal would not show removed, one line, cut) changed it: ``models --json`` gives it
    exactly, JSON can carry any character."""


def _window(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and 0 < value <= MAX_WINDOW else None


def window_of(item: dict[str, Any]) -> int | None:
    """The context window a model entry states, from whichever field the server uses."""
    top = item.get("top_provider")
    info = item.get("model_info")
    candidates = (
        item.get("context_length"),
        item.get("max_model_len"),
        item.get("context_window"),
        item.get("max_input_tokens"),  # LiteLLM's /v1/models entries (1.108)
        top.get("context_length") if isinstance(top, dict) else None,
        info.get("max_input_tokens") if isinstance(info, dict) else None,
        info.get("max_tokens") if isinstance(info, dict) else None,
    )
    return next((w for w in map(_window, candidates) if w is not None), None)


def shutdown_of(item: dict[str, Any]) -> str | None:
    """The retirement day (``YYYY-MM-DD``) a model entry states: OpenAI's ``shutdown_date``, or
    Azure's ``deprecation.inference`` (seconds since 1970); None when neither is well formed."""
    shutdown = item.get("shutdown_date")
    if isinstance(shutdown, str) and re.match(r"\d{4}-\d\d-\d\d", shutdown):
        return shutdown[:10]
    deprecation = item.get("deprecation")
    when = deprecation.get("inference") if isinstance(deprecation, dict) else None
    if isinstance(when, bool) or not isinstance(when, int | float):
        return None
    try:
        return datetime.fromtimestamp(when, tz=UTC).date().isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def listed(items: list[Any]) -> list[ListedModel]:
    """The models of a ``/models`` ``data`` list (entries without a string id are skipped)."""
    out: dict[str, ListedModel] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        name = one_line(item["id"], 200)
        if not name:
            continue
        spelt = mask_fragments(item["id"])
        out[name] = ListedModel(
            name, window_of(item), shutdown_of(item), spelt if spelt != name else None
        )
    return [out[k] for k in sorted(out)]
