"""Tool calls as people and models read them: the compact line, the approval card, the cut.

Everything shown comes from a model (arguments) or a server (results), so it is sanitised here
before it reaches the terminal; long values are folded so a card fits on a screen.
"""

from __future__ import annotations

import json
from typing import Any

from chatcli.safetext import one_line, sanitize
from chatcli.tokens import count_text

FOLD = 300
"""A string value longer than this is shown folded on the approval card."""
CARD_LINES = 40
"""At most this many lines of arguments on the approval card."""


def parse_arguments(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """The call's arguments as an object, or None and why not (sent back to the model)."""
    if not text.strip():
        return {}, None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"the arguments are not valid JSON ({exc.msg} at character {exc.pos})"
    if not isinstance(value, dict):
        return None, "the arguments must be a JSON object"
    return value, None


def compact(arguments: str, limit: int = 80) -> str:
    """The arguments on one line, for the line shown per call."""
    value, _ = parse_arguments(arguments)
    text = json.dumps(value, ensure_ascii=False) if value is not None else arguments
    return one_line(text, limit)


def _fold(value: Any) -> Any:
    if isinstance(value, str) and len(value) > FOLD:
        return f"{value[:FOLD]}… ({len(value) - FOLD:,} more characters)"
    if isinstance(value, dict):
        return {k: _fold(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fold(v) for v in value]
    return value


def card(qualified: str, arguments: str, hint: str) -> str:
    """The approval card: the tool, its hint and the arguments as pretty JSON, folded."""
    value, _ = parse_arguments(arguments)
    body = (
        json.dumps(_fold(value), ensure_ascii=False, indent=2) if value is not None else arguments
    )
    lines = [sanitize(line) for line in body.splitlines()] or ["{}"]
    if len(lines) > CARD_LINES:
        lines = [*lines[:CARD_LINES], f"… ({len(lines) - CARD_LINES} more lines)"]
    mark = f"  [{hint}]" if hint else ""
    head = f"⚙ the model wants to run {one_line(qualified, 100)}{mark}"
    return "\n".join([head, *(f"  {line}" for line in lines)])


def line(qualified: str, arguments: str, outcome: str, seconds: float | None) -> str:
    """``⚙ time.get_current_time {"timezone": "Asia/Shanghai"} → 1 line, 0.2 s``."""
    took = f", {seconds:.1f} s" if seconds is not None else ""
    return f"⚙ {one_line(qualified, 100)} {compact(arguments)} → {outcome}{took}"


def summary(text: str, error: bool) -> str:
    """``3 lines``, or ``error: <first line>``."""
    if error:
        return f"error: {one_line(text, 100)}"
    n = len(text.splitlines()) or (1 if text else 0)
    return f"{n} line{'s' if n != 1 else ''}"


def cut(text: str, limit: int, encoding: str | None) -> tuple[str, int | None]:
    """``text`` within ``limit`` tokens (a notice at the end says it was cut) and the tokens
    it had when it was cut (None when it fitted)."""
    total = count_text(text, encoding).n
    if total <= limit:
        return text, None
    keep = max(0, int(len(text) * limit / total) - 200)
    while keep > 0 and count_text(text[:keep], encoding).n > limit - 50:
        keep = int(keep * 0.9)
    notice = (
        f"\n[chatcli: the output was cut here: {limit:,} of its {total:,} tokens were kept "
        "(tool_output_limit)]"
    )
    return text[:keep] + notice, total


def excerpt(text: str, limit: int = 200) -> str:
    """The start of a result, for ``--json``."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
